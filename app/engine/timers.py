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


def timer_of(task):
    """The timer a waiting task waits for — its own timer event, or a timer among the events of an event-based
    gateway or a multiple event ("the reply, or a week without one") — or None."""
    from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition

    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, _timer_module.TimerEventDefinition):
        return definition
    if isinstance(definition, MultipleEventDefinition):
        return next((d for d in definition.event_definitions if isinstance(d, _timer_module.TimerEventDefinition)),
                    None)
    return None


def timer_dues(wf) -> list[datetime]:
    """When each timer the workflow waits for is due. ``waiting_events()`` gives no time for a timer inside an
    event-based gateway (its value is the gateway's, not the event's): such an instance was never scheduled and
    waited for good."""
    from SpiffWorkflow.util.task import TaskState

    dues = [d for d in (parse_due(ev.value) for ev in wf.waiting_events()) if d is not None]
    for task in wf.get_tasks(state=TaskState.WAITING):
        if timer_of(task) is not None and not isinstance(task.task_spec.event_definition,
                                                          _timer_module.TimerEventDefinition):
            due = parse_due(task._get_internal_data("event_value"))
            if due is not None:
                dues.append(due)
    return dues


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
