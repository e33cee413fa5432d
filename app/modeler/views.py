"""Modeler pages: model list, bpmn-js editor, drafts, publish, diff, migration, form editor, zip.

Thin: check access (app.modeler.access), call an operation, render. Every change is audited by the
operation it calls.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.content_policy import MODELER_POLICY, with_policy
from app.engine import migration
from app.engine.errors import ConflictError, ModelInvalid, ModelProblem, StepFailed
from app.engine.form_view import build_fields
from app.engine.handlers import known_handlers
from app.engine.lanes import known_lanes, lane_aliases, role_for_lane
from app.engine.models import ProcessModel, ProcessModelVersion
from app.engine.names import NAME_LANGUAGES, names_shown_as_written
from app.engine.operators import all_operators
from app.engine.publishing import (
    ModelChangeRefused,
    create_draft,
    create_model,
    current_draft,
    discard_draft,
    publish_draft,
    retire_version,
    save_draft,
    set_lane_role,
    version_problems,
)
from app.engine.specs import model_notices, unfinished_join_checks
from app.extensions import db
from app.modeler import operations, queries
from app.modeler.access import can_edit_models, require_model_editor, require_model_reader
from app.modeler.file_changes import file_changes
from app.modeler.models import InstanceMigration
from app.processes.trials import start_trial
from app.security import model_file_download
from app.user_input import UnreadableJson, ascii_int, loads_json_field, whole_number

bp = Blueprint("modeler", __name__, url_prefix="/modeler")
MAX_UPLOAD = 5 * 1024 * 1024


def _model(model_id: int) -> ProcessModel:
    model = db.session.get(ProcessModel, model_id)
    if model is None:
        abort(404)
    return model


def _version(version_id: int) -> ProcessModelVersion:
    version = db.session.get(ProcessModelVersion, version_id)
    if version is None:
        abort(404)
    return version


def _problem_dicts(problems) -> list[dict]:
    return [{"filename": p.filename, "message": p.message, "element_id": p.element_id, "line": p.line,
             "name": p.name, "detail": p.detail} for p in problems]


@bp.route("/")
@login_required
def index():
    require_model_reader(current_user)
    models = queries.all_models()
    counts = queries.instance_counts_of([m.id for m in models])
    changes = queries.last_changes([m.id for m in models])
    return render_template("modeler/index.html", models=models, counts=counts, changes=changes,
                           can_edit=can_edit_models(current_user), lane_role_options=lane_role_options())


def _lane_labels() -> dict[str, str]:
    """Each lane name the engine knows, as the reader calls its role (the side panel listed "Department official" on
    a Russian page); the lane keeps its name in the diagram."""
    from app.people.roles import ROLE_LABELS, Role

    return {lane: str(ROLE_LABELS[Role(role)]) if role in Role._value2member_map_ else lane
            for lane, role in known_lanes().items()}


def _lane_names_drawn(labels: dict[str, str]) -> dict[str, str]:
    """The name a lane the editor adds for a role is given: the role as the reader calls it, where the engine takes
    that name for the role's lane (the side panel drew "Department head" into a Kazakh owner's diagram), else the
    lane's English name."""
    lanes = known_lanes()
    return {lane: label if role_for_lane(label) == lanes[lane] else lane for lane, label in labels.items()}


def lane_role_options() -> list[tuple[str, str]]:
    """Choices for the role that performs user tasks without a role's lane (issue 16 §1)."""
    from app.people.roles import ROLE_LABELS, Role

    roles = sorted(set(known_lanes().values()))
    return [("", _("Nobody yet: I will draw lanes (problems until then)")),
            ("starter", _("The person who starts the instance (e.g. trial runs)")),
            *[(role, str(ROLE_LABELS.get(Role(role), role)) if role in Role._value2member_map_ else role)
              for role in roles]]


@bp.route("/new", methods=["POST"])
@login_required
def new_model():
    require_model_editor(current_user)
    try:
        draft = create_model(request.form.get("identifier", ""), request.form.get("name", ""), current_user)
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("modeler.index"))
    db.session.commit()
    return redirect(url_for("modeler.edit", version_id=draft.id))


