"""Every change a process owner makes to models goes through here (and is audited on ``model:<id>``).

Drafts, publishing and retiring live in :mod:`app.engine.publishing`; instance migration in
:mod:`app.engine.migration`. This module adds the form editor's save, zip import/export in the
SpiffArena model-folder layout, and starting a trial instance.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import unicodedata
import zipfile
import zlib
from pathlib import PurePosixPath

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator, SchemaError
from sqlalchemy import select

from app.audit.operations import record_event
from app.engine import runtime
from app.engine.form_words import schema_mistake
from app.engine.forms import form_shape_problems, with_task_data_options
from app.engine.models import ProcessModel, ProcessModelVersion
from app.engine.publishing import ModelChangeRefused, create_draft, current_draft, save_draft
from app.extensions import db
from app.i18n import format_size

FORM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,80}$")
ALLOWED_SUFFIXES = (".bpmn", ".dmn", ".json")
MAX_ENTRIES = 200
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 10 * 1024 * 1024
MAX_RATIO = 100
MODEL_JSON = "process_model.json"
BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def refuse_foreign_content(files: dict[str, str], refusal: type[Exception] = ModelChangeRefused) -> None:
    """Refuse model files with script-capable or misplaced foreign content (issue 13 §2, issue 16 §1).

    Checked at every save and import, before anything is stored: an ``<h:script>`` in a diagram
    would otherwise run in the browser of whoever opens the file. Other tools' harmless extensions
    (camunda:, signavio:, ... inside ``extensionElements``) are kept: see :mod:`app.engine.xml`.
    """
    from app.engine.xml import foreign_content_of

    messages = []
    for name in sorted(files):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        found = foreign_content_of(files[name].encode("utf-8"), name)
        if found and found[0].kind == "placement" and found[0].name.rpartition(":")[2] == "definitions":
            messages.append(_other_format(name, files[name], found[0]))
            continue
        for item in found:
            if item.kind == "version":  # a DMN version the engine does not know: it was said to "run a script"
                from app.engine.specs import xml_reason

                messages.append(_("%(file)s, line %(line)s: %(what)s", file=name, line=item.line or "?",
                                  what=xml_reason(str(item))))
            elif item.kind == "placement":
                messages.append(_("%(file)s, line %(line)s: %(what)s is not allowed here; other tools' "
                                  "elements are kept only inside extensionElements.",
                                  file=name, line=item.line or "?", what=_foreign_label(item)))
            else:
                messages.append(_("%(file)s, line %(line)s: %(what)s is not allowed in model files: it could "
                                  "run a script in a browser.",
                                  file=name, line=item.line or "?", what=_foreign_label(item)))
    if messages:
        raise refusal("; ".join(messages[:20]))


#: the namespace of the BPMN 2.0 beta (2009), which tools of that time (Eclipse BPMN Modeler, early jBPM 5) wrote
BPMN_BETA = "http://schema.omg.org/spec/BPMN/2.0"


def _other_format(name: str, text: str, root) -> str:
    """One sentence for a file whose root is not BPMN 2.0's or DMN's ``definitions``, instead of one line per element
    it holds, each said to be "not allowed here" (the beta namespace's file listed its every element so)."""
    prefix = root.name.rpartition(":")[0]
    declared = re.search(r'xmlns%s\s*=\s*["\']([^"\']*)["\']' % (re.escape(":" + prefix) if prefix else ""), text)
    uri = declared.group(1) if declared else ""
    if uri.rstrip("/") == BPMN_BETA:
        return _("%(file)s, line %(line)s: this file is written in the draft of BPMN 2.0 (namespace %(uri)s), "
                 "before the standard was final; the engine reads BPMN 2.0 only. Open it in a current modeling tool "
                 "and save it as BPMN 2.0, or import it again with the namespace %(standard)s.",
                 file=name, line=root.line or "?", uri=uri, standard=BPMN_MODEL)
    if not uri:
        return _("%(file)s, line %(line)s: this is not a BPMN 2.0 diagram or a DMN decision table: its root element "
                 "<%(what)s> has no namespace. Export it from the modeling tool as BPMN 2.0 XML and import it again.",
                 file=name, line=root.line or "?", what=root.name)
    return _("%(file)s, line %(line)s: this is not a BPMN 2.0 diagram or a DMN decision table: its root element "
             "<%(what)s> is in the namespace %(uri)s. Export it from the modeling tool as BPMN 2.0 XML and import "
             "it again.", file=name, line=root.line or "?", what=root.name, uri=uri)


def _foreign_label(item) -> str:
    if item.kind == "pi":
        return _("the processing instruction <?%(name)s?>", name=item.name)
    if item.kind == "attribute":
        return _("the attribute %(name)s", name=item.name)
    return _("the element <%(name)s>", name=item.name)


def ui_name_for(schema_name: str) -> str:
    """``x.schema.json`` → ``x.uischema.json``; SpiffArena's ``x-schema.json`` → ``x-uischema.json``."""
    if schema_name.endswith(".schema.json"):
        return schema_name[: -len(".schema.json")] + ".uischema.json"
    if schema_name.endswith("-schema.json"):
        return schema_name[: -len("-schema.json")] + "-uischema.json"
    return schema_name[: -len(".json")] + ".uischema.json"


def is_safe_file_name(name: object) -> bool:
    """A model file's name as the editor saves it and the zip export writes it: one plain name of a kind the model
    holds — no folder separator of any system ("/" or "\\": Windows unzips "..\\..\\x" above its folder, and
    our own import then refuses the export), no drive colon, no control character, not hidden, at most 120
    characters. No invisible character either (a direction control, a zero-width space, a C1 control): a zip's
    "review<U+202E>nosj.amehcs.bpmn" was listed in the editor and written into every export reading as another
    kind of file."""
    return (isinstance(name, str) and 0 < len(name) <= 120 and name.endswith(ALLOWED_SUFFIXES)
            and not name.startswith(".") and not any(c in name for c in '/\\:')
            and not any(unicodedata.category(c) in _INVISIBLE for c in name))


#: control, format (direction controls, zero-width characters), separator, private-use, unassigned, surrogate
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"})


def is_schema_file(name: str) -> bool:
    return name.endswith("schema.json") and "uischema" not in name


#: Python's messages for invalid JSON, in the reader's language: a Russian process owner read "UI-схема: недопустимый
#: JSON (строка 4: Expecting property name enclosed in double quotes)". Others stay as Python writes them.
JSON_ERRORS = {"Expecting value": _l("Expecting value"),
               "Expecting property name enclosed in double quotes":
                   _l("Expecting property name enclosed in double quotes"),
               "Expecting ',' delimiter": _l("Expecting ',' delimiter"),
               "Expecting ':' delimiter": _l("Expecting ':' delimiter"),
               "Extra data": _l("Extra data"),
               "Unterminated string starting at": _l("Unterminated string starting at"),
               "Invalid control character at": _l("Invalid control character at")}


def json_error_text(msg: str) -> str:
    return str(JSON_ERRORS.get(msg, msg))


def check_form(schema_text: str, ui_text: str) -> tuple[dict | None, dict | None, list[str]]:
    """Parse and check a form; returns (schema, ui, errors in the user's language)."""
    errors: list[str] = []
    schema = ui = None
    parsed_schema = parsed_ui = False  # JSON's null parses as None: it is a value to refuse, not a missing file
    try:
        schema = json.loads(schema_text or "")
        parsed_schema = True
    except json.JSONDecodeError as err:
        errors.append(_("JSON Schema: not valid JSON (line %(line)s: %(msg)s)", line=err.lineno,
                        msg=json_error_text(err.msg)))
    try:
        ui = json.loads(ui_text or "{}")
        parsed_ui = True
    except json.JSONDecodeError as err:
        errors.append(_("UI schema: not valid JSON (line %(line)s: %(msg)s)", line=err.lineno,
                        msg=json_error_text(err.msg)))
    if parsed_schema:
        if not isinstance(schema, dict):
            errors.append(_("JSON Schema: the form must be a JSON object"))
        else:
            try:
                Draft202012Validator.check_schema(with_task_data_options(schema, {}))
            except SchemaError as err:
                errors.append(_("JSON Schema: %(msg)s", msg=schema_mistake(err)))
            if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
                errors.append(_('JSON Schema: a form needs "type": "object" and "properties"'))
    if parsed_ui and not isinstance(ui, dict):
        errors.append(_("UI schema: must be a JSON object"))
    elif isinstance(schema, dict) and not errors:
        errors += [message for _part, message in form_shape_problems(schema, ui)]
    return schema, ui, errors


def save_form(draft: ProcessModelVersion, schema_name: str, schema_text: str, ui_text: str, actor=None,
              base_hash: str | None = None) -> list:
    """Check and store a form (JSON Schema + UI schema) in the draft; nothing is stored if it has errors.
    ``base_hash``: the draft's content hash when the form page was opened (see ``save_draft``)."""
    if draft.status != "draft":
        raise ModelChangeRefused(_("Published and retired versions are immutable; start a draft to change them"))
    if not is_schema_file(schema_name) or not is_safe_file_name(schema_name):
        raise ModelChangeRefused(_("A form file name must end in .schema.json"))
    _schema, _ui, errors = check_form(schema_text, ui_text)
    if errors:
        raise ModelChangeRefused(*errors)
    files = dict(draft.files)
    files[schema_name] = schema_text
    files[ui_name_for(schema_name)] = ui_text or "{}"
    problems = save_draft(draft, files, actor, base_hash)
    record_event(f"model:{draft.process_model_id}", "model.form_saved", "process_model_version", draft.id,
                 actor_id=getattr(actor, "id", None),
                 details={"model": draft.process_model.identifier, "version": draft.number, "form": schema_name})
    return problems


def new_form_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not FORM_NAME.match(name):
        raise ModelChangeRefused(_("A form name uses lowercase letters, digits, - and _"))
    return f"{name}.schema.json"


# --------------------------------------------------------------------------------------------------
# Zip import / export (SpiffArena model folder: BPMN, DMN, forms JSON and process_model.json)


def export_zip(version: ProcessModelVersion) -> bytes:
    model = version.process_model
    meta = {
        "display_name": model.name, "description": "", "primary_file_name": version.bpmn_filename,
        "primary_process_id": version.process_id or model.identifier, "files": sorted(version.files),
        "tapsyrys_identifier": model.identifier, "tapsyrys_lane_role": version.lane_role,
        "tapsyrys_version": version.number, "tapsyrys_status": version.status,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(version.files):
            zf.writestr(f"{model.identifier}/{name}", version.files[name])
        zf.writestr(f"{model.identifier}/{MODEL_JSON}", json.dumps(meta, indent=2, ensure_ascii=False))
    return buf.getvalue()


class ImportRefused(ModelChangeRefused):
    pass


# Everything zipfile/zlib raise for a damaged or hostile archive: bad CRC and truncated data
# (BadZipFile, EOFError, zlib.error), encrypted entries (RuntimeError), compression methods zipfile
# does not implement (NotImplementedError), and headers that contradict each other (ValueError).
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, RuntimeError,
              NotImplementedError, ValueError, OSError, UnicodeDecodeError)


def read_zip(data: bytes) -> tuple[dict[str, str], dict]:
    """Safe extraction into memory: no traversal, no links, bounded sizes and ratios (zip bombs).

    Every archive error is a clear refusal, never a 500.
    """
    try:
        return _read_zip(data)
    except ImportRefused:
        raise
    except ZIP_ERRORS as err:
        raise ImportRefused(_("The zip file is damaged, encrypted or uses an unsupported compression; "
                              "export it again without a password.")) from err


def _read_zip(data: bytes) -> tuple[dict[str, str], dict]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise ImportRefused(_("This is not a zip file.")) from err
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_ENTRIES:
        raise ImportRefused(_("The zip has too many files (at most %(n)s).", n=MAX_ENTRIES))
    total = 0
    files: dict[str, str] = {}
    meta: dict = {}
    for info in infos:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or info.filename.startswith("/") or ":" in path.parts[0]:
            raise ImportRefused(_("Unsafe path in the zip: %(path)s", path=info.filename))
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise ImportRefused(_("Links are not allowed in the zip: %(path)s", path=info.filename))
        if len(path.parts) > 2:
            raise ImportRefused(_("The zip must hold one model folder without subfolders: %(path)s",
                                  path=info.filename))
        if not path.name.endswith(ALLOWED_SUFFIXES) or path.name.startswith("."):
            continue
        if not is_safe_file_name(path.name):
            # The editor's save refuses such a name; stored from a zip, a line break in it made every download of
            # the published diagram a 500 (a header cannot hold one) and its file page unreachable.
            raise ImportRefused(_("The file %(path)s in the zip has a name a model file cannot have (a control "
                                  "character, a colon, a backslash or more than 120 characters): rename it and "
                                  "export the model again.", path=info.filename))
        if info.flag_bits & 0x1:
            raise ImportRefused(_("The file %(path)s in the zip is encrypted; export it without a password.",
                                  path=info.filename))
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportRefused(_("The file %(path)s uses an unsupported compression; use deflate.",
                                  path=info.filename))
        if info.file_size > MAX_FILE_BYTES or (info.compress_size and info.file_size / info.compress_size > MAX_RATIO):
            raise ImportRefused(_("The file %(path)s is too large or compressed suspiciously well.",
                                  path=info.filename))
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ImportRefused(_("The zip holds too much data."))
        with zf.open(info) as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)  # the header's size can lie: never read past the limit
        if len(raw) > MAX_FILE_BYTES or (
                info.compress_size and len(raw) / info.compress_size > MAX_RATIO):
            raise ImportRefused(_("The file %(path)s is too large or compressed suspiciously well.",
                                  path=info.filename))
        text = decoded(raw, info.filename)
        if path.name in files or (path.name == MODEL_JSON and meta):
            raise ImportRefused(_("The file %(name)s appears twice.", name=path.name))
        if path.name == MODEL_JSON:
            try:
                meta = json.loads(text)
            except json.JSONDecodeError as err:
                raise ImportRefused(_("process_model.json is not valid JSON.")) from err
            if not isinstance(meta, dict):
                raise ImportRefused(_("process_model.json is not valid JSON."))
        else:
            files[path.name] = text
    # Every diagram is kept: SpiffArena folders hold called processes in further .bpmn files.
    folders = {PurePosixPath(i.filename.replace("\\", "/")).parts[0] for i in infos
               if len(PurePosixPath(i.filename.replace("\\", "/")).parts) == 2}
    if len(folders) == 1 and "_folder" not in meta:
        meta = {**meta, "_folder": folders.pop()}
    if not any(n.endswith(".bpmn") for n in files):
        raise ImportRefused(_("The zip holds no .bpmn diagram."))
    return files, meta


