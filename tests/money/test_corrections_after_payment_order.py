"""The order of events around decided months, as an auditor probes it: each must end with the money the registry
says, paid once, and every adjustment carrying why (the rule, the month, the NEDB evidence)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app import clock
from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED, settle_adjustments, unsettled_corrections
from app.acts.models import Act, ActAdjustment
from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR
from app.acts.verification import prorated
from app.extensions import db
from tests.registry.conftest import NORMS, Country, iin

AMOUNT = NORMS["primary"]
OCTOBER = date(2026, 10, 1)


def _paid(country: Country, school, period: date, lines: list[tuple[str, str | None]]) -> Act:
    """A paid act of primary pupils: (IIN, the rule that excluded the line — None: accepted for the whole month)."""
    act = country.act(school, [(student, 3) for student, _ in lines], period=period, status="paid")
    for line, (_, rule) in zip(sorted(act.lines, key=lambda ln: ln.line_no), lines, strict=True):
        line.outcome, line.rule_code = ("excluded", rule) if rule else ("accepted", None)
        line.amount_tiyn, line.paid_days = (0, 0) if rule else (AMOUNT, 31)
    act.amount_tiyn = sum(ln.amount_tiyn for ln in act.lines)
    db.session.flush()
    return act


def _verified(country: Country, school, period: date, student: str) -> Act:
    act = country.act(school, [(student, 3)], period=period, status="verified")
    act.amount_tiyn = AMOUNT
    db.session.flush()
    return act


def _reverified(*acts: Act) -> None:
    """What a verification writes before it settles: the act's amount is what its own lines earn."""
    for act in acts:
        act.amount_tiyn = AMOUNT
    db.session.flush()


def _adjustments(*acts: Act) -> list[tuple[str, str, int]]:
    return [(a.iin, a.rule_code, a.amount_tiyn) for a in db.session.scalars(
        select(ActAdjustment).where(ActAdjustment.act_id.in_([x.id for x in acts])).order_by(ActAdjustment.id))]


def test_a_pupil_transferred_between_regions_after_both_months_were_paid_is_paid_once(country):
    """October was paid to school A (Astana) for the whole month and not to school B (Almaty), whose line was
    excluded as at another school. NEDB is corrected: the pupil moved to B on the 16th. A gives back the days it
    did not teach, B is paid them — October is paid once, split by NEDB's days, each in its own region."""
    a, b = country.school("A"), country.school("B", region=country.region2)
    moved, stays_a, stays_b = iin(901), iin(902), iin(903)
    country.enrol(moved, a.bin, grade=3, enrolled=date(2026, 9, 1), withdrawn=date(2026, 10, 16))
    country.enrol(moved, b.bin, grade=3, enrolled=date(2026, 10, 16))
    country.enrol(stays_a, a.bin, grade=3, enrolled=date(2026, 9, 1))
    country.enrol(stays_b, b.bin, grade=3, enrolled=date(2026, 9, 1))
    _paid(country, a, OCTOBER, [(moved, None), (stays_a, None)])
    _paid(country, b, OCTOBER, [(moved, "other_school"), (stays_b, None)])
    with clock.FrozenClock(datetime(2026, 12, 2, 6, 0, tzinfo=UTC)):
        november_a = _verified(country, a, date(2026, 11, 1), stays_a)
        november_b = _verified(country, b, date(2026, 11, 1), stays_b)
        for _ in range(2):  # verified again (an import, a resubmission): recomputed, never added to
            _reverified(november_a, november_b)
            settle_adjustments([november_a, november_b])
        back, paid_b = prorated(AMOUNT, 15, 31) - AMOUNT, prorated(AMOUNT, 16, 31)
        assert _adjustments(november_a) == [(moved, ENROLLED_DAYS, back)]
        assert _adjustments(november_b) == [(moved, REGISTRY_CORRECTED_IN_FAVOUR, paid_b)]
        assert AMOUNT + back + paid_b == prorated(AMOUNT, 15, 31) + prorated(AMOUNT, 16, 31), "October paid once"
        (evidence_b,) = [a.evidence for a in db.session.scalars(select(ActAdjustment).where(
            ActAdjustment.act_id == november_b.id))]
        assert evidence_b["excluded_as"] == "other_school" and evidence_b["days"] == 16
        assert {a.region_id: a.amount_tiyn for a in (november_a, november_b)} == {
            country.region.id: AMOUNT + back, country.region2.id: AMOUNT + paid_b}

        november_a.status = november_b.status = "paid"
        db.session.flush()
        assert unsettled_corrections(a) == [] and unsettled_corrections(b) == []
        december_a = _verified(country, a, date(2026, 12, 1), stays_a)
        december_b = _verified(country, b, date(2026, 12, 1), stays_b)
        assert settle_adjustments([december_a, december_b]) == {}, "settled once: nothing more"


def test_a_correction_reversing_a_claw_back_settled_on_a_paid_act_is_paid_back_once(country):
    """NEDB said the pupil had left on 1 October: November's act (paid) clawed October back. NEDB is corrected
    back: December's act pays it back, once — and a later correction again claws it back, once."""
    school = country.school()
    pupil, stays = iin(911), iin(912)
    row = country.enrol(pupil, school.bin, grade=3, enrolled=date(2026, 9, 1), withdrawn=OCTOBER)
    country.enrol(stays, school.bin, grade=3, enrolled=date(2026, 9, 1))
    _paid(country, school, OCTOBER, [(pupil, None), (stays, None)])
    with clock.FrozenClock(datetime(2027, 2, 2, 6, 0, tzinfo=UTC)):
        november = _verified(country, school, date(2026, 11, 1), stays)
        settle_adjustments([november])
        assert _adjustments(november) == [(pupil, "withdrawn", -AMOUNT)]
        november.status = "paid"
        row.withdrawn_on = None  # the withdrawal was a mistake
        db.session.flush()
        december = _verified(country, school, date(2026, 12, 1), stays)
        for _ in range(2):
            _reverified(december)
            settle_adjustments([december])
        assert _adjustments(december) == [(pupil, NEDB_CORRECTED, AMOUNT)]
        december.status = "paid"
        row.withdrawn_on = OCTOBER  # and then it was right after all
        db.session.flush()
        january = _verified(country, school, date(2027, 1, 1), stays)
        settle_adjustments([january])
        assert _adjustments(january) == [(pupil, "withdrawn", -AMOUNT)]
        total = sum(a.amount_tiyn for a in db.session.scalars(select(ActAdjustment)))
        assert AMOUNT + total == 0, "October's line is paid nothing in the end"
