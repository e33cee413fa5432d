"""Point SpiffWorkflow's timer arithmetic at :mod:`app.clock`, so tests and the demo travel in time.

The library computes deadlines with ``datetime.now(timezone.utc)`` inside its timer module; we give
that module a ``datetime`` whose ``now`` asks our clock. Done once, at engine import. Also: when each waiting
timer is due, and which due time it keeps when its instance moves to a new version of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

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


# Migrating an instance to a new version (app.engine.migration) resets every READY and WAITING task of it
# (SpiffWorkflow.bpmn.util.diff.migrate_workflow → Task.reset_branch), which drops the timer's stored due time: the
# library then armed the timer again from the moment of the migration, and every fix of a model postponed every
# escalation and payment deadline of the instances moved to it. The rule kept instead, as a process owner reads it:
#
# * the timer is the same in the new version (same kind, same expression): it keeps the due time it had;
# * a duration that changed ("P10D" → "P5D") counts from the time the timer was armed, not from the migration:
#   the arming time is the old due time less the old duration (evaluated on the waiting task's data, which has not
#   changed since), and the new due time is that plus the new duration. A due time already past fires on the
#   ticker's next pass, as any late timer;
# * a timer that now names a date is due at that date, which does not depend on when it was armed;
# * what the state does not tell — when a timer that named a date, or a cycle, was armed — counts from the
#   migration (the library's behaviour), and the dry run lists that timer among the changed active steps.


@dataclass(frozen=True)
class ArmedTimer:
    """A waiting timer as it was before a migration: its definition, stored due value and arming time."""

    definition: _timer_module.TimerEventDefinition
    event_value: Any
    armed_at: datetime | None


def armed_timers(wf) -> dict[UUID, ArmedTimer]:
    """Every waiting timer of the workflow and its subprocesses, by task id, before a migration resets them."""
    from SpiffWorkflow.util.task import TaskState

    found = {}
    for workflow in [wf, *wf.subprocesses.values()]:
        for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
            definition = timer_of(task)
            value = task._get_internal_data("event_value")
            if definition is not None and value is not None:
                found[task.id] = ArmedTimer(definition, value, _armed_at(wf, task, definition, value))
    return found


def _duration(wf, task, definition) -> dict | None:
    """The parsed ISO duration of a duration timer on ``task``'s data, or None (not a duration, or it cannot be
    evaluated: the caller then leaves the library's due time)."""
    if not isinstance(definition, _timer_module.DurationTimerEventDefinition):
        return None
    try:
        expression = wf.script_engine.evaluate(task, definition.expression)
        return _timer_module.TimerEventDefinition.parse_iso_duration(expression)
    except Exception:  # noqa: BLE001 - an expression that no longer evaluates: the due time counts from the migration
        return None


def _armed_at(wf, task, definition, value) -> datetime | None:
    due = parse_due(value)
    duration = _duration(wf, task, definition)
    if due is None or duration is None:
        return None
    # Months and years go back by the calendar's own lengths. A due time the library pushed past a short month's end
    # (31 January plus one month is 3 March) has two possible arming times, up to three days apart (31 January,
    # 3 February): this takes the later one.
    return due - _timer_module.TimerEventDefinition.get_timedelta_from_end(duration, due)


def keep_timer_dues(wf, armed: dict[UUID, ArmedTimer]) -> None:
    """After a migration, give each timer that still waits the due time the rule above gives it."""
    from SpiffWorkflow.util.task import TaskState

    for workflow in [wf, *wf.subprocesses.values()]:
        for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
            before, definition = armed.get(task.id), timer_of(task)
            if before is None or definition is None:
                continue
            if type(definition) is type(before.definition) and definition.expression == before.definition.expression:
                task._set_internal_data(event_value=before.event_value)
                continue
            duration = _duration(wf, task, definition)
            if duration is not None and before.armed_at is not None:
                due = before.armed_at + _timer_module.TimerEventDefinition.get_timedelta_from_start(
                    duration, before.armed_at)
                task._set_internal_data(event_value=due.isoformat())


def hold_cycle_branches(workflow, alignment) -> list[tuple[Any, list[UUID]]]:
    """Before a migration resets the waiting tasks: lift off every branch a waiting *cycle* timer has already
    opened (a reminder, each time it fired), so the reset of the timer does not drop it with its predictions.

    A non-interrupting cycle timer stays waiting while it repeats, and each firing hangs its branch under it; the
    library's migration resets the timer's whole branch, and an official's open reminder vanished from the inbox.
    Only branches whose steps the new version still has (``alignment``: the diff's task → new spec) are held; the
    rest go as before. :func:`put_back_cycle_branches` hangs them under their timer again."""
    from SpiffWorkflow.util.task import TaskState

    held = []
    for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
        if not isinstance(timer_of(task), _timer_module.CycleTimerEventDefinition):
            continue
        opened = [child.id for child in task.children
                  if not child.has_state(TaskState.PREDICTED_MASK) and alignment.get(child) is not None]
        if opened:
            task._children = [child for child in task._children if child not in opened]
            held.append((task, opened))
    return held


def put_back_cycle_branches(workflow, held: list[tuple[Any, list[UUID]]]) -> None:
    """After the reset: each held branch under its (re-armed) timer again, in the order it was opened."""
    for task, opened in held:
        if task.id in workflow.tasks:
            task._children.extend(child for child in opened if child in workflow.tasks)
