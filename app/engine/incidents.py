"""Incidents: an automatic step of one instance that failed outside a user's request.

One failure stays one failure: a batch that advances many instances (timers, service tasks, announcements,
migrations, month-wide jobs) rolls back only the failing instance and records an :class:`Incident` on it,
then goes on. An incident names the element, carries a message for users and a technical detail for
operators, and counts attempts; it is open until an operator retries (re-running the failed element) or
resolves it. The instance's ``status`` is ``error`` while one is open (shown as *incident*); an operator may also set
``suspended`` (the background pass skips it) or ``cancelled`` (final).
"""

from __future__ import annotations

import contextvars
import logging
import re
import traceback
from datetime import datetime, timedelta

from flask_babel import gettext, lazy_gettext
from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.database import held_elsewhere
from app.engine.errors import stored_words
from app.engine.timers import saved_at
from app.extensions import db

#: kinds of incident (what failed), for filters and counts
KINDS = ("script", "service", "serialization", "budget", "database", "timer", "announcement", "migration",
         "verification", "completion", "stuck", "other")


class Incident(db.Model):
    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_instance_status", "instance_id", "status"),
                      Index("ix_incident_status_created", "status", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    element_id: Mapped[str | None] = mapped_column(String(255))  # BPMN id of the failed element
    kind: Mapped[str] = mapped_column(String(32), default="other")
    message: Mapped[str] = mapped_column(String(1000))  # for users: what failed, in plain words
    detail: Mapped[str | None] = mapped_column(Text)  # for operators: exception type, message, trace tail
    attempts: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | retrying | resolved
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution: Mapped[str | None] = mapped_column(String(500))

    instance = relationship("ProcessInstance")


# -- operations: the one door for incidents (each writes its audit event) ------------------------------------

log = logging.getLogger(__name__)

#: what a user is told, per kind (translated when shown: see :func:`user_message`)
_MESSAGES = {
    "script": lazy_gettext("A script of step “%(element)s” failed."),
    "service": lazy_gettext("The service called by step “%(element)s” failed."),
    "serialization": lazy_gettext("The process data after step “%(element)s” cannot be saved."),
    "budget": lazy_gettext("A script of step “%(element)s” ran out of its time or step budget."),
    "database": lazy_gettext("The database refused the changes of step “%(element)s”."),
    "timer": lazy_gettext("The timer of step “%(element)s” could not be processed."),
    "announcement": lazy_gettext("The new task “%(element)s” could not be announced."),
    "migration": lazy_gettext("Moving the instance to a new version failed at “%(element)s”; it stays on its "
                              "version."),
    "verification": lazy_gettext("The month-wide verification could not check this act again "
                                 "(“%(element)s”); the act keeps its last check."),
    "completion": lazy_gettext("A person's step could not be completed: the automatic step “%(element)s” after it "
                               "fails (an error in the model). Nothing was saved; the step waits. Correct the model, "
                               "migrate the instance, then resolve this incident."),
    "stuck": lazy_gettext("The instance cannot go on: it waits at “%(element)s” for a branch that was never taken."),
    "other": lazy_gettext("Step “%(element)s” failed."),
}

#: failures outside the instance's own run: the instance goes on (on its version, with its act's last check)
NON_HALTING = ("announcement", "migration", "verification", "completion")

#: failures that are the model's (a script, an expression, a budget): the person completing a step cannot do
#: anything about them, so they are recorded for the owners and administrators (``completion`` incidents)
MODEL_FAULTS = ("script", "budget", "serialization")

#: incident statuses: ``retrying`` — an automatic retry is scheduled (``next_retry_at``); ``open`` — waits for
#: an operator; ``resolved`` — retried successfully or closed by an operator
OPEN_STATUSES = ("open", "retrying")


def user_message(incident: Incident) -> str:
    """The incident's message in the current user's language."""
    return str(_MESSAGES.get(incident.kind, _MESSAGES["other"]) % {"element": incident.element_id or "?"})


def causes(err: BaseException, limit: int = 20) -> list[BaseException]:
    """``err`` and the exceptions behind it (``__cause__``, else ``__context__``), nearest first."""
    chain, seen = [], err
    while seen is not None and len(chain) < limit:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def error_kind(err: BaseException) -> str:
    """The class of the error at the root of ``err`` (a script's ValueError behind the engine's wrappers): what the logs
    say of a failure whose words stay in its incident."""
    return type(causes(err)[-1]).__name__


def log_words(err: BaseException) -> str:
    """What a log line says of a failure whose words stay in its incident: the database driver's first line for a
    database's error (the condition, never a statement's values), else the error's kind (:func:`error_kind`)."""
    from sqlalchemy.exc import DBAPIError

    from app.database import error_first_line

    database = next((seen for seen in causes(err) if isinstance(seen, DBAPIError)), None)
    return error_first_line(database) if database is not None else error_kind(err)


def classify(err: BaseException) -> str:
    """The kind of failure (one of :data:`KINDS`), from the exception and its causes."""
    from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
    from sqlalchemy.exc import SQLAlchemyError

    from app.engine.scripting import ScriptError, ScriptLimitExceeded

    chain = causes(err)
    for seen in chain:  # the budget and a tagged service call win over the script wrapper around them
        if isinstance(seen, ScriptLimitExceeded):
            return "budget"
        if getattr(seen, "service_operator", None):
            return "service"
    for seen in chain:
        if getattr(seen, "incident_kind", None):
            return seen.incident_kind
        if isinstance(seen, SQLAlchemyError):
            return "database"
        if isinstance(seen, ScriptError | WorkflowTaskException):
            return "script"  # a script or an expression (gateway, timer, payload) of the model
    return "other"


#: what no text column keeps: NUL (PostgreSQL refuses it) and lone UTF-16 surrogates (no UTF-8 encodes them)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: what an incident does not keep either: direction controls (U+202A–U+202E, U+2066–U+2069, app.engine.forms)
_DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def storable(text: str) -> str:
    """An error's words as a column can keep them: NUL and lone surrogates become U+FFFD. A process owner's script
    ``raise ValueError(chr(0))`` made its incident unrecordable — the instance stayed "running" with no incident,
    its timer due, and every background pass ran the script again and logged "the incident could not be
    recorded". Direction controls (U+202A–U+202E, U+2066–U+2069) become U+FFFD too: a script that builds them
    (``raise ValueError(chr(0x202E) + ...)``, which no publish check sees) made its incident read other than it was in
    the cockpit and the audit trail; U+FFFD shows that something was there."""
    return _DIRECTION_CONTROLS.sub("\ufffd", _UNSTORABLE.sub("\ufffd", text))


def technical_detail(err: BaseException, limit: int = 8000) -> str:
    """Exception types and messages with the tail of the traceback, for operators (never shown to users)."""
    text = "".join(traceback.format_exception(err))
    return storable(text[-limit:])


def open_incident_of(instance_id: int) -> Incident | None:
    return db.session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                     Incident.status.in_(OPEN_STATUSES))
                              .order_by(Incident.id.desc()).limit(1)).first()