@bp.route("/models/<int:model_id>")
@login_required
def model(model_id: int):
    require_model_reader(current_user)
    model = _model(model_id)
    return render_template(
        "modeler/model.html", model=model, counts=queries.instance_counts(model.id), draft=current_draft(model),
        history=queries.model_history(model.id), migrations=queries.migrations_of(model.id),
        can_edit=can_edit_models(current_user),
    )


@bp.route("/versions/<int:version_id>")
@login_required
@with_policy(MODELER_POLICY)
def edit(version_id: int):
    require_model_reader(current_user)
    version = _version(version_id)
    editable = version.status == "draft" and can_edit_models(current_user)
    problems = version_problems(version)
    lane_labels = _lane_labels()
    operators = {op.id: {"params": {k: t.__name__ for k, t in op.params.items()},
                         "description": str(op.description)}  # a lazy string, read in the page's language
                 for op in all_operators().values()}
    files = version.files
    if not editable:
        # a version nobody edits here is read: its diagram in the reader's words, as the process page draws it (a
        # Kazakh auditor read "Submit application", "Eligible?" on every published model); a draft keeps the names
        # as written, the ones its author edits
        from app.words import diagram_in_language

        files = {name: diagram_in_language(text) if name.endswith(".bpmn") else text for name, text in files.items()}
    notices = model_notices(version.files, process_id=version.process_id, primary=version.primary_file)
    config = {
        "files": files, "editable": editable, "problems": _problem_dicts(problems),
        "notices": _problem_dicts(notices + ([] if editable else _names_shown_as_written(version))),
        "lanes": sorted(known_lanes()), "laneLabels": lane_labels, "laneDrawn": _lane_names_drawn(lane_labels),
        "laneAliases": lane_aliases(), "operators": operators,
        "handlers": known_handlers(),
        "saveUrl": url_for("modeler.save", version_id=version.id), "contentHash": version.content_hash,
        "descriptorUrl": url_for("static", filename="modeler-spiffworkflow.json"),
        "nameLanguages": list(NAME_LANGUAGES),
        # an empty name field is not an empty name: readers of that language see the name as written (see
        # app.engine.names.localized_diagram), and the field says so
        "nameFallback": _("Empty: readers in this language see the name above (or its words as Tapsyrys "
                          "translates them)."),
        # … and which words those are, where Tapsyrys translates them: a Russian owner saw the shipped process's
        # name in English above and empty Kazakh and Russian boxes, not knowing readers see "Ежемесячный акт …"
        "namesSeen": _names_readers_see(version.files) if editable else {},
        # the words first: the field is narrow, and a sentence before them was cut before it named them
        "nameSeenAs": _("{name} (what readers see now: Tapsyrys's translation of the name above; type a name to "
                        "replace it)"),
        # drawing is activity the server does not see: the editor says so, as a task's form does
        "aliveUrl": url_for("people.keep_alive"), "aliveEvery": current_app.config["SESSION_IDLE_MINUTES"] * 30000,
    }
    config["bpmnFiles"] = version.bpmn_filenames
    return render_template("modeler/edit.html", version=version, model=version.process_model, editable=editable,
                           problems=problems, config=config, can_edit=can_edit_models(current_user),
                           lane_role_options=lane_role_options())


