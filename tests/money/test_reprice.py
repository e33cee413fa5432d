"""How an accepted line is re-priced on today's registry data (the cause of an adjustment), rule by rule."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED, Correction, reprice
from app.registry.adapter import Enrollment

HERE, THERE = "150800000011", "990900000022"
OCTOBER = SimpleNamespace(period=date(2026, 10, 1))
NORM = 4_230_000
MONTH = (date(2026, 10, 1), date(2026, 10, 31))  # the days the school's licences cover: all of October


def _enrolment(school: str, enrolled: date, withdrawn: date | None = None) -> Enrollment:
    return Enrollment("010101500001", "Student", school, "private", 5, enrolled, withdrawn)


def _outcome(found: Correction) -> tuple[str, int]:
    return found.rule_code, found.corrected_tiyn


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
        found = reprice(_line(), OCTOBER, enrolments, HERE, NORM, MONTH)
        assert (found.rule_code, found.corrected_tiyn) == (rule, 0), rule
        assert len(found.evidence["nedb"]) == len(enrolments)


def test_every_line_is_repriced_by_days_and_an_unchanged_amount_is_a_correction_back():
    """Every act is paid by days (as its verification pays it): a withdrawal on 10 October leaves 9 days; the same
    amount as when accepted reverses an earlier claw-back (the registry corrected back)."""
    gone = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 10))]
    found = reprice(_line(), OCTOBER, gone, HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn) == (ENROLLED_DAYS, NORM * 9 // 31)
    found = reprice(_line(NORM * 9 // 31), OCTOBER, gone, HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn) == (NEDB_CORRECTED, NORM * 9 // 31)


def test_pay_by_days_reprices_to_the_days_enrolled_rounded_down_to_the_tiyn():
    # Withdrawn on 11 October: enrolled 1–10 October, 10 of 31 days.
    found = reprice(_line(), OCTOBER, [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 11))], HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (ENROLLED_DAYS, NORM * 10 // 31, 10)


def test_the_evidence_is_every_nedb_record_of_the_student_in_date_order_with_its_dates():
    records = [_enrolment(THERE, date(2026, 9, 15)), _enrolment(HERE, date(2026, 9, 1), date(2026, 9, 15)),
               _enrolment(HERE, date(2026, 9, 15), date(2026, 10, 20))]
    found = reprice(_line(), OCTOBER, records, HERE, NORM, MONTH)
    assert found.evidence == {"nedb": [
        {"school_bin": HERE, "grade": 5, "enrolled_on": "2026-09-01", "withdrawn_on": "2026-09-15"},
        {"school_bin": HERE, "grade": 5, "enrolled_on": "2026-09-15", "withdrawn_on": "2026-10-20"},
        {"school_bin": THERE, "grade": 5, "enrolled_on": "2026-09-15", "withdrawn_on": None},
    ]}


def test_withdrawn_on_the_first_day_of_the_month_is_withdrawn_on_the_second_day_still_a_student():
    first_day = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 1))]
    assert reprice(_line(), OCTOBER, first_day, HERE, NORM, MONTH) == Correction("withdrawn", 0, {"nedb": [
        {"school_bin": HERE, "grade": 5, "enrolled_on": "2026-09-01", "withdrawn_on": "2026-10-01"}]})
    second_day = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 2))]
    found = reprice(_line(), OCTOBER, second_day, HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn) == (ENROLLED_DAYS, NORM // 31)


def test_another_school_counts_only_when_the_student_was_there_during_the_month():
    # Left here in September, enrolled elsewhere only from November: withdrawn, not "another school".
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 9, 20)), _enrolment(THERE, date(2026, 11, 1))]
    assert reprice(_line(), OCTOBER, records, HERE, NORM, MONTH).rule_code == "withdrawn"
    # Left the other school before October and never here: not registered.
    records = [_enrolment(THERE, date(2026, 9, 1), date(2026, 9, 20))]
    assert reprice(_line(), OCTOBER, records, HERE, NORM, MONTH).rule_code == "not_registered"
    # Enrolled here later than October, and at the other school during it: another school.
    records = [_enrolment(THERE, date(2026, 9, 1)), _enrolment(HERE, date(2026, 11, 1))]
    assert reprice(_line(), OCTOBER, records, HERE, NORM, MONTH).rule_code == "other_school"


def test_a_transfer_inside_the_month_keeps_the_days_here():
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 15)), _enrolment(THERE, date(2026, 10, 15))]
    found = reprice(_line(NORM * 14 // 31), OCTOBER, records, HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (NEDB_CORRECTED, NORM * 14 // 31, 14)
    assert [(r["school_bin"], r["withdrawn_on"]) for r in found.evidence["nedb"]] == [(HERE, "2026-10-15"),
                                                                                      (THERE, None)]


def test_a_common_day_with_another_school_found_after_payment_is_a_double_enrolment():
    records = [_enrolment(HERE, date(2026, 9, 1)), _enrolment(THERE, date(2026, 10, 5), date(2026, 10, 25))]
    assert _outcome(reprice(_line(), OCTOBER, records, HERE, NORM, MONTH)) == ("double_enrolment", 0)
    # Enrolled and withdrawn there on one day: no day there, nothing shared.
    records = [_enrolment(HERE, date(2026, 9, 1)), _enrolment(THERE, date(2026, 10, 5), date(2026, 10, 5))]
    assert _outcome(reprice(_line(), OCTOBER, records, HERE, NORM, MONTH)) == (NEDB_CORRECTED, NORM)


def test_only_the_days_the_licence_covers_are_paid_again():
    """A licence issued on 16 October: the month is worth 16 days, whatever NEDB now says about the 1st–15th."""
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 21))]
    found = reprice(_line(NORM * 16 // 31), OCTOBER, records, HERE, NORM, (date(2026, 10, 16), MONTH[1]))
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (ENROLLED_DAYS, NORM * 5 // 31, 5)
    assert _outcome(reprice(_line(), OCTOBER, records, HERE, NORM, None)) == ("licence_expired", 0)


def test_pay_by_days_counts_the_days_of_every_enrolment_here_once():
    # Two records here (re-enrolled on 20 October): 1–9 and 20–31 October, 9 + 12 = 21 days.
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 10)), _enrolment(HERE, date(2026, 10, 20)),
               _enrolment(THERE, date(2026, 10, 10), date(2026, 10, 20))]
    found = reprice(_line(), OCTOBER, records, HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (ENROLLED_DAYS, NORM * 21 // 31, 21)
    # Overlapping records (a corrected date imported beside the old one): each day once.
    records = [_enrolment(HERE, date(2026, 9, 1), date(2026, 10, 16)), _enrolment(HERE, date(2026, 10, 10),
                                                                                   date(2026, 10, 16))]
    found = reprice(_line(), OCTOBER, records, HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn, found.evidence["days"]) == (ENROLLED_DAYS, NORM * 15 // 31, 15)


def test_pay_by_days_of_a_student_gone_earns_nothing_with_the_rule():
    found = reprice(_line(), OCTOBER, [_enrolment(HERE, date(2026, 9, 1), date(2026, 9, 20))], HERE, NORM, MONTH)
    assert (found.rule_code, found.corrected_tiyn) == ("withdrawn", 0)
    assert "days" not in found.evidence


def test_adjustments_reach_back_to_the_first_of_september_of_the_acts_academic_year():
    from app.acts.adjustments import _year_start

    assert _year_start(date(2026, 9, 1)) == date(2026, 9, 1)
    assert _year_start(date(2026, 12, 1)) == date(2026, 9, 1)
    assert _year_start(date(2027, 1, 1)) == date(2026, 9, 1)
    assert _year_start(date(2027, 8, 1)) == date(2026, 9, 1)


def test_an_adjustment_names_its_cause_by_the_rules_title_or_its_own(app):  # the instruments are registered
    from app.acts.adjustments import CAUSES, cause_title
    from app.acts.rules import RULES

    assert cause_title("withdrawn") is RULES["withdrawn"].title
    assert cause_title(ENROLLED_DAYS) is CAUSES[ENROLLED_DAYS]
    assert cause_title(NEDB_CORRECTED) is CAUSES[NEDB_CORRECTED]
    assert cause_title("retired_rule") == "retired_rule"
