"""Timers count months and years on the calendar, in Kazakhstan's time: "one month after 31 January" is the end of
February, not 3 March; "one year after 29 February" is 28 February; a monthly reminder keeps its day of the month;
a date written without an offset (a form's date) is Kazakhstan's date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from app.engine import runtime
from app.engine.models import ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.engine.test_clock_ran_ahead import _open_steps, _reminder_model
from tests.helpers import user


def _kz(*args) -> datetime:
    return datetime(*args, tzinfo=clock.KZ)


def _due(instance_id: int) -> datetime:
    due = db.session.get(ProcessInstance, instance_id).next_timer_at
    return (due if due.tzinfo else due.replace(tzinfo=UTC)).astimezone(clock.KZ)


def _start(timer: str, at: datetime, data: dict | None = None) -> int:
    with clock.FrozenClock(at):
        publish_version(_reminder_model(timer))
        db.session.commit()
        instance_id = runtime.start_instance("sign_it", title="Contract of Bilim", actor=user("owner"), data=data).id
        db.session.commit()
    return instance_id


@pytest.mark.parametrize(("start", "duration", "due"), [
    (_kz(2026, 1, 31, 10), {"months": 1}, _kz(2026, 2, 28, 10)),
    (_kz(2028, 1, 31, 10), {"months": 1}, _kz(2028, 2, 29, 10)),  # a leap year
    (_kz(2024, 2, 29, 10), {"years": 1}, _kz(2025, 2, 28, 10)),
    (_kz(2024, 2, 29, 10), {"years": 4}, _kz(2028, 2, 29, 10)),
    (_kz(2026, 3, 31, 3), {"months": 1}, _kz(2026, 4, 30, 3)),  # still 30 March in UTC: counted in Astana's calendar
    (_kz(2026, 12, 31, 23, 30), {"months": 2}, _kz(2027, 2, 28, 23, 30)),
    (_kz(2026, 1, 31, 10), {"months": 1, "days": 1}, _kz(2026, 3, 1, 10)),  # months first, then days
    (_kz(2026, 1, 15, 10), {"days": 30}, _kz(2026, 2, 14, 10)),
])
def test_a_duration_counts_months_and_years_on_the_calendar(start, duration, due):
    from app.engine import durations

    assert durations.shift(start.astimezone(UTC), duration) == due
    assert durations.shift(due, duration, back=True).day <= start.day


def test_a_one_month_timer_armed_on_31_january_is_due_at_the_end_of_february(world):
    instance_id = _start('<bpmn:timeDuration>"P1M"</bpmn:timeDuration>', _kz(2027, 1, 31, 10))
    assert _due(instance_id) == _kz(2027, 2, 28, 10)
    with clock.FrozenClock(_kz(2027, 2, 28, 10, 1)):
        runtime.fire_due_timers()
        db.session.commit()
    assert _open_steps(instance_id) == ["chase", "sign"]


def test_a_one_year_timer_armed_on_29_february_is_due_on_28_february(world):
    instance_id = _start('<bpmn:timeDuration>"P1Y"</bpmn:timeDuration>', _kz(2028, 2, 29, 9))
    assert _due(instance_id) == _kz(2029, 2, 28, 9)


def test_a_monthly_cycle_keeps_its_day_of_the_month(world):
    """R3/P1M armed on 31 January: 28 February, 31 March, 30 April — the library stepped 31 days each time from the
    first round (3 March, 3 April ...)."""
    instance_id = _start('<bpmn:timeCycle>"R3/P1M"</bpmn:timeCycle>', _kz(2027, 1, 31, 10))
    seen = [_due(instance_id)]
    with clock.FrozenClock(_kz(2027, 1, 31, 10)) as now:
        for _round in range(2):
            now.at = seen[-1] + timedelta(minutes=1)
            runtime.fire_due_timers()
            db.session.commit()
            seen.append(_due(instance_id))
    assert seen == [_kz(2027, 2, 28, 10), _kz(2027, 3, 31, 10), _kz(2027, 4, 30, 10)]


def test_a_monthly_cycle_from_a_written_start_counts_each_round_from_that_start(world):
    instance_id = _start('<bpmn:timeCycle>"R/2027-01-31T09:00:00+05:00/P1M"</bpmn:timeCycle>', _kz(2027, 1, 20))
    assert _due(instance_id) == _kz(2027, 1, 31, 9)
    with clock.FrozenClock(_kz(2027, 3, 1)):  # the rounds of 31 January and 28 February are past: fired once
        runtime.fire_due_timers()
        db.session.commit()
    assert _due(instance_id) == _kz(2027, 3, 31, 9)
    assert _open_steps(instance_id) == ["chase", "sign"]


def test_a_date_from_the_data_without_an_offset_is_kazakhstan_time(world):
    """A form's date ("2027-03-15") or date-time without an offset: the start of that day in Astana, whatever zone the
    server is set to (the library read it in the server's zone)."""
    instance_id = _start("<bpmn:timeDate>due_day</bpmn:timeDate>", _kz(2027, 3, 1), data={"due_day": "2027-03-15"})
    assert _due(instance_id) == _kz(2027, 3, 15, 0, 0)
    other = _start("<bpmn:timeDate>due_day</bpmn:timeDate>", _kz(2027, 3, 1),
                   data={"due_day": "2027-03-15T10:00:00"})
    assert _due(other) == _kz(2027, 3, 15, 10, 0)


def test_a_date_with_another_offset_is_the_same_moment(world):
    """+06:00 (Almaty's old time) and Z name moments, not Astana's wall clock: each fires at the moment it names."""
    plus_six = _start('<bpmn:timeDate>"2027-03-15T10:00:00+06:00"</bpmn:timeDate>', _kz(2027, 3, 1))
    utc = _start('<bpmn:timeDate>"2027-03-15T04:00:00Z"</bpmn:timeDate>', _kz(2027, 3, 1))
    assert _due(plus_six) == _due(utc) == _kz(2027, 3, 15, 9, 0)


def test_a_naive_datetime_a_script_writes_is_kazakhstan_time(world):
    """SpiffArena's way (a timer as Python): ``datetime(2027, 3, 15, 10)`` is 10:00 in Astana, as the same date
    written as text is — it was read as 10:00 UTC."""
    instance_id = _start("<bpmn:timeDate>datetime(2027, 3, 15, 10)</bpmn:timeDate>", _kz(2027, 3, 1))
    assert _due(instance_id) == _kz(2027, 3, 15, 10, 0)