def _names_readers_see(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """``{name as written: {language: name}}`` for the names of a draft's diagrams that readers of another language
    see in other words (the published models' own names, else the catalogue's), for the editor's empty name fields
    to show them: a draft's diagram is drawn with its names as written, the ones its author edits."""
    from flask_babel import force_locale

    from app.words import tr

    seen: dict[str, dict[str, str]] = {}
    for filename, text in files.items():
        if not filename.endswith(".bpmn"):
            continue
        for language in NAME_LANGUAGES:
            # the names whose field in this language is empty (the draft gives none of its own)
            for name in dict.fromkeys(names_shown_as_written(text, language)):
                with force_locale(language):
                    word = tr(name, language)
                if word and word != name:
                    seen.setdefault(name, {})[language] = word
    return seen


def _names_shown_as_written(version: ProcessModelVersion) -> list[ModelProblem]:
    """A notice for a Kazakh or Russian reader of a published diagram: the names it shows as written (in the author's
    language), as the model gives none in theirs — an owner saw the English names and empty name fields, and nothing
    said which words the diagram would show."""
    from app.words import tr

    language = str(get_locale() or "en").split("_")[0]
    if language not in ("kk", "ru"):
        return []
    names = list(dict.fromkeys(name for filename, text in sorted(version.files.items()) if filename.endswith(".bpmn")
                               for name in names_shown_as_written(text, language, tr)))
    if not names:
        return []
    shown = ", ".join(repr(name) for name in names[:5]) + (", …" if len(names) > 5 else "")
    return [ModelProblem(version.bpmn_filename, ngettext(
        "%(num)s name of this diagram has no version in your language in the model, so it is shown as written: "
        "%(names)s. The process owner adds it in the editor's side panel, in a new draft.",
        "%(num)s names of this diagram have no version in your language in the model, so they are shown as written: "
        "%(names)s. The process owner adds them in the editor's side panel, in a new draft.",
        len(names), names=shown))]


@bp.route("/versions/<int:version_id>/lane-role", methods=["POST"])
@login_required
def lane_role(version_id: int):
    """The draft's answer to "who performs user tasks without a lane?" (asked at import and publish)."""
    require_model_editor(current_user)
    version = _version(version_id)
    try:
        problems = set_lane_role(version, request.form.get("lane_role"), current_user)
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        db.session.commit()
        flash(_("Saved. Problems in the draft: %(n)s.", n=len(problems)), "warning" if problems else "success")
    return redirect(url_for("modeler.edit", version_id=version.id))


def _unreadable_file(files: dict[str, str]) -> str | None:
    """The refusal for a saved .json file ``json.loads`` must not be given: the model check would exhaust its
    recursion on one nested too deeply (a 500), or read NaN and Infinity. Other invalid JSON is one more problem
    the draft lists."""
    for name, text in files.items():
        if not name.endswith(".json"):
            continue
        try:
            loads_json_field(text)
        except UnreadableJson as err:
            return _("Not valid JSON: %(reason)s", reason=f"{name[:100]}: {err.msg}")
        except ValueError:
            continue
    return None


@bp.route("/versions/<int:version_id>/save", methods=["POST"])
@login_required
def save(version_id: int):
    """JSON: {"files": {name: text}, "delete": [names], "base": hash} merged into the draft; answers every problem
    and the draft's new hash. ``base`` (the hash the editor loaded): a draft saved meanwhile is a 409."""
    require_model_editor(current_user)
    version = _version(version_id)
    payload = request.get_json(silent=True)
    deletions = (payload.get("delete") or []) if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not isinstance(payload.get("files", {}), dict) or not isinstance(
            deletions, list) or not all(isinstance(n, str) for n in deletions):
        return jsonify({"error": _("The request was not understood.")}), 400
    files = dict(version.files)
    for name, text in payload.get("files", {}).items():
        if not operations.is_safe_file_name(name) or not isinstance(text, str):
            return jsonify({"error": _("Unsupported file name: %(name)s", name=str(name)[:100])}), 400
        files[name] = text
    unreadable = _unreadable_file(payload.get("files", {}))
    if unreadable:
        return jsonify({"error": unreadable}), 422
    for name in deletions:
        files.pop(name, None)
    if not any(name.endswith(".bpmn") for name in files):
        # Every page of a model opens its diagram: a draft left without one could only be discarded (a 500 on
        # the editor and on the export).
        return jsonify({"error": _("A model needs its diagram: the last .bpmn file cannot be deleted.")}), 422
    base = payload.get("base")
    if base is not None and not isinstance(base, str):
        return jsonify({"error": _("The request was not understood.")}), 400
    try:
        operations.refuse_foreign_content(payload.get("files", {}))
        problems = save_draft(version, files, current_user, base)
    except ModelChangeRefused as err:
        db.session.rollback()
        return jsonify({"error": str(err)}), 409 if version.status != "draft" else 422
    except ConflictError as err:
        db.session.rollback()
        return jsonify({"error": str(err)}), 409
    db.session.commit()
    return jsonify({"saved": True, "hash": version.content_hash, "problems": _problem_dicts(problems),
                    "notices": _problem_dicts(model_notices(files, process_id=version.process_id,
                                                            primary=version.primary_file))})


@bp.route("/versions/<int:version_id>/draft", methods=["POST"])
@login_required
def start_draft(version_id: int):
    require_model_editor(current_user)
    version = _version(version_id)
    try:
        draft = create_draft(version.process_model, current_user, from_version=version)
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("modeler.model", model_id=version.process_model_id))
    db.session.commit()
    return redirect(url_for("modeler.edit", version_id=draft.id))


