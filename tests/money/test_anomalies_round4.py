"""Registry anomalies of round four, priced by hand (norm × days NEDB has the child here ÷ the month's days, down to the
tiyn), per act and month-wide alike.

NEDB keeps one grade per enrolment and moves it on with the academic year (app.acts.adjustments.registry_year_start):
on 10 September 2027 a pupil in grade 9 all of 2026/2027 is in grade 10. An act of May 2027 verified then — returned
and resubmitted after the summer, or verified again by September's NEDB import — excluded every pupil still at the
school as ``grade_mismatch`` (the school claimed the grade they were in in May), and accepted the grade NEDB gives now.
The month's grade is the one NEDB's row had then: its grade now, or as many grades below as academic years have
passed (a pupil promoted every year; one who repeated a year keeps the grade). A row that ended before NEDB's year
began was not moved on: its grade is the month's."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app import clock
from app.acts.models import StudentNorm
from app.extensions import db
from tests.money.test_registry_anomalies import _per_act_and_month_wide
from tests.registry.conftest import NORMS, iin

MAY = date(2027, 5, 1)  # 31 days, academic year 2026/2027
SEPTEMBER_10 = datetime(2027, 9, 10, 9, tzinfo=UTC)  # NEDB's grades are of 2027/2028
B = NORMS["basic"]  # 4,230,000 tiyn a month


def test_a_may_act_verified_after_nedb_moved_the_grades_on_pays_may_s_grades(country):
    school = country.school()
    promoted, repeated, left, two_below = iin(1), iin(2), iin(3), iin(4)
    country.enrol(promoted, school.bin, grade=10)  # grade 9 in May, moved on to 10 for 2027/2028
    country.enrol(repeated, school.bin, grade=7)  # repeats grade 7: the same grade both years
    country.enrol(left, school.bin, grade=6, withdrawn=date(2027, 6, 1))  # left in June: never moved on
    country.enrol(two_below, school.bin, grade=10)
    with clock.FrozenClock(SEPTEMBER_10):
        act = country.act(school, [(promoted, 9), (repeated, 7), (left, 5), (two_below, 8)], period=MAY)
        assert _per_act_and_month_wide(act)[act.id] == [
            ("accepted", None, 31, B), ("accepted", None, 31, B),
            ("excluded", "grade_mismatch", None, 0), ("excluded", "grade_mismatch", None, 0)]


def test_a_pupil_moved_up_mid_may_and_moved_on_in_september_is_paid_both_lines(country):
    """Grade 8 until 15 May, grade 9 from the 16th (two rows); the second row moved on to 10 in September: the grade-8
    line is paid the 1st–15th, the grade-9 line the 16th–31st — the latter was ``grade_mismatch``."""
    school = country.school()
    pupil = iin(1)
    country.enrol(pupil, school.bin, grade=8, withdrawn=date(2027, 5, 16))
    country.enrol(pupil, school.bin, grade=10, enrolled=date(2027, 5, 16))
    with clock.FrozenClock(SEPTEMBER_10):
        act = country.act(school, [(pupil, 8, 15), (pupil, 9, 16)], period=MAY)
        assert _per_act_and_month_wide(act)[act.id] == [("accepted", None, 15, B * 15 // 31),
                                                        ("accepted", None, 16, B * 16 // 31)]
    assert (B * 15 // 31, B * 16 // 31) == (2_046_774, 2_183_225)


def test_an_act_of_the_current_year_is_held_to_nedb_s_grade(country):
    """Guard: in NEDB's own academic year the grade is NEDB's, exactly (a grade one below is not a promotion)."""
    school = country.school()
    pupil = iin(1)
    country.enrol(pupil, school.bin, grade=10, enrolled=date(2027, 9, 1))
    with clock.FrozenClock(datetime(2027, 10, 5, 9, tzinfo=UTC)):
        db.session.add_all([StudentNorm(academic_year="2027/2028", level=k, monthly_tiyn=v) for k, v in NORMS.items()])
        act = country.act(school, [(pupil, 9)], period=date(2027, 9, 1))
        assert _per_act_and_month_wide(act)[act.id] == [("excluded", "grade_mismatch", None, 0)]


def test_the_places_of_a_may_act_verified_in_september_go_to_the_pupils_enrolled_longest(country):
    """Design capacity 1, two pupils moved on since May: the one enrolled first holds the place all month; the other,
    enrolled on 10 May, is over capacity — both were ``grade_mismatch``."""
    school = country.school(capacity=1)
    first, later = iin(1), iin(2)
    country.enrol(first, school.bin, grade=10)
    country.enrol(later, school.bin, grade=10, enrolled=date(2027, 5, 10))
    with clock.FrozenClock(SEPTEMBER_10):
        act = country.act(school, [(later, 9), (first, 9)], period=MAY)
        assert _per_act_and_month_wide(act)[act.id] == [("excluded", "over_capacity", None, 0),
                                                        ("accepted", None, 31, B)]
