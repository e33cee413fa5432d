"""The one source of "now" for the application and the workflow engine.

Tests and the time-travel demo replace the clock instead of sleeping; SpiffWorkflow's timer module is
pointed at this clock by :func:`app.engine.timers.install_clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

#: Kazakhstan's time (one zone for the whole country, UTC+5, since 1 March 2024): the business's calendar.
KZ = timezone(timedelta(hours=5), "KZ")

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _now()


def today() -> date:
    """Today in Kazakhstan: the day an application window, a substitution, a deadline or an academic year is
    counted in. (UTC's calendar, used before, said "yesterday" from 00:00 to 05:00 in Astana: a window closing on
    the 15th took applications until 05:00 on the 16th.)"""
    return now().astimezone(KZ).date()


def local_day(moment: datetime) -> date:
    """The day in Kazakhstan of a moment the application stored (naive: UTC, as SQLite gives it back). An act submitted
    at 00:30 on the 11th in Astana was submitted on the 11th, not on the 10th of the UTC calendar."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(KZ).date()


# -- working days ---------------------------------------------------------------------------------------------
# Kazakhstan's days off besides Saturday and Sunday (Law "On holidays in the Republic of Kazakhstan", art. 5): the
# national and state holidays with a fixed date — New Year (1–2 January), International Women's Day (8 March), Nauryz
# (21–23 March), Unity Day (1 May), Defender of the Fatherland Day (7 May), Victory Day (9 May), Capital Day (6 July),
# Constitution Day (30 August), Republic Day (25 October), Independence Day (16 December) — and one falling on a
# Saturday or Sunday gives the next working day off; the religious ones (Orthodox Christmas on 7 January, the first
# day of Kurban Ait) do not move. Kurban Ait's date and the days the government transfers each year (a Saturday
# worked for a bridge day) are announced by decree: the operator lists them in the settings ``ANNOUNCED_DAYS_OFF`` and
# ``ANNOUNCED_WORKING_DAYS`` (app.config, checked by :func:`announced_problems`), which :func:`set_announced` installs
# when the application starts — a decree is not a code change.

STATE_HOLIDAYS = ((1, 1), (1, 2), (3, 8), (3, 21), (3, 22), (3, 23), (5, 1), (5, 7), (5, 9), (7, 6), (8, 30),
                  (10, 25), (12, 16))
RELIGIOUS_HOLIDAYS = ((1, 7),)
#: days off announced by decree (Kurban Ait, a transferred day off): not working days
ANNOUNCED_DAYS_OFF: frozenset[date] = frozenset()
#: Saturdays or Sundays made working days by decree
ANNOUNCED_WORKING_DAYS: frozenset[date] = frozenset()


@lru_cache(maxsize=64)
def days_off(year: int) -> frozenset[date]:
    """The year's days off on weekdays and weekends alike (holidays, and the weekdays given for those on a weekend)."""
    state = [date(year, m, d) for m, d in STATE_HOLIDAYS]
    off = set(state) | {date(year, m, d) for m, d in RELIGIOUS_HOLIDAYS}
    for holiday in state:
        if holiday.weekday() >= 5:
            moved = holiday + timedelta(days=1)
            while moved.weekday() >= 5 or moved in off:
                moved += timedelta(days=1)
            off.add(moved)
    return frozenset(off)


def set_announced(days_off: frozenset[date] | set[date], working_days: frozenset[date] | set[date]) -> None:
    """Install the days announced by decree (the settings of the same names, read by app.config)."""
    global ANNOUNCED_DAYS_OFF, ANNOUNCED_WORKING_DAYS
    ANNOUNCED_DAYS_OFF, ANNOUNCED_WORKING_DAYS = frozenset(days_off), frozenset(working_days)


def announced_problems(off: set[date], worked: set[date]) -> list[str]:
    """What is wrong with announced days as an operator typed them, one sentence each (empty: they can be used). A
    working day announced on a weekday changes nothing: a mistyped date, which would leave the decree's Saturday
    counted as a day off. (A day off announced on a weekend is let through: a decree lists Kurban Ait whatever day it
    falls on.)"""
    problems = [f"{day.isoformat()} is listed both as a day off and as a working day" for day in sorted(off & worked)]
    for day in sorted(worked - off):
        if day.weekday() < 5 and day not in days_off(day.year):
            problems.append(f"{day.isoformat()} is a weekday, a working day already: a working day announced by "
                            "decree is a Saturday, a Sunday or a holiday made a working day")
    return problems


def is_working_day(day: date) -> bool:
    if day in ANNOUNCED_WORKING_DAYS:
        return True
    return day.weekday() < 5 and day not in days_off(day.year) and day not in ANNOUNCED_DAYS_OFF


def add_working_days(start: datetime, days: int) -> datetime:
    """``days`` working days after ``start``, counted in Kazakhstan's calendar; the time of day is kept."""
    due, remaining = start, days
    while remaining > 0:
        due += timedelta(days=1)
        if is_working_day(due.astimezone(KZ).date()):
            remaining -= 1
    return due


def set_clock(func: Callable[[], datetime]) -> None:
    global _now
    _now = func


def reset_clock() -> None:
    set_clock(lambda: datetime.now(UTC))


class FrozenClock:
    """A clock that stands still until moved; ``with FrozenClock(t) as c: c.advance(days=5)``."""

    def __init__(self, at: datetime):
        self.at = at if at.tzinfo else at.replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs) -> None:
        self.at = self.at + timedelta(**kwargs)

    def __enter__(self) -> FrozenClock:
        self._previous = _now  # nested use (a seed inside a test's frozen day) gives the outer clock back
        set_clock(self)
        return self

    def __exit__(self, *exc) -> None:
        set_clock(self._previous)
