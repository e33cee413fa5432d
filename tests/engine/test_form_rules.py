"""The server-side form rules one at a time (issue 17: a mutation score on app/engine/forms.py).

Pure functions: no database, one English request context. Every coercion bound is tested on both sides,
every validator keyword has its exact message, and the parser's refusals name the field.
"""

from __future__ import annotations

import pytest

import app.registry.formats  # noqa: F401 - the domain's IIN, BIN and IBAN formats, plugged in as the app factory does
from app.engine.forms import (
    FORMAT_CHECKER,
    MAX_FORM_NUMBER,
    load_json,
    localised,
    parse_and_validate,
    parse_form,
    validate,
)

# Valid by the official check-digit algorithm (anchored in tests/test_identifiers.py).
IIN = "791028302728"
IBAN = "KZ86125KZT5004100100"


@pytest.fixture(scope="module")
def light_app(tmp_path_factory):
    """No database: these rules are pure functions (and mutation runs repeat this module hundreds of times)."""
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True, "BABEL_DEFAULT_LOCALE": "en",
                       "BACKGROUND_MODE": "none"}, instance_path=str(tmp_path_factory.mktemp("instance")))


@pytest.fixture()
def en(light_app):
    with light_app.test_request_context(headers={"Accept-Language": "en"}):
        yield


# ---- format checkers -------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "good", "bad"), [
    ("iin", IIN, IIN[:-1] + "9"),
    ("bin", IIN, IIN[:-1] + "9"),
    ("iban-kz", IBAN, IBAN[:2] + "87" + IBAN[4:]),
    ("date", "2028-02-29", "2027-02-29"),
])
def test_each_format_accepts_the_valid_refuses_the_invalid_and_leaves_non_strings_to_type(fmt, good, bad):
    assert FORMAT_CHECKER.conforms(good, fmt) is True
    assert FORMAT_CHECKER.conforms(bad, fmt) is False
    # Not a string: the format does not judge it ("type" does).
    assert FORMAT_CHECKER.conforms(12, fmt) is True
    assert FORMAT_CHECKER.conforms(None, fmt) is True


def test_date_format_refuses_what_is_not_a_date():
    assert FORMAT_CHECKER.conforms("1 March", "date") is False


# ---- load_json ---------------------------------------------------------------------------------


def test_load_json_reads_the_named_file_only():
    files = {"form.json": '{"type": "object"}'}
    assert load_json(files, "form.json") == {"type": "object"}
    assert load_json(files, None) == {}
    assert load_json(files, "") == {}
    assert load_json(files, "other.json") == {}


# ---- coercion ----------------------------------------------------------------------------------


def _one(kind: str, value: str):
    """Coerce one field of the given type through the public parser."""
    data, errors = parse_form({"type": "object", "properties": {"x": {"type": kind}}}, {"x": value})
    return data.get("x"), errors.get("x")


@pytest.mark.parametrize(("value", "expected"), [
    (" 42 ", 42), ("-7", -7), ("0", 0), ("123456789012", 123456789012),
])
def test_integer_fields_take_up_to_twelve_digits(en, value, expected):
    assert _one("integer", value) == (expected, None)
    assert type(_one("integer", value)[0]) is int


@pytest.mark.parametrize("value", ["4.5", "1e3", "four", "--1", "+1", "１２"])
def test_integer_fields_refuse_anything_else_and_keep_the_text(en, value):
    assert _one("integer", value) == (value, "Enter a whole number.")


def test_a_whole_number_too_long_to_hold_is_answered_with_the_fields_bound(en):
    # "99999999999999999999999" days attended was answered "Enter a whole number." — it is one, only too large.
    from app.engine.forms import parse_form

    schema = {"type": "object", "properties": {"days": {"type": "integer", "minimum": 0, "maximum": 31},
                                               "n": {"type": "integer"}}}
    assert parse_form(schema, {"days": "99999999999999999999999"})[1] == {"days": "Must be at most 31."}
    assert parse_form(schema, {"days": "-99999999999999999999999"})[1] == {"days": "Must be at least 0."}
    assert parse_form(schema, {"n": "1234567890123"})[1] == {"n": "The number is too large."}