def record_incident(instance_id: int, err: BaseException, *, element_id: str | None = None,
                    kind: str | None = None, retry_policy=None, halt: bool = True) -> Incident:
    """Record that an automatic step of this instance failed — after the caller rolled the step back.

    A failure of the same element as the instance's open incident counts as one more attempt of it, not a
    new incident. With a ``retry_policy`` (:class:`app.engine.operators.RetryPolicy`) that has attempts left
    the incident is ``retrying`` and the background pass re-runs it at ``next_retry_at``. ``halt`` (the
    default) flags the instance ``error`` so no pass advances it until the incident is retried or resolved;
    an announcement failure does not halt the process. Writes the audit event; the caller commits.
    """
    from app.audit.operations import hold_chain, record_event
    from app.engine.models import ProcessInstance

    hold_chain(f"instance:{instance_id}")  # before the instance's row (the lock order: app.audit.operations)
    now = clock.now()
    kind = kind or classify(err)
    # a refusal kept as its msgid and values: read in the language of whoever opens the instance, not in the
    # background pass's (an operator's refusal reached the staff in English only)
    message = storable(stored_words(err))[:1000]
    incident = open_incident_of(instance_id)
    if incident is not None and incident.element_id == element_id and incident.kind == kind:
        incident.attempts += 1
        incident.message, incident.detail, incident.updated_at = message, technical_detail(err), now
    else:
        incident = Incident(instance_id=instance_id, element_id=element_id, kind=kind, message=message,
                            detail=technical_detail(err), attempts=1, status="open", created_at=now, updated_at=now)
        db.session.add(incident)
    delay = retry_policy.delay_after(incident.attempts) if retry_policy is not None else None
    incident.status = "retrying" if delay is not None else "open"
    incident.next_retry_at = now + timedelta(seconds=delay) if delay is not None else None
    instance = db.session.get(ProcessInstance, instance_id)
    # a suspended instance stays suspended (no pass advances it anyway); a finished one stays finished
    if halt and instance is not None and instance.status in ("running", "error"):
        instance.status = "error"
        instance.error_message = message[:2000]
        instance.updated_at = saved_at(instance.updated_at, now)
    db.session.flush()
    record_event(f"instance:{instance_id}", "instance.failed", "process_instance", instance_id, actor_id=None,
                 details={"element": element_id, "message": storable(str(err) or type(err).__name__)[:500],
                          "kind": kind, "incident": incident.id, "attempts": incident.attempts,
                          "next_retry_at": incident.next_retry_at.isoformat() if incident.next_retry_at else None})
    # the error's kind, not its words: they carry the instance's data (a script's "invalid literal …: '<a child's
    # name>'") and are kept here, in the incident, for those who may read it
    log.warning("incident %s on instance %s (%s, element %s, attempt %s): %s", incident.id, instance_id, kind,
                element_id, incident.attempts, log_words(err))
    return incident


