"""How an accepted line is re-priced on today's registry data (the cause of an adjustment), rule by rule."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED, Correction, reprice
from app.registry.adapter import Enrollment

HERE, THERE = "150800000011", "990900000022"
OCTOBER = SimpleNamespace(period=date(2026, 10, 1))
NORM = 4_230_000


def _enrolment(school: str, enrolled: date, withdrawn: date | None = None) -> Enrollment:
    return Enrollment("010101500001", "Student", school, "private", 5, enrolled, withdrawn)


def _line(amount: int = NORM):
    return SimpleNamespace(amount_tiyn=amount, grade=5)


def test_not_a_student_here_in_the_month_earns_nothing_with_the_rule_that_says_why():
    cases = [
        ([], "not_in_nedb"),
        ([_enrolment(HERE, date(2026, 9, 1), date(2026, 9, 20))], "withdrawn"),
        ([_enrolment(HERE, date(2026, 9, 1), date(2026, 9, 15)), _enrolment(THERE, date(2026, 9, 15))],
         "other_school"),
        ([_enrolment(HERE, date(2026, 11, 2))], "not_registered"),
    ]
    for enrolments, rule in cases:
        found = reprice(_line(), OCTOBER, enrolments, HERE, NORM, by_days=False)
        assert (found.rule_code, found.corrected_tiyn) == (rule, 0), rule
        assert len(found.evidence["nedb"]) == len(enrolments)


def test_enrolled_during_the_month_keeps_what_it_earned():
    found = reprice(_line(), OCTOBER, [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 10))], HERE, NORM, False)
    assert (found.rule_code, found.corrected_tiyn) == (NEDB_CORRECTED, NORM)


def test_pay_by_days_reprices_to_the_days_enrolled_rounded_down_to_the_tiyn():
    # Withdrawn on 11 October: enrolled 1–10 October, 10 of 31 days.
    found = reprice(_line(), OCTOBER, [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 11))], HERE, NORM, True)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (ENROLLED_DAYS, NORM * 10 // 31, 10)


def test_the_evidence_is_every_nedb_record_of_the_student_in_date_order_with_its_dates():
    records = [_enrolment(THERE, date(2026, 9, 15)), _enrolment(HERE, date(2026, 9, 1), date(2026, 9, 15)),
               _enrolment(HERE, date(2026, 9, 15), date(2026, 10, 20))]
    found = reprice(_line(), OCTOBER, records, HERE, NORM, by_days=False)
    assert found.evidence == {"nedb": [
        {"school_bin": HERE, "grade": 5, "enrolled_on": "2026-09-01", "withdrawn_on": "2026-09-15"},
        {"school_bin": HERE, "grade": 5, "enrolled_on": "2026-09-15", "withdrawn_on": "2026-10-20"},
        {"school_bin": THERE, "grade": 5, "enrolled_on": "2026-09-15", "withdrawn_on": None},
    ]}


def test_withdrawn_on_the_first_day_of_the_month_is_withdrawn_on_the_second_day_still_a_student():
    first_day = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 1))]
    assert reprice(_line(), OCTOBER, first_day, HERE, NORM, False) == Correction("withdrawn", 0, {"nedb": [
        {"school_bin": HERE, "grade": 5, "enrolled_on": "2026-09-01", "withdrawn_on": "2026-10-01"}]})
    second_day = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 2))]
    found = reprice(_line(), OCTOBER, second_day, HERE, NORM, False)
    assert (found.rule_code, found.corrected_tiyn) == (NEDB_CORRECTED, NORM)


def test_another_school_counts_only_when_the_student_was_there_during_the_month():
    # Left here in September, enrolled elsewhere only from November: withdrawn, not "another school".
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 9, 20)), _enrolment(THERE, date(2026, 11, 1))]
    assert reprice(_line(), OCTOBER, records, HERE, NORM, False).rule_code == "withdrawn"
    # Left the other school before October and never here: not registered.
    records = [_enrolment(THERE, date(2026, 9, 1), date(2026, 9, 20))]
    assert reprice(_line(), OCTOBER, records, HERE, NORM, False).rule_code == "not_registered"
    # Enrolled here later than October, and at the other school during it: another school.
    records = [_enrolment(THERE, date(2026, 9, 1)), _enrolment(HERE, date(2026, 11, 1))]
    assert reprice(_line(), OCTOBER, records, HERE, NORM, False).rule_code == "other_school"


def test_a_student_here_and_elsewhere_in_the_same_month_keeps_what_it_earned_here():
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 15)), _enrolment(THERE, date(2026, 10, 15))]
    found = reprice(_line(3_000_000), OCTOBER, records, HERE, NORM, by_days=False)
    assert (found.rule_code, found.corrected_tiyn) == (NEDB_CORRECTED, 3_000_000)
    assert [(r["school_bin"], r["withdrawn_on"]) for r in found.evidence["nedb"]] == [(HERE, "2026-10-15"),
                                                                                      (THERE, None)]


def test_pay_by_days_adds_the_days_of_every_enrolment_here_and_never_pays_more_than_the_month():
    # Two records here (re-enrolled on 20 October): 1–9 and 20–31 October, 9 + 12 = 21 days.
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 10)), _enrolment(HERE, date(2026, 10, 20)),
               _enrolment(THERE, date(2026, 10, 10), date(2026, 10, 20))]
    found = reprice(_line(), OCTOBER, records, HERE, NORM, by_days=True)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (ENROLLED_DAYS, NORM * 21 // 31, 21)
    # Overlapping duplicate records: 31 + 31 days counted, the month has 31.
    records = [_enrolment(HERE, date(2026, 9, 1)), _enrolment(HERE, date(2026, 9, 1))]
    found = reprice(_line(), OCTOBER, records, HERE, NORM, by_days=True)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (ENROLLED_DAYS, NORM, 31)


def test_pay_by_days_of_a_student_gone_earns_nothing_with_the_rule():
    found = reprice(_line(), OCTOBER, [_enrolment(HERE, date(2026, 9, 1), date(2026, 9, 20))], HERE, NORM, True)
    assert (found.rule_code, found.corrected_tiyn) == ("withdrawn", 0)
    assert "days" not in found.evidence


def test_adjustments_reach_back_to_the_first_of_september_of_the_acts_academic_year():
    from app.acts.adjustments import _year_start

    assert _year_start(date(2026, 9, 1)) == date(2026, 9, 1)
    assert _year_start(date(2026, 12, 1)) == date(2026, 9, 1)
    assert _year_start(date(2027, 1, 1)) == date(2026, 9, 1)
    assert _year_start(date(2027, 8, 1)) == date(2026, 9, 1)


def test_an_adjustment_names_its_cause_by_the_rules_title_or_its_own():
    from app.acts.adjustments import CAUSES, cause_title
    from app.acts.rules import RULES

    assert cause_title("withdrawn") is RULES["withdrawn"].title
    assert cause_title(ENROLLED_DAYS) is CAUSES[ENROLLED_DAYS]
    assert cause_title(NEDB_CORRECTED) is CAUSES[NEDB_CORRECTED]
    assert cause_title("retired_rule") == "retired_rule"
