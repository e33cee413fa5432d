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

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app import clock
from app.audit.operations import record_event
from app.engine.errors import ConflictError, ModelInvalid
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
    # Files already published once (even if a process owner has published newer versions since, or
    # retired it) are not published again: restarting the app must not undo the modeler's work.
    known = db.session.scalars(
        select(ProcessModelVersion).where(ProcessModelVersion.process_model_id == model.id,
                                          ProcessModelVersion.content_hash == digest,
                                          ProcessModelVersion.status != "draft")
        .order_by(ProcessModelVersion.number.desc()).limit(1)
    ).first()
    if known is not None:
        return known, False
    version = ProcessModelVersion(
        process_model_id=model.id, number=_next_number(model), status="published",
        files=files, content_hash=digest, created_at=now, published_at=now,
        created_by_id=getattr(actor, "id", None), primary_file=parsed.primary, process_id=parsed.process_id,
    )
    db.session.add(version)
    db.session.flush()
    record_event(f"model:{model.id}", "model.published", "process_model_version", version.id,
                 actor_id=getattr(actor, "id", None),
                 details={"model": model.identifier, "version": version.number, "hash": digest})
    return version, True


def _latest(model: ProcessModel, status: str) -> ProcessModelVersion | None:
    return db.session.scalars(
        select(ProcessModelVersion).where(ProcessModelVersion.process_model_id == model.id,
                                          ProcessModelVersion.status == status)
        .order_by(ProcessModelVersion.number.desc()).limit(1)
    ).first()


def _next_number(model: ProcessModel) -> int:
    top = db.session.scalar(select(func.max(ProcessModelVersion.number))
                            .where(ProcessModelVersion.process_model_id == model.id))
    return (top or 0) + 1


def publish_directory(bpmn_dir: Path, forms_dir: Path, actor=None) -> list[tuple[ProcessModelVersion, bool]]:
    return [publish_version(gather_files(path, forms_dir), actor) for path in sorted(bpmn_dir.glob("*.bpmn"))]


# --------------------------------------------------------------------------------------------------
# Drafts, publishing from the modeler, retiring. A draft is a version row with status "draft": it is
# the only mutable version of a model (one per model); publishing freezes it.

STARTER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_{pid}" targetNamespace="http://tapsyrys.kz/bpmn">
  <bpmn:process id="{pid}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f_start_end</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f_start_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_start_end" sourceRef="start" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_{pid}">
    <bpmndi:BPMNPlane id="BPMNPlane_{pid}" bpmnElement="{pid}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="182" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="432" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f_start_end_di" bpmnElement="f_start_end">
        <di:waypoint x="218" y="120" /><di:waypoint x="432" y="120" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{1,99}$")


class ModelChangeRefused(Exception):
    """A change a process owner asked for that the rules do not allow; ``str()`` says why, ``reasons`` lists each
    reason on its own (a reason may itself contain "; ")."""

    def __init__(self, *reasons: str):
        super().__init__("; ".join(str(r) for r in reasons))
        self.reasons = [str(r) for r in reasons]


def _actor_id(actor) -> int | None:
    return getattr(actor, "id", None)


def _audit(model: ProcessModel, action: str, version: ProcessModelVersion | None, actor, **details) -> None:
    record_event(f"model:{model.id}", action, "process_model_version" if version else "process_model",
                 version.id if version else model.id, actor_id=_actor_id(actor),
                 details={"model": model.identifier, **({"version": version.number} if version else {}), **details})


def create_model(identifier: str, name: str, actor=None) -> ProcessModelVersion:
    """A new process model with a draft holding a minimal start → end diagram."""
    from xml.sax.saxutils import escape

    identifier = (identifier or "").strip()
    name = (name or "").strip()
    if not _IDENTIFIER.match(identifier):
        raise ModelChangeRefused(_("The identifier must start with a letter and use only letters, digits and _"))
    if not name:
        raise ModelChangeRefused(_("The model needs a name"))
    if db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == identifier)).first():
        raise ModelChangeRefused(_("A model with the identifier %(id)s already exists", id=identifier))
    model = ProcessModel(identifier=identifier, name=name, created_at=clock.now())
    db.session.add(model)
    db.session.flush()
    files = {f"{identifier}.bpmn": STARTER_BPMN.format(pid=identifier, name=escape(name, {'"': "&quot;"}))}
    _audit(model, "model.created", None, actor, name=name)
    return create_draft(model, actor, files=files)