def record_incident_safely(instance_id: int, err: BaseException, **kwargs) -> Incident | None:
    """:func:`record_incident` in a transaction of its own, for batches: the step was rolled back already;
    if even the record cannot be written (the database is gone) the failure is logged and the batch goes on."""
    try:
        incident = record_incident(instance_id, err, **kwargs)
        db.session.commit()
        return incident
    except Exception:
        db.session.rollback()
        log.exception("instance %s: the incident could not be recorded (original error: %r)", instance_id, err)
        return None


def record_completion_failure(instance_id: int, err: BaseException) -> Incident | None:
    """A person completed a step and an automatic step after it failed because of the model (a script error, a
    name no step sets, a budget): everything was rolled back and the person can do nothing about it. Recorded as
    a ``completion`` incident in a transaction of its own (the instance is not halted: it waits at the step as
    before), so the cockpit shows it to the owners and administrators. Another failure (a business refusal of a
    service) is the person's to read, and None is returned."""
    if classify(err) not in MODEL_FAULTS:
        return None
    from app.engine.runtime import failed_element

    return record_incident_safely(instance_id, err, element_id=failed_element(err), kind="completion", halt=False)


def resolve_incident(incident: Incident, actor, reason: str) -> Incident:
    """Close an incident without re-running anything (the operator repaired it otherwise). An instance left
    without open incidents goes back to ``running``, so the next pass advances it again. The caller commits."""
    from app.audit.operations import record_event

    if incident.status not in OPEN_STATUSES:
        raise IncidentRefused(gettext("This incident is already resolved."))
    reason = (reason or "").strip()
    if not reason:
        raise IncidentRefused(gettext("Give a reason for resolving the incident."))
    _close(incident, actor, reason[:500])
    instance = incident.instance
    if instance.status == "error" and open_incident_of(instance.id) is None:
        instance.status, instance.error_message = "running", None
        instance.updated_at = saved_at(instance.updated_at, clock.now())
    record_event(instance.audit_chain, "incident.resolved", "incident", incident.id,
                 actor_id=getattr(actor, "id", None), details={"reason": reason[:500], "element": incident.element_id})
    return incident