_DECLARED_ENCODING = re.compile(r"""\A(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])([^"']*)\2""")


def decoded(raw: bytes, path: str) -> str:
    """An imported file as text: UTF-8 (a byte-order mark dropped), or UTF-16 with its byte-order mark. UTF-16
    without one decoded "as UTF-8" into text full of NUL characters, was stored, and every later save of it was
    refused; now it is refused here, with what to do. The text is stored as UTF-8, so an XML declaration naming
    another encoding is made to say so where that changes what is read (text beyond ASCII) — the engine would
    otherwise read the UTF-8 bytes as, say, Latin-1 and show its task names garbled."""
    bad = None
    try:
        text = raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad = err
        text = _in_declared_encoding(raw)
    if text is None and bad is not None and bad.encoding.startswith("utf-8"):
        # where: GenMyModel wrote "Rechnung klären" in Latin-1 under an UTF-8 declaration, and the owner was told
        # only "not UTF-8 text" — with no line to look at in a file of thousands
        line = raw[:bad.start].count(b"\n") + 1
        around = raw[raw.rfind(b"\n", 0, bad.start) + 1:bad.end].decode("utf-8", "replace").strip()[-40:]
        raise ImportRefused(_("The file %(path)s is not UTF-8 text: on line %(line)s, after %(text)s, comes a byte "
                              "(%(byte)s) that UTF-8 does not allow — the tool saved its text in another encoding "
                              "than the file declares. Save it as UTF-8 and import it again.", path=path, line=line,
                              text=repr(around[:-1] if around.endswith("\ufffd") else around),
                              byte=f"0x{raw[bad.start]:02X}"))
    if text is None or "\x00" in text:
        raise ImportRefused(_("The file %(path)s is not UTF-8 text: save it as UTF-8 and import it again.",
                              path=path))
    declared = _DECLARED_ENCODING.match(text)
    if declared is None or declared.group(3).lower() in ("utf-8", "utf8") or text.isascii():
        return text  # kept byte for byte, as the tool wrote it (ASCII reads the same in any of these encodings)
    return f"{declared.group(1)}{declared.group(2)}UTF-8{declared.group(2)}{text[declared.end():]}"