@bp.route("/versions/<int:version_id>/publish", methods=["POST"])
@login_required
def publish(version_id: int):
    require_model_editor(current_user)
    version = _version(version_id)
    try:
        publish_draft(version, current_user)
    except ModelInvalid as err:
        db.session.rollback()
        flash(ngettext("The draft has %(num)s problem and cannot be published.",
                       "The draft has %(num)s problems and cannot be published.", len(err.problems)), "danger")
        return redirect(url_for("modeler.edit", version_id=version.id))
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("modeler.edit", version_id=version.id))
    db.session.commit()
    flash(_("Version %(n)s is published; new instances start on it.", n=version.number), "success")
    for notice in unfinished_join_checks(version.files):  # published with it: said again, with what to check
        flash(notice.message, "warning")
    return redirect(url_for("modeler.model", model_id=version.process_model_id))


@bp.route("/versions/<int:version_id>/retire", methods=["POST"])
@login_required
def retire(version_id: int):
    require_model_editor(current_user)
    version = _version(version_id)
    try:
        retire_version(version, current_user)
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        db.session.commit()
        flash(_("Version %(n)s is retired.", n=version.number), "success")
    return redirect(url_for("modeler.model", model_id=version.process_model_id))


@bp.route("/versions/<int:version_id>/discard", methods=["POST"])
@login_required
def discard(version_id: int):
    require_model_editor(current_user)
    version = _version(version_id)
    model_id = version.process_model_id
    try:
        discard_draft(version, current_user)
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        db.session.commit()
        flash(_("The draft was discarded."), "success")
    return redirect(url_for("modeler.model", model_id=model_id))


@bp.route("/versions/<int:version_id>/files/<path:filename>")
@login_required
def file(version_id: int, filename: str):
    require_model_reader(current_user)
    version = _version(version_id)
    if filename not in version.files:
        abort(404)
    mimetype = "application/json" if filename.endswith(".json") else "application/xml"
    return model_file_download(version.files[filename], filename, mimetype)


@bp.route("/models/<int:model_id>/diff")
@login_required
def diff(model_id: int):
    require_model_reader(current_user)
    model = _model(model_id)
    versions = model.versions
    old = db.session.get(ProcessModelVersion, whole_number(request.args, "old", 0))
    new = db.session.get(ProcessModelVersion, whole_number(request.args, "new", 0))
    if len(versions) >= 2 and (old is None or new is None):
        old, new = versions[-2], versions[-1]
    if old is None or new is None or old.process_model_id != model.id or new.process_model_id != model.id:
        flash(_("A diff needs two versions of this model."), "warning")
        return redirect(url_for("modeler.model", model_id=model.id))
    try:
        result = migration.spec_diff(old, new)
    except ModelInvalid as err:
        flash(str(err), "danger")
        return redirect(url_for("modeler.model", model_id=model.id))
    changed_files = file_changes(old.files, new.files)
    return render_template("modeler/diff.html", model=model, old=old, new=new, diff=result,
                           changed_files=changed_files, versions=versions)


@bp.route("/versions/<int:version_id>/migrate", methods=["GET", "POST"])
@login_required
def migrate(version_id: int):
    require_model_reader(current_user)
    target = _version(version_id)
    if request.method == "POST":
        require_model_editor(current_user)
        ids = [i for i in map(ascii_int, request.form.getlist("instance_id")) if i is not None]
        outcome = migration.migrate_many(ids, target, current_user)  # each instance in its own transaction
        if outcome.migrated:
            flash(ngettext("%(num)s instance migrated to version %(v)s.",
                           "%(num)s instances migrated to version %(v)s.", len(outcome.migrated), v=target.number),
                  "success")
        for instance_id, message in outcome.refused.items():
            flash(f"#{instance_id}: {message}", "danger")
        for instance_id, message in outcome.failed.items():
            flash(_("#%(id)s: the migration failed and was rolled back; the instance stays on its version and "
                    "has an incident: %(msg)s", id=instance_id, msg=message), "danger")
        if not ids:
            flash(_("Select at least one instance."), "warning")
        return redirect(url_for("modeler.migrate", version_id=target.id))
    reports = [migration.dry_run(i, target) for i in queries.migratable_instances(target)]
    return render_template("modeler/migrate.html", target=target, model=target.process_model, reports=reports,
                           can_edit=can_edit_models(current_user))


