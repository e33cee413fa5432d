"""A form the page cannot draw is refused with its reason wherever a form enters — preview, save, publish — and a
stored one never makes a task page fail (a published `{"b": true}` field made every view of the task a 500)."""

from __future__ import annotations

import json

import pytest

from app.engine.errors import ModelInvalid
from app.engine.form_view import build_fields
from app.engine.forms import MAX_EXTRA_ROWS
from app.engine.publishing import publish_version
from tests.modeler.factory import two_step

TABLE = {"type": "object", "properties": {"lines": {"type": "array", "items": {
    "type": "object", "properties": {"iin": {"type": "string"}}}}}}
PLAIN = {"type": "object", "properties": {"a": {"type": "string"}}}

BAD = [
    ({"type": "object", "properties": {"a": True}}, {}, "field a needs a schema object with a type, not true"),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": False}}, {}, "field b needs a schema object"),
    (PLAIN, {"a": "notadict"}, "the entry of a must be a JSON object"),
    (PLAIN, {"ui:order": "a"}, '"ui:order" of / must be a list of field names'),
    (TABLE, {"lines": {"ui:extraRows": "abc"}},
     '"ui:extraRows" of lines must be a whole number from 0 to 50, not "abc"'),
    (TABLE, {"lines": {"ui:extraRows": None}}, "not null"),
    (TABLE, {"lines": {"ui:extraRows": [1]}}, "not [1]"),
    (TABLE, {"lines": {"ui:extraRows": 20000}}, "not 20000"),
    (TABLE, {"lines": {"ui:extraRows": -1}}, "not -1"),
    (TABLE, {"lines": {"ui:extraRows": True}}, "not true"),
    (TABLE, {"lines": {"items": {"iin": 7}}}, "the entry of lines/iin must be a JSON object"),
    # Drawn as a text box whose answer the form then refused: the task could never be done.
    ({"type": "object", "properties": {"addr": {"type": "object", "properties": {"city": {"type": "string"}}}}}, {},
     "field addr cannot be drawn as an input (an object of fields)"),
    ({"type": "object", "properties": {"amount": {"$ref": "#/$defs/money"}}, "$defs": {"money": {"type": "number"}}},
     {}, "field amount cannot be drawn as an input (a reference)"),
    ({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}, {},
     "field tags cannot be drawn as an input (a list)"),
    ({"type": "object", "properties": {"lines": {"type": "array", "items": {"type": "object", "properties": {
        "geo": {"type": "object", "properties": {"lat": {"type": "number"}}}}}}}}, {},
     "field lines/geo cannot be drawn as an input (an object of fields)"),
    ({"type": "object", "properties": {"lines": {"type": "array", "items": {"type": "object", "properties": {
        "sub": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}}}}}}}, {},
     "field lines/sub cannot be drawn as an input (a table inside a table)"),
    # Rules no value could meet, or not checked safely: the task could never be done, or a worker was held.
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "^(?=x)a$"}}}, {},
     "the pattern ^(?=x)a$ cannot be checked here"),
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "(a)\\1"}}}, {}, "cannot be checked here"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "patternProperties": {"^x": {"type": "string"}}},
     {}, "patternProperties is not supported"),
    ({"type": "object", "properties": {"a": {"type": "string", "enum": []}}}, {}, "an empty enum leaves nothing"),
    (PLAIN, {"a": {"ui:title": {"ru": 123}}}, '"ui:title" of a must be a text, or texts by language'),
    (PLAIN, {"a": {"ui:help": ["x"]}}, '"ui:help" of a must be a text'),
    ({"type": "object", "properties": {"t": {"type": "array", "items": {
        "type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}}}}},
     {"t": {"ui:help": ["x"]}}, '"ui:help" of t must be a text'),
    (PLAIN, {"a": {"ui:title": {"de": "Titel"}}}, '"ui:title" of a must be a text'),
    (PLAIN, {"a": {"ui:widget": "foo"}}, '"ui:widget" of a is "foo", which the page does not know'),
    ({"type": "object", "properties": {f"f{i}": {"type": "string"} for i in range(301)}}, {},
     "a form has at most 300 fields"),
    ({"type": "object", "required": ["a", "zzz"], "properties": {"a": {"type": "string"}}}, {},
     "zzz is required but is not one of the form"),
    # Process-owner probe (finding 6): fields that can never be valid were accepted.
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}}, {},
     "field n can never be valid: minimum 5 and maximum 1 leave no value between them"),
    ({"type": "object", "properties": {"s": {"type": "string", "minLength": 3, "maxLength": 2}}}, {},
     "field s can never be valid: minLength 3 and maxLength 2 leave"),
    ({"type": "object", "properties": {"x": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1}}}, {},
     "field x can never be valid: exclusiveMinimum 1 and exclusiveMaximum 1 leave"),
    ({"type": "object", "properties": {"n": {"type": "integer", "default": "abc"}}}, {},
     'the default of field n, "abc", is not a valid answer of the field itself'),
    ({"type": "object", "properties": {"k": {"type": "string", "enum": ["a", "b"], "default": "c"}}}, {},
     'the default of field k, "c", is not a valid answer'),
    (PLAIN, {"ui:order": ["a", "nosuch"]}, '"ui:order" of / names "nosuch", which is not one of the form'),
    ({"type": "object", "properties": {"k": {"type": "string", "enum": ["a", "b"]}}},
     {"k": {"ui:enumNames": {"a": "A", "z": "Zed"}}}, '"ui:enumNames" of k names the value "z", which the field does '
                                                      "not offer"),
    ({"type": "object", "properties": {"act_id": {"type": "integer"}}}, {},
     "field act_id has the name of a value the process is started with"),
]


