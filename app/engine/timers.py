"""Point SpiffWorkflow's timer arithmetic at :mod:`app.clock`, so tests and the demo travel in time.

The library computes deadlines with ``datetime.now(timezone.utc)`` inside its timer module; we give
that module a ``datetime`` whose ``now`` asks our clock. Done once, at engine import. Also: when each waiting
timer is due, and which due time it keeps when its instance moves to a new version of the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from app import clock
from app.engine import durations

log = logging.getLogger(__name__)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        current = clock.now()
        return current.astimezone(tz) if tz else current.replace(tzinfo=None)


def _from_start(parsed_duration: dict, start: datetime | None = None) -> timedelta:
    """How long a parsed ISO duration lasts from ``start`` (default now), on the calendar (:mod:`app.engine.durations`):
    the library added the length of the starting month, and "P1M" from 31 January was 3 March."""
    start = start or clock.now()
    return durations.shift(start, parsed_duration) - start


def _from_end(parsed_duration: dict, end: datetime) -> timedelta:
    """How long a parsed ISO duration lasts when it ends at ``end``, on the calendar."""
    return end - durations.shift(end, parsed_duration, back=True)


def _get_datetime(expression: str) -> datetime:
    """A timer's date in UTC. One written without an offset (a date from a form, "2026-03-15", or a date-time field's
    "2026-03-15T10:00") is Kazakhstan's time, the business's calendar — the library read it in the server's own zone,
    and the same value fired five hours apart on a server set to UTC and one set to Astana's time."""
    # the library's checks ask isinstance(value, <its module's datetime>): this module's class, set by install_clock
    moment = _ClockedDatetime.fromisoformat(expression)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.KZ)
    return moment.astimezone(UTC)


def install_clock() -> None:
    _timer_module.datetime = _ClockedDatetime
    Timer = _timer_module.TimerEventDefinition
    Timer.get_timedelta_from_start = staticmethod(_from_start)
    Timer.get_timedelta_from_end = staticmethod(_from_end)
    Timer.get_datetime = staticmethod(_get_datetime)
    _timer_module.CycleTimerEventDefinition.cycle_complete = _cycle_complete


_library_cycle_complete = _timer_module.CycleTimerEventDefinition.cycle_complete


def cycle_value(expression: str, now: datetime) -> dict:
    """A cycle's stored value when it is armed: the library's ``cycles``, ``next`` (its first round) and ``duration``
    (seconds), and for an interval of whole months or years also its ``anchor``, ``period`` and ``round``: round n is
    due at anchor + n × period, counted on the calendar (R/P1M from 31 January: 28 February, 31 March, 30 April —
    the library stepped a fixed number of seconds, 31 days each time)."""
    Timer = _timer_module.TimerEventDefinition
    cycles, start, interval = Timer.parse_iso_recurring_interval(expression)
    value = {"cycles": cycles, "next": start.isoformat(), "duration": interval.total_seconds()}
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    periods = [Timer.parse_iso_duration(p) for p in parts[1:] if p.startswith("P")]
    period = periods[0] if len(periods) == 1 else None
    if period and durations.has_calendar_part(period) and all(float(v).is_integer() for v in period.values()):
        # "R/P1M" counts from the moment it is armed (its first round one period later); a written start, or an
        # end less one period, is round 0
        first = 1 if len(parts) == 2 else 0
        anchor = now if first else start
        value.update(anchor=anchor.isoformat(), period={k: int(v) for k, v in period.items()}, round=first)
    return value


def _round_due(value: dict, n: int) -> datetime:
    return durations.shift(datetime.fromisoformat(value["anchor"]), durations.times(value["period"], n))


def _calendar_cycle_complete(my_task, value: dict) -> bool:
    """The library's cycle step for a calendar cycle: when the next round has come, the latest round already past
    fires (once, as below) and the one after it is next."""
    if value["cycles"] == 0:
        my_task.internal_data.pop("event_value", None)
        my_task.internal_data["event_fired"] = True
        return False
    now = clock.now()
    if datetime.fromisoformat(value["next"]) >= now:
        my_task._set_internal_data(event_value=value)
        return False
    last = value["round"]
    # a round is at least 28 days: a start written decades back is a few hundred steps
    while (value["cycles"] < 0 or last - value["round"] + 1 < value["cycles"]) and _round_due(value, last + 1) < now:
        last += 1
    fired = last - value["round"] + 1
    value = {**value, "round": last + 1, "next": _round_due(value, last + 1).isoformat(),
             "cycles": value["cycles"] - fired if value["cycles"] > 0 else value["cycles"]}
    my_task._set_internal_data(event_value=value)
    return True


