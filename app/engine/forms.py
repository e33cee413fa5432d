"""Server-side forms: JSON Schema (+ UI schema) from the model version, parsed from HTML form fields,
validated with custom formats, errors keyed by field path in the user's language.

HTML field names are dotted paths into the data: ``lines.3.iin``. Nothing the browser sends outside
the schema is accepted (``additionalProperties`` is enforced for every object).
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.exceptions import _WrappedReferencingError
from referencing import Registry

from app.engine.data_keys import form_field_name_problems
from app.engine.data_names import reserved_names
from app.engine.schema_references import MAX_EXPANDED_SCHEMAS, NOT_FOUND, pointer_target, reference_expansion

FORMAT_CHECKER = FormatChecker()
# Largest number a form field accepts: exact in a float and far inside PostgreSQL's bigint.
MAX_FORM_NUMBER = 10**15
#: formats the domain defines: app.registry.formats registers Kazakhstan's IIN, BIN and IBAN, imported by the app
#: factory before anything is served — JSON Schema passes a format no checker knows, so a test holds that they are
#: registered (tests/engine/test_engine_is_a_library.py)
DOMAIN_FORMATS: set[str] = set()
#: how a field of a domain format reads what a person typed into a page's field or a lines file's cell, by format
_TYPED_READINGS: dict[str, Any] = {}


def register_format(name: str, check, typed=None) -> None:
    """A string format the forms check (``check(value) -> bool``); values of other types pass to the type check.
    ``typed(text) -> str``: the value a text typed into a page's field (or a lines file's cell) or sent as a JSON
    string (:func:`typed_json`) stands for — an IIN written in groups is its twelve digits."""
    DOMAIN_FORMATS.add(name)
    FORMAT_CHECKER.checks(name)(lambda value: not isinstance(value, str) or check(value))
    if typed is not None:
        _TYPED_READINGS[name] = typed


def _re2_options():
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the owner, not logged by the C++ library
    return options


@lru_cache(maxsize=512)
def pattern_re(pattern: str):
    """A JSON Schema ``pattern`` compiled by RE2, which matches in time linear in the text whatever the pattern:
    with Python's backtracking ``re`` a careless ``^(a+)+$`` in a process owner's form held a worker for 11 s on 27
    characters typed into a task (and doubled with each one). RE2 reads ECMA-262's common syntax as JSON Schema
    means it: ``$`` only at the end of the text (Python's also before a final newline — "PP-1\\n" escaped a
    unique order number), ``\\d`` only 0–9. It has no look-around and no back-references: such a pattern raises
    ``re2.error`` (refused when the form is saved: :func:`pattern_problems`)."""
    import re2

    return re2.compile(pattern, _re2_options())


def _ecma_pattern_keyword(validator, pattern, instance, schema):
    import re2

    if not validator.is_type(instance, "string"):
        return
    try:
        matched = pattern_re(pattern).search(instance)
    except re2.error:  # a version published before patterns were checked: the value cannot be checked, so not taken
        matched = None
    if not matched:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _canonical(value: Any) -> Any:
    """A hashable stand-in for a JSON value that is equal where JSON Schema's equality says so: 1 and 1.0 are one
    number, ``true`` is not 1, objects are equal whatever their key order."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _canonical(item)) for key, item in value.items()))
    return ("other", repr(value))


def _unique_items_keyword(validator, unique, instance, schema):
    """``uniqueItems`` in time linear in the rows: jsonschema compares every pair of objects (its items cannot be
    sorted), and a table of 4,000 rows — one month's act of a big school — held a worker for 38 s on each submit."""
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set = set()
    for item in instance:
        try:
            key = _canonical(item)
        except RecursionError:
            key = None  # nested past Python's limit: no answer of a form is; refused as not unique
        if key is None or key in seen:
            yield ValidationError(f"the array has non-unique elements ({len(instance)} items)")
            return
        seen.add(key)


#: Draft 2020-12 with ``pattern`` matched by RE2 (:func:`pattern_re`) and ``uniqueItems`` in linear time: every form
#: and API payload is checked by it.
FormValidator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern_keyword,
                                                         "uniqueItems": _unique_items_keyword})
#: What a form's ``$ref`` may reach: nothing outside the form itself. Without a registry jsonschema falls back to
#: fetching any URI it is given (``http://…``, ``file:///…``) with no timeout, whenever a form is checked — a
#: process owner's form made the server send requests and read local files (and a silent address hung it).
_NOTHING_OUTSIDE = Registry()


def form_validator(schema: dict):
    """The validator of one form: ECMA patterns, the domain's formats, references within the form only."""
    return FormValidator(schema, format_checker=FORMAT_CHECKER, registry=_NOTHING_OUTSIDE)


def reference_problems(schema: Any) -> list[str]:
    """The ``$ref``/``$dynamicRef`` of a form that do not point inside it (a URI, a file, a missing ``#/…`` path or
    ``#anchor``), in the user's language: refused when a form is saved, imported or published."""
    refs: list[str] = []
    anchors: set[str] = set()

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 200:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                    refs.append(value)
                elif key in ("$anchor", "$dynamicAnchor") and isinstance(value, str):
                    anchors.add(value)
                else:
                    walk(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)

    walk(schema)
    problems = []
    for ref in refs:
        if not _resolves_inside(schema, ref, anchors):
            problems.append(_("JSON Schema: the reference %(ref)s points outside the form; a form may refer only to "
                              "its own parts (\"#/$defs/…\").", ref=json.dumps(ref[:80], ensure_ascii=False)))
    if not problems:
        problems += expansion_problems(schema)
    return problems


