"""The one source of "now" for the application and the workflow engine.

Tests and the time-travel demo replace the clock instead of sleeping; SpiffWorkflow's timer module is
pointed at this clock by :func:`app.engine.timers.install_clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

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
