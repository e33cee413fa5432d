"""Model versions: gather a model's files, validate them, publish an immutable version.

Shipped models live in ``bpmn/`` (diagrams and decision tables) and ``forms/`` (JSON Schemas); loading
them publishes version 1, and a changed file publishes the next version — unchanged files do nothing
(content-hash de-duplication). Running instances stay on the version they started on.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from sqlalchemy import select

from app import clock
from app.audit.operations import record_event
from app.engine.errors import ModelInvalid
from app.engine.models import ProcessModel, ProcessModelVersion
from app.engine.specs import validate_files
from app.extensions import db

_FORM_REF = re.compile(r'name="(?:formJsonSchemaFilename|formUiSchemaFilename)"\s+value="([^"]+)"')


def content_hash(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def gather_files(bpmn_path: Path, forms_dir: Path) -> dict[str, str]:
    """The diagram, every decision table beside it, and the forms the diagram references."""
    text = bpmn_path.read_text(encoding="utf-8")
    files = {bpmn_path.name: text}
    for dmn in sorted(bpmn_path.parent.glob("*.dmn")):
        files[dmn.name] = dmn.read_text(encoding="utf-8")
    for form_name in sorted(set(_FORM_REF.findall(text))):
        form_path = forms_dir / form_name
        if form_path.is_file():
            files[form_name] = form_path.read_text(encoding="utf-8")
    return files


def publish_version(files: dict[str, str], actor=None) -> tuple[ProcessModelVersion, bool]:
    """Validate and publish; returns (version, created). Raises ModelInvalid with every problem."""
    parsed, problems = validate_files(files)
    if problems:
        raise ModelInvalid(problems)
    digest = content_hash(files)
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == parsed.process_id)).first()
    now = clock.now()
    if model is None:
        model = ProcessModel(identifier=parsed.process_id, name=parsed.name, created_at=now)
        db.session.add(model)
        db.session.flush()
    latest = db.session.scalars(
        select(ProcessModelVersion).where(ProcessModelVersion.process_model_id == model.id)
        .order_by(ProcessModelVersion.number.desc()).limit(1)
    ).first()
    if latest is not None and latest.content_hash == digest and latest.status == "published":
        return latest, False
    version = ProcessModelVersion(
        process_model_id=model.id, number=(latest.number + 1) if latest else 1, status="published",
        files=files, content_hash=digest, created_at=now, published_at=now,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    db.session.flush()
    record_event(f"model:{model.id}", "model.published", "process_model_version", version.id,
                 actor_id=getattr(actor, "id", None),
                 details={"model": model.identifier, "version": version.number, "hash": digest})
    return version, True


def publish_directory(bpmn_dir: Path, forms_dir: Path, actor=None) -> list[tuple[ProcessModelVersion, bool]]:
    return [publish_version(gather_files(path, forms_dir), actor) for path in sorted(bpmn_dir.glob("*.bpmn"))]