def expansion_problems(schema: Any) -> list[str]:
    """A reference that leads back to itself, or references that multiply past MAX_EXPANDED_SCHEMAS
    (app.engine.schema_references): the form could never be checked, or only by holding a worker for good."""
    found = reference_expansion(schema)
    if found is None:
        return []
    kind, ref = found
    if kind == "loop":
        return [_("JSON Schema: the reference %(ref)s leads back to a part it is in, and checking an answer could "
                  "go round it for ever; refer only to parts with no way back.",
                  ref=json.dumps((ref or "")[:80], ensure_ascii=False))]
    return [_("JSON Schema: followed, the form's references repeat its parts more than %(n)s times; refer to each "
              "part fewer times.", n=MAX_EXPANDED_SCHEMAS)]


def _resolves_inside(schema: Any, ref: str, anchors: set[str]) -> bool:
    if not ref.startswith("#"):
        return False
    fragment = ref[1:]
    if not fragment.startswith("/"):
        return fragment == "" or fragment in anchors
    return pointer_target(schema, fragment) is not NOT_FOUND


@FORMAT_CHECKER.checks("regex")
def _regex(value) -> bool:
    """A field of ``format: "regex"`` takes a pattern RE2 reads, the engine of the forms' own ``pattern``
    (:func:`pattern_re`). jsonschema's checker compiles what a person typed with Python's ``re`` and expects only
    ``re.error``: "a{99999999999}" raised OverflowError and two thousand "(" a RecursionError — a 500 on the task's
    submit, for anyone the step was offered to. Compiled, not cached: the text is a person's, not the form's."""
    import re2

    if not isinstance(value, str):
        return True
    try:
        re2.compile(value, _re2_options())
    except (re2.error, ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        return False
    return True


#: a form's date as its data holds it: ISO 8601's calendar date, YYYY-MM-DD in ASCII digits
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@FORMAT_CHECKER.checks("date")
def _date(value) -> bool:
    """A date field holds YYYY-MM-DD, a real day. ``date.fromisoformat`` also took "20261105" and the week date
    "2026-W45-4", and a page's or the API's task was completed with them in its data (app/user_input.py)."""
    if not isinstance(value, str):
        return True
    if _ISO_DATE.fullmatch(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:  # 2026-02-30
        return False
    return True


def load_json(files: dict[str, str], filename: str | None) -> dict:
    if not filename or filename not in files:
        return {}
    return json.loads(files[filename])


#: SpiffArena's convention: a field's options come from a task data variable at the time the task opens.
TASK_DATA_OPTIONS = "options_from_task_data_var:"


def task_data_option_vars(schema: Any) -> set[str]:
    """Names of the task data variables a form takes its options from (``"anyOf":
    "options_from_task_data_var:fruits"``, also as ``oneOf``/``enum`` or a one-item list)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            marker = value[0] if isinstance(value, list) and len(value) == 1 else value
            if key in ("anyOf", "oneOf", "enum") and isinstance(marker, str) and marker.startswith(TASK_DATA_OPTIONS):
                found.add(marker[len(TASK_DATA_OPTIONS):].strip())
            else:
                found |= task_data_option_vars(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= task_data_option_vars(item)
    return found


#: the schema key a choice filled from task data gets when it offers fewer options than its variable holds:
#: [shown, held] (form_view says so beside the field)
OPTIONS_CUT = "x-tapsyrys-options-cut"


def with_task_data_options(schema: Any, options: dict, ui: Any = None) -> Any:
    """The schema with each options marker replaced by the variable's value from ``options``: a list of
    ``{"value", "label"}`` becomes labelled ``anyOf``/``oneOf`` branches (an ``enum`` marker: the values);
    plain values are their own labels. A missing or malformed variable leaves no option (nothing can be
    chosen, so a required field cannot be submitted) instead of a broken schema.

    Bounded as a form's own options are at publishing (:data:`MAX_OPTIONS` a field, :data:`MAX_DRAWN_OPTIONS` a page,
    a table's column counted in each blank row ``ui`` gives it): a variable is bounded only by the task data's size,
    and 40,000 options made a task page of tens of megabytes. Past a limit the field offers its first options, in
    the variable's order, and is marked :data:`OPTIONS_CUT`. Cut rather than turned into a text box: run-time options
    are mostly labels over values a person never sees (a school's name over its id), which nobody could type. The
    page and the completion read the same cut list: what was not offered is not taken."""
    budget = [MAX_DRAWN_OPTIONS]

    def fill(node: Any, node_ui: Any, rows: int, in_properties: bool = False) -> Any:
        node_ui = node_ui if isinstance(node_ui, dict) else {}
        if isinstance(node, list):
            return [fill(item, node_ui, rows) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            marker = value[0] if isinstance(value, list) and len(value) == 1 else value
            if not in_properties and key in ("anyOf", "oneOf", "enum") and isinstance(marker, str) \
                    and marker.startswith(TASK_DATA_OPTIONS):
                items = options.get(marker[len(TASK_DATA_OPTIONS):].strip())
                pairs = []
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and "value" in item:
                        pairs.append((item["value"], str(item.get("label", item["value"]))))
                    elif isinstance(item, (str, int, float, bool)):
                        pairs.append((item, str(item)))
                shown = max(0, min(len(pairs), MAX_OPTIONS, budget[0] // rows))
                budget[0] -= shown * rows
                if shown < len(pairs):
                    out[OPTIONS_CUT] = [shown, len(pairs)]
                    pairs = pairs[:shown]
                if key == "enum":
                    out["enum"] = [v for v, _label in pairs]
                elif pairs:
                    out[key] = [{"enum": [v], "title": label} for v, label in pairs]
                else:
                    out["enum"] = []
            elif in_properties:  # a field, by its name: its entry of the UI schema, its rows if a table
                field_ui = node_ui.get(key)
                out[key] = fill(value, field_ui, rows * max(extra_rows(field_ui), 1) if is_table(value) else rows)
            else:
                out[key] = fill(value, node_ui.get("items") if key == "items" else node_ui, rows,
                                in_properties=key == "properties")
        return out

    return fill(schema, ui, 1)


#: a field's name: a path of ASCII names and row numbers (``\\d`` took "lines.١.iin" as row 1)
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([0-9]{1,4}|[A-Za-z_][A-Za-z0-9_]*))*$")


class FieldErrors(dict):
    """path -> message"""


def _coerce(value: str, schema: dict) -> Any:
    kind = schema.get("type")
    value = value.strip()
    if value == "":
        return None
    if kind == "integer":
        if re.fullmatch(r"-?[0-9]{13,}", value):  # a whole number, too long to hold: say the field's own bound
            bound = schema.get("maximum") if not value.startswith("-") else schema.get("minimum")
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                raise ValueError(_("Must be at most %(n)s.", n=bound) if not value.startswith("-")
                                 else _("Must be at least %(n)s.", n=bound))
            raise ValueError(_("The number is too large."))
        if not re.fullmatch(r"-?[0-9]{1,12}", value):
            raise ValueError(_("Enter a whole number."))
        return int(value)
    if kind == "number":
        # Bounded before conversion (Python's int-to-string limit, 25-digit amounts) and after (1e999 is
        # infinity): JSON data and integer columns cannot hold more than 15 significant digits safely.
        if len(value) > 24:
            raise ValueError(_("The number is too large."))
        if not _DECIMAL.fullmatch(value):  # ASCII digits, as an integer field's: float("١٢") is 12, "1_000" 1000
            raise ValueError(_("Enter a number."))
        try:
            number = float(value) if "." in value or "e" in value.lower() else int(value)
        except ValueError:
            raise ValueError(_("Enter a number.")) from None
        if not math.isfinite(number) or abs(number) > MAX_FORM_NUMBER:
            raise ValueError(_("The number is too large."))
        return number
    if kind == "boolean":
        return value in ("1", "true", "on", "yes")
    if schema.get("format") == "date":
        return date_entered(value)
    if schema.get("format") in _TYPED_READINGS:
        return _TYPED_READINGS[schema["format"]](value)
    return value


def typed_json(schema: Any, data: Any) -> Any:
    """JSON data (the API's) with each string of a domain format read as a page's field reads it (``typed`` of
    :func:`register_format`): "900101 300 123" sent by a program is the IIN 900101300123, as the same text typed into
    the form is. It was refused by the API alone ("Not a valid IIN") — a client that sent the school's own grouped
    spelling could not submit what the browser took. Walks the properties and items the forms draw; the data sent
    is not changed, a copy is returned."""
    if not isinstance(schema, dict):
        return data
    kind = schema.get("type")
    if kind == "object" and isinstance(data, dict):
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        return {key: typed_json(props.get(key), value) for key, value in data.items()}
    if kind == "array" and isinstance(data, list):
        return [typed_json(schema.get("items"), value) for value in data]
    if isinstance(data, str) and isinstance(schema.get("format"), str) and schema["format"] in _TYPED_READINGS:
        return _TYPED_READINGS[schema["format"]](data)
    return data


#: a number as a form's ``number`` field takes it: ASCII digits, an optional fraction and exponent
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

#: A date as people in Kazakhstan write it, day first (05.03.2026; also 5.3.2026, 05/03/2026, 05-03-2026): what a
#: form's date field asks for. ISO (2026-03-05: the API, a file's lines, a page kept from before) is taken as it is.
_DAY_FIRST = re.compile(r"([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{4})")


def date_entered(value: str) -> str:
    """The ISO date a typed date stands for; anything else unchanged (the form's ``date`` format then says so)."""
    found = _DAY_FIRST.fullmatch(value)
    if not found:
        return value
    try:
        return date(int(found[3]), int(found[2]), int(found[1])).isoformat()
    except ValueError:
        return value


def date_shown(value: Any) -> Any:
    """An ISO date as a date field shows it (dd.mm.yyyy, as it is typed); anything else as it was typed."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return f"{date.fromisoformat(value):%d.%m.%Y}"
        except ValueError:
            return value
    return value


def _is_row(part: str) -> bool:
    """Whether a part of a field's name is a row number: ASCII digits (``str.isdigit`` also took "١" and "²")."""
    return part.isascii() and part.isdigit()


def _schema_at(schema: dict, parts: list[str]) -> dict | None:
    for part in parts:
        if schema.get("type") == "array":
            if not _is_row(part):
                return None
            schema = schema.get("items", {})
        elif schema.get("type") == "object":
            props = schema.get("properties", {})
            if part not in props:
                return None
            schema = props[part]
        else:
            return None
    return schema


_ROW_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([0-9]{1,4})\.(.+)$")


def _compact_rows(form: dict[str, str]) -> dict[str, str]:
    """Drop table rows left completely blank and renumber the rest 0..n-1, so that error paths, the
    data and the re-rendered form all use the same row numbers."""
    rows: dict[str, dict[int, dict[str, str]]] = {}
    other: dict[str, str] = {}
    for name, value in form.items():
        m = _ROW_RE.match(name)
        if m:
            rows.setdefault(m.group(1), {}).setdefault(int(m.group(2)), {})[m.group(3)] = value
        else:
            other[name] = value
    for array, by_index in rows.items():
        kept = [cells for _i, cells in sorted(by_index.items()) if any(v.strip() for v in cells.values())]
        for new_index, cells in enumerate(kept):
            for key, value in cells.items():
                other[f"{array}.{new_index}.{key}"] = value
    return other


def _set_path(target: dict, parts: list[str], value: Any) -> None:
    node = target
    for part in parts[:-1]:
        node = node.setdefault(int(part) if _is_row(part) else part, {})
    node[int(parts[-1]) if _is_row(parts[-1]) else parts[-1]] = value


def _finalise(node: Any, schema: dict) -> Any:
    """Index-keyed dicts become lists, following the schema; empty values are left out."""
    kind = schema.get("type")
    if kind == "array" and isinstance(node, dict):
        items = schema.get("items", {})
        return [_finalise(node[k], items) for k in sorted(node)]
    if kind == "object" and isinstance(node, dict):
        props = schema.get("properties", {})
        out = {}
        for key, val in node.items():
            val = _finalise(val, props.get(key, {}))
            if val is not None:
                out[key] = val
        return out
    return node


#: Fields the task page adds to every form (CSRF, the instance's and the record's versions): not the form's data.
_PAGE_FIELDS = ("csrf_token", "_version", "_seen")


def parse_form(schema: dict, form: dict[str, str]) -> tuple[dict, FieldErrors]:
    """HTML form fields → data following the schema; unknown or malformed fields are errors.

    A value that cannot be coerced stays in the data as the text typed, so the form shows it again.
    """
    raw: dict = {}
    errors = FieldErrors()
    for name, value in _compact_rows({k: v for k, v in form.items() if k not in _PAGE_FIELDS}).items():
        parts = name.split(".")
        field_schema = _schema_at(schema, parts) if _FIELD_RE.match(name) else None
        if field_schema is None or field_schema.get("type") in ("object", "array"):
            # Not a field of this form: tampering or a stale page. Refuse the whole submission.
            errors["_form"] = _("Unexpected field: %(name)s.", name=name[:60])
            continue
        try:
            coerced = _coerce(value, field_schema)
        except ValueError as err:
            errors[name] = str(err)
            coerced = value
        _set_path(raw, parts, coerced)
    return _finalise(raw, schema), errors


#: Where a form's data was written, for how a date is asked for: a page's date field takes it day first, as typed
#: (dd.mm.yyyy, :func:`date_entered`); JSON data (the API's task completion) takes ISO 8601 only, and an API client
#: told "dd.mm.yyyy" would send what is refused again.
TYPED_DATES, ISO_DATES = "typed", "iso"


def _date_message(dates: str) -> str:
    if dates == ISO_DATES:
        return _("Enter a date as YYYY-MM-DD.")
    return _("Enter a real date as %(format)s, for example %(example)s.", format=_("dd.mm.yyyy"), example="05.03.2026")


def _message(error, dates: str = TYPED_DATES) -> str:
    v = error.validator
    if v == "required":
        return _("This field is required.")
    typed = error.instance if isinstance(error.instance, str) else ""
    if v == "format" and any(c.isdigit() and not c.isascii() for c in typed):
        # １２… or ١٢…: a person sees twelve digits and a right number; say what is wrong with them
        return _("Type the number with the ordinary digits 0–9 (it has digits of another script).")
    if v == "format" and error.validator_value == "date":
        return _date_message(dates)
    if v == "format":
        return {
            "iin": _("Not a valid IIN: 12 digits with a correct check digit."),
            "bin": _("Not a valid BIN: 12 digits with a correct check digit."),
            "iban-kz": _("Not a valid Kazakh IBAN (KZ, 20 characters, check digits)."),
        }.get(error.validator_value, _("Invalid format."))
    if v == "minimum":
        return _("Must be at least %(n)s.", n=error.validator_value)
    if v == "maximum":
        return _("Must be at most %(n)s.", n=error.validator_value)
    if v == "minLength":
        return _("Too short (at least %(n)s characters).", n=error.validator_value)
    if v == "maxLength":
        return _("Too long (at most %(n)s characters).", n=error.validator_value)
    if v == "minItems":
        return ngettext("Add at least %(num)s row.", "Add at least %(num)s rows.", error.validator_value)
    if v == "maxItems":
        return _("At most %(n)s rows.", n=error.validator_value)
    if v == "enum":
        return _("Choose one of the offered values.")
    if v == "type":
        return _("Wrong kind of value.")
    if v == "pattern":
        return _("Invalid format.")
    if v == "additionalProperties":
        return _("Unexpected field.")
    return _("Invalid value.")


#: Bidirectional embedding, override and isolate controls: invisible, they make a text read other than it is (a name
#: "‮аминА" shows reversed in every list that prints it). Kazakh, Russian and English text never needs them; the
#: marks U+200E/U+200F stay allowed.
_DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def has_direction_control(text: str) -> bool:
    return _DIRECTION_CONTROLS.search(text) is not None


#: Other characters a model's words must not hold, none of them drawn: C0 controls but tab, line feed and carriage
#: return, DEL and the C1 controls (U+0080–U+009F), zero-width space, non-joiner and joiner (U+200B–U+200D), word
#: joiner and invisible operators (U+2060–U+2064), a byte-order mark inside a text (U+FEFF), and the line and
#: paragraph separators (U+2028/U+2029, which break a one-line display). With them two tasks or two options look
#: the same and differ ("Accept" and "Acc\u200bept"). Kazakh, Russian and English text never needs them — the
#: non-joiner shapes Persian and Indic words, no language of this service — and the marks U+200E/U+200F stay allowed.
_INVISIBLE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2028\u2029\u2060-\u2064\ufeff]")
#: what a browser cannot send back as it is: a control character but tab (the request guard answers it with a 400) or a
#: line break (a submitted value's line breaks become CR LF), so an option holding one can never be chosen
_UNSENDABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def has_invisible_character(text: str) -> bool:
    """Whether a model's text holds an invisible character other than a direction control (those have their own
    sentence: :func:`has_direction_control`)."""
    return _INVISIBLE_CHARACTERS.search(text) is not None


def direction_controls(value: Any, path: tuple = ()) -> list[str]:
    """The paths of the strings in ``value`` that hold a direction control (first 50)."""
    found: list[str] = []
    stack = [(path, value)]
    while stack and len(found) < 50:
        where, item = stack.pop()
        if isinstance(item, str):
            if _DIRECTION_CONTROLS.search(item):
                found.append(".".join(str(p) for p in where))
        elif isinstance(item, dict):
            stack.extend((where + (k,), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((where + (i,), v) for i, v in enumerate(item))
    return found


def direction_controls_refused() -> str:
    """Why a text holding a direction control is refused — in a form's field, and in the free text typed outside
    forms (a case's comment, a line review's comment, an amendment's reason, a cockpit action's reason)."""
    return _("Remove the invisible text-direction characters: they make the text read other than it is.")


#: the bound keywords a task handler may judge itself (``TaskHandler.domain_bounds``)
_BOUND_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def validate(schema: dict, data: dict, *, dates: str = TYPED_DATES,
             domain_bounds: frozenset[str] = frozenset()) -> FieldErrors:
    """Every problem of ``data`` by field path, in the user's language; ``dates`` says how a date was to be written
    (:data:`TYPED_DATES` on a page, :data:`ISO_DATES` in JSON). ``domain_bounds``: fields (by property name) whose
    numeric bounds the task's handler judges with its record at hand (an act's days by its month), so a published
    form's fixed bound does not answer first with another rule."""
    errors = FieldErrors()
    for path in direction_controls(data):
        errors.setdefault(path or "_form", direction_controls_refused())
    if reference_expansion(schema) is not None:  # a version published before reference loops were checked
        errors["_form"] = _("This form cannot be checked: its references lead back to themselves or repeat too "
                            "often. Ask the process owner to correct the form.")
        return errors
    try:
        found = list(form_validator(schema).iter_errors(data))
    except _WrappedReferencingError:  # a version published before references were checked
        errors["_form"] = _("This form cannot be checked: its schema refers to something outside it. Ask the "
                            "process owner to correct the form.")
        return errors
    for err in found:
        if err.validator in _BOUND_KEYWORDS and err.absolute_path and err.absolute_path[-1] in domain_bounds:
            continue
        path = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required":
            missing = re.search(r"'([^']+)' is a required property", err.message)
            if missing:
                path = f"{path}.{missing.group(1)}" if path else missing.group(1)
        errors.setdefault(path or "_form", _message(err, dates))
    return errors


#: The compiled validators of the handlers' data shapes (module constants), by identity.
_SHAPE_VALIDATORS: dict[int, tuple[dict, Any]] = {}


def shape_errors(shape: dict, form_schema: dict, data: dict, *, dates: str = TYPED_DATES,
                 domain_bounds: frozenset[str] = frozenset()) -> FieldErrors:
    """What a task handler's own data shape (``TaskHandler.data_shape``) refuses of data the step's form accepted.

    The domain's checks do not depend on the form a process owner published: a form loosened to take a grade as
    text, any twelve characters as an IIN or 50,000 lines is refused here with the same messages. A field the
    form does not draw gets its message in the form's heading, named by its path, rather than nowhere."""
    cached = _SHAPE_VALIDATORS.get(id(shape))
    if cached is None or cached[0] is not shape:
        cached = _SHAPE_VALIDATORS[id(shape)] = (shape, form_validator(shape))
    if cached[1].is_valid(data):
        return FieldErrors()
    errors = FieldErrors()
    for path, message in validate(shape, data, dates=dates, domain_bounds=domain_bounds).items():
        if path == "_form" or _schema_at(form_schema, path.split(".")) is not None:
            errors.setdefault(path, message)
        else:
            errors.setdefault("_form", f"{path}: {message}")
    return errors


def shape_gaps(shape: dict, form_schema: Any, path: str = "") -> list[tuple[str, str]]:
    """The fields a handler's shape requires that a form cannot give as it needs them: ``(path, type)`` of each one
    the form lacks or types otherwise (at publishing: such a step could never be completed). A format or bound the
    form leaves out is no gap: the shape is checked on completion anyway."""
    gaps: list[tuple[str, str]] = []
    if not isinstance(form_schema, dict):
        return gaps
    props, form_props = shape.get("properties", {}), form_schema.get("properties")
    for name in shape.get("required", []):
        want, where = props.get(name, {}), f"{path}{name}"
        have = form_props.get(name) if isinstance(form_props, dict) else None
        if not isinstance(have, dict):
            gaps.append((where, want.get("type", "")))
            continue
        kinds = have.get("type")
        if "type" in want and kinds is not None and want["type"] not in (kinds if isinstance(kinds, list) else [kinds]):
            gaps.append((where, want["type"]))
        elif want.get("type") == "object":
            gaps += shape_gaps(want, have, f"{where}.")
        elif want.get("type") == "array" and isinstance(want.get("items"), dict):
            gaps += shape_gaps(want["items"], have.get("items"), f"{where}.*.")
    return gaps


def parse_and_validate(schema: dict, form: dict[str, str]) -> tuple[dict, FieldErrors]:
    data, errors = parse_form(schema, form)
    if not errors:
        errors = validate(schema, data)
    return data, errors


def localised(value: Any, locale: str) -> Any:
    """UI-schema texts may be a string or {"kk": ..., "ru": ..., "en": ...}: the reader's language, else English,
    else any."""
    if isinstance(value, dict):
        return value.get(locale) or value.get("en") or next(iter(value.values()), "")
    return value


def field_label(ui_title: Any, schema_title: Any, key: str, locale: str) -> str:
    """A field's label: its ``ui:title`` in the reader's language or English, else the schema's ``title``, else
    the ``ui:title`` in another language, else the key. (An English reader of a field titled in ru/kk only read
    the Russian text, not the schema's own title.)"""
    if isinstance(ui_title, dict):
        mine = ui_title.get(locale) or ui_title.get("en")
        return mine or schema_title or localised(ui_title, locale) or key
    return ui_title or schema_title or key


#: fields a form may have (each is an input on the task page: 20,000 made a 5.8 MB page that took 14 s)
MAX_FIELDS = 300
#: ``ui:widget`` values: those the page draws, and react-jsonschema-form's (SpiffArena's forms), drawn as the
#: closest input the page has
WIDGETS = frozenset({"radio", "textarea", "date", "password", "text", "email", "uri", "color", "datetime",
                     "alt-date", "alt-datetime", "updown", "range", "select", "checkbox", "checkboxes", "hidden"})
_TEXT_KEYS = ("ui:title", "ui:help", "ui:description", "ui:placeholder")


#: blank rows a table field offers below its filled ones (``ui:extraRows``): each is a row of inputs on the page
MAX_EXTRA_ROWS = 50


def extra_rows(ui: Any) -> int:
    """``ui:extraRows`` of a table field, as the page renders it: 1 unless a whole number in 0 … MAX_EXTRA_ROWS."""
    value = ui.get("ui:extraRows", 1) if isinstance(ui, dict) else 1
    if isinstance(value, bool) or not isinstance(value, int):
        return 1
    return max(0, min(value, MAX_EXTRA_ROWS))


def is_table(schema: Any) -> bool:
    """A field the page renders as a table of rows: an array of objects."""
    return (isinstance(schema, dict) and schema.get("type") == "array" and isinstance(schema.get("items"), dict)
            and schema["items"].get("type") == "object")


def pattern_problems(schema: Any) -> list[str]:
    """Rules of a form no value could meet, or that could not be checked safely, in the user's language: a
    ``pattern`` RE2 does not run (look-around, back-references — :func:`pattern_re`), ``patternProperties`` (its
    keys are matched by Python's backtracking ``re`` inside jsonschema, and no input is drawn for them), an empty
    ``enum`` (nothing can be chosen)."""
    import re2

    found: list[str] = []

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 200:
            return
        if isinstance(node, dict):
            pattern = node.get("pattern")
            if isinstance(pattern, str):
                try:
                    pattern_re(pattern)
                except re2.error:
                    found.append(_("JSON Schema: the pattern %(pattern)s cannot be checked here: look-ahead, "
                                   "look-behind and back-references are not supported. Write it without them.",
                                   pattern=pattern[:80]))
            if "patternProperties" in node:
                found.append(_("JSON Schema: patternProperties is not supported: a form names each of its fields."))
            if node.get("enum") == []:
                found.append(_("JSON Schema: an empty enum leaves nothing to choose; list the values or remove "
                               "it."))
            for value in node.values():
                walk(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)

    walk(schema)
    return found


def form_shape_problems(schema: dict, ui: Any) -> list[tuple[str, str]]:
    """What the page needs of a form beyond a valid JSON Schema, in the user's language: every field a schema
    object (JSON Schema also allows ``true``/``false``, which no input can be drawn for), every UI entry an object,
    ``ui:order`` a list of names, ``ui:extraRows`` a whole number from 0 to MAX_EXTRA_ROWS (each is a row of inputs:
    20,000 made a 5.5 MB page). Checked when a form is previewed, saved, imported and published. Each problem is
    (``"schema"`` or ``"ui"``: the file it is in, the message)."""
    problems: list[tuple[str, str]] = [("schema", message) for message in reference_problems(schema)]
    problems += [("schema", message) for message in pattern_problems(schema)]
    problems += _direction_control_problems(schema, ui)
    problems += [("schema", message) for _path, message in form_field_name_problems(schema)]

    def walk(node: dict, node_ui: Any, path: str, in_table: bool = False, rows: int = 1) -> None:
        if not isinstance(node_ui, dict):
            problems.append(("ui", _("UI schema: the entry of %(name)s must be a JSON object.", name=path or "/")))
            node_ui = {}
        props = node.get("properties", {})
        if not isinstance(props, dict):
            return  # the JSON Schema check reports it
        required = node.get("required")
        if isinstance(required, list) and "properties" in node:
            for name in required:
                if isinstance(name, str) and name not in props:
                    # No input is drawn for it, so the form could never be submitted ("the form has errors",
                    # with no field marked).
                    problems.append(("schema", _("JSON Schema: %(name)s is required but is not one of the form's "
                                                 "fields.", name=f"{path}/{name}" if path else name)))
        order = node_ui.get("ui:order")
        if order is not None and not (isinstance(order, list) and all(isinstance(o, str) for o in order)):
            problems.append(("ui", _('UI schema: "ui:order" of %(name)s must be a list of field names.',
                                     name=path or "/")))
        elif order is not None:
            for name in order:
                if name != "*" and name not in props:
                    problems.append(("ui", _('UI schema: "ui:order" of %(name)s names %(field)s, which is not one of '
                                             "the form's fields.", name=path or "/", field=json.dumps(name)[:60])))
        if not path and not in_table:
            for key in sorted(set(props) & reserved_names()):
                problems.append(("schema", _("JSON Schema: field %(name)s has the name of a value the process is "
                                             "started with; a person's answer would overwrite it. Rename the field.",
                                             name=key)))
        for key, sub in props.items():
            where = f"{path}/{key}" if path else key
            counted[0] += 1
            if counted[0] == MAX_FIELDS + 1:
                problems.append(("schema", _("JSON Schema: a form has at most %(max)s fields; split it into several "
                                             "steps.", max=MAX_FIELDS)))
            if not isinstance(sub, dict):
                problems.append(("schema", _("JSON Schema: field %(name)s needs a schema object with a type, not "
                                             "%(value)s.", name=where, value=json.dumps(sub)[:40])))
                continue
            sub_ui = node_ui.get(key, {})
            if not isinstance(sub_ui, dict):
                problems.append(("ui", _("UI schema: the entry of %(name)s must be a JSON object.", name=where)))
                continue
            problems.extend(("ui", message) for message in _ui_entry_problems(sub_ui, where))
            problems.extend(_never_valid_problems(sub, sub_ui, where))
            if is_table(sub) and not in_table:
                extra = sub_ui.get("ui:extraRows", 1)
                if isinstance(extra, bool) or not isinstance(extra, int) or not 0 <= extra <= MAX_EXTRA_ROWS:
                    problems.append(("ui", _('UI schema: "ui:extraRows" of %(name)s must be a whole number from 0 '
                                             'to %(max)s, not %(value)s.', name=where, max=MAX_EXTRA_ROWS,
                                             value=json.dumps(extra)[:40])))
                walk(sub["items"], sub_ui.get("items", {}), where, in_table=True, rows=max(extra_rows(sub_ui), 1))
            elif (why := _undrawable(sub, in_table)) is not None:
                problems.append(("schema", _("JSON Schema: field %(name)s cannot be drawn as an input (%(why)s): a "
                                             "form has text, number, date, yes/no and choice fields, and tables of "
                                             "rows of those.", name=where, why=why)))
            else:
                offered = option_count(sub)
                if offered > MAX_OPTIONS:
                    problems.append(("schema", _("JSON Schema: field %(name)s offers %(count)s options, more than a "
                                                 "list can show (at most %(max)s); let people type the value, or "
                                                 "split the choice.", name=where, count=offered, max=MAX_OPTIONS)))
                drawn[0] += min(offered, MAX_OPTIONS) * rows  # a field past its own limit is said once

    counted, drawn = [0], [0]
    walk(schema, ui if ui is not None else {}, "")
    if drawn[0] > MAX_DRAWN_OPTIONS:
        problems.append(("schema", _("JSON Schema: the form draws %(count)s options in all (a table's choice once in "
                                     "each row it shows), more than %(max)s; offer fewer, or fewer blank rows "
                                     "(\"ui:extraRows\").", count=drawn[0], max=MAX_DRAWN_OPTIONS)))
    return problems


#: options one choice field offers: each is an <option> (or a radio button) on the page and a comparison on each
#: submit — 40,000 in a table's column of 50 blank rows made a 71 MB task page that took a worker 69 s to draw
MAX_OPTIONS = 500
#: options of the whole page as drawn, a table's column counted in each blank row it shows
MAX_DRAWN_OPTIONS = 20_000


def option_count(field: dict) -> int:
    """How many options a field offers: its ``enum``'s values or its labelled ``oneOf``/``anyOf`` branches."""
    for key in ("enum", "oneOf", "anyOf"):
        if isinstance(field.get(key), list):
            return len(field[key])
    return 0


def _direction_control_problems(schema: Any, ui: Any) -> list[tuple[str, str]]:
    """A text of the form holding a direction control (U+202A–U+202E, U+2066–U+2069): a label, a hint, an option,
    a default. The answers people type were refused them (:func:`validate`), the words the form puts in front of
    them were not: a field titled "<U+202E>00.005 12 :тнемйаП" read "Payment: 21 500.00" on the accountant's page. Keys
    count too (a field's name shows where its title is missing). So are the other invisible characters
    (:data:`_INVISIBLE_CHARACTERS`: two options "Accept" and "Acc<U+200B>ept" looked the same), and an option's value
    (``enum``, ``const``) a browser cannot send back (a NUL was a 400 on every submit choosing it). One problem per
    text, the direction control's first."""
    found: list[tuple[str, str]] = []
    for part, document in (("schema", schema), ("ui", ui)):
        stack: list = [((), document, False)]
        paths: list[tuple[tuple, str]] = []
        while stack and len(paths) < 5:
            where, node, is_option = stack.pop()
            if isinstance(node, str):
                kind = _text_kind(node, is_option and part == "schema")
                if kind:
                    paths.append((where, kind))
            elif isinstance(node, dict):
                for key, value in node.items():
                    if isinstance(key, str) and (kind := _text_kind(key, False)):
                        paths.append(((*where, key), kind))
                    stack.append(((*where, key), value, key == "const"))
            elif isinstance(node, list):
                options = bool(where) and where[-1] == "enum"
                stack.extend(((*where, i), item, options) for i, item in enumerate(node))
        for where, kind in sorted(paths, key=lambda found: [str(p) for p in found[0]]):
            shown = json.dumps("/" + "/".join(str(p) for p in where), ensure_ascii=True)[:120]
            found.append((part, _text_problem(part, kind, shown)))
    return found


def _text_kind(text: str, is_option: bool) -> str:
    """What is wrong with one of a form's texts, if anything: ``"direction"``, ``"unsendable"`` (an option's value
    holding a control character or a line break) or ``"invisible"``; ``""`` when nothing is."""
    if has_direction_control(text):
        return "direction"
    if is_option and _UNSENDABLE.search(text):
        return "unsendable"
    return "invisible" if has_invisible_character(text) else ""


def _text_problem(part: str, kind: str, shown: str) -> str:
    if kind == "direction":
        return (_("JSON Schema: the text at %(where)s holds invisible text-direction characters: they make it read "
                  "other than it is. Remove them.", where=shown) if part == "schema"
                else _("UI schema: the text at %(where)s holds invisible text-direction characters: they make it "
                       "read other than it is. Remove them.", where=shown))
    if kind == "unsendable":
        return _("JSON Schema: the option at %(where)s holds a control character or a line break: a browser cannot "
                 "send it back, so it could never be chosen. Remove it.", where=shown)
    return (_("JSON Schema: the text at %(where)s holds invisible characters (zero-width, control or line-separator "
              "characters): it would look the same as a text that differs from it. Remove them.", where=shown)
            if part == "schema"
            else _("UI schema: the text at %(where)s holds invisible characters (zero-width, control or "
                   "line-separator characters): it would look the same as a text that differs from it. Remove "
                   "them.", where=shown))


_BOUNDS = (("minimum", "maximum"), ("exclusiveMinimum", "exclusiveMaximum"), ("minimum", "exclusiveMaximum"),
           ("exclusiveMinimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems"))


def _never_valid_problems(field: dict, entry: dict, where: str) -> list[tuple[str, str]]:
    """A field no answer (or no default) can satisfy: bounds that exclude every value (minimum 5, maximum 1), a
    default the field itself refuses ("abc" for an integer), labels in ``ui:enumNames`` for values the field does not
    offer."""
    found: list[tuple[str, str]] = []
    for low, high in _BOUNDS:
        lo, hi = field.get(low), field.get(high)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lo, hi)):
            continue
        if lo > hi or (lo == hi and (low.startswith("exclusive") or high.startswith("exclusive"))):
            found.append(("schema", _("JSON Schema: field %(name)s can never be valid: %(low)s %(lo)s and "
                                      "%(high)s %(hi)s leave no value between them.", name=where, low=low,
                                      lo=json.dumps(lo), high=high, hi=json.dumps(hi))))
    if "default" in field:
        checked = {k: v for k, v in field.items() if k not in ("default", "title", "description")}
        try:
            # The forms' own validator: RE2 patterns and no references outside the form. jsonschema's default one
            # matched a ``pattern`` with Python's backtracking re (``^(a+)+$`` against a default of 30 a's and a
            # "!" held the worker for a minute) and fetched any ``$ref`` URL — from the live preview, which an
            # auditor may use, on every keystroke. ``patternProperties`` (refused above) would still be matched
            # by Python's re: such a default is not checked.
            # A field's references are read against the field (its own "$defs"): ones that loop or multiply — 3³⁰
            # checks of one default — are not followed (the form's own check reports what it can of them).
            valid = (_has_key(checked, "patternProperties") or reference_expansion(checked) is not None
                     or FormValidator(checked, registry=_NOTHING_OUTSIDE).is_valid(field["default"]))
        except Exception:  # noqa: BLE001 - an unreadable schema is the JSON Schema check's to report
            valid = True
        if not valid:
            found.append(("schema", _("JSON Schema: the default of field %(name)s, %(value)s, is not a valid answer "
                                      "of the field itself.", name=where, value=json.dumps(field["default"])[:60])))
    names = entry.get("ui:enumNames")
    if isinstance(names, dict):
        offered = {str(v) for v in field.get("enum", [])} if isinstance(field.get("enum"), list) else set()
        for value in names:
            if value not in offered:
                found.append(("ui", _('UI schema: "ui:enumNames" of %(name)s names the value %(value)s, which the '
                                      "field does not offer.", name=where, value=json.dumps(value)[:60])))
    return found


def _has_key(node: Any, key: str) -> bool:
    """Whether ``key`` is a key of ``node`` or of any object inside it (walked without recursion)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if key in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _ui_entry_problems(entry: dict, where: str) -> list[str]:
    """A field's UI entry: its texts a string or {"kk", "ru", "en"} of strings, its widget one the page knows
    (``{"ru": 123}`` and ``"ui:widget": "foo"`` had been taken silently)."""
    found = []
    for key in _TEXT_KEYS:
        value = entry.get(key)
        if value is None or isinstance(value, str):
            continue
        if not (isinstance(value, dict) and value and set(value) <= {"kk", "ru", "en"}
                and all(isinstance(v, str) for v in value.values())):
            found.append(_('UI schema: "%(key)s" of %(name)s must be a text, or texts by language {"kk": …, '
                           '"ru": …, "en": …}.', key=key, name=where))
    widget = entry.get("ui:widget")
    if widget is not None and (not isinstance(widget, str) or widget not in WIDGETS):
        found.append(_('UI schema: "ui:widget" of %(name)s is %(value)s, which the page does not know; use one of '
                       '%(known)s.', name=where, value=json.dumps(widget)[:40],
                       known=", ".join(sorted(WIDGETS))))
    return found


_SCALAR_TYPES = {"string", "number", "integer", "boolean", "null"}


def _undrawable(field: dict, in_table: bool) -> str | None:
    """Why the page cannot draw ``field`` as one input (None: it can). Such a field was drawn as a text box whose
    answer the form then refused ("Unexpected field", "Wrong kind of value"): the task could never be done."""
    if "$ref" in field or "$dynamicRef" in field:
        return _("a reference")
    if any(key in field for key in ("allOf", "if", "not", "patternProperties")):
        return _("a combined schema")
    types = field.get("type")
    for typ in (types if isinstance(types, list) else [types] if types is not None else []):
        if typ == "object":
            return _("an object of fields")
        if typ == "array":
            return _("a table inside a table") if in_table and is_table(field) else _("a list")
        if typ not in _SCALAR_TYPES:
            return _("type %(type)s", type=json.dumps(typ)[:40])
    return None