@pytest.mark.parametrize(("value", "expected"), [
    ("12", 12), ("1.5", 1.5), ("1e3", 1000.0), ("1E3", 1000.0), (" -2.25 ", -2.25),
    (str(MAX_FORM_NUMBER), MAX_FORM_NUMBER), (f"-{MAX_FORM_NUMBER}", -MAX_FORM_NUMBER),
    ("0.0000000000000000000001", 1e-22),  # 24 characters: the longest accepted
])
def test_number_fields_take_integers_and_decimals_within_the_bound(en, value, expected):
    got, error = _one("number", value)
    assert error is None
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "Enter a number."), ("nan", "Enter a number."), ("inf", "Enter a number."),
    ("1.2.3", "Enter a number."),
    (str(MAX_FORM_NUMBER + 1), "The number is too large."),
    (f"-{MAX_FORM_NUMBER + 1}", "The number is too large."),
    ("1e16", "The number is too large."), ("1e999", "The number is too large."),
    ("-1e999", "The number is too large."),
    ("0.00000000000000000000001", "The number is too large."),  # 25 characters: refused before conversion
])
def test_number_fields_refuse_text_infinity_and_more_than_the_bound(en, value, message):
    assert _one("number", value) == (value, message)


def test_the_bound_is_ten_to_the_fifteenth():
    assert MAX_FORM_NUMBER == 10**15


@pytest.mark.parametrize(("value", "expected"), [
    ("1", True), ("true", True), ("on", True), ("yes", True), (" on ", True),
    ("0", False), ("false", False), ("no", False), ("True", False), ("off", False),
])
def test_boolean_fields(en, value, expected):
    assert _one("boolean", value) == (expected, None)


def test_text_is_stripped_and_blank_is_left_out(en):
    assert _one("string", "  Алма  ") == ("Алма", None)
    for kind in ("string", "integer", "number", "boolean"):
        data, errors = parse_form({"type": "object", "properties": {"x": {"type": kind}}}, {"x": "   "})
        assert (data, errors) == ({}, {}), kind


def test_a_field_without_a_type_is_text(en):
    data, errors = parse_form({"type": "object", "properties": {"x": {}}}, {"x": " 5 "})
    assert (data, errors) == ({"x": "5"}, {})


# ---- field names and the schema --------------------------------------------------------------

SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "title": {"type": "string"},
        "lines": {"type": "array", "items": {
            "type": "object", "properties": {"iin": {"type": "string"}, "grade": {"type": "integer"}}}},
        "tags": {"type": "array"},  # no items schema: each cell is text
        "meta": {"type": "object"},  # no properties: nothing inside is a field
        "count": {"type": "integer"},
    },
}


@pytest.mark.parametrize("name", [
    "lines.x.iin",  # an array is indexed by digits
    "lines.0.amount",  # not a property of the row
    "meta.anything",  # an object without properties has no fields
    "title.more",  # a text field has no parts
    "lines",  # an array is not one field
    "meta",  # nor an object
    "lines.0",  # nor a row
    "_version_x", "school_id", "__class__",
    "lines.12345.iin",  # more than four digits of row
    "1abc", "lines..iin", "lines.0.iin.", "a-b", "title ",
])
def test_a_name_outside_the_schema_refuses_the_submission_and_names_the_field(en, name):
    data, errors = parse_form(SCHEMA, {name: "1", "title": "ok"})
    assert errors == {"_form": f"Unexpected field: {name}."}
    assert data == {"title": "ok"}


def test_a_refused_name_is_cut_to_sixty_characters(en):
    name = "z" * 80
    _data, errors = parse_form(SCHEMA, {name: "1"})
    assert errors == {"_form": f"Unexpected field: {'z' * 60}."}


def test_csrf_token_and_version_are_not_fields(en):
    data, errors = parse_form(SCHEMA, {"csrf_token": "t", "_version": "3", "count": "2"})
    assert (data, errors) == ({"count": 2}, {})


def test_names_with_underscores_digits_and_capitals_are_fields(en):
    schema = {"type": "object", "properties": {"_Ab9": {"type": "object", "properties": {
        "x_1": {"type": "string"}}}}}
    assert parse_form(schema, {"_Ab9.x_1": "v"}) == ({"_Ab9": {"x_1": "v"}}, {})


