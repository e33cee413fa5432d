"""An act the department returns is not paid: what it had settled for earlier months (a claw-back, a top-up) is
not settled until it is verified again. The school's next act settles it meanwhile — else a returned act left
uncorrected held a top-up the school was owed, and a claw-back nobody paid back — and the returned act, verified
again, settles only what that next act has not."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from app.acts import adjustments
from app.acts.adjustments import settle_adjustments
from app.acts.models import Act
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.extensions import db
from tests.money.test_topup_corrected import AMOUNT, _next_act, _paid
from tests.registry.conftest import Country, iin

NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)


def _settled(act: Act) -> dict[str, tuple[str, int]]:
    settle_adjustments([act])
    db.session.expire_all()
    return {a.iin: (a.rule_code, a.amount_tiyn) for a in adjustments.adjustments_of(act)}


def _set_status(act: Act, status: str) -> None:
    db.session.execute(update(Act).where(Act.id == act.id).values(status=status))
    db.session.expire_all()


def test_a_top_up_on_a_returned_act_is_paid_on_the_next_act_once(country: Country):
    school = country.school()
    child = iin(861)
    country.enrol(child, school.bin, grade=3)  # NEDB corrected: the child was at the school all October
    _paid(country, school, [(child, 3, "withdrawn")])
    november = _next_act(country, school)
    assert _settled(november) == {child: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}

    _set_status(november, "returned")  # the department returns November; the school has not corrected it yet
    december = _next_act(country, school, DECEMBER)
    assert _settled(december) == {child: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}, "owed, and not paid on November"

    _set_status(december, "paid")
    _set_status(november, "submitted")  # corrected and submitted again
    assert _settled(november) == {}, "December paid it"


def test_a_claw_back_on_a_returned_act_is_taken_on_the_next_act_once(country: Country):
    school = country.school()
    child, other = iin(871), iin(872)
    country.enrol(child, school.bin, grade=3, withdrawn=date(2026, 9, 20))  # found withdrawn after payment
    country.enrol(other, school.bin, grade=3)
    _paid(country, school, [(child, 3, None), (other, 3, None)])
    november = _next_act(country, school)
    assert _settled(november) == {child: ("withdrawn", -AMOUNT)}

    _set_status(november, "returned")
    december = _next_act(country, school, DECEMBER)
    assert _settled(december) == {child: ("withdrawn", -AMOUNT)}, "November's claw-back is not taken while returned"

    _set_status(december, "paid")
    _set_status(november, "submitted")
    assert _settled(november) == {}, "December took it back"


def test_the_reconciliation_counts_a_returned_acts_correction_once(country: Country):
    """November (returned) and December both showed the same top-up under "adjustments under review": the state
    appeared to owe it twice until November was verified again."""
    from sqlalchemy import true

    from app.reports.reconciliation import reconcile

    school = country.school()
    child = iin(881)
    country.enrol(child, school.bin, grade=3)
    _paid(country, school, [(child, 3, "withdrawn")])
    november = _next_act(country, school)
    _settled(november)
    _set_status(november, "returned")
    december = _next_act(country, school, DECEMBER)
    assert _settled(december) == {child: (REGISTRY_CORRECTED_IN_FAVOUR, AMOUNT)}

    under_review = sum(reconcile(month, true())[1].adjusted_under_review_tiyn for month in (NOVEMBER, DECEMBER))
    assert under_review == AMOUNT
