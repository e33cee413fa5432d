"""Dates people read and filter by are Kazakhstan's (one zone, UTC+5, since 1 March 2024), for an official in Almaty
as in Aktobe: a deadline just after local midnight is "the 13th" on the page and in the "due on or before" filter,
and the working days of a due date are counted in Astana's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app import clock
from app.engine.runtime import due_date
from app.extensions import db


def _rows(html: str) -> list[int]:
    import re

    return [int(x) for x in re.findall(r'<tr data-task-id="(\d+)"', html)]


@pytest.mark.parametrize("zone", ["Asia/Almaty", "Asia/Aqtobe", "Asia/Qostanay", "Asia/Oral"])
def test_the_installed_time_zone_data_knows_kazakhstan_is_one_zone_since_march_2024(zone):
    """Almaty (and Kostanay) moved from UTC+6 to UTC+5 on 1 March 2024 (tzdata 2024a): older data shows every time an
    hour late, and a deadline at 23:30 on the next day."""
    assert datetime(2024, 3, 1, 12, tzinfo=ZoneInfo(zone)).utcoffset() == clock.KZ.utcoffset(None)
    assert datetime(2026, 11, 12, 23, 30, tzinfo=ZoneInfo(zone)).utcoffset() == clock.KZ.utcoffset(None)


def test_due_on_or_before_a_day_is_that_day_in_kazakhstan(world, clean_acts, browser):
    task = clean_acts[0]
    # 00:30 on Friday 13 November in Almaty and in Aktobe: still the 12th in UTC
    task.due_at = datetime(2026, 11, 12, 19, 30, tzinfo=UTC)
    db.session.commit()
    official = browser("official")
    assert task.id not in _rows(official.get("/inbox?due_before=2026-11-12").get_data(as_text=True))
    assert task.id in _rows(official.get("/inbox?due_before=2026-11-13").get_data(as_text=True))
    # 23:30 on the 12th there (18:30 UTC): due on the 12th
    task.due_at = datetime(2026, 11, 12, 18, 30, tzinfo=UTC)
    db.session.commit()
    assert task.id in _rows(official.get("/inbox?due_before=2026-11-12").get_data(as_text=True))


def test_working_days_of_a_due_date_are_counted_in_kazakhstan():
    """Created at 02:00 on Saturday 7 November in Astana (21:00 on Friday in UTC), due in one working day: Monday the
    9th (counted in UTC days, the Saturday was a Friday and the due date Tuesday the 10th)."""
    created = datetime(2026, 11, 6, 21, 0, tzinfo=UTC)
    due = due_date({"dueInWorkingDays": "1"}, created)
    assert due.astimezone(clock.KZ).date() == date(2026, 11, 9)
    assert clock.add_working_days(created, 1) == due


@pytest.mark.parametrize(("day", "working"), [
    (date(2027, 1, 7), False),  # Orthodox Christmas
    (date(2026, 3, 23), False),  # Nauryz; 21–22 March 2026 are Saturday and Sunday: the 24th and 25th are off
    (date(2026, 3, 25), False),
    (date(2026, 3, 26), True),
    (date(2028, 12, 18), False),  # Independence Day on Saturday 16 December 2028: Monday 18th is off
    (date(2026, 5, 11), False),  # Victory Day on Saturday 9 May 2026: Monday 11th off
    (date(2027, 3, 24), False),  # Nauryz 21 March 2027 on Sunday: the day off moves past 22–23 March to the 24th
    (date(2027, 3, 25), True),
])
def test_the_working_day_calendar_moves_a_holiday_on_a_weekend(day, working):
    assert clock.is_working_day(day) is working


def test_days_announced_by_decree_are_read_from_the_settings(monkeypatch, tmp_path):
    """Kurban Ait (Wednesday 27 May 2026 here) and a Saturday worked for a bridge day are announced each year: the
    operator sets them, and deadlines in working days count them — the lists were empty constants in the code."""
    from app import create_app

    monkeypatch.setattr(clock, "ANNOUNCED_DAYS_OFF", clock.ANNOUNCED_DAYS_OFF)  # given back after the test
    monkeypatch.setattr(clock, "ANNOUNCED_WORKING_DAYS", clock.ANNOUNCED_WORKING_DAYS)
    monkeypatch.setenv("ANNOUNCED_DAYS_OFF", "2026-05-27, 2026-06-01")
    monkeypatch.setenv("ANNOUNCED_WORKING_DAYS", "2026-05-30")
    create_app(instance_path=str(tmp_path))
    assert not clock.is_working_day(date(2026, 5, 27))
    assert clock.is_working_day(date(2026, 5, 30))
    # five working days from Tuesday 26 May: 28, 29, 30 (the Saturday worked), 2 and 3 June
    submitted = datetime(2026, 5, 26, 10, 0, tzinfo=clock.KZ)
    assert clock.add_working_days(submitted, 5) == datetime(2026, 6, 3, 10, 0, tzinfo=clock.KZ)


def test_the_cockpits_day_filters_are_days_in_kazakhstan():
    from app.processes.queries import _day

    assert _day("2026-11-13") == datetime(2026, 11, 12, 19, 0, tzinfo=UTC)


def test_a_months_act_opens_at_midnight_in_kazakhstan_not_at_23_30_of_its_last_day(app_ctx):
    """January's act: at 23:30 on 31 January in Almaty (18:30 UTC) the month has not ended; at 00:00 on 1 February
    there (19:00 UTC on the 31st, still January in UTC) it has."""
    from app.contracts.operations import month_has_ended
    from app.engine.errors import DomainRefused

    with clock.FrozenClock(datetime(2027, 1, 31, 23, 30, tzinfo=clock.KZ)), pytest.raises(DomainRefused):
        month_has_ended(date(2027, 1, 1))
    with clock.FrozenClock(datetime(2027, 2, 1, 0, 0, tzinfo=clock.KZ)):
        month_has_ended(date(2027, 1, 1))