def test_an_array_without_an_items_schema_takes_text_cells(en):
    data, errors = parse_form(SCHEMA, {"tags.0": " a ", "tags.1": "b"})
    assert (data, errors) == ({"tags": ["a", "b"]}, {})


def test_more_than_ten_cells_and_rows_keep_their_numeric_order(en):
    cells = {f"tags.{i}": f"t{i}" for i in range(12)}
    data, errors = parse_form(SCHEMA, cells)
    assert errors == {} and data == {"tags": [f"t{i}" for i in range(12)]}, "10 and 11 come after 9, not after 1"
    rows = {f"lines.{i}.iin": f"r{i}" for i in range(12)}
    data, errors = parse_form(SCHEMA, rows)
    assert errors == {} and data == {"lines": [{"iin": f"r{i}"} for i in range(12)]}


def test_an_array_inside_an_object_is_filled_by_its_index(en):
    schema = {"type": "object", "properties": {"a": {"type": "object", "properties": {
        "b": {"type": "array", "items": {"type": "integer"}}}}}}
    assert parse_form(schema, {"a.b.1": "2", "a.b.0": "1"}) == ({"a": {"b": [1, 2]}}, {})


# ---- rows ---------------------------------------------------------------------------------------


def test_rows_are_sorted_by_number_blank_ones_dropped_and_renumbered(en):
    form = {"lines.10.iin": "c", "lines.10.grade": "10",
            "lines.2.iin": "a", "lines.2.grade": "2",
            "lines.3.iin": "  ", "lines.3.grade": "",
            "lines.7.iin": "", "lines.7.grade": "7",
            "title": "t"}
    data, errors = parse_form(SCHEMA, form)
    assert errors == {}
    assert data == {"title": "t", "lines": [{"iin": "a", "grade": 2}, {"grade": 7}, {"iin": "c", "grade": 10}]}


def test_a_coercion_error_points_at_the_renumbered_row_and_keeps_the_text(en):
    data, errors = parse_form(SCHEMA, {"lines.4.iin": "", "lines.4.grade": "",
                                       "lines.9.grade": "nine", "count": "x"})
    assert errors == {"lines.0.grade": "Enter a whole number.", "count": "Enter a whole number."}
    assert data == {"lines": [{"grade": "nine"}], "count": "x"}


def test_every_row_blank_leaves_an_empty_form(en):
    assert parse_form(SCHEMA, {"lines.0.iin": " ", "lines.1.grade": ""}) == ({}, {})


# ---- validation messages ------------------------------------------------------------------------


@pytest.mark.parametrize(("schema", "value", "message"), [
    ({"type": "string", "format": "iin"}, IIN[:-1] + "9", "Not a valid IIN: 12 digits with a correct check digit."),
    ({"type": "string", "format": "bin"}, IIN[:-1] + "9", "Not a valid BIN: 12 digits with a correct check digit."),
    ({"type": "string", "format": "iban-kz"}, "KZ00", "Not a valid Kazakh IBAN (KZ, 20 characters, check digits)."),
    ({"type": "string", "format": "date"}, "2026-13-01", "Enter a real date as dd.mm.yyyy, for example 05.03.2026."),
    ({"type": "string", "format": "email"}, "not-an-address", "Invalid format."),
    ({"type": "integer", "minimum": 3}, 2, "Must be at least 3."),
    ({"type": "integer", "maximum": 11}, 12, "Must be at most 11."),
    ({"type": "string", "minLength": 2}, "a", "Too short (at least 2 characters)."),
    ({"type": "string", "maxLength": 3}, "abcd", "Too long (at most 3 characters)."),
    ({"type": "array", "minItems": 1}, [], "Add at least 1 row."),
    ({"type": "array", "maxItems": 2}, [1, 2, 3], "At most 2 rows."),
    ({"enum": ["a", "b"]}, "c", "Choose one of the offered values."),
    ({"type": "integer"}, "x", "Wrong kind of value."),
    ({"type": "string", "pattern": "^[0-9]+$"}, "x1", "Invalid format."),
    ({"const": 1}, 2, "Invalid value."),
])
def test_each_validator_has_its_message_at_the_field_path(en, schema, value, message):
    errors = validate({"type": "object", "properties": {"x": schema}}, {"x": value})
    assert errors == {"x": message}


