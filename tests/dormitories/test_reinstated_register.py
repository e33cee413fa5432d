"""A dormitory the business register lists "active" again after a dated liquidation (its usual export has no date
column, and the import keeps the column it is not given): the row keeps the old date, and the dormitory was paid only
the days before it — 15 of October's 31 for a place held all month. Now the date counts only while the register says
"liquidated" (app.registry.business.liquidation_day): the whole month is paid. Guard: still listed "liquidated", the
date holds."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.registry.models import BusinessRecord
from tests.dormitories.test_liquidation import _days_before
from tests.dormitories.test_rule_edges import _lines, _rate, _verify

LIQUIDATED_16TH = date(2027, 10, 16)


def _listed(seeded, status: str) -> None:
    """Liquidated on the 16th, then listed with ``status`` by a file without the date column (the row keeps it)."""
    record = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == seeded["orgs"]["dorm_a"].bin)).one()
    record.status, record.liquidated_on = status, LIQUIDATED_16TH
    db.session.flush()


def _whole(line: dict) -> int:
    return _days_before(line, date(2027, 11, 1))


def test_a_dormitory_the_register_reinstates_is_paid_the_whole_month(dorm_year):
    _listed(dorm_year, "active")
    rate, lines = _rate(dorm_year), _lines(dorm_year)
    summary, rows = _verify(dorm_year, lines)
    assert 31 in [_whole(line) for line in lines]
    # before the fix: the days before the 16th only (a place held all month: rate × 15 ÷ 31)
    assert [(rule, days, amount) for rule, days, amount in rows] == [
        (None, _whole(line), rate * _whole(line) // 31) for line in lines]
    assert summary.amount_tiyn == sum(rate * _whole(line) // 31 for line in lines)


def test_guard_a_dormitory_still_listed_liquidated_is_paid_the_days_before_it(dorm_year):
    _listed(dorm_year, "liquidated")
    rate, lines = _rate(dorm_year), _lines(dorm_year)
    _summary, rows = _verify(dorm_year, lines)
    assert [(days, amount) for _rule, days, amount in rows] == [
        (_days_before(line, LIQUIDATED_16TH), rate * _days_before(line, LIQUIDATED_16TH) // 31) for line in lines]
