"""A grade NEDB corrects after the month was paid: the line claimed a grade the pupil was not registered in, which
the first verification excludes as ``grade_mismatch`` — the paid month is clawed back in full on the next act,
once, with the evidence; either way (up or down). Months of an earlier academic year are not re-checked against
NEDB's grade (it is the current year's)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sqlalchemy import select

from app.acts.adjustments import NEDB_CORRECTED, reprice
from app.acts.models import ActAdjustment
from app.extensions import db
from app.registry.adapter import Enrollment
from app.reports.operations import run_month_verification, start_month_verification
from tests.helpers import act_of_school
from tests.money.test_adjustments import BILIM, NOVEMBER, OCTOBER, _enrolment, _submit, _submit_accept_pay

BASIC, SECONDARY = 4_230_000, 4_610_000  # 42,300 ₸ and 46,100 ₸ a month


def test_a_grade_corrected_after_payment_is_clawed_back_in_full_once_both_ways(world, browser):
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-1")
    assert october.status == "paid"
    up = next(ln for ln in october.lines if ln.grade == 9)
    down = next(ln for ln in october.lines if ln.grade == 10)
    assert (up.outcome, up.amount_tiyn, down.outcome, down.amount_tiyn) == ("accepted", BASIC, "accepted", SECONDARY)
    # NEDB corrects the grades, same enrolment row and date: 9 → 10 and 10 → 9.
    _enrolment(up.iin).grade = 10
    _enrolment(down.iin).grade = 9
    db.session.commit()

    november = _submit(NOVEMBER)
    found = {a.iin: a for a in november.adjustments}
    assert set(found) == {up.iin, down.iin}
    for line, grade, paid in ((up, 10, BASIC), (down, 9, SECONDARY)):
        adj = found[line.iin]
        assert (adj.rule_code, adj.period, adj.original_line_id, adj.original_amount_tiyn, adj.corrected_amount_tiyn,
                adj.amount_tiyn) == ("grade_mismatch", OCTOBER, line.id, paid, 0, -paid)
        assert adj.evidence["claimed_grade"] == line.grade and [e["grade"] for e in adj.evidence["nedb"]] == [grade]
    assert november.adjustment_tiyn == -(BASIC + SECONDARY)
    page = browser("official").get(f"/acts/{november.id}").get_data(as_text=True)
    assert "Grade in the act: 9; in NEDB: 10" in page and "Grade in the act: 10; in NEDB: 9" in page

    # Verified again month-wide: the same two claw-backs, never twice.
    run = start_month_verification(NOVEMBER, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    assert db.session.scalars(select(ActAdjustment.amount_tiyn).where(ActAdjustment.act_id == november.id)
                              .order_by(ActAdjustment.amount_tiyn)).all() == [-SECONDARY, -BASIC]


def test_only_the_months_of_nedbs_academic_year_are_checked_against_its_grade():
    """NEDB keeps the current grade: last year's grade 9 is this year's grade 10, and last year's months were
    right. The first verification excludes a claimed grade no enrolment here has (both directions)."""
    october = SimpleNamespace(period=date(2026, 10, 1))
    line = SimpleNamespace(amount_tiyn=BASIC, grade=9)
    promoted = [Enrollment("010101500001", "Pupil", "150800000011", "private", 10, date(2025, 9, 1), None)]
    window = (date(2026, 10, 1), date(2026, 10, 31))
    found = reprice(line, october, promoted, "150800000011", BASIC, window)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["claimed_grade"]) == ("grade_mismatch", 0, 9)
    kept = reprice(line, october, promoted, "150800000011", BASIC, window, check_grade=False)
    assert (kept.rule_code, kept.corrected_tiyn) == (NEDB_CORRECTED, BASIC)
    # Two rows here in the month (a re-enrolment): one of them in the claimed grade will do, as when verified.
    both = [*promoted, Enrollment("010101500001", "Pupil", "150800000011", "private", 9, date(2026, 10, 1), None)]
    assert reprice(line, october, both, "150800000011", BASIC, window).rule_code == NEDB_CORRECTED


def test_at_midnight_of_1_september_in_almaty_last_years_months_are_not_checked_against_the_new_grades(country):
    """01:00 on 1 September in Almaty is still 31 August in UTC: NEDB has moved its grades on with the new year, and a
    settlement then clawed back last year's months as ``grade_mismatch`` — every pupil's grade had "changed"."""
    from datetime import UTC, datetime

    from app import clock
    from app.acts.adjustments import registry_year_start
    from tests.money.test_topup_corrected import _next_act, _paid, _settled
    from tests.registry.conftest import iin

    school = country.school()
    pupil = iin(851)
    country.enrol(pupil, school.bin, grade=4)  # moved on from grade 3 for 2027/2028
    _paid(country, school, [(pupil, 3, None)], period=date(2027, 3, 1))
    country.enrol(iin(852), school.bin, grade=3)
    may = _next_act(country, school, date(2027, 5, 1))  # May, resubmitted after a return
    with clock.FrozenClock(datetime(2027, 8, 31, 20, 0, tzinfo=UTC)):  # 01:00 on 1 September in Almaty
        assert registry_year_start() == date(2027, 9, 1)
        assert _settled(may) == {}
