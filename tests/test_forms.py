"""Server-side form parsing: blank rows dropped, rows renumbered, typed text kept on errors."""

from app.engine.forms import parse_and_validate, parse_form

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["lines"],
    "properties": {"lines": {"type": "array", "minItems": 1, "items": {
        "type": "object", "additionalProperties": False, "required": ["iin", "grade"],
        "properties": {"iin": {"type": "string", "format": "iin"}, "grade": {"type": "integer", "maximum": 11}}}}},
}


def test_blank_rows_are_dropped_and_rows_renumbered(app_ctx):
    data, errors = parse_form(SCHEMA, {"lines.0.iin": "791028302728", "lines.0.grade": "3",
                                       "lines.1.iin": "", "lines.1.grade": " ",
                                       "lines.2.iin": "950440001673", "lines.2.grade": "10"})
    assert errors == {}
    assert data == {"lines": [{"iin": "791028302728", "grade": 3}, {"iin": "950440001673", "grade": 10}]}


def test_errors_point_at_renumbered_rows_and_keep_the_typed_text(app_ctx):
    with app_ctx.test_request_context(headers={"Accept-Language": "en"}):
        data, errors = parse_and_validate(SCHEMA, {"lines.0.iin": "", "lines.0.grade": "",
                                                   "lines.5.iin": "791028302728", "lines.5.grade": "three"})
    assert errors == {"lines.0.grade": "Enter a whole number."}
    assert data["lines"][0]["grade"] == "three"


def test_unknown_and_malformed_names_are_refused(app_ctx):
    with app_ctx.test_request_context(headers={"Accept-Language": "en"}):
        for name in ("school_id", "lines.0.amount", "lines", "__class__", "lines.x.iin"):
            _data, errors = parse_form(SCHEMA, {name: "1"})
            assert errors.get("_form", "").startswith("Unexpected field"), name
