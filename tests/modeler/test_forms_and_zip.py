"""Form editor round trip and zip import/export (SpiffArena folder layout), with hostile archives."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from app.engine.models import ProcessModel
from app.engine.publishing import create_draft, publish_draft
from app.extensions import db
from app.modeler.operations import ImportRefused, export_zip, import_zip, read_zip, save_form
from tests.helpers import user
from tests.modeler.factory import two_step


def _zip(entries: dict[str, bytes | str], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_form_round_trip_through_the_pages(trial_v1, browser):
    owner = browser("owner")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    url = f"/modeler/versions/{draft.id}/forms/fill.schema.json"
    page = owner.get(url).get_data(as_text=True)
    assert "Live preview" in page and 'name="comment"' in page

    schema = {"type": "object", "required": ["amount"],
              "properties": {"amount": {"type": "integer", "title": "Amount", "minimum": 0}}}
    ui = {"amount": {"ui:help": {"en": "In tenge"}}}
    preview = owner.post("/modeler/forms/preview", {"schema": json.dumps(schema), "uischema": json.dumps(ui)})
    html = preview.get_data(as_text=True)
    assert 'id="f-amount"' in html and 'type="number"' in html and "In tenge" in html

    bad = owner.post(url, {"schema": '{"type": "object", "properties": {"a": {"type": "nope"}}}', "uischema": "{}"})
    assert bad.status_code == 422 and "JSON Schema" in bad.get_data(as_text=True)
    db.session.refresh(draft)
    assert json.loads(draft.files["fill.schema.json"])["required"] == ["comment"], "nothing stored"

    saved = owner.post(url, {"schema": json.dumps(schema), "uischema": json.dumps(ui)})
    assert saved.status_code == 302
    db.session.refresh(draft)
    assert json.loads(draft.files["fill.schema.json"]) == schema
    assert json.loads(draft.files["fill.uischema.json"]) == ui
    published = publish_draft(draft, user("owner"))
    assert json.loads(published.files["fill.schema.json"]) == schema, "forms are versioned with the model"


def test_form_save_refused_on_published_version(trial_v1):
    from app.engine.publishing import ModelChangeRefused

    with pytest.raises(ModelChangeRefused):
        save_form(trial_v1, "fill.schema.json", '{"type": "object", "properties": {}}', "{}", user("owner"))


def test_export_then_import_round_trip(trial_v1):
    data = export_zip(trial_v1)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        meta = json.loads(zf.read("trial/process_model.json"))
    assert {"trial/trial.bpmn", "trial/fill.schema.json", "trial/process_model.json"} <= names
    assert meta["primary_process_id"] == "trial" and meta["primary_file_name"] == "trial.bpmn"
    draft, problems = import_zip(data, user("owner"))
    assert problems == [] and draft.status == "draft"
    assert draft.process_model_id == trial_v1.process_model_id and draft.files == trial_v1.files


def test_import_spiffarena_folder_creates_a_new_model(world):
    files = two_step("imported_flow")
    meta = {"display_name": "Imported flow", "primary_file_name": "imported_flow.bpmn",
            "primary_process_id": "imported_flow", "description": ""}
    entries = {f"imported-flow/{n}": t for n, t in files.items()}
    entries["imported-flow/process_model.json"] = json.dumps(meta)
    entries["imported-flow/README.md"] = "ignored"
    draft, problems = import_zip(_zip(entries), user("owner"))
    assert problems == []
    model = db.session.get(ProcessModel, draft.process_model_id)
    assert (model.identifier, model.name) == ("imported_flow", "Imported flow")
    assert set(draft.files) == set(files)


@pytest.mark.parametrize("entries", [
    {"../evil.bpmn": "<x/>"},
    {"/abs/evil.bpmn": "<x/>"},
    {"a/b/c/deep.bpmn": "<x/>"},
])
def test_path_traversal_is_refused(app_ctx, entries):
    with pytest.raises(ImportRefused):
        read_zip(_zip(entries))


@pytest.mark.parametrize("name", ["ev\r\nSet-Cookie: a=b.bpmn", "tab\there.bpmn", "x" * 130 + ".bpmn",
                                  "a:b.bpmn"])
def test_a_member_named_as_the_editor_would_refuse_is_refused_with_its_name(app_ctx, name):
    """Found by a security probe: a member named with a line break was stored, and every download of the
    published diagram answered 500 (a header cannot hold a line break)."""
    with pytest.raises(ImportRefused, match="has a name a model file cannot have"):
        read_zip(_zip({f"m/{name}": "<x/>", "m/ok.bpmn": "<x/>"}))


def test_zip_bomb_is_refused(app_ctx):
    with pytest.raises(ImportRefused):
        read_zip(_zip({"m/bomb.bpmn": b"<a>" + b" " * (50 * 1024 * 1024) + b"</a>"}))


def test_not_a_zip_and_no_diagram_are_refused(app_ctx):
    with pytest.raises(ImportRefused):
        read_zip(b"PK not really")
    with pytest.raises(ImportRefused):
        read_zip(_zip({"m/only.json": "{}"}))


def test_import_page_refuses_bad_upload_without_500(world, browser):
    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(_zip({"../x.bpmn": "<a/>"})), "m.zip")},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Unsafe path" in owner.get("/modeler/").get_data(as_text=True)


def test_a_diagram_is_stored_as_utf8_whatever_byte_order_mark_or_declaration_it_came_with(app_ctx):
    """Found by a tester with foreign files: UTF-16 without a byte-order mark was stored full of NUL characters
    (and then no save of it was possible); UTF-16 with one was refused; a UTF-8 file declaring ISO-8859-1 (as the
    BPMN MIWG reference files do) was run by the engine as Latin-1, its task names garbled."""
    from app.modeler.operations import read_upload

    body = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><a name="Проверка"/>'
    with pytest.raises(ImportRefused, match=r"^The file m\.bpmn is not UTF-8 text: save it as UTF-8 and import it "
                                            r"again\.$"):
        read_upload(('<?xml version="1.0"?>' + body).encode("utf-16-be"), "m.bpmn")
    with pytest.raises(ImportRefused, match="not UTF-8 text"):
        read_upload(body.encode("cp1251"), "m.bpmn")
    files, _meta = read_upload(('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16"), "m.bpmn")
    assert files == {"m.bpmn": '<?xml version="1.0" encoding="UTF-8"?>' + body}
    files, _meta = read_upload(("<?xml version='1.0' encoding='ISO-8859-1'?>" + body).encode(), "m.bpmn")
    assert files == {"m.bpmn": "<?xml version='1.0' encoding='UTF-8'?>" + body}
    # Saved on a Russian or Kazakh Windows: the single-byte encoding its declaration names is read.
    files, _meta = read_upload(('<?xml version="1.0" encoding="windows-1251"?>' + body).encode("cp1251"), "m.bpmn")
    assert files == {"m.bpmn": '<?xml version="1.0" encoding="UTF-8"?>' + body}
    with pytest.raises(ImportRefused, match="not UTF-8 text"):  # the declaration does not fit the bytes
        read_upload(('<?xml version="1.0" encoding="ascii"?>' + body).encode("cp1251"), "m.bpmn")
    archive = _zip({"m/m.bpmn": "\ufeff" + body})  # a byte-order mark inside a zip is dropped as well
    assert read_zip(archive)[0] == {"m.bpmn": body}


@pytest.mark.parametrize("encoding", ["hex", "rot13", "base64", "zlib", "bz2", "uu", "quopri", "undefined",
                                      "punycode", "idna", "a\x00b", "latin-1\x00", "x" * 150])
def test_a_declaration_naming_no_text_encoding_is_refused_as_not_utf8_text(app_ctx, encoding):
    """Found by a security probe: a declaration naming a bytes-to-bytes codec (encoding="hex") made the import a
    500 ("'hex' is not a text encoding"); a NUL in the name, or a codec refusing the bytes, did the same."""
    from app.modeler.operations import read_upload

    raw = f'<?xml version="1.0" encoding="{encoding}"?><a name="'.encode() + b"\xff" + b"a" * 70 + b'"/>'
    with pytest.raises(ImportRefused, match=r"^The file m\.bpmn is not UTF-8 text"):
        read_upload(raw, "m.bpmn")
    with pytest.raises(ImportRefused, match=r"^The file m/m\.bpmn is not UTF-8 text"):
        read_zip(_zip({"m/m.bpmn": raw}))


@pytest.mark.parametrize(("schema", "ui", "message"), [
    ("null", "{}", "must be a JSON object"),
    ('{"type": "object", "properties": {"a": {"type": "string"}}}', "null", "must be a JSON object"),
    ('{"type": "object", "properties": {"a": {"type": "string"}}}', '{"a": {"ui:widget": {"x": 1}}}', "ui:widget"),
    ('{"type": "object", "properties": {"a": {"type": "string"}}}', '{"a": {"ui:widget": ["x"]}}', "ui:widget"),
])
def test_a_form_of_null_or_an_unhashable_widget_is_refused_with_its_reason(trial_v1, browser, schema, ui, message):
    """Attacker probe: ``null`` as the schema was stored (then every view of the form was a 500); a widget that is an
    object or a list was a 500 on preview, save and import."""
    owner = browser("owner")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    before = dict(draft.files)
    preview = owner.post("/modeler/forms/preview", {"schema": schema, "uischema": ui})
    assert preview.status_code == 200 and message in preview.get_data(as_text=True)
    url = f"/modeler/versions/{draft.id}/forms/fill.schema.json"
    saved = owner.post(url, {"schema": schema, "uischema": ui})
    assert saved.status_code == 422 and message in saved.get_data(as_text=True)
    db.session.refresh(draft)
    assert draft.files == before, "nothing stored"
    assert owner.get(url).status_code == 200

    entries = {f"trial/{name}": text for name, text in trial_v1.files.items()}
    entries["trial/fill.schema.json"], entries["trial/fill.uischema.json"] = schema, ui
    imported, problems = import_zip(_zip(entries), user("owner"))  # kept as a draft, with its problems named
    db.session.commit()
    assert any(message in str(problem) for problem in problems), problems
    assert owner.get(f"/modeler/versions/{imported.id}/forms/fill.schema.json").status_code == 200


def test_invalid_json_is_explained_in_the_owners_language(trial_v1, browser):
    """Users probe: a Russian process owner who left a comma out of a UI schema read "UI-схема: недопустимый JSON
    (строка 4: Expecting property name enclosed in double quotes)"."""
    owner = browser("owner")
    owner.post("/locale", {"locale": "ru", "next": "/"})
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    url = f"/modeler/versions/{draft.id}/forms/fill.schema.json"
    schema = draft.files["fill.schema.json"]
    page = owner.post(url, {"schema": schema, "uischema": '{\n  "a": 1,\n}'}).get_data(as_text=True)
    assert "UI-схема: недопустимый JSON (строка 3: ожидается имя свойства в двойных кавычках)" in page
    page = owner.post("/modeler/forms/preview", {"schema": schema, "uischema": '{"a" 1}'}).get_data(as_text=True)
    assert "ожидается двоеточие" in page and "Expecting" not in page


