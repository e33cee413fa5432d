"""A dormitory liquidated mid-month is paid the days before its liquidation, as a school is (app.registry.business).

The dormitories read the business register by its status alone: once it said "liquidated", every line of the
dormitory's open acts was excluded as ``dorm_business_inactive`` — the month it was liquidated in, and every month
before it still open — though its students lived there until the 15th. Now the register's date decides, as for the
schools: the days before it are paid, a month starting on or after it is excluded as ``dorm_liquidated``, a
liquidation after the month changes nothing; the repricing of decided months agrees (a back-dated date claws back
the days from it on)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.dormitories.rules import DORM_RULES
from app.extensions import db
from app.registry.models import BusinessRecord
from tests.dormitories.test_rule_edges import _lines, _rate, _verify

LIQUIDATED_16TH = date(2027, 10, 16)  # the dormitory exists until the 15th: 15 days of October's 31


def _liquidate(seeded, on: date | None, key: str = "dorm_a") -> None:
    record = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == seeded["orgs"][key].bin)).one()
    record.status, record.liquidated_on = "liquidated", on
    db.session.flush()


def _days_before(line: dict, liquidated_on: date) -> int:
    """The days of October the line's place is occupied before ``liquidated_on``."""
    first = max(date.fromisoformat(line["moved_in"]), date(2027, 10, 1))
    free = min(date.fromisoformat(line["moved_out"]) if line.get("moved_out") else date(2027, 11, 1), liquidated_on)
    return max(0, (free - first).days)


def test_a_dormitory_liquidated_mid_month_is_paid_the_days_before_it(dorm_year):
    _liquidate(dorm_year, LIQUIDATED_16TH)
    rate = _rate(dorm_year)
    lines = _lines(dorm_year)
    summary, rows = _verify(dorm_year, lines)
    assert rows and {rule for rule, _d, _a in rows} == {None}
    expected = [_days_before(line, LIQUIDATED_16TH) for line in lines]
    assert 15 in expected
    assert [(days, amount) for _r, days, amount in rows] == [(n, rate * n // 31) for n in expected]
    assert summary.amount_tiyn == sum(rate * n // 31 for n in expected)


@pytest.mark.parametrize(("on", "expected"), [
    (date(2027, 10, 1), "dorm_liquidated"),  # on the month's first day: no day of it
    (date(2027, 9, 20), "dorm_liquidated"),  # before the month
    (date(2027, 11, 1), None),  # after the month: nothing changes
    (None, "dorm_business_inactive"),  # liquidated with no date known: as before, no month is paid
])
def test_a_liquidation_before_the_month_excludes_the_act_after_it_changes_nothing(dorm_year, on, expected):
    _liquidate(dorm_year, on)
    _summary, rows = _verify(dorm_year, _lines(dorm_year))
    assert {rule for rule, _d, _a in rows} == {expected}
    if expected is None:
        assert 31 in {days for _r, days, _a in rows}
    else:
        assert {amount for _r, _d, amount in rows} == {0}
    assert DORM_RULES["dorm_liquidated"].school_level


def test_a_student_who_moved_in_on_or_after_the_liquidation_day_is_excluded_as_liquidated(dorm_year):
    _liquidate(dorm_year, LIQUIDATED_16TH)
    lines = _lines(dorm_year)
    lines[0]["moved_in"] = "2027-10-16"  # from the liquidation day: no day before it
    lines[1]["moved_in"] = "2027-10-10"  # 6 days before it
    rate = _rate(dorm_year)
    _summary, rows = _verify(dorm_year, lines)
    assert rows[0] == ("dorm_liquidated", None, 0)
    assert rows[1] == (None, 6, rate * 6 // 31)


@pytest.mark.parametrize(("on", "rule", "days"), [
    (date(2027, 9, 16), "enrolled_days", 15),  # back-dated into September: its days from the 16th are clawed back
    (date(2027, 8, 20), "dorm_liquidated", None),  # before September: the whole month
])
def test_a_liquidation_dated_back_into_a_paid_month_claws_back_the_days_from_it(dorm_year, on, rule, days):
    """October's act is excluded whole (the dormitory no longer exists): the claw-backs stay owed, listed on the
    contract (an act with nothing to pay settles no claw-back)."""
    from app.acts.adjustments import ENROLLED_DAYS
    from app.dormitories.adjustments import unsettled_dormitory_corrections
    from tests.dormitories.test_adjustments import OCTOBER, SEPTEMBER, _month

    assert ENROLLED_DAYS == "enrolled_days"
    september = _month(dorm_year, SEPTEMBER)
    rate = _rate(dorm_year)
    full = [ln for ln in september.lines if ln.outcome == "accepted" and ln.paid_days == 30]
    assert full
    _liquidate(dorm_year, on)
    db.session.commit()
    october = _month(dorm_year, OCTOBER, decide=False)
    assert {ln.rule_code for ln in october.lines} == {"dorm_liquidated"}
    owed = {u.line.iin: u for u in unsettled_dormitory_corrections(dorm_year["orgs"]["dorm_a"])}
    for line in full:
        found = owed[line.iin]
        assert (found.correction.rule_code, found.original.period) == (rule, SEPTEMBER)
        assert found.correction.evidence["liquidated_on"] == on.isoformat()
        corrected = 0 if days is None else rate * days // 30
        assert (found.correction.corrected_tiyn, found.amount_tiyn) == (corrected, corrected - line.amount_tiyn)
