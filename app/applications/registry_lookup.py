"""The registry facts the eligibility check needs, behind two small functions.

The national registries (business register, licences) are imported into tables owned by the registry
package. These functions read those tables when they exist; until then (or in a deployment without
them) the business register falls back to our own organisation records and the licence to what the
school declared. Swapping the source is a change in this file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import inspect, select

from app.extensions import db
from app.people.models import Organisation


@dataclass(frozen=True)
class BusinessRecord:
    bin: str
    name: str
    active: bool
    oked: str | None  # main activity code, e.g. "85.31"


@dataclass(frozen=True)
class LicenceRecord:
    number: str
    holder_bin: str
    valid_from: date | None
    valid_until: date | None  # None: indefinite
    levels: frozenset[str]  # primary / basic / secondary


def _registry_model(*names: str):
    """The registry package's model class under one of these names, if its table exists."""
    from app.registry import models

    for name in names:
        model = getattr(models, name, None)
        if model is not None and inspect(db.engine).has_table(model.__tablename__):
            return model
    return None


def business_record(bin_: str) -> BusinessRecord | None:
    model = _registry_model("BusinessRecord", "BusinessRegistration", "BusinessEntity")
    if model is not None:
        row = db.session.scalars(select(model).where(model.bin == bin_)).first()
        if row is None:
            return None
        status = getattr(row, "status", None)
        active = bool(getattr(row, "active", status in (None, "active")))
        return BusinessRecord(bin_, getattr(row, "name", ""), active, getattr(row, "oked", None))
    org = db.session.scalars(select(Organisation).where(Organisation.bin == bin_)).first()
    if org is None:
        return None
    return BusinessRecord(org.bin, org.name, True, "85.31" if org.kind == "school" else None)


def business_register_reasons(bin_: str, *, activity: str | None,
                               missing: str = "not_in_business_register") -> list[str]:
    """The eligibility codes of what the business register says against funding this BIN (empty: nothing): no
    record (``missing``: the instrument's code for it), not active, main activity not ``activity`` (an OKED
    prefix; None: any activity will do)."""
    record = business_record(bin_)
    if record is None:
        return [missing]
    reasons = [] if record.active else ["business_inactive"]
    if activity is not None and not (record.oked or "").startswith(activity):
        reasons.append("not_education")
    return reasons


def _levels(value) -> frozenset[str]:
    if value is None:
        return frozenset(("primary", "basic", "secondary"))
    if isinstance(value, str):
        value = [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    return frozenset(value)


def licence(holder_bin: str, number: str) -> LicenceRecord | None:
    model = _registry_model("Licence", "License", "LicenceRecord")
    if model is not None:
        number_col = getattr(model, "number", None) or model.licence_number
        holder_col = getattr(model, "holder_bin", None) or model.bin
        row = db.session.scalars(select(model).where(number_col == number, holder_col == holder_bin)).first()
        if row is None:
            return None
        return LicenceRecord(number, holder_bin, getattr(row, "valid_from", None),
                             getattr(row, "valid_until", None), _levels(getattr(row, "levels", None)))
    # No licence registry loaded: the declared licence stands, without an expiry date.
    return LicenceRecord(number, holder_bin, None, None, _levels(None)) if number else None


def licence_numbers(holder_bin: str) -> list[str]:
    """Licences registered for a BIN (to prefill the application form); empty without a licence registry."""
    model = _registry_model("Licence", "License", "LicenceRecord")
    if model is None:
        return []
    holder_col = getattr(model, "holder_bin", None) or model.bin
    number_col = getattr(model, "number", None) or model.licence_number
    return list(db.session.scalars(select(number_col).where(holder_col == holder_bin).order_by(number_col)))