def current_draft(model: ProcessModel) -> ProcessModelVersion | None:
    return _latest(model, "draft")


def create_draft(model: ProcessModel, actor=None, *, files: dict[str, str] | None = None,
                 from_version: ProcessModelVersion | None = None) -> ProcessModelVersion:
    """The model's draft (one per model): new from ``files`` or a copy of ``from_version``."""
    existing = current_draft(model)
    if existing is not None:
        return existing
    source = None
    if files is None:
        source = from_version or _latest(model, "published")
        if source is None:
            raise ModelChangeRefused(_("There is no version to start a draft from"))
        files = dict(source.files)
    now = clock.now()
    source = from_version if from_version is not None else source  # its settings go with its files
    draft = ProcessModelVersion(process_model_id=model.id, number=_next_number(model), status="draft",
                                files=files, content_hash=content_hash(files), created_at=now,
                                created_by_id=_actor_id(actor),
                                primary_file=getattr(source, "primary_file", None),
                                process_id=getattr(source, "process_id", None),
                                lane_role=getattr(source, "lane_role", None))
    db.session.add(draft)
    db.session.flush()
    _audit(model, "model.draft_created", draft, actor,
           **({"from_version": from_version.number} if from_version else {}))
    return draft


def _require_draft(version: ProcessModelVersion) -> None:
    if version.status != "draft":
        raise ModelChangeRefused(_("Published and retired versions are immutable; start a draft to change them"))


#: The SpiffWorkflow extensions the modeler's side panel edits (app/static/modeler-spiffworkflow.json, tag names
#: as written): the owner may remove these there; any other extension a save drops was dropped by the editor.
PANEL_EXTENSIONS = frozenset({"properties", "property", "serviceTaskOperator", "parameterList", "parameters",
                              "parameter", "calledDecisionId", "instructionsForEndUser", "preScript", "postScript"})


def _refuse_lost_content(before: dict[str, str], after: dict[str, str]) -> None:
    """A save must not drop what the diagram editor cannot show: SpiffArena's message payloads and variables, a
    signal's payload, unit tests, other tools' extensions, multi-instance data references. The editor drops
    elements of a vocabulary it half knows, silently — and the model then published and ran without them."""
    from app.engine.xml import lost_content

    for name, text in after.items():
        old = before.get(name)
        if old is None or old == text or not name.endswith((".bpmn", ".dmn")):
            continue
        lost = lost_content(old, text, PANEL_EXTENSIONS)
        if lost:
            what = "; ".join(f"{tag} ×{count} in {owner}" if count > 1 else f"{tag} in {owner}"
                             for owner, tag, count in lost[:8])
            raise ModelChangeRefused(_(
                "Nothing was saved: saving %(file)s would remove what this editor cannot show (%(what)s). Change "
                "those elements in the exported model's files and import it again.", file=name, what=what))


def save_draft(version: ProcessModelVersion, files: dict[str, str], actor=None, base_hash: str | None = None) -> list:
    """Store the draft's files whatever their problems (work in progress) and return every problem — unless the
    change would drop content the editor cannot show (:func:`_refuse_lost_content`).

    ``base_hash``: the draft's ``content_hash`` when the editor loaded it. If the draft was saved since (another
    tab, a colleague), ConflictError and nothing changes — the editor posts every file it loaded, so the later
    save silently put back what the other had changed. The check is a guarded write: of two saves from the same
    base, one wins."""
    _require_draft(version)
    _refuse_lost_content(version.files or {}, files)
    problems = version_problems(version, files, learn=True)
    new_hash = content_hash(files)
    if base_hash is not None:
        won = db.session.execute(
            update(ProcessModelVersion).where(ProcessModelVersion.id == version.id,
                                              ProcessModelVersion.content_hash == base_hash)
            .values(content_hash=new_hash).execution_options(synchronize_session=False)).rowcount
        if not won:
            raise ConflictError(_("This draft was saved by someone else (or in another tab) after you opened it. "
                                  "Your changes were not saved: copy what you need, reload the editor and make "
                                  "them again."))
    version.files = dict(files)
    version.content_hash = new_hash
    db.session.flush()
    _audit(version.process_model, "model.draft_saved", version, actor, files=sorted(files),
           problems=len(problems), hash=version.content_hash)
    return problems


