"""A pupil NEDB moves to another grade in the middle of the month (two rows at the school, one per grade): each
line is paid the days of its own grade, at its own level's norm, only on days a licence and the contract cover
that level — per act and month-wide alike."""

from __future__ import annotations

from datetime import date

import pytest

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED, reprice
from app.acts.terms import ActTerms
from app.acts.verification import verify_act, verify_acts
from app.extensions import db
from app.registry.adapter import Enrollment
from tests.registry.conftest import NORMS, iin
from tests.registry.test_rules import terms  # noqa: F401 - the fixture

PRIMARY, BASIC = NORMS["primary"], NORMS["basic"]
MOVED_UP = date(2026, 10, 16)  # grade 4 on 1–15 October, grade 5 from the 16th


def _moved_up(country, school) -> None:
    country.enrol(iin(1), school.bin, grade=4, withdrawn=MOVED_UP)
    country.enrol(iin(1), school.bin, grade=5, enrolled=MOVED_UP)


def _paid(act) -> list[tuple[int, str | None, int, int | None]]:
    db.session.expire_all()
    return [(ln.grade, ln.rule_code, ln.amount_tiyn, ln.paid_days) for ln in sorted(act.lines, key=lambda x: x.line_no)]


def _same_per_act_and_month_wide(act) -> list:
    verify_act(act)
    per_act = _paid(act)
    verify_acts([act])
    assert _paid(act) == per_act
    return per_act


