"""The one source of "now" for the application and the workflow engine.

Tests and the time-travel demo replace the clock instead of sleeping; SpiffWorkflow's timer module is
pointed at this clock by :func:`app.engine.timers.install_clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _now()


def today() -> date:
    return now().date()


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