def retry_incident(incident: Incident, actor, reason: str | None = None) -> bool:
    """Re-run the failed element from the instance's last good state (an operator's retry, or the background
    pass's scheduled one when ``actor`` is None). A failed migration is retried by migrating the instance to
    the same version again; an announcement by queueing its task again; a month-wide check by checking the
    act again. ``reason`` (the cockpit's) is kept as the resolution and in the audit event.

    Owns its transaction: on success the step's changes, the resolution and the audit events are committed
    together and True is returned; on failure everything of the attempt is rolled back, the incident counts
    one more attempt (committed) and False is returned. Raises :class:`IncidentRefused` for an incident that
    is not open and :class:`app.engine.errors.ConflictError` when someone else changed the instance first.
    """
    from app.audit.operations import record_event
    from app.engine.errors import ConflictError
    from app.engine.operators import retry_policy_for_error
    from app.engine.runtime import rerun_failed_step

    if incident.status not in OPEN_STATUSES:
        raise IncidentRefused(gettext("This incident is already resolved."))
    if incident.instance.status in ("completed", "cancelled"):
        raise IncidentRefused(gettext("The process has ended; resolve the incident instead of retrying it."))
    if incident.kind == "stuck":
        raise IncidentRefused(gettext("Nothing to retry: the instance waits for a branch that was never taken. "
                                      "Correct the model and migrate the instance, or cancel it."))
    if incident.kind == "completion":
        raise IncidentRefused(gettext("Nothing to retry: the step waits for its person, who completes it again once "
                                      "the model is corrected. Resolve the incident then."))
    incident_id, instance_id, element_id, kind = incident.id, incident.instance_id, incident.element_id, incident.kind
    try:
        if kind == "announcement":
            _reannounce(incident)
        elif kind == "migration":
            _remigrate(incident, actor)
        elif kind == "verification":
            _reverify(incident, actor)
        else:
            token = _retrying.set(incident_id)  # this retry closes its own incident (below), not the run's hook
            try:
                rerun_failed_step(incident.instance, actor)
            finally:
                _retrying.reset(token)
        incident = db.session.get(Incident, incident_id)
        _close(incident, actor, (reason or "retried")[:500])
        record_event(f"instance:{instance_id}", "incident.retried", "incident", incident_id,
                     actor_id=getattr(actor, "id", None), details={"element": element_id, "outcome": "resolved",
                                                                   **({"reason": reason[:500]} if reason else {})})
        db.session.commit()
        return True
    except (ConflictError, IncidentRefused):
        db.session.rollback()
        raise
    except Exception as err:
        db.session.rollback()
        if held_elsewhere(err):
            # A row the retry needed was held by another transaction past the lock limit (someone saving the act just
            # now, a job, a transaction left open): the moment's, not the step's failure. It had counted one more
            # attempt on the incident and told the operator "the step failed again" with the driver's sentence.
            # Nothing of the attempt is kept and the incident stays as it was: the operator tries again in a moment,
            # the background pass at its next one.
            log.warning("retry of incident %s on instance %s: a row it needs is held by another transaction (%s); "
                        "the incident is left as it was", incident_id, instance_id, log_words(err))
            raise RetryHeld(gettext("Another transaction is holding a record this step needs (someone saving it just "
                                    "now, a job), so nothing was retried and the incident is unchanged. Try again in "
                                    "a moment.")) from err
        if kind in NON_HALTING:
            new_element, new_kind = element_id, kind
        else:
            new_element, new_kind = _element_of(err) or element_id, classify(err)
        if (new_element, new_kind) != (element_id, kind):
            # the failed element went through this time and a later one failed: that is the incident now
            _close(db.session.get(Incident, incident_id), actor, f"superseded: {new_kind} at {new_element}")
        policy = retry_policy_for_error(err) if actor is None else None  # an operator's retry: no backoff after
        record_incident_safely(instance_id, err, element_id=new_element, kind=new_kind, retry_policy=policy,
                               halt=kind not in NON_HALTING)
        return False


#: the incident a retry is running for (:func:`resolve_recovered` leaves it to :func:`retry_incident`)
_retrying: contextvars.ContextVar[int | None] = contextvars.ContextVar("incident_retrying", default=None)

#: what advanced the instance, as said in the resolution of the incidents it recovered
_RECOVERED_BY = {"task": "a person completed a step", "timer": "a timer fired", "retry": "a retry",
                 "migration": "a migration to a new version", "revert": "a migration was reverted",
                 "start": "the start", "step": "a later step"}


def resolve_recovered(instance, open_rows: list[Incident], *, ran: set, completed: bool, how: str,
                      stuck_element: str | None, actor=None) -> list[Incident]:
    """After a run of the instance that succeeded, close the open incidents it recovered, each with an
    ``incident.resolved`` audit event naming what resolved it (``how``) and who (``actor``, None for the
    background pass): an element's failure once that element completed in this run (``ran``: the BPMN ids of
    the tasks it completed) or the instance completed; a failed migration once a migration succeeded; a
    ``stuck`` instance once it no longer waits there. Announcement and month-wide check incidents are not
    about the run and stay. The caller commits."""
    from app.audit.operations import record_event

    resolved = []
    for incident in open_rows:
        if incident.id == _retrying.get() or incident.kind in ("announcement", "verification"):
            continue
        if incident.kind == "migration":
            recovered = how == "migration"
        elif incident.kind == "stuck":
            recovered = how != "start" and (completed or stuck_element != incident.element_id)
        else:
            recovered = completed or (incident.element_id is not None and incident.element_id in ran)
        if not recovered:
            continue
        what = _RECOVERED_BY.get(how, how)
        resolution = (f"recovered: {incident.element_id} went through after {what}" if incident.element_id
                      and incident.element_id in ran else f"recovered: the instance went on after {what}")
        _close(incident, actor, resolution[:500])
        record_event(f"instance:{instance.id}", "incident.resolved", "incident", incident.id,
                     actor_id=getattr(actor, "id", None),
                     details={"element": incident.element_id, "kind": incident.kind, "automatic": True, "by": how,
                              "reason": resolution[:500]})
        resolved.append(incident)
    if resolved and instance.status == "error" and not any(i.status in OPEN_STATUSES for i in open_rows):
        instance.status, instance.error_message = "running", None
    elif resolved and instance.error_message and not any(i.status in OPEN_STATUSES for i in open_rows):
        instance.error_message = None
    return resolved


