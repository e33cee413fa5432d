"""Trial runs: a process owner starts an instance from the modeler to try a model out.

Every task of a trial instance goes to the owner who started it (whatever its lane's role), shows in their
inbox marked as a trial, and is left out of production lists and counts (inbox base clauses, the cockpit's
list). A trial instance can be deleted with everything that hangs on it; the deletion is audited on the
model's chain, since the instance's own chain goes with it.
"""

from __future__ import annotations

import contextvars

from flask_babel import gettext as _
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.audit.operations import record_event
from app.engine import runtime
from app.engine.errors import DomainRefused
from app.engine.models import HumanTask, ProcessInstance, ProcessModel
from app.extensions import db
from app.processes import models as _cockpit_models  # noqa: F401 - maps is_trial / trial_owner_id

#: set while :func:`start_trial` runs: the owner of the trial instance being started
_trial_owner: contextvars.ContextVar[int | None] = contextvars.ContextVar("trial_owner", default=None)


@event.listens_for(Session, "before_flush")
def _route_trial_tasks(session: Session, _flush_context, _instances) -> None:
    """A new trial instance is marked as such, and a new task of a trial instance is the trial owner's
    (claimed by them), before their INSERTs — whenever the engine flushes them."""
    owner_id = _trial_owner.get()
    if owner_id is not None:
        for obj in list(session.new):
            if isinstance(obj, ProcessInstance) and not obj.is_trial:
                obj.is_trial, obj.trial_owner_id = True, owner_id
    for obj in list(session.new):
        if isinstance(obj, HumanTask) and not obj.is_trial:
            instance = obj.instance or (session.get(ProcessInstance, obj.instance_id) if obj.instance_id else None)
            if instance is not None and instance.is_trial:
                obj.is_trial = True
                obj.assignee_id = instance.trial_owner_id


def start_trial(model: ProcessModel, actor) -> ProcessInstance:
    """Start the latest published version as a trial owned by ``actor`` (the caller commits)."""
    token = _trial_owner.set(actor.id)
    try:
        instance = runtime.start_instance(model.identifier, title=_("%(name)s — trial", name=model.name),
                                          actor=actor)
        db.session.flush()
    finally:
        _trial_owner.reset(token)
    return instance


class TrialRefused(DomainRefused):
    pass


#: tables whose rows only describe a run (deleted with a trial run)
RUN_TABLES = frozenset({"task_comment", "task_attachment", "notification", "act_escalation", "incident",
                        "instance_migration"})


def can_delete_trial(user, instance: ProcessInstance) -> bool:
    return bool(instance.is_trial) and user.is_authenticated and (
        instance.trial_owner_id == user.id or user.role == "admin")


def delete_trial(instance: ProcessInstance, actor, reason: str) -> None:
    """Remove a trial instance and the rows that hang on it (tasks, comments, files' rows, notifications,
    incidents, its audit chain). Production instances are refused."""
    if not can_delete_trial(actor, instance):
        raise TrialRefused(_("Only a trial instance can be deleted, by the person who started it or an administrator."))
    instance_id, chain = instance.id, instance.audit_chain
    task_ids = select(HumanTask.id).where(HumanTask.instance_id == instance_id).scalar_subquery()
    # Rows that only describe the run (comments, files' rows, notifications, incidents…) go with it. A table
    # holding a business record (an act, a contract…) that points at the run stops the deletion instead:
    # such a record is never deleted behind its owner's back.
    for table in reversed(db.metadata.sorted_tables):
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target not in ("human_task", "process_instance") or table.name == "human_task":
                continue
            where = fk.parent.in_(task_ids) if target == "human_task" else fk.parent == instance_id
            if table.name not in RUN_TABLES:
                if db.session.execute(select(fk.parent).where(where).limit(1)).first() is not None:
                    raise TrialRefused(_("This trial run created business records; it cannot be deleted."))
                continue
            db.session.execute(delete(table).where(where))
    db.session.execute(delete(HumanTask).where(HumanTask.instance_id == instance_id))
    db.session.execute(delete(AuditEvent).where(AuditEvent.chain == chain))
    model_id = instance.model_version.process_model_id
    title = instance.title
    db.session.execute(delete(ProcessInstance.__table__).where(ProcessInstance.__table__.c.id == instance_id))
    db.session.expunge(instance)
    record_event(f"model:{model_id}", "trial.deleted", "process_instance", instance_id,
                 actor_id=actor.id, details={"title": title, "reason": reason})