@pytest.mark.parametrize(("schema", "ui", "reason"), BAD)
def test_the_preview_names_what_the_page_cannot_draw(world, browser, schema, ui, reason):
    for reader in ("owner", "auditor"):
        response = browser(reader).post("/modeler/forms/preview",
                                        {"schema": json.dumps(schema), "uischema": json.dumps(ui)})
        html = response.get_data(as_text=True)
        assert response.status_code == 200, html[:300]
        assert reason in html.replace("&#34;", '"').replace("&quot;", '"')
        assert "<input" not in html


@pytest.mark.parametrize(("schema", "ui", "reason"), BAD)
def test_a_model_with_such_a_form_is_not_published(world, schema, ui, reason):
    files = two_step("shapes")
    files["fill.schema.json"], files["fill.uischema.json"] = json.dumps(schema), json.dumps(ui)
    with pytest.raises(ModelInvalid) as refused:
        publish_version(files)
    assert any(reason in p.message for p in refused.value.problems), [p.message for p in refused.value.problems]


def test_the_limit_of_blank_rows_itself_is_accepted(world, browser):
    ui = {"lines": {"ui:extraRows": MAX_EXTRA_ROWS}}
    html = browser("owner").post("/modeler/forms/preview", {"schema": json.dumps(TABLE),
                                                            "uischema": json.dumps(ui)}).get_data(as_text=True)
    assert html.count('name="lines.') == MAX_EXTRA_ROWS


@pytest.mark.parametrize(("schema", "ui"), [(s, u) for s, u, _ in BAD])
def test_a_stored_form_of_any_shape_is_still_drawn(app_ctx, schema, ui):
    # A version published before these checks keeps its files: the page draws what it can instead of failing.
    fields = build_fields(schema, ui, {"lines": [{"iin": "1"}, "not a row"]}, {}, "en")
    for table in (f for f in fields if f.kind == "table"):
        assert len(table.rows) <= 2 + MAX_EXTRA_ROWS


def test_a_title_in_other_languages_only_gives_way_to_the_schemas_title(app_ctx):
    """With the UI in English, a ``ui:title`` in ru/kk only showed the Russian text rather than the schema's
    title; without a schema title, the other language is still better than the field's key."""
    schema = {"type": "object", "properties": {"a": {"type": "string", "title": "School name"},
                                               "b": {"type": "string"}}}
    ui = {"a": {"ui:title": {"ru": "Название школы"}}, "b": {"ui:title": {"ru": "Примечание"}},
          "ui:order": ["a", "b"]}
    assert [f.label for f in build_fields(schema, ui, {}, {}, "en")] == ["School name", "Примечание"]
    assert [f.label for f in build_fields(schema, ui, {}, {}, "ru")] == ["Название школы", "Примечание"]


def test_the_widgets_of_spiffarenas_forms_are_accepted(world):
    from app.engine.forms import form_shape_problems

    ui = {"a": {"ui:widget": "updown", "ui:title": {"kk": "Атауы", "ru": "Название", "en": "Name"}}}
    assert form_shape_problems({"type": "object", "properties": {"a": {"type": "integer"}}}, ui) == []


def test_fields_that_can_be_valid_are_still_accepted(app_ctx):
    """The new checks refuse only what no answer can satisfy: equal bounds, a fitting default, a wildcard in
    ``ui:order``, labels for offered values, a subject id's name inside a table row."""
    from app.engine.forms import form_shape_problems

    schema = {"type": "object", "properties": {
        "n": {"type": "integer", "minimum": 1, "maximum": 1, "default": 1},
        "k": {"type": "string", "enum": ["a", 2], "default": "a"},
        "lines": {"type": "array", "items": {"type": "object", "properties": {"act_id": {"type": "integer"}}}}}}
    ui = {"ui:order": ["k", "*"], "k": {"ui:enumNames": {"a": "A", "2": "Two"}}}
    assert form_shape_problems(schema, ui) == []