def retry_due_incidents(limit: int = 100) -> int:
    """The background pass's automatic retries (service tasks with a retry policy): each incident whose
    ``next_retry_at`` has come is retried in its own transaction. Returns how many succeeded.

    A retry scheduled further ahead than any policy's longest delay from now was scheduled by a clock that ran ahead
    (put right since): it is due now. Waiting for it had left the step failed and the instance waiting for as long as
    the clock had been wrong — a year for a clock a year ahead — with nobody told (the incident read "retrying")."""
    from app.engine.models import ProcessInstance
    from app.engine.operators import longest_retry_delay

    now = clock.now()
    latest_believable = now + timedelta(seconds=longest_retry_delay())
    ids = db.session.scalars(
        select(Incident.id).join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
        .where(Incident.status == "retrying",
               or_(Incident.next_retry_at <= now, Incident.next_retry_at > latest_believable),
               ProcessInstance.status.in_(("running", "error")))  # not a suspended or finished one
        .order_by(Incident.next_retry_at).limit(limit)).all()
    succeeded = 0
    for incident_id in ids:
        incident = db.session.get(Incident, incident_id)
        try:
            succeeded += retry_incident(incident, None)
        except RetryHeld:  # said in one line by retry_incident; still due, the next pass tries it again
            db.session.rollback()
        except Exception:  # a conflict or a refused retry: leave it for the next pass
            db.session.rollback()
            log.exception("automatic retry of incident %s failed", incident_id)
    return succeeded


def incidents_of(instance_id: int, *, open_only: bool = False) -> list[Incident]:
    """An instance's incidents, newest first (for its page)."""
    query = select(Incident).where(Incident.instance_id == instance_id)
    if open_only:
        query = query.where(Incident.status.in_(OPEN_STATUSES))
    return list(db.session.scalars(query.order_by(Incident.id.desc())))


def open_incident_count() -> int:
    return db.session.scalar(select(func.count(Incident.id)).where(Incident.status.in_(OPEN_STATUSES))) or 0


class IncidentRefused(Exception):
    """An incident action that cannot be done now; ``str(err)`` is safe to show."""


class RetryHeld(IncidentRefused):
    """A retry met a row another transaction held past the lock limit: nothing of it was kept, the incident is as it
    was (no attempt counted); try again in a moment."""


def _close(incident: Incident, actor, resolution: str) -> None:
    now = clock.now()
    incident.status, incident.resolution = "resolved", resolution
    incident.resolved_at = incident.updated_at = now
    incident.resolved_by_id = getattr(actor, "id", None)
    incident.next_retry_at = None


def _element_of(err: BaseException) -> str | None:
    from app.engine.runtime import failed_element

    return failed_element(err, getattr(err, "workflow", None))


def _reannounce(incident: Incident) -> None:
    """An announcement incident is retried by putting the instance's unannounced-failed tasks back in the queue."""
    from sqlalchemy import update

    from app.audit.operations import hold_chain
    from app.engine.models import HumanTask

    hold_chain(f"instance:{incident.instance_id}")  # before the tasks' rows (the lock order: app.audit.operations)
    db.session.execute(update(HumanTask).where(HumanTask.instance_id == incident.instance_id,
                                               HumanTask.spec_name == incident.element_id,
                                               HumanTask.status == "open")
                       .values(announced_at=None).execution_options(synchronize_session=False))


def _remigrate(incident: Incident, actor) -> None:
    """A failed migration is retried by migrating the instance to the version it was being moved to (kept in
    the instance's ``instance.migration_failed`` audit event)."""
    from app.engine import migration

    try:
        migration.retry_failed_migration(incident.instance, actor)
    except migration.MigrationRefused as err:
        raise IncidentRefused(str(err)) from err


def _reverify(incident: Incident, actor) -> None:
    """A month-wide check that failed for one act is retried by checking that act again (the engine knows no
    acts: the domain registers the function, see :data:`reverifiers`)."""
    if not reverifiers:
        raise IncidentRefused(gettext("Nothing can check this act again here; resolve the incident instead."))
    reverifiers[0](incident.instance, actor)


#: the domain's act re-check for ``verification`` incidents (app.reports registers it); the engine imports no
#: domain package
reverifiers: list = []