def _in_declared_encoding(raw: bytes) -> str | None:
    """Not UTF-8: the file read in the single-byte encoding its XML declaration names (a diagram saved on a Russian
    or Kazakh Windows declares ``windows-1251``), or None. Tried only after UTF-8, because files declaring
    ISO-8859-1 are often UTF-8 in fact (the BPMN MIWG reference files).

    Only a text encoding counts: a declaration naming a bytes-to-bytes codec (``hex``, ``rot13``, ``zlib``...) made
    the decoding a LookupError and the import a 500. A name holding a NUL is a ValueError from the lookup; codecs
    that refuse bytes they cannot read raise UnicodeError (``idna``, ``punycode``, ``undefined``), a ValueError too.
    """
    declared = _DECLARED_ENCODING.match(raw[:200].decode("latin-1"))
    if declared is None:
        return None
    try:
        codec = codecs.lookup(declared.group(3))
    except (LookupError, ValueError):
        return None
    if codec.name.startswith(("utf", "utf_")) or codec.name in ("utf-16", "utf-32"):
        return None
    try:
        text = raw.decode(codec.name)
    except (LookupError, ValueError):
        return None
    return text if isinstance(text, str) else None


_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")


def model_identifier(*candidates: str | None) -> str:
    """Our identifier for an imported model, from the first usable candidate (process id, folder, file
    name): other characters become ``_`` (``WFP-6-`` → ``WFP_6_``); the diagram's ids are not touched."""
    for candidate in candidates:
        text = _NOT_IDENTIFIER.sub("_", str(candidate or "")).strip()
        if text.strip("_"):
            if not (text[0].isalpha() or text[0] == "_"):
                text = "m_" + text
            return (text + "_")[:100] if len(text) < 2 else text[:100]
    return "imported_model"