def _cycle_complete(self, my_task):
    """A cycle's rounds already past when it is looked at (a start written in the past, "R/2020-01-01T09:00:00+05:00/
    P1D"; an instance suspended for a week) fire once, as the latest of them — the library fired them one per
    background pass, a reminder every 30 seconds for each day since 2020. A cycle of so many rounds loses the ones
    skipped (it ends no later than the library's last round). A cycle of months or years counts its rounds on the
    calendar (:func:`cycle_value`)."""
    value = my_task._get_internal_data("event_value")
    if value is None:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        value = cycle_value(expression, clock.now())
    if isinstance(value, dict) and "anchor" in value:
        return _calendar_cycle_complete(my_task, value)
    if isinstance(value, dict) and value.get("cycles") != 0 and value.get("duration", 0) > 0:
        step, due = timedelta(seconds=value["duration"]), datetime.fromisoformat(value["next"])
        missed = int((clock.now() - due) / step)  # rounds wholly past besides the one due now
        if value["cycles"] > 0:
            missed = min(missed, value["cycles"] - 1)
        if missed > 0:
            value = {**value, "next": (due + missed * step).isoformat(),
                     "cycles": value["cycles"] - missed if value["cycles"] > 0 else value["cycles"]}
    my_task._set_internal_data(event_value=value)
    return _library_cycle_complete(self, my_task)


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
    # Months and years go back on the calendar. A due time on a short month's last day has several possible arming
    # times (28 February is one month after 28, 29, 30 and 31 January): this takes the latest.
    armed = durations.shift(due, duration, back=True)
    if durations.has_calendar_part(duration):
        later = [armed + timedelta(days=n) for n in range(1, 4)]
        armed = max([armed, *(t for t in later if durations.shift(t, duration) == due)])
    return armed


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


# A clock that ran ahead (an NTP jump, a virtual machine restored from a snapshot) and was corrected back since left
# the timers it armed due as far ahead as it was wrong: a five-day reminder fired months later. The rule, as a process
# owner reads it: a timer is never due later than its own definition allows counting from now (it cannot have been
# armed later than now) —
#
# * a duration ("P5D") at most the duration from now (months counted at 31 days, years at 366: the longest they
#   last, whenever they start);
# * a cycle's next round at most one interval from now, or its written start if that is later;
# * a date a step of the process computed from the clock (the acceptance deadline: "five working days from now"), as
#   the package that owns the step says (:func:`register_date_rule`); any other date is the model's or the data's and
#   does not depend on the clock.
#
# A due time past that is recomputed from now, the latest moment the timer may have been armed (the instance's
# state keeps no trustworthy earlier one: every time written then was the wrong clock's), and each correction is
# written in the instance's audit trail. An instance is checked the first time it is saved after a clock that ran
# ahead wrote it (its ``updated_at`` later than now): the background pass saves each such instance once
# (:func:`app.engine.runtime.recheck_written_ahead`).

#: A row written less than this ahead of now is the ordinary jitter of clocks (NTP steps by seconds), not a clock that
#: ran ahead.
CLOCK_SLACK = timedelta(minutes=5)

#: Date timers whose value a step computed from the clock, by their expression: ``rule(task_data, now)`` gives the
#: latest due time the step could have set now, or None when the data does not say.
_date_rules: dict[str, Callable[[dict, datetime], datetime | None]] = {}


def register_date_rule(expression: str, rule: Callable[[dict, datetime], datetime | None]) -> None:
    _date_rules[_expression_key(expression)] = rule


def _expression_key(expression: str) -> str:
    """The same expression however it is spaced or quoted (``acceptance["due"]``, ``acceptance['due']``)."""
    import ast

    try:
        return ast.dump(ast.parse((expression or "").strip(), mode="eval"))
    except SyntaxError:
        return (expression or "").strip()


def written_ahead(at: datetime | None, now: datetime) -> bool:
    """Whether ``at`` (a time the application wrote) is later than now: written by a clock that ran ahead."""
    if at is None:
        return False
    return (at if at.tzinfo else at.replace(tzinfo=UTC)) > now + CLOCK_SLACK


