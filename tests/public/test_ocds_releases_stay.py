"""An OCDS release, once published, is never changed: the call's status followed the calendar inside its one
``tender`` release (planned, active, complete under the same id), and a contract's signed release turned
"terminated" when the contract closed. Now each change of state is a release of its own (``tenderUpdate`` at the
window's opening and closing, ``contractTermination`` at the closing), the earlier releases stay byte for byte, and
the compiled release shows the state of the day."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from sqlalchemy import select

from app import clock
from app.contracts.models import Contract
from app.contracts.operations import close
from app.extensions import db
from app.orders.models import StateOrder
from app.public import open_contracting
from app.public.cache import compact
from tests.public.test_ocds import _errors, _validator


def _published(order: StateOrder, day) -> dict[str, str]:
    """The order's releases as a rebuild on ``day`` gives them (by id, compact JSON)."""
    with clock.FrozenClock(datetime.combine(day, time(12, 0), tzinfo=clock.KZ)):
        return {release["id"]: compact(release) for release in open_contracting.releases_for(order)}


def _compiled(bodies: dict[str, str]) -> dict:
    return open_contracting.merger().create_compiled_release([json.loads(b) for b in bodies.values()])


def test_the_call_keeps_its_release_and_its_window_opening_and_closing_are_releases_of_their_own(world):
    order = db.session.scalars(select(StateOrder).order_by(StateOrder.id)).first()
    opening, after = order.window_opens, order.window_closes + timedelta(days=10)
    during = _published(order, opening)
    later = _published(order, after)
    assert {i: later[i] for i in during} == during  # nothing published changes
    assert _compiled(during)["tender"]["status"] == "active"
    assert _compiled(later)["tender"]["status"] == "complete"
    [closing] = [json.loads(later[i]) for i in set(later) - set(during)]
    assert closing["tag"] == ["tenderUpdate"] and closing["id"].endswith("-tender-complete")
    assert closing["date"].startswith((order.window_closes + timedelta(days=1)).isoformat())
    assert _published(order, after) == later  # a rebuild on the same facts: byte for byte
    package = open_contracting.release_package([json.loads(b) for b in later.values()], "https://example.kz/x.json")
    assert _errors(_validator("release-package-schema.json"), package) == []


def test_a_closed_contract_keeps_its_signed_release_and_its_closing_is_a_release_of_its_own(world):
    contract = db.session.scalars(select(Contract).where(Contract.status == "active").order_by(Contract.id)).first()
    order, today = contract.order, clock.today()
    signed = _published(order, today)
    close(contract)
    db.session.flush()
    closed = _published(order, today)
    assert {i: closed[i] for i in signed} == signed
    [closing] = [json.loads(closed[i]) for i in set(closed) - set(signed)]
    assert closing["tag"] == ["contractTermination"]
    assert closing["id"].endswith(f"-contract-{contract.number}-closed")
    assert closing["contracts"] == [{"id": contract.number, "awardID": contract.application.number,
                                     "status": "terminated"}]
    merged = next(c for c in _compiled(closed)["contracts"] if c["id"] == contract.number)
    assert merged["status"] == "terminated" and merged["dateSigned"]
    package = open_contracting.release_package([json.loads(b) for b in closed.values()], "https://example.kz/x.json")
    assert _errors(_validator("release-package-schema.json"), package) == []


def _rename(org, name: str) -> None:
    from app.admin.operations import save_organisation
    from tests.helpers import user

    save_organisation(org, {"kind": org.kind, "bin": org.bin, "name": name,
                            "region_id": str(org.region_id or ""), "design_capacity": str(org.design_capacity or ""),
                            "iban": org.iban or ""}, user("admin"))
    db.session.flush()


def test_a_renamed_organisation_leaves_the_releases_published_before_as_they_were(world):
    """Renaming a school, its department, the operator or a region re-rendered every release that named them, under
    the same ids (the pass rebuilds all releases after a rename): a published release changed. Now a release names
    each party as it was named on the release's date — the published ones stay byte for byte, in the stored open data
    too — and a release after the rename names it anew."""
    from app.people.models import Organisation
    from app.public.cache import refresh_public
    from app.public.models import OcdsRelease

    contract = db.session.scalars(select(Contract).where(Contract.status == "active").order_by(Contract.id)).first()
    order, today = contract.order, clock.today()
    school, buyer = contract.school, db.session.scalars(select(Organisation).where(
        Organisation.kind == "department", Organisation.region_id == order.region_id)).first()
    payer = db.session.scalars(select(Organisation).where(Organisation.kind == "operator")).first()
    old_names = (school.name, buyer.name, payer.name)
    published = _published(order, today)
    assert any(school.name in body for body in published.values())
    refresh_public(full=True)
    stored = dict(db.session.execute(select(OcdsRelease.position, OcdsRelease.body)
                                     .where(OcdsRelease.order_id == order.id)).all())

    clock.set_clock(clock.FrozenClock(clock.now() + timedelta(minutes=5)))  # the rename comes after the releases
    try:
        for org, name in ((school, "Renamed Lyceum"), (buyer, "Renamed Department"), (payer, "Renamed Operator")):
            _rename(org, name)
        from app.admin.operations import save_region
        from tests.helpers import user

        region = order.region  # its English name is the tender's title and every party's address
        save_region(region, {"code": region.code, "name_kk": region.name_kk, "name_ru": region.name_ru,
                             "name_en": "Renamed Region"}, user("admin"))
        db.session.commit()
        assert _published(order, today) == published  # nothing published changes
        refresh_public(full=True)
        assert dict(db.session.execute(select(OcdsRelease.position, OcdsRelease.body)
                                       .where(OcdsRelease.order_id == order.id)).all()) == stored
        assert not any(name in body for body in published.values()
                       for name in ("Renamed Lyceum", "Renamed Department", "Renamed Operator", "Renamed Region"))

        # the contract closes after the rename: its closing names the school and the department as named now
        clock.set_clock(clock.FrozenClock(clock.now() + timedelta(minutes=5)))
        close(contract)
        db.session.flush()
        later = _published(order, clock.today())
        assert {i: later[i] for i in published} == published
        [closing] = [json.loads(later[i]) for i in set(later) - set(published)]
        assert closing["buyer"]["name"] == "Renamed Department"
        assert {p["name"] for p in closing["parties"]} == {"Renamed Lyceum", "Renamed Department"}
        assert {p["address"]["region"] for p in closing["parties"]} == {"Renamed Region"}
        assert old_names[0] not in later[closing["id"]]
    finally:
        clock.reset_clock()
    package = open_contracting.release_package([json.loads(b) for b in later.values()], "https://example.kz/x.json")
    assert _errors(_validator("release-package-schema.json"), package) == []
