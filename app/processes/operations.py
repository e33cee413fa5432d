"""Operator actions on a process instance: retry an automatic step that failed."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.audit.operations import record_event
from app.engine import runtime
from app.engine.errors import EngineError, StepFailed
from app.engine.models import ProcessInstance
from app.extensions import db
from app.people.roles import Role

RETRY_ROLES = {Role.OPERATOR.value, Role.PROCESS_OWNER.value, Role.ADMIN.value}


class RetryRefused(EngineError):
    pass


def can_retry(user, instance: ProcessInstance) -> bool:
    return instance.status == "error" and user.is_authenticated and user.role in RETRY_ROLES


def failed_elements(instance: ProcessInstance) -> list[str]:
    """The BPMN element whose automatic step failed last (from the instance's audit chain)."""
    if instance.status != "error":
        return []
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == instance.audit_chain, AuditEvent.action == "instance.failed")
        .order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    element = (event.details or {}).get("element") if event else None
    return [element] if element else []


def retry_instance(instance: ProcessInstance, actor) -> ProcessInstance:
    """Run the failed step again from the last good state. On a new failure StepFailed propagates
    (the caller rolls back and records it with :func:`record_failure`)."""
    if instance.status != "error":
        raise RetryRefused(_("Only an instance whose step failed can be retried."))
    wf = runtime._load(instance)
    now = clock.now()

    def step() -> None:
        wf.refresh_timers()
        wf.do_engine_steps()

    with runtime._optimistic_lock():
        try:
            runtime._run_engine(instance, actor, step)
        except StepFailed as err:
            err.workflow = wf  # lets the caller record which element failed again
            raise
        instance.error_message = None
        runtime._sync(instance, wf, now)
        record_event(instance.audit_chain, "instance.retried", "process_instance", instance.id,
                     actor_id=getattr(actor, "id", None), details={"status": instance.status})
        if instance.status == "completed":
            record_event(instance.audit_chain, "instance.completed", "process_instance", instance.id,
                         actor_id=getattr(actor, "id", None))
    return instance


def record_failure(instance_id: int, err: Exception, wf=None) -> None:
    runtime.mark_failed(db.session.get(ProcessInstance, instance_id), err, wf)