def saved_at(updated_at: datetime | None, now: datetime) -> datetime:
    """The ``updated_at`` for a save that does not check the instance's timers (an incident recorded or resolved, a
    suspension, a variable edited): now — unless a clock that ran ahead wrote the row, a mark kept until a save that
    corrects the timers (:func:`app.engine.runtime._sync`) takes it. An instance halted by an incident or suspended
    while the clock was put right is not taken by the background recheck (running instances only); its release wrote
    now over the mark, and its timers stayed as far ahead as the clock had been wrong."""
    return updated_at if written_ahead(updated_at, now) else now


@dataclass(frozen=True)
class CorrectedDue:
    element: str
    attached_to: str | None  # the activity a boundary timer is on
    was: datetime
    due: datetime


def _longest(parsed: dict) -> timedelta:
    """The longest a parsed ISO duration can last, whenever it starts (a month of 31 days, a year of 366)."""
    days = (parsed.get("years", 0) * 366 + parsed.get("months", 0) * 31 + parsed.get("weeks", 0) * 7
            + parsed.get("days", 0))
    return timedelta(days=days, hours=parsed.get("hours", 0), minutes=parsed.get("minutes", 0),
                     seconds=parsed.get("seconds", 0))


def _value_of(wf, task, expression: str):
    """A timer's expression on the task's data: a constant without a sandbox round trip."""
    import ast

    try:
        return ast.literal_eval(expression.strip())
    except (ValueError, SyntaxError):
        return wf.script_engine.evaluate(task, expression)


def _believable(wf, task, definition, value, now: datetime) -> tuple[datetime, datetime] | None:
    """The latest due time the timer's definition allows now, and the due time it gives counting from now (None:
    the definition does not say)."""
    Timer = _timer_module.TimerEventDefinition
    if isinstance(definition, _timer_module.DurationTimerEventDefinition):
        parsed = Timer.parse_iso_duration(_value_of(wf, task, definition.expression))
        return now + _longest(parsed), now + Timer.get_timedelta_from_start(dict(parsed), now)
    if isinstance(definition, _timer_module.CycleTimerEventDefinition):
        _cycles, start, interval = Timer.parse_iso_recurring_interval(_value_of(wf, task, definition.expression))
        stored = timedelta(seconds=value.get("duration", 0)) if isinstance(value, dict) else interval
        start = start.astimezone(UTC)
        return max(start, now + max(interval, stored)), (start if start > now else now + interval)
    rule = _date_rules.get(_expression_key(definition.expression)) if _date_rules else None
    latest = rule(task.data, now) if rule is not None else None
    return (latest, latest) if latest is not None else None


def correct_dues_ahead(wf, now: datetime) -> list[CorrectedDue]:
    """Give every waiting timer due later than its definition allows (the rule above) its due time recomputed from
    now; the corrections made. A timer whose definition cannot be read now is left as it is."""
    from SpiffWorkflow.util.task import TaskState

    corrected = []
    for workflow in [wf, *wf.subprocesses.values()]:
        for task in workflow.get_tasks(state=TaskState.WAITING, skip_subprocesses=True):
            definition = timer_of(task)
            value = task._get_internal_data("event_value") if definition is not None else None
            due = parse_due(value)
            if due is None or due <= now + CLOCK_SLACK:
                continue
            try:
                found = _believable(wf, task, definition, value, now)
            except Exception as err:  # noqa: BLE001 - an expression that no longer evaluates: the due time stays
                log.warning("timer %s: due %s not checked against its definition: %s", task.task_spec.name,
                            due.isoformat(), type(err).__name__)
                found = None
            if found is None or due <= found[0] + CLOCK_SLACK:
                continue
            recomputed = found[1]
            if isinstance(value, dict):
                # a calendar cycle counts its rounds from the corrected one on (its anchor was the wrong clock's)
                calendar = {"anchor": recomputed.isoformat(), "round": 0} if "anchor" in value else {}
                task._set_internal_data(event_value={**value, "next": recomputed.isoformat(), **calendar})
            else:
                task._set_internal_data(event_value=recomputed.isoformat())
            spec, split = task.task_spec, task.parent.task_spec if task.parent is not None else None
            # a boundary timer's parent is its activity's split, named "<activity>.BoundaryEventSplit"
            attached = split.name.rsplit(".", 1)[0] if split is not None and split.name.endswith(
                ".BoundaryEventSplit") else None
            corrected.append(CorrectedDue(getattr(spec, "bpmn_id", None) or spec.name, attached, due, recomputed))
    return corrected