def test_a_form_that_is_not_valid_json_schema_is_explained_in_the_owners_language(world, app):
    """Users probe, in Kazakh: the form editor refused a schema with jsonschema's English — "'strin' is not valid under
    any of the given schemas", "'ten' is not of type 'integer'". It now says where and what in the reader's
    language."""
    import re

    from app.engine.models import ProcessModelVersion
    from tests.conftest import Browser

    # the first published version by id (the application's, with forms): unordered, PostgreSQL could answer with one
    # without a form (the state order's), and next() below found no schema
    version = db.session.query(ProcessModelVersion).filter_by(status="published") \
        .order_by(ProcessModelVersion.id).first()
    owner = Browser(app, "owner")
    owner.post("/locale", {"locale": "ru", "next": "/"})
    draft_id = int(owner.post(f"/modeler/versions/{version.id}/draft", {}).headers["Location"].rstrip("/")
                   .split("/")[-1])
    name = next(n for n in db.session.get(ProcessModelVersion, draft_id).files if n.endswith(".schema.json"))
    said = []
    for schema in ('{"type": "object", "properties": {"x": {"type": "strin"}}}',
                   '{"type": "object", "properties": {"a": {"type": "string", "maxLength": "ten"}}}'):
        page = owner.post(f"/modeler/versions/{draft_id}/forms/{name}", {"schema": schema, "uischema": "{}"})
        assert page.status_code == 422
        said.append(re.search(r'id="form-errors">(.*?)</div>', page.get_data(as_text=True), re.S).group(1))
    assert "properties.x.type: &#34;strin&#34;" in said[0] and "string, number, integer" in said[0], said[0]
    assert "properties.a.maxLength: &#34;ten&#34;" in said[1] and "целое число" in said[1], said[1]
    assert not any("given schemas" in text or "of type" in text for text in said), said


