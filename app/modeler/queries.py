"""Read-only questions the modeler pages ask."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.engine.models import ProcessInstance, ProcessModel, ProcessModelVersion
from app.extensions import db
from app.modeler.models import InstanceMigration


def all_models() -> list[ProcessModel]:
    return db.session.scalars(select(ProcessModel).order_by(ProcessModel.name)).all()


def instance_counts(model_id: int) -> dict[int, dict[str, int]]:
    """version id -> {status: count} of the instances on that version."""
    rows = db.session.execute(
        select(ProcessInstance.model_version_id, ProcessInstance.status, func.count(ProcessInstance.id))
        .join(ProcessModelVersion, ProcessModelVersion.id == ProcessInstance.model_version_id)
        .where(ProcessModelVersion.process_model_id == model_id)
        .group_by(ProcessInstance.model_version_id, ProcessInstance.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for version_id, status, n in rows:
        counts.setdefault(version_id, {})[status] = n
    return counts


def last_change(model_id: int) -> AuditEvent | None:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"model:{model_id}")
                              .order_by(AuditEvent.seq.desc()).limit(1)).first()


def model_history(model_id: int, limit: int = 50) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"model:{model_id}")
                              .order_by(AuditEvent.seq.desc()).limit(limit)).all()


def migratable_instances(target: ProcessModelVersion) -> list[ProcessInstance]:
    """Running (or failed) instances of the same model on another version than ``target``."""
    return db.session.scalars(
        select(ProcessInstance).join(ProcessModelVersion, ProcessModelVersion.id == ProcessInstance.model_version_id)
        .where(ProcessModelVersion.process_model_id == target.process_model_id,
               ProcessInstance.model_version_id != target.id,
               ProcessInstance.status.in_(("running", "error")))
        .order_by(ProcessInstance.id).limit(500)
    ).all()


def migrations_of(model_id: int) -> list[InstanceMigration]:
    return db.session.scalars(
        select(InstanceMigration).join(ProcessModelVersion, ProcessModelVersion.id == InstanceMigration.to_version_id)
        .where(ProcessModelVersion.process_model_id == model_id).order_by(InstanceMigration.id.desc()).limit(200)
    ).all()