def _free_identifier(base: str) -> str:
    """``base``, or ``base_2``, ``base_3``... if a model already has it."""
    taken = set(db.session.scalars(select(ProcessModel.identifier)
                                   .where(ProcessModel.identifier.like(f"{base[:90]}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base[:90]}_{n}" in taken:
        n += 1
    return f"{base[:90]}_{n}"


def _checked_trees(files: dict[str, str]) -> dict:
    """Each diagram and decision table through the hardened parser; every refusal at once, per file and line
    (a DOCTYPE inside a zip is reported as such)."""
    from app.engine.specs import parse_trees

    trees, problems = parse_trees(files)
    if problems:
        raise ImportRefused("; ".join(
            f"{_('%(file)s, line %(line)s', file=p.filename, line=p.line) if p.line else p.filename}: {p.message}"
            for p in problems[:20]))
    return trees


def read_upload(data: bytes, filename: str = "") -> tuple[dict[str, str], dict]:
    """A model folder zip, or one .bpmn / .dmn file exported by any BPMN tool."""
    name = PurePosixPath((filename or "model.bpmn").replace("\\", "/")).name
    if not data.strip():
        # a chosen file of 0 bytes (a failed export or download) was told "choose a diagram to import"
        raise ImportRefused(_("The file %(path)s is empty: export the diagram from its tool again and import that "
                              "file.", path=name))
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".zip"):
        return read_zip(data)
    if not name.lower().endswith((".bpmn", ".dmn", ".xml", ".bpmn2")):
        raise ImportRefused(_("Choose a .zip model folder or a .bpmn diagram."))
    if len(data) > MAX_FILE_BYTES:
        # a diagram on its own is not compressed: "compressed suspiciously well" misled the owner of a 3.6 MB export
        raise ImportRefused(_("The file %(path)s is %(size)s: a model file may be at most %(limit)s. Split the "
                              "diagram into processes called from a main one (call activities), or leave out what "
                              "the engine does not need.", path=name, size=format_size(len(data)),
                              limit=format_size(MAX_FILE_BYTES)))
    text = decoded(data, name)
    if name.lower().endswith(".xml"):
        name = name[:-4] + ".bpmn"
    elif name.lower().endswith(".bpmn2"):  # jBPM's and Eclipse BPMN2 Modeler's name for a BPMN 2.0 diagram
        name = name[:-6] + ".bpmn"
    suffix = ".dmn" if name.lower().endswith(".dmn") else ".bpmn"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name[: -len(suffix)]).strip("._") or "model"
    return {f"{stem}{suffix}": text}, {}


def import_zip(data: bytes, actor=None, *, filename: str = "", lane_role: str | None = None,
               identifier: str | None = None) -> tuple[ProcessModelVersion, list]:
    """Import a model (folder zip or one diagram) as a draft; returns (draft, problems).

    Any BPMN 2.0 file the security rules accept is stored as a draft, whatever the engine thinks of it (its
    problems come back, all at once). The model's identifier is ours (``identifier``, or derived from the
    process id); the diagram keeps the ids its tool wrote. A model folder (zip with process_model.json, as
    exported here or by SpiffArena) becomes the next draft of the model with its identifier; a bare diagram
    always becomes a new model (``Process_1`` from two tools are different models).
    """
    from app.engine.publishing import create_model, set_lane_role
    from app.engine.specs import choose_process

    files, meta = read_upload(data, filename)
    refuse_foreign_content(files, ImportRefused)
    trees = _checked_trees(files)
    primary, process_id = choose_process(trees, meta.get("primary_process_id"), meta.get("primary_file_name"))
    stem = (primary or min(files)).rsplit(".", 1)[0]
    root = trees.get(primary)
    process = next((p for p in (*root.iter("{*}process"), *root.iter("{*}collaboration"))
                    if p.get("id") == process_id), None) if root is not None else None
    pools = root.iter("{*}participant") if root is not None else ()
    pool = next((p.get("name") for p in pools if p.get("name")), None)
    name = str(meta.get("display_name") or (process.get("name") if process is not None else None) or pool or stem)
    if identifier:
        identifier = identifier.strip()
        model = None
    else:
        identifier = model_identifier(meta.get("tapsyrys_identifier"), meta.get("primary_process_id"), process_id,
                                      meta.get("_folder"), stem)
        model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == identifier)).first()
        if model is not None and not set(meta) - {"_folder"}:  # not a model folder: another model
            identifier, model = _free_identifier(identifier), None
    if model is None:
        draft = create_model(identifier, name.strip()[:200] or identifier, actor)
        if primary is None:  # a decision table alone: kept beside the new model's starter diagram
            files = {**draft.files, **files}
        draft.process_id, draft.primary_file = process_id, primary
    else:
        draft = current_draft(model) or create_draft(model, actor, files=dict(files))
        published = next((v for v in reversed(model.versions) if v.status != "draft"), None)
        draft.process_id = (published.process_id or model.identifier) if published is not None else process_id
        draft.primary_file = primary
    lane_role = lane_role or meta.get("tapsyrys_lane_role")
    if lane_role:
        set_lane_role(draft, str(lane_role), actor)
    problems = save_draft(draft, files, actor)
    record_event(f"model:{draft.process_model_id}", "model.imported", "process_model_version", draft.id,
                 actor_id=getattr(actor, "id", None),
                 details={"model": draft.process_model.identifier, "version": draft.number, "files": sorted(files),
                          "process": process_id})
    return draft, problems


def start_trial_instance(model: ProcessModel, actor):
    """A process owner starts an instance of the latest published version to try it out."""
    return runtime.start_instance(model.identifier, title=_("%(name)s — trial", name=model.name), actor=actor)