def test_a_file_in_another_encoding_than_it_declares_is_refused_with_its_line(app_ctx):
    """GenMyModel's C.1.0 export of the BPMN MIWG suite declares UTF-8 and writes "Rechnung klären" in Latin-1:
    refused with only "not UTF-8 text", its owner had no line to look at among hundreds. Now the line, the text
    before the byte and the byte are said."""
    from app.modeler.operations import read_upload

    raw = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
           '20100524/MODEL">\n<bpmn:process id="p">\n<bpmn:userTask id="t" name="Rechnung klären"/>\n'
           '</bpmn:process></bpmn:definitions>\n').encode("latin-1")
    with pytest.raises(ImportRefused, match=r"^The file m\.bpmn is not UTF-8 text: on line 4, after "
                                            r"'<bpmn:userTask id=\"t\" name=\"Rechnung kl', comes a byte \(0xE4\)"):
        read_upload(raw, "m.bpmn")


def test_an_empty_file_is_refused_as_empty_on_the_page_and_in_the_shell(world, browser, app, tmp_path):
    """Camunda Modeler's fixtures hold 0-byte .bpmn and .dmn files (a failed export): the page said "Choose a .zip
    model folder or a .bpmn diagram to import" to an owner who had chosen one."""
    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(b""), "empty.bpmn"), "lane_role": "starter"},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "The file empty.bpmn is empty" in page, page[:2000]
    path = tmp_path / "empty.dmn"
    path.write_bytes(b"")
    result = app.test_cli_runner().invoke(args=["import-model", str(path)])
    assert result.exit_code != 0 and "The file empty.dmn is empty" in result.output, result.output
