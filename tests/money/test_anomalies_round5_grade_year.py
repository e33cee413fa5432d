"""NEDB's grade year in the summer, priced by hand (basic's norm 4,230,000 tiyn a month, May 2027's 31 days).

Schools move their pupils up in NEDB over the summer, before 1 September (``NEDB_PROMOTION_MONTH``, June): in July
2027 a pupil in grade 9 all of 2026/2027 is in grade 10 at one school, still in 9 at the next. A May act verified
then — returned and resubmitted, or verified again by July's NEDB import — excluded every promoted pupil as
``grade_mismatch``, and the reconciliation listed every paid line of a promoted pupil as a claw-back of the whole
month. In the window the month's grade is NEDB's or the one below (promoted or not yet; one who repeats keeps it);
a grade two below, or a row that ended before the window, is still a mismatch; before the window nothing changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app import clock
from app.acts.adjustments import unsettled_corrections
from app.acts.models import StudentNorm
from app.extensions import db
from tests.money.settling import paid, settled, verified
from tests.money.test_registry_anomalies import _per_act_and_month_wide
from tests.registry.conftest import NORMS, iin

APRIL, MAY, JUNE, SEPTEMBER = date(2027, 4, 1), date(2027, 5, 1), date(2027, 6, 1), date(2027, 9, 1)
JULY_10 = datetime(2027, 7, 10, 9, tzinfo=UTC)  # NEDB's grades: May's or 2027/2028's, pupil by pupil
MAY_31 = datetime(2027, 5, 31, 9, tzinfo=UTC)  # before the window: NEDB's grades are 2026/2027's
SEPTEMBER_10 = datetime(2027, 9, 10, 9, tzinfo=UTC)  # NEDB's grades are 2027/2028's
B = NORMS["basic"]  # 4,230,000 tiyn a month


def test_a_may_act_verified_in_july_pays_pupils_promoted_or_not_yet(country):
    school = country.school()
    promoted, not_yet, two_below, left_in_may = iin(1), iin(2), iin(3), iin(4)
    country.enrol(promoted, school.bin, grade=10)  # grade 9 in May, moved up in June
    country.enrol(not_yet, school.bin, grade=9)  # its school has not moved it yet (or it repeats grade 9)
    country.enrol(two_below, school.bin, grade=10)  # claimed grade 8: no promotion explains it
    country.enrol(left_in_may, school.bin, grade=6, enrolled=date(2026, 9, 1), withdrawn=JUNE)  # never moved up
    with clock.FrozenClock(JULY_10):
        act = country.act(school, [(promoted, 9), (not_yet, 9), (two_below, 8), (left_in_may, 5)], period=MAY)
        assert _per_act_and_month_wide(act)[act.id] == [
            ("accepted", None, 31, B), ("accepted", None, 31, B),
            ("excluded", "grade_mismatch", None, 0), ("excluded", "grade_mismatch", None, 0)]


def test_before_the_summer_window_a_grade_one_below_nedb_s_is_a_mismatch(country):
    """Guard: on 31 May NEDB's grades are the year's own — grade 9 claimed for a pupil NEDB has in 10 is excluded."""
    school = country.school()
    pupil = iin(1)
    country.enrol(pupil, school.bin, grade=10)
    with clock.FrozenClock(MAY_31):
        act = country.act(school, [(pupil, 9)], period=APRIL)
        assert _per_act_and_month_wide(act)[act.id] == [("excluded", "grade_mismatch", None, 0)]


def test_a_may_line_paid_is_no_claw_back_when_nedb_moves_the_pupil_up_in_july(country):
    """Paid for May at grade 9 (31 days, 4,230,000); NEDB moves the pupil to grade 10 in July: nothing is owed back —
    the reconciliation listed -4,230,000 (grade_mismatch), and a June act settled it."""
    school = country.school()
    pupil = iin(1)
    row = country.enrol(pupil, school.bin, grade=9)
    with clock.FrozenClock(MAY_31):
        may = paid(verified(country.act(school, [(pupil, 9)], period=MAY)))
        assert may.amount_tiyn == B
    row.grade = 10
    db.session.flush()
    with clock.FrozenClock(JULY_10):
        assert unsettled_corrections(school) == []
        assert settled(verified(country.act(school, [(pupil, 9)], period=JUNE))) == []


def _april_paid_then_grade_corrected(country):
    """A pupil paid for April at grade 9 (4,230,000), whom NEDB then corrects to grade 10 on 31 May."""
    school = country.school()
    pupil = iin(1)
    row = country.enrol(pupil, school.bin, grade=9)
    with clock.FrozenClock(MAY_31):
        paid(verified(country.act(school, [(pupil, 9)], period=APRIL)))
        row.grade = 10
        db.session.flush()
    return school, pupil


def test_a_grade_nedb_corrects_in_may_is_still_clawed_back(country):
    """Guard: a paid April line whose grade NEDB corrects before the summer (9 → 10 on 31 May) is clawed back whole."""
    school, pupil = _april_paid_then_grade_corrected(country)
    with clock.FrozenClock(MAY_31):
        found = unsettled_corrections(school)
        assert [(u.correction.rule_code, u.amount_tiyn) for u in found] == [("grade_mismatch", -B)]



def test_a_grade_claw_back_is_not_paid_back_when_the_grade_can_no_longer_be_checked(country):
    """April paid at grade 9 (4,230,000); NEDB corrects the grade to 10 on 31 May, and May's act claws April back
    whole (-4,230,000). From the summer on (and from September before) NEDB's grades may be of the next year, so the
    April line's grade was no longer checked: it was listed, and settled by the next act, as a top-up of +4,230,000
    ("nedb_corrected") — the claw-back undone by the calendar, with no registry correction."""
    school, pupil = _april_paid_then_grade_corrected(country)
    with clock.FrozenClock(MAY_31):
        may = paid(verified(country.act(school, [(pupil, 10)], period=MAY)))
        assert settled(may) == [("grade_mismatch", -B)]
    with clock.FrozenClock(JULY_10):
        assert unsettled_corrections(school) == []
    with clock.FrozenClock(SEPTEMBER_10):
        assert unsettled_corrections(school) == []
        db.session.add_all([StudentNorm(academic_year="2027/2028", level=k, monthly_tiyn=v) for k, v in NORMS.items()])
        assert settled(verified(country.act(school, [(pupil, 10)], period=SEPTEMBER))) == []


@pytest.mark.parametrize("verified_at", [JULY_10, SEPTEMBER_10])
def test_a_pupil_listed_in_two_grades_nedb_has_in_the_higher_is_paid_once(country, verified_at):
    """One NEDB row, grade 9 (not moved up yet in July; repeating grade 9 in September); the act lists the pupil in
    grade 9 and in grade 8, 31 days each. Grade 8 is one below NEDB's, so both lines were paid the whole month:
    8,460,000 for one child's 4,230,000. The grade-9 line takes the row; the grade-8 line is a duplicate_line."""
    school = country.school()
    pupil = iin(1)
    country.enrol(pupil, school.bin, grade=9)
    with clock.FrozenClock(verified_at):
        act = country.act(school, [(pupil, 9, 31), (pupil, 8, 31)], period=MAY)
        assert _per_act_and_month_wide(act)[act.id] == [("accepted", None, 31, B),
                                                        ("excluded", "duplicate_line", None, 0)]


@pytest.mark.parametrize("verified_at", [JULY_10, SEPTEMBER_10])
def test_a_pupil_moved_up_mid_may_whose_new_row_kept_its_grade_is_paid_each_day_once(country, verified_at):
    """Grade 8 until 15 May, grade 9 from the 16th (two rows), the grade-9 row not moved up (July) or repeating
    (September): the grade-8 line is paid the 1st–15th (2,046,774), the grade-9 line the 16th–31st (2,183,225). The
    grade-8 line was paid all 31 days (4,230,000), the 16th–31st on both lines."""
    school = country.school()
    pupil = iin(1)
    country.enrol(pupil, school.bin, grade=8, withdrawn=date(2027, 5, 16))
    country.enrol(pupil, school.bin, grade=9, enrolled=date(2027, 5, 16))
    with clock.FrozenClock(verified_at):
        act = country.act(school, [(pupil, 8, 15), (pupil, 9, 16)], period=MAY)
        assert _per_act_and_month_wide(act)[act.id] == [("accepted", None, 15, 2_046_774),
                                                        ("accepted", None, 16, 2_183_225)]
    assert (B * 15 // 31, B * 16 // 31) == (2_046_774, 2_183_225)
