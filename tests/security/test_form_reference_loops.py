"""A form's references end, and end soon: a reference loop or references that multiply are refused when the form
is saved, previewed or published, and a version published before this check answers its step with a message.

jsonschema follows a ``$ref`` every time it meets it. ``{"allOf": [{"$ref": "#"}]}`` (the form applied to itself)
passed every form check — it points inside the form — and each submission of the step raised RecursionError: a
500 for everyone on it. Three references to the next definition, thirty deep, passed too and held the worker for
3³⁰ checks.
"""

from __future__ import annotations

import json

import pytest

from app.engine.forms import form_shape_problems, validate
from app.engine.schema_references import MAX_EXPANDED_SCHEMAS, reference_expansion
from tests.security.test_schema_and_table_work_bounds import SECONDS, _within

LOOP = "leads back to a part it is in"
MANY = f"repeat its parts more than {MAX_EXPANDED_SCHEMAS} times"
COMMENT = {"comment": {"type": "string"}}


def _loops() -> dict[str, dict]:
    return {
        "the form in itself": {"type": "object", "allOf": [{"$ref": "#"}], "properties": COMMENT},
        "in anyOf": {"type": "object", "anyOf": [{"$ref": "#"}], "properties": COMMENT},
        "in not": {"type": "object", "not": {"$ref": "#"}, "properties": COMMENT},
        "in if": {"type": "object", "if": {"$ref": "#"}, "properties": COMMENT},
        "two definitions": {"type": "object", "allOf": [{"$ref": "#/$defs/a"}], "properties": COMMENT,
                            "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}},
        "a definition in itself": {"type": "object", "allOf": [{"$ref": "#/$defs/a"}], "properties": COMMENT,
                                   "$defs": {"a": {"$ref": "#/$defs/a"}}},
        "an anchor": {"type": "object", "$dynamicAnchor": "me", "allOf": [{"$dynamicRef": "#me"}],
                      "properties": COMMENT},
    }


def _fan_out(depth: int = 30, leaf: str = "object") -> dict:
    """Each definition refers to the next three times: 3^depth checks of one value (a valid one is checked whole)."""
    defs = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 3} for i in range(depth)}
    defs[f"d{depth}"] = {"type": leaf}
    return {"type": "object", "allOf": [{"$ref": "#/$defs/d0"}], "properties": COMMENT, "$defs": defs}


@pytest.mark.parametrize("name", list(_loops()))
def test_a_reference_loop_is_a_problem_of_the_form(app, name):
    with app.test_request_context():
        problems = _within(SECONDS, lambda: form_shape_problems(_loops()[name], {}))
    assert any(part == "schema" and LOOP in message for part, message in problems), problems


def test_references_that_multiply_are_a_problem_of_the_form(app):
    with app.test_request_context():
        problems = _within(SECONDS, lambda: form_shape_problems(_fan_out(), {}))
    assert any(part == "schema" and MANY in message for part, message in problems), problems


@pytest.mark.parametrize("name", list(_loops()))
def test_a_step_whose_published_form_loops_answers_with_a_message(app, name):
    """A version published before the check: the submission is refused with words, not a RecursionError."""
    with app.test_request_context():
        errors = _within(SECONDS, lambda: validate(_loops()[name], {"comment": "hi"}))
    assert list(errors) == ["_form"]
    assert "This form cannot be checked" in errors["_form"]


def test_a_step_whose_published_form_multiplies_answers_in_time(app):
    with app.test_request_context():
        errors = _within(SECONDS, lambda: validate(_fan_out(), {"comment": "hi"}))
    assert "This form cannot be checked" in errors["_form"]


def test_shared_definitions_used_often_are_still_allowed(app):
    """A definition used by every field, and a chain of definitions each used once, end: nothing to refuse."""
    schema = {"type": "object", "$defs": {"name": {"type": "string", "maxLength": 80, "allOf": [{"$ref": "#/$defs/x"}]},
                                          "x": {"minLength": 1}},
              "properties": {f"f{i}": {"type": "string", "allOf": [{"$ref": "#/$defs/name"}]} for i in range(50)}}
    assert reference_expansion(schema) is None
    assert reference_expansion(_fan_out(depth=5)) is None  # 3^5 = 243 checks
    with app.test_request_context():
        assert not [m for _p, m in form_shape_problems(schema, {}) if LOOP in m or MANY in m]
        assert validate(schema, {"f1": "Айгүл"}) == {}
        assert "f1" in validate(schema, {"f1": ""})


def test_the_preview_says_why_a_looping_form_is_refused(world, browser):
    schema = _loops()["the form in itself"]
    response = browser("owner").post("/modeler/forms/preview", {"schema": json.dumps(schema), "uischema": "{}"})
    assert response.status_code == 200
    assert LOOP in response.get_data(as_text=True)


@pytest.mark.parametrize("schema", [_loops()["the form in itself"], _loops()["two definitions"], _fan_out()],
                         ids=["the form in itself", "two definitions", "fan-out"])
def test_submitting_a_step_whose_published_form_loops_is_refused_with_a_message(app, schema):
    """The step's own path: the compiled validator ran first and raised RecursionError (a 500) or took 3³⁰ steps."""
    from app.engine.runtime import _VersionForms

    forms = _VersionForms(parsed=None, files={"looping.schema.json": json.dumps(schema)})
    with app.test_request_context():
        errors = _within(SECONDS, lambda: forms.errors("looping.schema.json", {"comment": "hi"}))
    assert "This form cannot be checked" in errors["_form"]


def test_a_field_default_under_its_own_multiplying_references_is_checked_in_time(app):
    """A field's references are read against the field: its own "$defs" made the default's check take 3³⁰ steps
    in the live preview (an auditor may use it, on every keystroke) — 31 s at twelve levels."""
    fan_out = _fan_out(leaf="string")
    field = {"type": "string", "default": "x", "allOf": fan_out["allOf"], "$defs": fan_out["$defs"]}
    with app.test_request_context():
        problems = _within(SECONDS, lambda: form_shape_problems({"type": "object", "properties": {"c": field}}, {}))
    assert problems  # its references point outside the form (they are the field's): refused as before
