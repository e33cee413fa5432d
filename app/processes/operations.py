"""Operator actions on a process instance — the one door for the cockpit's state changes.

Retry a failed step, cancel, suspend and resume, trigger a waiting timer now, edit a variable. Each checks
who may do it (``can_*``), needs a reason, changes the instance under its optimistic lock and writes its
audit event in the same transaction (the caller commits, or rolls back: nothing half-written).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flask_babel import gettext as _
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from app import clock
from app.audit.models import AuditEvent
from app.audit.operations import hold_chain, record_event
from app.engine import runtime
from app.engine.errors import DomainRefused, EngineError, StepFailed
from app.engine.forms import direction_controls, direction_controls_refused
from app.engine.incidents import OPEN_STATUSES, Incident, IncidentRefused, retry_incident
from app.engine.models import HumanTask, ProcessInstance
from app.engine.serialization import dump_state
from app.engine.timers import saved_at, timer_of
from app.extensions import db
from app.people.roles import Role
from app.processes import models as _cockpit_models  # noqa: F401 - maps is_trial / trial_owner_id

#: who uses the cockpit; auditors read it, and change nothing
COCKPIT_ROLES = {Role.OPERATOR.value, Role.PROCESS_OWNER.value, Role.ADMIN.value, Role.AUDITOR.value}
RETRY_ROLES = {Role.OPERATOR.value, Role.PROCESS_OWNER.value, Role.ADMIN.value}
CONTROL_ROLES = RETRY_ROLES  # cancel, suspend, resume
ADMIN_ROLES = {Role.ADMIN.value}  # trigger a timer now, edit a variable: they bypass the model's own logic
#: roles whose work needs children's IINs and names; everyone else sees them masked in the cockpit
PERSONAL_DATA_ROLES = {Role.OPERATOR.value, Role.AUDITOR.value}
REASON_MAX = 500
OPEN_STATES = ("running", "error", "suspended")


class RetryRefused(EngineError):
    pass


#: What the domain says against cancelling an instance: ``guard(instance) -> message or None``. Cancelling is
#: the engine's business, but an instance may carry a record whose lifecycle it alone moves on (an act waiting
#: for acceptance or payment): cancelled, the record would be stranded in its state for good.
CANCEL_GUARDS: list[Callable[[ProcessInstance], str | None]] = []


def register_cancel_guard(guard: Callable[[ProcessInstance], str | None]):
    CANCEL_GUARDS.append(guard)
    return guard


def guard_record(model, moving: tuple[str, ...], objection: Callable[[object], str]) -> None:
    """Refuse to cancel an instance whose ``model`` row (found by its ``instance_id``) is in one of the ``moving``
    states, which only the process takes further; ``objection(row)`` says why, in the user's language."""
    from sqlalchemy import select

    def guard(instance: ProcessInstance) -> str | None:
        row = db.session.scalars(select(model).where(model.instance_id == instance.id)).first()
        return objection(row) if row is not None and row.status in moving else None

    register_cancel_guard(guard)


class ActionRefused(DomainRefused):
    pass


def _role(user) -> str | None:
    return getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None


def can_use_cockpit(user) -> bool:
    return _role(user) in COCKPIT_ROLES


def can_retry(user, instance: ProcessInstance) -> bool:
    """An instance halted by an incident, or one with a non-halting incident (an announcement, a migration,
    a month-wide check) that is still open."""
    if _role(user) not in RETRY_ROLES or instance.status in ("completed", "cancelled"):
        return False
    return instance.status == "error" or bool(open_incidents(instance))


def can_cancel(user, instance: ProcessInstance) -> bool:
    return instance.status in OPEN_STATES and _role(user) in CONTROL_ROLES


def can_suspend(user, instance: ProcessInstance) -> bool:
    return instance.status == "running" and _role(user) in CONTROL_ROLES


def can_resume(user, instance: ProcessInstance) -> bool:
    return instance.status == "suspended" and _role(user) in CONTROL_ROLES


def can_trigger_timer(user, instance: ProcessInstance) -> bool:
    return instance.status == "running" and instance.next_timer_at is not None and _role(user) in ADMIN_ROLES


def can_edit_variables(user, instance: ProcessInstance) -> bool:
    return instance.status in ("running", "suspended") and _role(user) in ADMIN_ROLES


def may_see_personal_data(user) -> bool:
    return _role(user) in PERSONAL_DATA_ROLES


def clean_reason(reason: str | None) -> str:
    """Every cockpit action needs a reason: it goes into the audit trail with the action."""
    text = (reason or "").strip()
    if not text:
        raise ActionRefused(_("Please give a reason; it is kept in the audit trail."))
    if len(text) > REASON_MAX:
        raise ActionRefused(_("The reason is too long (at most %(n)s characters).", n=REASON_MAX))
    if direction_controls(text):  # the instance page shows it to everyone who sees the case
        raise ActionRefused(direction_controls_refused())
    return text


