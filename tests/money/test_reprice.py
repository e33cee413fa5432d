"""How an accepted line is re-priced on today's registry data (the cause of an adjustment), rule by rule."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED, reprice
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
