"""Carried top-ups settled outside the acts, attacked: a line id of another contract forged into the form, a payment
order's number that only looks like another's (or is a spreadsheet formula), and a database writer who moves a
settlement to another act or month — each is refused or found, and nothing else changes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.models import Act, OutsideSettlement
from app.audit.operations import verify_all_chains
from app.contracts.models import Contract
from app.extensions import db
from tests.helpers import user
from tests.money.test_outside_settlement import _carried_may, _form, _settlements


def test_a_line_of_another_contract_forged_into_the_form_tells_nothing_of_its_settlement(world, browser):
    """A department official of another region, on a contract of their own region, posts the line id of a carried
    top-up settled on a contract they may not see: refused, and the flash names neither its amount nor who paid it."""
    contract, line, carried = _carried_may()
    operator = user("operator")
    assert browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                                    _form(line, carried, order_number="PP-31", paid_on="2026-11-02")).status_code == 303
    official = user("official")
    own = _contract_of_region(contract, official)
    person = browser("official")
    assert person.get(f"/contracts/{contract.id}").status_code == 404
    forged = _form(line, carried, reason="The pupil's grade was checked with the school")
    response = person.post(f"/contracts/{own.id}/settle-outside", forged)
    assert response.status_code == 303
    page = person.get(f"/contracts/{own.id}").get_data(as_text=True)
    assert operator.full_name not in page and "settled meanwhile" not in page
    assert "no longer carried" in page
    assert _settlements() == [("paid", carried)]


def _contract_of_region(model: Contract, official) -> Contract:
    """A contract of the official's region (the demo world has Shymkent's only): the model's terms, another school."""
    from app.applications.models import Application
    from app.people.models import Organisation

    school = db.session.scalars(select(Organisation).where(Organisation.kind == "school",
                                                           Organisation.region_id == official.region_id)).first()

    def copy(row, **changes):
        values = {c.key: getattr(row, c.key) for c in type(row).__table__.columns if c.key != "id"}
        return type(row)(**{**values, **changes})

    application = copy(db.session.get(Application, model.application_id), number="APP-ASTANA-99", school_id=school.id,
                       region_id=official.region_id, instance_id=None)
    db.session.add(application)
    db.session.flush()
    own = copy(model, number="C-ASTANA-2026-00099", region_id=official.region_id,
               department_id=official.organisation_id, school_id=school.id, instance_id=None,
               application_id=application.id)
    db.session.add(own)
    db.session.commit()
    return own


@pytest.mark.parametrize("number", [
    "\u0420\u0420-42",  # Cyrillic "РР-42", the look-alike of an act's order PP-42
    "\uff30\uff30-42",  # full-width "ＰＰ-42"
    "PP 42",
    '=HYPERLINK("http://evil.example","PP-42")',
    "PP-42\u200b",  # a zero-width space
])
def test_a_payment_order_number_is_spelled_as_an_acts_payment_order_is(world, browser, number):
    """An act's payment order is Latin letters, digits, / and -: a carried top-up's order is compared with those to
    refuse an order paying two things, so a look-alike or a formula is a form error and nothing is recorded."""
    contract, line, carried = _carried_may()
    response = browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                                        _form(line, carried, order_number=number, paid_on="2026-11-02"))
    assert response.status_code == 422
    assert "Latin letters, digits" in response.get_data(as_text=True)
    assert _settlements() == []


@pytest.mark.parametrize("field", ["original_act_id", "period"])
def test_a_database_writer_who_moves_a_settlement_to_another_act_or_month_is_found(world, browser, field):
    """The reconciliation counts a settlement in its act's region and month: moved by hand, verify-audit says so."""
    contract, line, carried = _carried_may()
    browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                             _form(line, carried, order_number="PP-32", paid_on="2026-11-02"))
    (row,) = db.session.scalars(select(OutsideSettlement)).all()
    assert [p.reason for p in verify_all_chains()[1] if "outside_settlement" in p.reason] == []
    if field == "original_act_id":
        row.original_act_id = db.session.scalars(select(Act.id).where(Act.region_id != contract.region_id)).first()
    else:
        row.period = date(2026, 4, 1)
    db.session.commit()
    problems = [p.reason for p in verify_all_chains()[1] if "outside_settlement" in p.reason]
    assert len(problems) == 1 and problems[0].startswith(f"outside_settlement {row.id}: {field} differs from event")