@pytest.mark.parametrize(("claimed", "expected"), [
    (5, (5, None, BASIC * 16 // 31, 16)),  # the fifth-grader's days only — was BASIC in full, 31 days
    (4, (4, None, PRIMARY * 15 // 31, 15)),  # the fourth-grader's days only — was PRIMARY in full, 31 days
])
def test_a_line_is_paid_the_days_of_its_own_grade(country, claimed, expected):
    school = country.school()
    _moved_up(country, school)
    act = country.act(school, [(iin(1), claimed)])
    assert _same_per_act_and_month_wide(act) == [expected]


@pytest.mark.parametrize("limited_by", ["licence", "contract"])
def test_days_in_a_level_the_school_is_not_funded_for_are_not_paid(country, terms, limited_by):  # noqa: F811
    """Licensed (or contracted) for basic only: the fourth-grader's days were paid at basic's norm."""
    school = country.school(registered=limited_by != "licence")
    if limited_by == "licence":
        country.business(school)
        country.licence(school, levels="basic")
    _moved_up(country, school)
    act = country.act(school, [(iin(1), 5), (iin(1), 4)])
    if limited_by == "contract":
        terms[act.id] = ActTerms(allowed_grades=frozenset(range(5, 10)))
    assert _same_per_act_and_month_wide(act) == [(5, None, BASIC * 16 // 31, 16), (4, "level_not_covered", 0, None)]


def test_a_line_per_grade_is_not_a_duplicate_and_takes_one_place(country):
    """Both grades' lines are paid, each its days at its norm; a third copy and a grade NEDB never had are
    duplicates; the two lines hold one place of a one-place school (never the same day twice)."""
    school = country.school(capacity=1)
    _moved_up(country, school)
    act = country.act(school, [(iin(1), 5), (iin(1), 4), (iin(1), 6), (iin(1), 5)])
    assert _same_per_act_and_month_wide(act) == [
        (5, None, BASIC * 16 // 31, 16), (4, None, PRIMARY * 15 // 31, 15),
        (6, "duplicate_line", 0, None), (5, "duplicate_line", 0, None)]
    assert act.amount_tiyn == BASIC * 16 // 31 + PRIMARY * 15 // 31 and act.accepted_students == 1


def test_a_move_up_entered_without_closing_the_old_row_pays_each_day_once_at_the_newer_grade(country):
    """NEDB keeps the grade-4 row open beside the grade-5 row from the 16th: the 16th–31st are the fifth-grader's
    days only (the newer row), never paid on both lines; a grade whose row a newer one covers all month is not the
    pupil's grade that month; three pupils in two places."""
    school = country.school(capacity=2)
    country.enrol(iin(1), school.bin, grade=4)
    country.enrol(iin(1), school.bin, grade=5, enrolled=MOVED_UP)
    country.enrol(iin(2), school.bin, grade=4)
    country.enrol(iin(2), school.bin, grade=5, enrolled=date(2026, 9, 16))
    country.enrol(iin(3), school.bin, grade=5, enrolled=date(2026, 10, 10))
    act = country.act(school, [(iin(1), 5), (iin(1), 4), (iin(2), 4), (iin(2), 5), (iin(3), 5)])
    assert _same_per_act_and_month_wide(act) == [
        (5, None, BASIC * 16 // 31, 16), (4, None, PRIMARY * 15 // 31, 15), (4, "grade_mismatch", 0, None),
        (5, None, BASIC, 31), (5, "over_capacity", 0, None)]


def test_a_paid_line_of_one_grade_is_repriced_at_its_own_days():
    """The repricing after payment counts the days as the verification does: no claw-back of a line paid right."""
    here = "150800000011"
    rows = [Enrollment(iin(1), "Student", here, "private", 4, date(2026, 9, 1), MOVED_UP),
            Enrollment(iin(1), "Student", here, "private", 5, MOVED_UP, None)]
    october = type("Act", (), {"period": date(2026, 10, 1)})
    line = type("Line", (), {"grade": 5, "amount_tiyn": BASIC * 16 // 31})
    found = reprice(line, october, rows, here, BASIC, (date(2026, 10, 1), date(2026, 10, 31)))
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (NEDB_CORRECTED, BASIC * 16 // 31, 16)
    line.amount_tiyn = BASIC  # paid in full before: 15 days of it are clawed back
    found = reprice(line, october, rows, here, BASIC, (date(2026, 10, 1), date(2026, 10, 31)))
    assert (found.rule_code, found.corrected_tiyn) == (ENROLLED_DAYS, BASIC * 16 // 31)
    # The grade-4 row left open beside the grade-5 one: the newer row has the 16th–31st.
    rows[0] = Enrollment(iin(1), "Student", here, "private", 4, date(2026, 9, 1), None)
    for grade, amount, days in ((5, BASIC * 16 // 31, 16), (4, PRIMARY * 15 // 31, 15)):
        line.grade, line.amount_tiyn = grade, amount
        norm = BASIC if grade == 5 else PRIMARY
        found = reprice(line, october, rows, here, norm, (date(2026, 10, 1), date(2026, 10, 31)))
        assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (NEDB_CORRECTED, amount, days)
    rows[1] = Enrollment(iin(1), "Student", here, "private", 5, date(2026, 9, 16), None)  # fifth-grader all October
    found = reprice(line, october, rows, here, PRIMARY, (date(2026, 10, 1), date(2026, 10, 31)))
    assert (found.rule_code, found.corrected_tiyn) == ("grade_mismatch", 0)


def test_a_paid_month_of_a_pupil_moved_up_is_not_adjusted_on_the_next_act(country):
    """October paid by grade — each line its grade's days — is what today's registry says: November's act settles
    nothing for it (no claw-back of the days, no top-up of the other grade's)."""
    from app.acts.adjustments import settle_adjustments
    from app.acts.models import ActAdjustment

    school = country.school()
    _moved_up(country, school)
    country.enrol(iin(2), school.bin, grade=4)  # the grade-4 row left open
    country.enrol(iin(2), school.bin, grade=5, enrolled=MOVED_UP)
    october = country.act(school, [(iin(1), 5), (iin(1), 4), (iin(2), 4), (iin(2), 5)])
    verify_act(october)
    october.status = "paid"
    november = country.act(school, [(iin(1), 5), (iin(2), 5)], period=date(2026, 11, 1), status="verified")
    verify_act(november)
    assert october.amount_tiyn == 2 * (BASIC * 16 // 31 + PRIMARY * 15 // 31)
    assert not any(settle_adjustments([november]).values())
    assert db.session.query(ActAdjustment).count() == 0


def test_a_closed_years_month_paid_grade_by_grade_shares_the_pupils_days_between_its_lines(country):
    """October 2026 was paid grade by grade; a year later NEDB has moved the fifth-grader's row on to grade 6, so the
    grades no longer tell the lines' days apart. Priced on all the days here, each line looked owed the whole month
    (a carried top-up on both); the days are shared out in grade order, each line at most what it was paid for — and a
    withdrawal found now is clawed back from the later grade's line only."""
    from datetime import UTC, datetime

    from app import clock
    from app.acts.adjustments import unsettled_corrections

    school = country.school()
    country.enrol(iin(1), school.bin, grade=4, withdrawn=MOVED_UP)
    row = country.enrol(iin(1), school.bin, grade=6, enrolled=MOVED_UP)  # grade 5 then, moved on with the year
    october = country.act(school, [(iin(1), 5), (iin(1), 4)], status="paid")
    for line, (amount, days) in zip(sorted(october.lines, key=lambda ln: ln.line_no),
                                    ((BASIC * 16 // 31, 16), (PRIMARY * 15 // 31, 15)), strict=True):
        line.outcome, line.amount_tiyn, line.paid_days = "accepted", amount, days
    country.act(school, [(iin(1), 6)], period=date(2027, 9, 1), status="paid")  # the new year's first act
    db.session.flush()

    def owed():
        return [(u.line.grade, u.correction.rule_code, u.amount_tiyn, u.carried) for u in unsettled_corrections(school)]

    with clock.FrozenClock(datetime(2027, 10, 5, 6, 0, tzinfo=UTC)):
        assert owed() == []
        row.withdrawn_on = date(2026, 10, 26)  # NEDB now: gone on 26 October 2026 — 10 days in grade 5
        db.session.flush()
        assert owed() == [(5, ENROLLED_DAYS, BASIC * 10 // 31 - BASIC * 16 // 31, False)]
