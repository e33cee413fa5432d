"""Point SpiffWorkflow's timer arithmetic at :mod:`app.clock`, so tests and the demo travel in time.

The library computes deadlines with ``datetime.now(timezone.utc)`` inside its timer module; we give
that module a ``datetime`` whose ``now`` asks our clock. Done once, at engine import.
"""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from app import clock


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        current = clock.now()
        return current.astimezone(tz) if tz else current.replace(tzinfo=None)


def install_clock() -> None:
    _timer_module.datetime = _ClockedDatetime


def parse_due(value) -> datetime | None:
    """A pending timer's due time from ``waiting_events()`` details, or None if it is not a timer."""
    if isinstance(value, dict):
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        return _timer_module.TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None
