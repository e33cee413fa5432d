"""Kazakhstan's working-day calendar (app.clock), rule by rule, without a database: the year's days off as the law
gives them, what a decree announces, the working days of a deadline counted in Astana's calendar, and today's date
there. Deadlines of acceptance (the SLA) and of user tasks (dueInWorkingDays) are counted with it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app import clock


def test_the_days_off_of_2026_are_the_holidays_and_the_weekdays_given_for_those_on_a_weekend():
    assert clock.days_off(2026) == {
        date(2026, 1, 1), date(2026, 1, 2),  # New Year, Thursday and Friday
        date(2026, 1, 7),  # Orthodox Christmas
        date(2026, 3, 8), date(2026, 3, 9),  # Women's Day on Sunday: Monday off
        date(2026, 3, 21), date(2026, 3, 22), date(2026, 3, 23),  # Nauryz, Saturday to Monday
        date(2026, 3, 24), date(2026, 3, 25),  # ... the Saturday's and Sunday's days off after the Monday
        date(2026, 5, 1), date(2026, 5, 7),
        date(2026, 5, 9), date(2026, 5, 11),  # Victory Day on Saturday: Monday off
        date(2026, 7, 6),
        date(2026, 8, 30), date(2026, 8, 31),  # Constitution Day on Sunday
        date(2026, 10, 25), date(2026, 10, 26),  # Republic Day on Sunday
        date(2026, 12, 16),
    }


def test_a_religious_holiday_on_a_weekend_gives_no_day_off_and_new_year_on_a_saturday_does():
    assert date(2029, 1, 7).weekday() == 6
    assert date(2029, 1, 8) not in clock.days_off(2029) and clock.is_working_day(date(2029, 1, 8))
    assert date(2027, 1, 2).weekday() == 5  # New Year's second day on Saturday: Monday the 4th off
    assert clock.days_off(2027) >= {date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 4), date(2027, 1, 7)}
    assert clock.is_working_day(date(2027, 1, 5))


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 11, 13), True),  # a Friday
    (date(2026, 11, 14), False),  # Saturday
    (date(2026, 11, 15), False),  # Sunday
    (date(2026, 11, 16), True),  # Monday
    (date(2026, 12, 16), False),  # Independence Day, a Wednesday
])
def test_a_working_day_is_a_weekday_that_is_no_day_off(day, working):
    assert clock.is_working_day(day) is working


def test_days_announced_by_decree_are_off_or_worked(monkeypatch):
    kurban_ait, worked_saturday = date(2026, 5, 27), date(2026, 11, 14)
    assert clock.is_working_day(kurban_ait) and not clock.is_working_day(worked_saturday)
    monkeypatch.setattr(clock, "ANNOUNCED_DAYS_OFF", frozenset({kurban_ait}))
    monkeypatch.setattr(clock, "ANNOUNCED_WORKING_DAYS", frozenset({worked_saturday, date(2026, 12, 16)}))
    assert not clock.is_working_day(kurban_ait)
    assert clock.is_working_day(worked_saturday)
    assert clock.is_working_day(date(2026, 12, 16))  # a holiday made a working day by decree
    assert not clock.is_working_day(date(2026, 11, 15))  # the Sunday after stays off
    # a deadline counts them: from Friday the 13th, one working day is the Saturday worked
    friday = datetime(2026, 11, 13, 5, 0, tzinfo=UTC)
    assert clock.add_working_days(friday, 1) == friday + timedelta(days=1)


@pytest.mark.parametrize(("start", "days", "due"), [
    # 10:00 in Astana on Thursday 31 December 2026: New Year on Friday and Saturday, Monday the 4th given for the
    # Saturday; the first working day is Tuesday 5 January, at the same time of day
    (datetime(2026, 12, 31, 5, 0, tzinfo=UTC), 1, datetime(2027, 1, 5, 5, 0, tzinfo=UTC)),
    (datetime(2026, 12, 31, 5, 0, tzinfo=UTC), 2, datetime(2027, 1, 6, 5, 0, tzinfo=UTC)),
    (datetime(2026, 12, 31, 5, 0, tzinfo=UTC), 3, datetime(2027, 1, 8, 5, 0, tzinfo=UTC)),  # the 7th is Christmas
    # 23:30 in Astana on Friday 13 November is 18:30 UTC: Monday, not counted from the UTC day
    (datetime(2026, 11, 13, 18, 30, tzinfo=UTC), 1, datetime(2026, 11, 16, 18, 30, tzinfo=UTC)),
    # 00:30 in Astana on Monday 16 November is 19:30 UTC on Sunday: the next working day is Tuesday in Astana
    (datetime(2026, 11, 15, 19, 30, tzinfo=UTC), 1, datetime(2026, 11, 16, 19, 30, tzinfo=UTC)),
    # 00:30 in Astana on Friday 13 November: a day on is 00:30 on Saturday (19:30 UTC on Friday), not a working
    # day there; the first is Monday 00:30 in Astana, 19:30 UTC on Sunday
    (datetime(2026, 11, 12, 19, 30, tzinfo=UTC), 1, datetime(2026, 11, 15, 19, 30, tzinfo=UTC)),
    (datetime(2026, 11, 13, 5, 0, tzinfo=UTC), 0, datetime(2026, 11, 13, 5, 0, tzinfo=UTC)),  # none: now
    (datetime(2026, 11, 14, 5, 0, tzinfo=UTC), 0, datetime(2026, 11, 14, 5, 0, tzinfo=UTC)),  # even on a Saturday
    (datetime(2026, 11, 13, 5, 0, tzinfo=UTC), -3, datetime(2026, 11, 13, 5, 0, tzinfo=UTC)),
    (datetime(2026, 11, 9, 5, 0, tzinfo=UTC), 5, datetime(2026, 11, 16, 5, 0, tzinfo=UTC)),  # a week
])
def test_working_days_are_counted_in_astanas_calendar_keeping_the_time_of_day(start, days, due):
    assert clock.add_working_days(start, days) == due


@pytest.mark.parametrize(("at", "day"), [
    (datetime(2026, 11, 15, 18, 59, 59, tzinfo=UTC), date(2026, 11, 15)),
    (datetime(2026, 11, 15, 19, 0, tzinfo=UTC), date(2026, 11, 16)),  # midnight in Astana
    (datetime(2026, 11, 16, 4, 0, tzinfo=UTC), date(2026, 11, 16)),
])
def test_today_is_the_day_in_astana(at, day):
    with clock.FrozenClock(at):
        assert clock.today() == day
