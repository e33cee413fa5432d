"""A repricing that pays a decided line more later — a top-up of days NEDB now gives it — pays a place on those days:
the month's places (the design capacity, the contract's places per level) are counted on the days they are held,
as the verification counts them, and a day another paid student held the last place is not paid twice."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED
from app.acts.models import Act
from app.acts.verification import prorated
from app.extensions import db
from app.registry.models import NedbEnrollment
from tests.money.test_topup_corrected import AMOUNT, _next_act, _settled
from tests.registry.conftest import iin

OCTOBER, DECEMBER = date(2026, 10, 1), date(2026, 12, 1)


def _paid_for_days(country, school, students: list[tuple[str, int]]):
    """October paid, each primary pupil for ``days`` (NEDB's days then)."""
    act = country.act(school, [(student, 3) for student, _days in students], status="paid")
    for line, (_student, days) in zip(sorted(act.lines, key=lambda ln: ln.line_no), students, strict=True):
        line.outcome, line.paid_days, line.amount_tiyn = "accepted", days, prorated(AMOUNT, days, 31)
    act.amount_tiyn = sum(ln.amount_tiyn for ln in act.lines)
    db.session.flush()
    return act


def test_days_nedb_adds_to_a_paid_line_are_not_paid_on_a_place_another_pupil_held(country):
    """Design capacity 1: a pupil withdrawn on 16 October held the place until then, a newcomer from the 16th after
    him — both paid their days, one place on every day. NEDB then moves the newcomer's enrolment back to
    1 September: the first 15 days of October were the other pupil's place, paid already — no top-up of them (the
    month would be paid for two places on each of those days). With room in the building the days are paid."""
    for capacity, expected in ((1, {}), (2, "top-up")):
        school = country.school(capacity=capacity)
        left, newcomer = iin(871 + 2 * capacity), iin(872 + 2 * capacity)
        country.enrol(left, school.bin, grade=3, withdrawn=date(2026, 10, 16))
        late = country.enrol(newcomer, school.bin, grade=3, enrolled=date(2026, 10, 16))
        _paid_for_days(country, school, [(left, 15), (newcomer, 16)])
        november = _next_act(country, school)
        assert _settled(november) == {}, "as paid"

        late.enrolled_on = date(2026, 9, 1)  # NEDB corrected: the newcomer was there all October
        db.session.flush()
        if expected == "top-up":
            assert _settled(november) == {newcomer: (ENROLLED_DAYS, AMOUNT - prorated(AMOUNT, 16, 31))}
        else:
            assert _settled(november) == expected, "October's first 15 days are paid for one place already"
            # The days a line was accepted for are its own place: their claw-back corrected back is paid back in full.
            gone = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == left)).one()
            gone.withdrawn_on = date(2026, 10, 10)
            db.session.flush()
            claw = prorated(AMOUNT, 9, 31) - prorated(AMOUNT, 15, 31)
            assert _settled(november) == {left: (ENROLLED_DAYS, claw)}
            db.session.execute(Act.__table__.update().where(Act.id == november.id).values(status="paid"))
            gone.withdrawn_on = date(2026, 10, 16)
            db.session.flush()
            assert _settled(_next_act(country, school, DECEMBER)) == {left: (NEDB_CORRECTED, -claw)}