def test_valid_data_has_no_errors(en):
    schema = {"type": "object", "properties": {"x": {"type": "string", "format": "iin"}}, "required": ["x"]}
    assert validate(schema, {"x": IIN}) == {}


def test_a_missing_required_field_is_reported_at_its_own_path(en):
    schema = {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"},
        "lines": {"type": "array", "items": {"type": "object", "required": ["iin"],
                                             "properties": {"iin": {"type": "string"}}}}}}
    assert validate(schema, {"lines": [{"iin": "1"}, {}]}) == {
        "name": "This field is required.", "lines.1.iin": "This field is required."}


def test_an_unexpected_property_is_a_form_error_and_the_first_message_of_a_path_wins(en):
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"x": {"type": "string", "minLength": 3, "pattern": "^[0-9]+$"}}}
    assert validate(schema, {"y": 1}) == {"_form": "Unexpected field."}
    errors = validate(schema, {"x": "a"})
    assert list(errors) == ["x"]
    assert errors["x"] in ("Too short (at least 3 characters).", "Invalid format.")
    assert errors["x"] == validate(schema, {"x": "a"})["x"]


def test_a_wrong_root_is_a_form_error(en):
    assert validate({"type": "object"}, []) == {"_form": "Wrong kind of value."}


def test_parse_errors_stop_before_validation(en):
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
                                                                     "n": {"type": "integer"}}}
    assert parse_and_validate(schema, {"n": "x"}) == ({"n": "x"}, {"n": "Enter a whole number."})
    assert parse_and_validate(schema, {"n": "3"}) == ({"n": 3}, {"name": "This field is required."})
    assert parse_and_validate(schema, {"n": "3", "name": "A"}) == ({"n": 3, "name": "A"}, {})


# ---- localised UI texts ---------------------------------------------------------------------------


def test_localised_texts_fall_back_to_english_then_to_any():
    assert localised("plain", "kk") == "plain"
    assert localised({"kk": "Қазақша", "ru": "Русский", "en": "English"}, "kk") == "Қазақша"
    assert localised({"kk": "Қазақша", "ru": "Русский", "en": "English"}, "ru") == "Русский"
    assert localised({"kk": "", "en": "English"}, "kk") == "English"
    assert localised({"ru": "Русский", "kk": "Қазақша"}, "en") == "Русский"
    assert localised({}, "kk") == ""
    assert localised(None, "kk") is None



def test_a_pattern_that_backtracks_exponentially_is_checked_in_linear_time():
    """``^(a+)+$`` against 40 a's and a "!": Python's re backtracks 2⁴⁰ ways (11 s at 27 characters, doubling with
    each); RE2 answers at once. Run in a thread so that a regression fails here instead of hanging the suite."""
    import threading

    from app.engine.forms import validate

    schema = {"type": "object", "properties": {"note": {"type": "string", "pattern": "^(a+)+$", "maxLength": 200}}}
    answers = []
    worker = threading.Thread(target=lambda: answers.append(validate(schema, {"note": "a" * 40 + "!"})), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the pattern check did not finish"
    assert answers == [{"note": "Invalid format."}]
    assert validate(schema, {"note": "a" * 40}) == {}


def test_digits_in_a_pattern_are_0_to_9_as_in_json_schema():
    from app.engine.forms import validate

    schema = {"type": "object", "properties": {"n": {"type": "string", "pattern": "^\\d{3}$"}}}
    assert validate(schema, {"n": "123"}) == {}
    assert validate(schema, {"n": "١٢٣"}) == {"n": "Invalid format."}  # Arabic-Indic digits: Python's \d took them


def test_a_trailing_newline_does_not_pass_a_pattern_that_ends_with_a_dollar():
    from app.engine.forms import validate

    schema = {"type": "object", "properties": {"n": {"type": "string", "pattern": "^[A-Z0-9-]{1,10}$"}}}
    assert validate(schema, {"n": "PP-1"}) == {}
    assert validate(schema, {"n": "PP-1\n"}) == {"n": "Invalid format."}
    assert validate(schema, {"n": "PP-1\nX"}) == {"n": "Invalid format."}
