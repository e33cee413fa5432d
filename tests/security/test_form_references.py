"""A form's ``$ref`` reaches nothing outside the form: no request to a URL, no local file read, whether the form
is checked at save/publish time or a person submits it (jsonschema fetches any URI when it has no registry)."""

from __future__ import annotations

import pytest

from app.engine.forms import form_shape_problems, reference_problems, validate


def _form(ref: str) -> dict:
    return {"type": "object", "allOf": [{"$ref": ref}], "properties": {"comment": {"type": "string"}},
            "$defs": {"name": {"type": "string"}}}


@pytest.mark.parametrize("ref", ["http://127.0.0.1:9/x.json", "file:///etc/hostname", "other.schema.json",
                                 "#/$defs/missing", "#nowhere", "#/properties/comment/0"])
def test_a_reference_outside_the_form_is_a_problem_of_the_form(ref):
    assert len(reference_problems(_form(ref))) == 1
    assert any(part == "schema" and "points outside the form" in message
               for part, message in form_shape_problems(_form(ref), {}))


# "#" from the form's own ``allOf`` is the form inside itself: tests/security/test_form_reference_loops.py
@pytest.mark.parametrize("ref", ["#/$defs/name", "#/properties/comment", "#here"])
def test_references_inside_the_form_are_allowed(ref):
    schema = _form(ref)
    schema["$defs"]["anchored"] = {"$anchor": "here", "type": "string"}
    assert reference_problems(schema) == []


def test_submitting_a_form_with_a_remote_reference_sends_no_request_and_says_why(app, listener):
    port, hits = listener
    schema = _form(f"http://127.0.0.1:{port}/ssrf.json")
    with app.test_request_context():
        errors = validate(schema, {"comment": "hi"})
    assert hits == []
    assert "refers to something outside it" in errors["_form"]


def test_a_local_file_is_not_read_to_check_a_form(app, tmp_path):
    target = tmp_path / "secret.json"
    target.write_text('{"type": "integer"}')
    schema = _form(target.as_uri())
    with app.test_request_context():
        errors = validate(schema, {"comment": "hi"})
    # Read, the file would make {"comment": "hi"} fail as "not an integer"; unread, the form says it cannot check.
    assert list(errors) == ["_form"] and "outside it" in errors["_form"]


def test_a_form_with_references_inside_it_still_validates(app):
    schema = {"type": "object", "properties": {"comment": {"$ref": "#/$defs/name"}},
              "$defs": {"name": {"type": "string"}}}
    with app.test_request_context():
        assert validate(schema, {"comment": "hi"}) == {}
        assert "comment" in validate(schema, {"comment": 5})