@bp.route("/migrations/<int:migration_id>/revert", methods=["POST"])
@login_required
def revert(migration_id: int):
    require_model_editor(current_user)
    record = db.session.get(InstanceMigration, migration_id)
    if record is None:
        abort(404)
    try:
        migration.revert(record, current_user)
    except (migration.MigrationRefused, ConflictError, StepFailed) as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        db.session.commit()
        flash(_("The migration was reverted; the instance is back on version %(v)s.",
                v=record.from_version.number), "success")
    return redirect(url_for("modeler.model", model_id=record.to_version.process_model_id))


def _unreadable_json(schema_text: str, ui_text: str) -> list[str]:
    """check_form's "not valid JSON" messages, read with the form-field parser first: JSON nested too deeply would
    exhaust ``json.loads``'s recursion (a 500), and NaN, Infinity or a 5,000-digit number are not JSON."""
    errors = []
    for text, message in ((schema_text or "", _l("JSON Schema: not valid JSON (line %(line)s: %(msg)s)")),
                          (ui_text or "{}", _l("UI schema: not valid JSON (line %(line)s: %(msg)s)"))):
        try:
            loads_json_field(text)
        except json.JSONDecodeError as err:
            errors.append(str(message) % {"line": err.lineno, "msg": operations.json_error_text(err.msg)})
    return errors


def _checked_form(schema_text: str, ui_text: str) -> tuple[dict | None, dict | None, list[str]]:
    """``operations.check_form``, given only text that parses safely."""
    errors = _unreadable_json(schema_text, ui_text)
    return (None, None, errors) if errors else operations.check_form(schema_text, ui_text)


@bp.route("/versions/<int:version_id>/forms", methods=["POST"])
@login_required
def new_form(version_id: int):
    require_model_editor(current_user)
    version = _version(version_id)
    try:
        name = operations.new_form_name(request.form.get("name", ""))
        if name in version.files:
            raise ModelChangeRefused(_("The form %(name)s already exists.", name=name))
        schema = json.dumps({"type": "object", "title": request.form.get("name", ""), "required": [],
                             "properties": {"comment": {"type": "string", "title": "Comment"}}}, indent=2)
        operations.save_form(version, name, schema, "{}", current_user)
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("modeler.edit", version_id=version.id))
    db.session.commit()
    return redirect(url_for("modeler.form", version_id=version.id, name=name))


def _save_form(version: ProcessModelVersion, name: str, schema_text: str, ui_text: str,
               base_hash: str | None = None) -> list[str]:
    """Save the form in the draft and commit; else the reasons it was refused (nothing stored)."""
    try:
        operations.save_form(version, name, schema_text, ui_text, current_user, base_hash or None)
    except ModelChangeRefused as err:
        db.session.rollback()
        return err.reasons
    except ConflictError as err:
        db.session.rollback()
        return [str(err)]
    db.session.commit()
    return []


