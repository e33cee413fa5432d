"""Read-only questions the modeler pages ask."""

from __future__ import annotations

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import selectinload

from app.audit.models import AuditEvent
from app.engine.models import ProcessInstance, ProcessModel, ProcessModelVersion
from app.extensions import db
from app.modeler.models import InstanceMigration


def all_models() -> list[ProcessModel]:
    """Every model with its versions' numbers and states (not their files: the list shows none, and loading each
    version's diagrams and forms one model at a time made the page take seconds once there were many models)."""
    return db.session.scalars(select(ProcessModel).order_by(ProcessModel.name).options(selectinload(
        ProcessModel.versions).load_only(ProcessModelVersion.id, ProcessModelVersion.process_model_id,
                                         ProcessModelVersion.number, ProcessModelVersion.status))).all()


def instance_counts_of(model_ids: list[int]) -> dict[int, dict[int, dict[str, int]]]:
    """model id -> :func:`instance_counts` of every model at once (one query, not one per model)."""
    rows = db.session.execute(
        select(ProcessModelVersion.process_model_id, ProcessInstance.model_version_id, ProcessInstance.status,
               func.count(ProcessInstance.id))
        .join(ProcessModelVersion, ProcessModelVersion.id == ProcessInstance.model_version_id)
        .where(ProcessModelVersion.process_model_id.in_(model_ids))
        .group_by(ProcessModelVersion.process_model_id, ProcessInstance.model_version_id, ProcessInstance.status)
    ).all() if model_ids else []
    counts: dict[int, dict[int, dict[str, int]]] = {model_id: {} for model_id in model_ids}
    for model_id, version_id, status, n in rows:
        counts[model_id].setdefault(version_id, {})[status] = n
    return counts


def last_changes(model_ids: list[int]) -> dict[int, AuditEvent | None]:
    """model id -> :func:`last_change` of every model at once (two queries, not one per model)."""
    chains = {f"model:{model_id}": model_id for model_id in model_ids}
    if not chains:
        return {}
    heads = (select(AuditEvent.chain, func.max(AuditEvent.seq)).where(AuditEvent.chain.in_(list(chains)))
             .group_by(AuditEvent.chain))
    events = db.session.scalars(select(AuditEvent).where(tuple_(AuditEvent.chain, AuditEvent.seq).in_(heads))
                                .options(selectinload(AuditEvent.actor))).all()
    found: dict[int, AuditEvent | None] = dict.fromkeys(model_ids)
    for event in events:
        found[chains[event.chain]] = event
    return found


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
