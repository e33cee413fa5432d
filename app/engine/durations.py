"""ISO 8601 durations counted on Kazakhstan's calendar, as a person reads them.

SpiffWorkflow 3.2 adds a month as the length of the month the count starts in: "P1M" from 31 January was 3 March
(2 March in a leap year), "P1Y" from 29 February 2024 was 1 March 2025, and a monthly cycle ("R/P1M") stepped a fixed
number of seconds, drifting a day or three a month. The rule here is ISO 8601's and the calendar's: years and months
first, on the calendar of Kazakhstan (UTC+5: 31 March 03:00 in Astana is still 30 March in UTC), the day kept and cut
to the month's end when the month is shorter (31 January + one month = 28 or 29 February; 29 February + one year =
28 February); then weeks, days and the time of day, as exact lengths (Kazakhstan keeps no summer time).

Nothing here knows the engine: :mod:`app.engine.timers` points the library's timer arithmetic at it.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, datetime, timedelta

from app.clock import KZ


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus (or, negative, less) whole ``months`` on Kazakhstan's calendar: the same day of the month at the
    same time, or the month's last day when the month has fewer days. Returned in ``moment``'s own zone."""
    moment = _aware(moment)
    local = moment.astimezone(KZ)
    year, month = divmod(local.year * 12 + local.month - 1 + months, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise OverflowError("date value out of range")
    moved = local.replace(year=year, month=month, day=min(local.day, monthrange(year, month)[1]))
    return moved.astimezone(moment.tzinfo)


def shift(moment: datetime, parsed: dict, *, back: bool = False) -> datetime:
    """``moment`` plus (``back``: less) a parsed ISO duration (SpiffWorkflow's dict: ``years``, ``months``, ``weeks``,
    ``days``, ``hours``, ``minutes``, ``seconds``). A fraction of a month (``P1.5M``, the last designator may carry
    one) is that fraction of the days of the month the whole months reached (going back: of the month before it)."""
    sign = -1 if back else 1
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    whole = int(months)
    moved = add_months(moment, sign * whole)
    days = parsed.get("days", 0)
    fraction = months - whole
    if fraction:
        local = moved.astimezone(KZ)
        year, month = divmod(local.year * 12 + local.month - 1 - (1 if back else 0), 12)
        days += fraction * monthrange(year, month + 1)[1]
    rest = timedelta(weeks=parsed.get("weeks", 0), days=days, hours=parsed.get("hours", 0),
                     minutes=parsed.get("minutes", 0), seconds=parsed.get("seconds", 0))
    return moved + sign * rest


def has_calendar_part(parsed: dict) -> bool:
    """Whether a parsed duration counts years or months (its length depends on when it starts)."""
    return bool(parsed.get("years") or parsed.get("months"))


def times(parsed: dict, n: int) -> dict:
    """The duration ``n`` times over (the n-th round of a cycle counts from its start: 31 January, 28 February,
    31 March — not 28 February + one month)."""
    return {key: value * n for key, value in parsed.items()}
