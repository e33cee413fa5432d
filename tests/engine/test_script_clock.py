"""A script's ``date.today()`` and ``datetime.now()`` are the application's (app.clock), in Kazakhstan's calendar.

The library's read the server's clock and calendar: in a deployment that is UTC, so from 00:00 to 05:00 in Astana a
script's ``date.today()`` said yesterday — at 00:30 on 1 November, 31 October: a script taking "this month" from it
named October — and a timer ``datetime.now() + timedelta(hours=24)`` (a naive time is read as Astana's) fell due 19
hours on, not 24. Nor did a script see the clock tests and the time-travel demo set: it read the machine's real day.
Both ways of running a script are checked: in the sandbox process (the engine's) and in this one (extra builtins).

The guard: a date or time a script writes itself is left as written, is a plain ``date`` / ``datetime`` (saved
with the task data as before), and ``isinstance`` holds for every date; ``now(timezone.utc)`` is the same moment in
UTC, not shifted by five hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app import clock
from app.engine.isolation import IsolatedTaskDataEnvironment, SandboxPool
from app.engine.scripting import RestrictedTaskDataEnvironment

#: 00:30 on 1 November 2026 in Astana (UTC+5) — still 31 October, 19:30, in UTC
ASTANA_NOVEMBER_FIRST = datetime(2026, 10, 31, 19, 30, tzinfo=UTC)

TODAY = ("today = date.today()\n"
         "month = today.replace(day=1)\n"
         "now = datetime.now()\n"
         "utc = datetime.now(timezone.utc)\n"
         "utc_naive = datetime.utcnow()\n"
         "due = datetime.now() + timedelta(hours=24)\n")

WRITTEN = ("day = date(2026, 10, 31)\n"
           "moment = datetime(2026, 10, 31, 23, 30)\n"
           "parsed = date.fromisoformat('2028-02-29')\n"
           "both_dates = isinstance(day, date) and isinstance(moment, date) and isinstance(moment, datetime)\n")


@pytest.fixture
def pool():
    own = SandboxPool()
    yield own
    own.close()


def _environments(pool):
    return [IsolatedTaskDataEnvironment(time_limit=5.0, max_steps=5_000_000, pool=pool),
            RestrictedTaskDataEnvironment()]


def test_a_script_s_today_and_now_are_astana_s_on_the_application_s_clock(pool):
    with clock.FrozenClock(ASTANA_NOVEMBER_FIRST):
        for env in _environments(pool):
            context: dict = {}
            env.execute(TODAY, context)
            assert context["today"] == date(2026, 11, 1)  # was the server's day (31 October in UTC; the real one here)
            assert context["month"] == date(2026, 11, 1)
            assert context["now"] == datetime(2026, 11, 1, 0, 30)
            assert context["utc"] == ASTANA_NOVEMBER_FIRST
            assert context["utc_naive"] == datetime(2026, 10, 31, 19, 30)
            assert context["due"] - context["now"] == timedelta(hours=24)


def test_guard_dates_a_script_writes_stay_as_written_and_plain(pool):
    with clock.FrozenClock(ASTANA_NOVEMBER_FIRST):
        for env in _environments(pool):
            context: dict = {}
            env.execute(WRITTEN, context)
            assert (context["day"], context["moment"], context["parsed"]) == (
                date(2026, 10, 31), datetime(2026, 10, 31, 23, 30), date(2028, 2, 29))
            assert context["both_dates"] is True
            assert (type(context["day"]), type(context["moment"]), type(context["parsed"])) == (date, datetime, date)