@bp.route("/versions/<int:version_id>/forms/<name>", methods=["GET", "POST"])
@login_required
def form(version_id: int, name: str):
    require_model_reader(current_user)
    version = _version(version_id)
    if request.method == "GET" and name not in version.files:
        abort(404)
    ui_name = operations.ui_name_for(name)
    schema_text = version.files.get(name, "")
    ui_text = version.files.get(ui_name, "{}")
    errors: list[str] = []
    if request.method == "POST":
        require_model_editor(current_user)
        schema_text, ui_text = request.form.get("schema", ""), request.form.get("uischema", "{}")
        errors = _unreadable_json(schema_text, ui_text) or _save_form(version, name, schema_text, ui_text,
                                                                      request.form.get("base"))
        if not errors:
            flash(_("The form %(name)s was saved in draft version %(v)s.", name=name, v=version.number), "success")
            return redirect(url_for("modeler.form", version_id=version.id, name=name))
    schema, ui, _errs = _checked_form(schema_text, ui_text)
    fields = build_fields(schema, ui, {}, {}, str(get_locale())) if not _errs else []
    editable = version.status == "draft" and can_edit_models(current_user)
    # The draft as the person loaded it: a form sent back with errors keeps that base, so a draft saved by someone
    # else meanwhile stays refused until the page is reloaded.
    base_hash = request.form.get("base", "") if request.method == "POST" else version.content_hash
    return render_template("modeler/form.html", version=version, model=version.process_model, name=name,
                           ui_name=ui_name, schema_text=schema_text, ui_text=ui_text, errors=errors, fields=fields,
                           editable=editable, base_hash=base_hash), (422 if errors else 200)


@bp.route("/forms/preview", methods=["POST"])
@login_required
def form_preview():
    """The live preview: the same server renderer the task pages use (htmx swaps this fragment)."""
    require_model_reader(current_user)
    schema, ui, errors = _checked_form(request.form.get("schema", ""), request.form.get("uischema", "{}"))
    fields = build_fields(schema, ui, {}, {}, str(get_locale())) if not errors else []
    return render_template("modeler/_preview.html", fields=fields, errors=errors)


@bp.route("/versions/<int:version_id>/export.zip")
@login_required
def export(version_id: int):
    require_model_reader(current_user)
    version = _version(version_id)
    data = operations.export_zip(version)
    name = f"{version.process_model.identifier}-v{version.number}.zip"
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/import", methods=["POST"])
@login_required
def import_model():
    require_model_editor(current_user)
    upload = request.files.get("archive")
    data = upload.read(MAX_UPLOAD + 1) if upload else b""
    if not data and not (upload and upload.filename):
        flash(_("Choose a .zip model folder or a .bpmn diagram to import."), "warning")
        return redirect(url_for("modeler.index"))
    if len(data) > MAX_UPLOAD:
        flash(_("The upload is too large."), "danger")
        return redirect(url_for("modeler.index"))
    try:
        draft, problems = operations.import_zip(data, current_user, filename=upload.filename or "",
                                                lane_role=request.form.get("lane_role") or None,
                                                identifier=request.form.get("identifier") or None)
    except ModelChangeRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("modeler.index"))
    db.session.commit()
    flash(ngettext("Imported as draft version %(v)s with %(num)s problem.",
                   "Imported as draft version %(v)s with %(num)s problems.", len(problems), v=draft.number),
          "warning" if problems else "success")
    return redirect(url_for("modeler.edit", version_id=draft.id))


@bp.route("/models/<int:model_id>/start", methods=["POST"])
@login_required
def start(model_id: int):
    require_model_editor(current_user)
    model = _model(model_id)
    try:
        instance = start_trial(model, current_user)
    except (LookupError, StepFailed) as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("modeler.model", model_id=model.id))
    db.session.commit()
    flash(_("A trial instance was started on version %(v)s.", v=instance.model_version.number), "success")
    return redirect(url_for("processes.show", instance_id=instance.id))


VERSION_STATUS = {"draft": _l("draft"), "published": _l("published"), "retired": _l("retired")}
MODEL_ACTIONS = {
    "model.created": _l("Model created"),
    "model.published": _l("Version published"),
    "model.draft_created": _l("Draft started"),
    "model.draft_saved": _l("Draft saved"),
    "model.draft_discarded": _l("Draft discarded"),
    "model.retired": _l("Version retired"),
    "model.form_saved": _l("Form saved"),
    "model.imported": _l("Imported from zip"),
    "model.lane_role_set": _l("Role for lane-less user tasks chosen"),
    "model.instance_migrated": _l("Instance migrated"),
    "model.migration_reverted": _l("Migration reverted"),
}


@bp.context_processor
def _labels() -> dict:
    return {"version_status_label": lambda s: VERSION_STATUS.get(s, s),
            "model_action_label": lambda a: MODEL_ACTIONS.get(a, a)}
