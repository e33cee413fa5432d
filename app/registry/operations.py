"""Every state change of the registries passes here and writes its audit event."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app import clock
from app.audit.operations import record_event
from app.extensions import db
from app.registry.importers import KINDS, FileUnreadable, ImportResult, count_rows, import_file
from app.registry.models import BusinessRecord, Licence, NedbEnrollment, RegistryImport

CHAIN = "registry"


def upload_dir() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(job: RegistryImport) -> Path:
    return upload_dir() / f"{job.id}-{job.kind}.data"


def create_import(kind: str, filename: str, source: Path | None = None, actor=None, stream=None) -> RegistryImport:
    """Register an import job and keep a copy of its file under instance/imports (the job reads it later)."""
    if kind not in KINDS:
        raise ValueError(kind)
    job = RegistryImport(kind=kind, filename=filename[:255], status="queued", errors=[],
                         created_by_id=getattr(actor, "id", None), created_at=clock.now())
    db.session.add(job)
    db.session.flush()
    target = stored_path(job)
    if stream is not None:
        stream.save(target) if hasattr(stream, "save") else target.write_bytes(stream.read())
    elif source is not None:
        shutil.copyfile(source, target)
    record_event(CHAIN, "registry.import_started", "registry_import", job.id, actor_id=getattr(actor, "id", None),
                 details={"kind": kind, "filename": job.filename})
    return job


def run_import(job_id: int, progress=None) -> ImportResult | None:
    """Run a queued import: rows land batch by batch (committed), progress is visible meanwhile."""
    job = db.session.get(RegistryImport, job_id)
    if job is None or job.status not in ("queued", "running"):
        return None
    path = stored_path(job)
    job.status = "running"
    job.total_rows = count_rows(path) if path.exists() else 0
    db.session.commit()

    def on_batch(processed: int, loaded: int, rejected: int) -> None:
        job.processed_rows, job.loaded_rows, job.rejected_rows = processed, loaded, rejected
        db.session.commit()
        if progress:
            progress(processed, job.total_rows)

    try:
        result = import_file(job.kind, path, on_batch)
    except FileUnreadable as err:
        db.session.rollback()
        job = db.session.get(RegistryImport, job_id)
        job.status, job.message = "failed", f"{err.code}:{err.detail}"[:500]
        job.finished_at = clock.now()
        record_event(CHAIN, "registry.import_failed", "registry_import", job.id, actor_id=job.created_by_id,
                     details={"kind": job.kind, "reason": job.message})
        db.session.commit()
        return None
    job.status = "done"
    job.total_rows = job.processed_rows = result.total
    job.loaded_rows, job.rejected_rows, job.errors = result.loaded, result.rejected, result.errors
    job.finished_at = clock.now()
    record_event(CHAIN, "registry.imported", "registry_import", job.id, actor_id=job.created_by_id,
                 details={"kind": job.kind, "filename": job.filename, "rows": result.total,
                          "loaded": result.loaded, "rejected": result.rejected})
    db.session.commit()
    path.unlink(missing_ok=True)
    return result


def registry_counts() -> dict[str, int]:
    return {
        "nedb": db.session.scalar(select(func.count(NedbEnrollment.id))) or 0,
        "licences": db.session.scalar(select(func.count(Licence.id))) or 0,
        "business": db.session.scalar(select(func.count(BusinessRecord.id))) or 0,
    }