def version_problems(version: ProcessModelVersion, files: dict[str, str] | None = None, *, learn: bool = False,
                     ) -> list:
    """Every problem of a version's files under its settings (process, primary diagram, lane-less role).

    A version that does not yet know which process it runs learns it here (the first save of an import,
    or a version from before these settings existed: then the model's identifier, which was its process id).
    """
    files = version.files if files is None else files
    process_id = version.process_id or version.process_model.identifier
    parsed, problems = validate_files(files, process_id=process_id, primary=version.primary_file,
                                      lane_role=version.lane_role)
    if learn and version.process_id is None and parsed is not None and version.status == "draft":
        version.process_id, version.primary_file = parsed.process_id, parsed.primary
    return problems + _identity_problems(version, files, parsed)


def _identity_problems(version: ProcessModelVersion, files: dict[str, str], parsed=None) -> list:
    """The process a model runs keeps its id from version to version (instances migrate by it)."""
    from app.engine.errors import ModelProblem

    if parsed is None or not version.process_id or parsed.process_id == version.process_id:
        return []
    return [ModelProblem(parsed.primary or "(model)", _(
        "The process this model runs must keep the id %(id)s; it is no longer in the diagram.",
        id=repr(version.process_id)))]


def set_lane_role(version: ProcessModelVersion, role: str | None, actor=None) -> list:
    """Choose who performs user tasks without a lane's role (a role, ``"starter"``, or nobody: None)."""
    from app.engine.lanes import known_lanes

    _require_draft(version)
    role = (role or "").strip() or None
    if role is not None and role != "starter" and role not in set(known_lanes().values()):
        raise ModelChangeRefused(_("Unknown role %(role)s", role=repr(role)))
    version.lane_role = role
    db.session.flush()
    _audit(version.process_model, "model.lane_role_set", version, actor, role=role)
    return version_problems(version)


def publish_draft(version: ProcessModelVersion, actor=None) -> ProcessModelVersion:
    """Freeze a draft into the next published version; refused with every problem if it has any."""
    _require_draft(version)
    problems = version_problems(version)
    if problems:
        raise ModelInvalid(problems)
    model = version.process_model
    latest = _latest(model, "published")
    if latest is not None and latest.number > version.number:
        version.number = _next_number(model)
    now = clock.now()
    version.status = "published"
    version.published_at = now
    version.content_hash = content_hash(version.files)
    db.session.flush()
    _audit(model, "model.published", version, actor, hash=version.content_hash)
    return version


def discard_draft(version: ProcessModelVersion, actor=None) -> None:
    _require_draft(version)
    model = version.process_model
    _audit(model, "model.draft_discarded", version, actor)
    db.session.delete(version)
    db.session.flush()


def retire_version(version: ProcessModelVersion, actor=None) -> ProcessModelVersion:
    """A retired version starts no new instances; running ones continue (or are migrated)."""
    if version.status != "published":
        raise ModelChangeRefused(_("Only a published version can be retired"))
    others = db.session.scalar(select(func.count(ProcessModelVersion.id)).where(
        ProcessModelVersion.process_model_id == version.process_model_id,
        ProcessModelVersion.status == "published", ProcessModelVersion.id != version.id))
    if not others:
        raise ModelChangeRefused(_("This is the only published version; publish another before retiring it"))
    version.status = "retired"
    db.session.flush()
    _audit(version.process_model, "model.retired", version, actor)
    return version