def _audit(instance: ProcessInstance, action: str, actor, **details) -> None:
    record_event(instance.audit_chain, action, "process_instance", instance.id,
                 actor_id=getattr(actor, "id", None), details=details)


def _save_state(instance: ProcessInstance, wf=None, **values) -> None:
    """Write the instance row through the ORM's versioned flush: another writer in between → conflict. The
    instance's chain is held first (the lock order: app.audit.operations.hold_chain)."""
    hold_chain(instance.audit_chain)
    if wf is not None:
        instance.state = dump_state(wf)
    for name, value in values.items():
        setattr(instance, name, value)
    instance.updated_at = saved_at(instance.updated_at, clock.now())  # its timers are not checked here
    with runtime._optimistic_lock():
        db.session.flush()


# -- incidents --------------------------------------------------------------------------------------------------
def failed_elements(instance: ProcessInstance) -> list[str]:
    """The BPMN elements whose automatic step failed: open incidents, else the instance's last failure."""
    if instance.status != "error":
        return []
    elements = {i.element_id for i in open_incidents(instance) if i.element_id}
    if elements:
        return sorted(elements)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == instance.audit_chain, AuditEvent.action == "instance.failed")
        .order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    element = (event.details or {}).get("element") if event else None
    return [element] if element else []


def open_incidents(instance: ProcessInstance) -> list[Incident]:
    return list(db.session.scalars(select(Incident).where(Incident.instance_id == instance.id,
                                                          Incident.status.in_(OPEN_STATUSES))
                                   .order_by(Incident.id)))


def _resolve_incidents(instance: ProcessInstance, actor, resolution: str) -> int:
    now = clock.now()
    return db.session.execute(
        update(Incident).where(Incident.instance_id == instance.id, Incident.status.in_(OPEN_STATUSES))
        .values(status="resolved", resolved_at=now, resolved_by_id=getattr(actor, "id", None), updated_at=now,
                resolution=resolution[:500]).execution_options(synchronize_session=False)).rowcount


def retry(instance: ProcessInstance, actor, reason: str, incident_id: int | None = None) -> bool:
    """Retry one open incident of the instance (the one named, else its latest) through
    :func:`app.engine.incidents.retry_incident`: the failed element runs again — a step from the last good
    state, a migration to its version, an announcement, an act's check. Owns its transaction (committed):
    True if the incident was resolved; False if it failed again (one more attempt, committed)."""
    incidents = open_incidents(instance)
    incident = next((i for i in incidents if i.id == incident_id), None) if incident_id else \
        (incidents[-1] if incidents else None)
    if incident is None:
        raise RetryRefused(_("This instance has no open incident to retry."))
    try:
        return retry_incident(incident, actor, reason)
    except IncidentRefused as err:
        raise RetryRefused(str(err)) from err


# -- cancel, suspend, resume ------------------------------------------------------------------------------------
def _set_open_tasks(instance: ProcessInstance, from_status: str, to_status: str, at=None) -> int:
    values = {"status": to_status}
    if at is not None:
        values["completed_at"] = at
    return db.session.execute(
        update(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == from_status)
        .values(**values).execution_options(synchronize_session=False)).rowcount


def cancel_instance(instance: ProcessInstance, actor, reason: str) -> None:
    """Final: the instance stops, its open (or suspended) tasks are cancelled, its timers forgotten and its
    open incidents resolved as cancelled."""
    reason = clean_reason(reason)
    if not can_cancel(actor, instance):
        raise ActionRefused(_("This instance cannot be cancelled (it has already ended)."))
    for guard in CANCEL_GUARDS:
        if (objection := guard(instance)) is not None:
            raise ActionRefused(objection)
    now = clock.now()
    previous = instance.status
    _save_state(instance, status="cancelled", next_timer_at=None, completed_at=now)
    tasks = _set_open_tasks(instance, "open", "cancelled", now) + _set_open_tasks(instance, "suspended",
                                                                                  "cancelled", now)
    _resolve_incidents(instance, actor, _("instance cancelled"))
    _audit(instance, "instance.cancelled", actor, reason=reason, previous=previous, tasks_cancelled=tasks)


def suspend_instance(instance: ProcessInstance, actor, reason: str) -> None:
    """The background pass selects only ``running`` instances, so a suspended one's timers wait; its open
    tasks leave the inboxes (status ``suspended``) until it is resumed, so nobody completes a step meanwhile."""
    reason = clean_reason(reason)
    if not can_suspend(actor, instance):
        raise ActionRefused(_("Only a running instance can be suspended."))
    _save_state(instance, status="suspended")
    tasks = _set_open_tasks(instance, "open", "suspended")
    _audit(instance, "instance.suspended", actor, reason=reason, tasks_held=tasks)


