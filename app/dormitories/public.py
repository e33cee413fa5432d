"""What the public figures and the Open Contracting releases say of the dormitory-places instrument: its items are
places in student dormitories (at the order's or the contract's rate per place), never a student."""

from __future__ import annotations

PLACE = "Student dormitory place"


def ocds_items(stage: str, record, terms: dict | None) -> list[dict]:
    """The items of a release: the order's places at its rate ("tender"), the places allocated to a dormitory
    ("award"), the contract's places at its rate ("contract"). Orders and applications registered with a contract
    signed on paper have no terms of their own: their places come from the application."""
    from app.public.open_contracting import _amount

    if stage == "tender":
        order_terms = record.dormitory_terms
        if order_terms is None:
            return []
        item = {"id": f"place-{order_terms.locality}", "quantity": order_terms.places,
                "description": f"{PLACE}, {order_terms.locality}: one place-month", "unit": {"name": "place-month"}}
        if order_terms.place_rate_tiyn:
            item["unit"]["value"] = _amount(order_terms.place_rate_tiyn)
        return [item]
    if stage == "award":
        places = record.dormitory_terms.places_allocated if record.dormitory_terms else record.design_capacity
        return [{"id": "place", "description": PLACE, "quantity": places or 0, "unit": {"name": "place"}}]
    contract_terms = record.dormitory_terms
    if contract_terms is None:
        return []
    return [{"id": "place", "description": f"{PLACE}, {record.locality}", "quantity": contract_terms.places,
             "unit": {"name": "place-month", "value": _amount(contract_terms.place_rate_tiyn)}}]
