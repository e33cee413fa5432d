"""A school's liquidation date, rule by rule: the business register's standing asked about a month, the import row
that carries the date, and the days of the month the verification lets a liquidated school be paid for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.acts.verification import school_contexts
from app.clock import FrozenClock
from app.extensions import db
from app.registry.business import Standing, standing
from app.registry.importers import RowError, parse_business
from tests.registry.conftest import iin

OCTOBER = date(2026, 10, 1)


def _record(status="liquidated", liquidated_on=None, oked="85.31"):
    return SimpleNamespace(status=status, liquidated_on=liquidated_on, oked=oked)


# -- standing ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("liquidated_on", "expected"), [
    (date(2026, 9, 30), Standing.LIQUIDATED),  # before the month
    (OCTOBER, Standing.LIQUIDATED),  # on its first day: no day of it
    (date(2026, 10, 2), None),  # within the month: its days before are paid (the caller counts them)
    (date(2026, 11, 1), None),  # after the month
])
def test_a_dated_liquidation_is_judged_by_the_month_asked_about(liquidated_on, expected):
    assert standing(_record(liquidated_on=liquidated_on), activity="85", month_start=OCTOBER) == expected


def test_a_liquidation_asked_about_no_month_or_without_a_date_is_inactive():
    assert standing(_record(liquidated_on=date(2026, 10, 16)), activity="85") == Standing.INACTIVE
    assert standing(_record(liquidated_on=date(2026, 10, 16))) == Standing.INACTIVE
    assert standing(_record(), activity="85", month_start=OCTOBER) == Standing.INACTIVE
    assert standing(_record(status="suspended"), month_start=OCTOBER) == Standing.INACTIVE
    assert standing(_record(status="active"), activity="85", month_start=OCTOBER) is None
    assert standing(None, activity="85", month_start=OCTOBER) == Standing.MISSING


def test_a_school_liquidated_within_the_month_still_needs_the_activity_funded():
    within = date(2026, 10, 16)
    assert standing(_record(liquidated_on=within, oked="47.11"), activity="85",
                    month_start=OCTOBER) == Standing.OTHER_ACTIVITY
    assert standing(_record(liquidated_on=within, oked=None), activity="85",
                    month_start=OCTOBER) == Standing.OTHER_ACTIVITY
    assert standing(_record(liquidated_on=within, oked="47.11"), month_start=OCTOBER) is None  # any activity
    # liquidated before the month: that is what is said, whatever the activity
    assert standing(_record(liquidated_on=OCTOBER, oked="47.11"), activity="85",
                    month_start=OCTOBER) == Standing.LIQUIDATED


# -- the import row ------------------------------------------------------------------------------------------------

BIN = "950440001673"  # a valid BIN


def _row(**values) -> dict:
    return {"bin": BIN, "name": "School", "status": "liquidated", "oked": "85.31", "liquidated_on": ""} | values


@pytest.mark.parametrize(("cell", "expected"), [
    ("16.10.2026", date(2026, 10, 16)), ("2026-10-16", date(2026, 10, 16)), (" 2026-10-16 ", date(2026, 10, 16)),
    (date(2026, 10, 16), date(2026, 10, 16)), (datetime(2026, 10, 16, 0, 0), date(2026, 10, 16)),
    ("", None), (None, None), ("  ", None),
])
def test_the_import_reads_the_liquidation_date_in_each_form_or_none(cell, expected):
    row = _row(liquidated_on=cell)
    if cell is None:
        del row["liquidated_on"]  # a file without the column
    assert parse_business(row) == {"bin": BIN, "name": "School", "status": "liquidated", "oked": "85.31",
                                   "liquidated_on": expected}


def test_a_name_of_its_full_length_is_taken():
    assert parse_business(_row(name="n" * 255))["name"] == "n" * 255


def test_the_import_takes_the_status_in_any_case():
    assert parse_business(_row(status=" Liquidated ", liquidated_on="2026-10-16"))["status"] == "liquidated"
    assert parse_business(_row(status="ACTIVE"))["status"] == "active"


def _refused(row: dict) -> tuple[str, str]:
    with pytest.raises(RowError) as refused:
        parse_business(row)
    return refused.value.column, refused.value.code


def test_a_liquidation_date_needs_the_status_liquidated():
    assert _refused(_row(status="active", liquidated_on="2026-10-16")) == ("liquidated_on", "liquidated_not_status")
    assert _refused(_row(status="suspended", liquidated_on="2026-10-16")) == ("status", "invalid_status")
    assert _refused(_row(liquidated_on="2026-02-30")) == ("liquidated_on", "invalid_date")


@pytest.mark.parametrize(("values", "refused"), [
    ({"status": "closed"}, ("status", "invalid_status")),
    ({"status": ""}, ("status", "missing")),
    ({"status": "x" * 16}, ("status", "invalid_status")),  # at its length: read, and not a status
    ({"status": "x" * 17}, ("status", "too_long")),
    ({"oked": "8531"}, ("oked", "invalid_oked")),
    ({"oked": "85.31.1.1"}, ("oked", "invalid_oked")),
    ({"oked": "8" * 16}, ("oked", "invalid_oked")),
    ({"oked": "8" * 17}, ("oked", "too_long")),
    ({"bin": "950440001674"}, ("bin", "invalid_bin")),
    ({"name": "n" * 256}, ("name", "too_long")),
])
def test_each_bad_cell_of_a_business_row_is_named_with_its_reason(values, refused):
    assert _refused(_row(**values)) == refused


def test_a_liquidation_date_at_most_a_year_ahead():
    today = date(2026, 12, 4)
    with FrozenClock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC)):
        assert parse_business(_row(liquidated_on=today + timedelta(days=366)))["liquidated_on"] == date(2027, 12, 5)
        assert _refused(_row(liquidated_on=today + timedelta(days=367))) == ("liquidated_on", "far_future")


# -- the verification's days ---------------------------------------------------------------------------------------

def _context(country, liquidated_on, status="liquidated", licence_from=None):
    school = country.school("Alpha", registered=False)
    country.business(school, status=status).liquidated_on = liquidated_on
    country.licence(school, valid_from=licence_from or date(2020, 1, 1))
    country.enrol(iin(1), school.bin, grade=5)
    act = country.act(school, [(iin(1), 5)])
    db.session.flush()
    [ctx] = school_contexts([act])
    return ctx


@pytest.mark.parametrize(("on", "rule", "kept", "basic"), [
    (date(2026, 10, 16), None, date(2026, 10, 16), (OCTOBER, date(2026, 10, 15))),  # paid the 1st–15th
    (date(2026, 10, 31), None, date(2026, 10, 31), (OCTOBER, date(2026, 10, 30))),  # the month's last day
    (date(2026, 10, 2), None, date(2026, 10, 2), (OCTOBER, OCTOBER)),  # one day
    (OCTOBER, "liquidated", OCTOBER, (OCTOBER, OCTOBER)),  # no day: the school-level rule
    (date(2026, 9, 1), "liquidated", date(2026, 9, 1), (OCTOBER, OCTOBER)),
    (date(2026, 11, 1), None, None, (OCTOBER, date(2026, 10, 31))),  # after the month: nothing changes
    (None, None, None, (OCTOBER, date(2026, 10, 31))),
])
def test_a_liquidated_school_is_paid_the_days_of_the_month_before_its_liquidation(country, on, rule, kept, basic):
    ctx = _context(country, on, status="liquidated" if on else "active")
    assert (ctx.school_rule, ctx.liquidated_on, ctx.level_days["basic"]) == (rule, kept, basic)
    assert ctx.level_days["basic"] == ctx.level_days["primary"] == ctx.level_days["secondary"]
    assert ctx.level_gaps == {}


@pytest.mark.parametrize(("licence_from", "covered"), [
    (date(2026, 10, 16), False),  # from the day of the liquidation: no day the school existed and was licensed
    (date(2026, 10, 15), True),  # its last day
])
def test_a_licence_counts_only_on_the_days_before_the_liquidation(country, licence_from, covered):
    ctx = _context(country, date(2026, 10, 16), licence_from=licence_from)
    assert ctx.school_rule == (None if covered else "licence_expired")
    assert ctx.level_days.get("basic") == ((licence_from, date(2026, 10, 15)) if covered else None)


def test_a_school_without_a_licence_is_paid_no_day(country):
    school = country.school("Alpha", registered=False)
    country.business(school)
    country.enrol(iin(1), school.bin, grade=5)
    [ctx] = school_contexts([country.act(school, [(iin(1), 5)])])
    assert (ctx.school_rule, ctx.level_days, ctx.liquidated_on) == ("no_licence", {}, None)