def resume_instance(instance: ProcessInstance, actor, reason: str) -> None:
    """Back to ``running``: held tasks return to the inboxes; a timer that fell due meanwhile fires on the
    background pass's next tick."""
    reason = clean_reason(reason)
    if not can_resume(actor, instance):
        raise ActionRefused(_("Only a suspended instance can be resumed."))
    _save_state(instance, status="running")
    tasks = _set_open_tasks(instance, "suspended", "open")
    _audit(instance, "instance.resumed", actor, reason=reason, tasks_released=tasks)


# -- timers and variables (administrator) ---------------------------------------------------------------------
def _moment(value):
    """A timer's due time as a datetime (SpiffWorkflow keeps it as ISO text), to show in the reader's time zone;
    None if it is not one."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def waiting_timers(wf) -> list[dict]:
    """Timer events the workflow waits for: element and due time (for the diagram and the action)."""
    timers = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        definition = timer_of(task)  # a timer event's, or one among an event-based gateway's events
        if definition is not None:
            value = task._get_internal_data("event_value")
            due = value.get("next") if isinstance(value, dict) else value
            timers.append({"element": getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name,
                           "name": task.task_spec.bpmn_name or definition.name or task.task_spec.name,
                           "due": str(due) if due else None, "due_at": _moment(due), "task": task})
    return timers


def trigger_timer(instance: ProcessInstance, actor, element: str, reason: str) -> None:
    """Fire one waiting timer now instead of at its due time, then let the process run on."""
    reason = clean_reason(reason)
    if not can_trigger_timer(actor, instance):
        raise ActionRefused(_("Only an administrator can trigger a waiting timer of a running instance."))
    wf = runtime._load(instance)
    chosen = [t for t in waiting_timers(wf) if t["element"] == element]
    if not chosen:
        raise ActionRefused(_("That timer is not waiting any more; reload the page."))
    now = clock.now()

    def step() -> None:
        for timer in chosen:
            timer["task"]._set_internal_data(event_fired=True)
        wf.refresh_timers()
        wf.do_engine_steps()

    with runtime._optimistic_lock():
        try:
            runtime._run_engine(instance, actor, step)
        except StepFailed as err:
            err.workflow = wf
            raise
        runtime._sync(instance, wf, now, how="timer")
        _audit(instance, "timer.triggered", actor, element=element, due=chosen[0]["due"], reason=reason)
        if instance.status == "completed":
            _audit(instance, "instance.completed", actor)


def current_tokens(wf) -> list:
    """The tasks where the process stands: READY or WAITING BPMN elements."""
    return [t for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING)
            if getattr(t.task_spec, "bpmn_id", None)]


def variables(wf) -> dict:
    """The task data at the current tokens (for an ended instance, the workflow's final data)."""
    data: dict = {}
    for task in current_tokens(wf):
        data.update(task.data)
    if not data:
        data.update(wf.data or {})
        if not data and wf.last_task is not None:
            data.update(wf.last_task.data)
    return data


def parse_value(text: str):
    """A variable's new value is JSON (``"text"``, ``12``, ``true``, ``{"a": 1}``); a bare word is a string."""
    text = (text or "").strip()
    try:
        return json.loads(text)
    except ValueError:
        if text and text[0] in "[{\"":
            raise ActionRefused(_("The value is not valid JSON.")) from None
        return text


def edit_variable(instance: ProcessInstance, actor, name: str, raw_value: str, reason: str) -> None:
    """Set one variable in the data of every current token (administrator; the old value is audited)."""
    reason = clean_reason(reason)
    if not can_edit_variables(actor, instance):
        raise ActionRefused(_("Only an administrator can edit the variables of a running or suspended instance."))
    name = (name or "").strip()
    if not name.isidentifier() or name.startswith("_"):
        raise ActionRefused(_("A variable name is a word of letters, digits and underscores."))
    value = parse_value(raw_value)
    runtime.refuse_unstorable(value)
    wf = runtime._load(instance)
    tokens = current_tokens(wf)
    if not tokens:
        raise ActionRefused(_("The instance has no current step whose data could be changed."))
    old = variables(wf).get(name)
    for task in tokens:
        task.data[name] = value
        # A token waiting at an event (a timer, a message) takes its parent's data again when the event comes
        # (SpiffWorkflow merges the parent's data over its own): set there too, or the edit is silently undone.
        if task.parent is not None:
            task.parent.data[name] = value
    _save_state(instance, wf)
    _audit(instance, "variable.edited", actor, name=name, old=old, new=value, reason=reason)
