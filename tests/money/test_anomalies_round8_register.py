"""The business register reinstates a school: a liquidation annulled, or a record corrected, is listed "active" again —
in the register's usual export, which has no ``liquidated_on`` column. The import keeps a column the file does not have
(app.registry.importers.upsert), so the row said "active" with the old date, and verification read the date as a
liquidation all the same. Worked by hand (basic level, 4,230,000 tiyn = 42,300.00 ₸ a month; October has 31 days):

* reinstated before November's act: November pays the pupil's 30 days, 4,230,000 tiyn, and October — paid whole — owes
  nothing back. Before the fix November was ``liquidated`` (0 ₸) and October's days from the 16th were listed as a
  claw-back: 4,230,000 × 15 ÷ 31 = 2,046,774 earned by the 1st–15th, 2,046,774 − 4,230,000 = −2,183,226 tiyn.
* the guard: the same file listing the school "liquidated" still (the date kept and still read): November 0 ₸, October's
  −2,183,226 tiyn owed back, as before the fix."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app import clock
from app.acts.adjustments import unsettled_corrections
from app.extensions import db
from app.registry.models import BusinessRecord
from tests.money.settling import paid, settled, verified
from tests.money.test_import_reverifies import _import
from tests.money.test_registry_anomalies import _results
from tests.registry.conftest import NORMS, iin

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
B = NORMS["basic"]  # 4,230,000 tiyn a month
DECEMBER = datetime(2026, 12, 5, 9, tzinfo=UTC)


def _paid_october_then_liquidated_on_the_16th(country, tmp_path):
    school = country.school()
    pupil = iin(1)
    country.enrol(pupil, school.bin)
    october = paid(verified(country.act(school, [(pupil, 5)], period=OCT)))
    assert _results(october) == [("accepted", None, 31, B)]
    _import("business", tmp_path / "liquidated.csv", [{"bin": school.bin, "name": school.name, "status": "liquidated",
                                                       "oked": "85.31", "liquidated_on": "2026-10-16"}])
    return school, pupil


def _register_lists(school, tmp_path, status: str) -> BusinessRecord:
    """The register's usual export: bin, name, status, main activity — no liquidation date column."""
    _import("business", tmp_path / f"{status}.csv", [{"bin": school.bin, "name": school.name, "status": status,
                                                      "oked": "85.31"}])
    return db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == school.bin)).one()


def test_a_school_the_register_reinstates_is_paid_and_owes_nothing_back(country, tmp_path):
    with clock.FrozenClock(DECEMBER):
        school, pupil = _paid_october_then_liquidated_on_the_16th(country, tmp_path)
        record = _register_lists(school, tmp_path, "active")
        assert (record.status, record.liquidated_on) == ("active", date(2026, 10, 16))  # the row keeps the old date
        november = verified(country.act(school, [(pupil, 5)], period=NOV))
        assert _results(november) == [("accepted", None, 30, B)]  # was [("excluded", "liquidated", None, 0)]
        assert settled(november) == []
        assert unsettled_corrections(school) == []  # was October's −2,183,226 tiyn


def test_guard_a_school_the_register_still_lists_liquidated_keeps_its_date(country, tmp_path):
    with clock.FrozenClock(DECEMBER):
        school, pupil = _paid_october_then_liquidated_on_the_16th(country, tmp_path)
        record = _register_lists(school, tmp_path, "liquidated")
        assert (record.status, record.liquidated_on) == ("liquidated", date(2026, 10, 16))
        november = verified(country.act(school, [(pupil, 5)], period=NOV))
        assert _results(november) == [("excluded", "liquidated", None, 0)]
        owed = unsettled_corrections(school)
        assert [(u.correction.rule_code, u.amount_tiyn) for u in owed] == [("enrolled_days", B * 15 // 31 - B)]
        assert B * 15 // 31 - B == -2_183_226


def test_the_register_s_date_counts_only_while_it_says_liquidated():
    from app.registry.business import Standing, liquidation_day, standing

    reinstated = BusinessRecord(bin="x", name="x", status="active", oked="85.31", liquidated_on=date(2026, 10, 16))
    liquidated = BusinessRecord(bin="x", name="x", status="liquidated", oked="85.31", liquidated_on=date(2026, 10, 16))
    assert (liquidation_day(reinstated), liquidation_day(liquidated), liquidation_day(None)) == (
        None, date(2026, 10, 16), None)
    assert standing(reinstated, activity="85", month_start=NOV) is None  # was Standing.LIQUIDATED
    assert standing(liquidated, activity="85", month_start=NOV) == Standing.LIQUIDATED  # guard
    assert standing(liquidated, activity="85", month_start=OCT) is None  # guard: liquidated within October
