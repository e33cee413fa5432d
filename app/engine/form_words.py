"""A form's fields named as the person who reads a model's problems calls them.

A step whose form could not give its handler the data it needs was reported with the data's path —
``lines.*.grade (integer)`` — which a process owner does not read. The field is named by its label in the form (its
``ui:title`` in the reader's language, its ``title``), else by the handler's shape, else by its key, and placed in
its table or group ("the field «Grade» of each row of «Students»"); the path stays with the problem as its detail,
for the expert.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from app.engine.forms import field_label


def _properties(node: Any) -> dict:
    props = node.get("properties") if isinstance(node, dict) else None
    return props if isinstance(props, dict) else {}


def _entry(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, dict) else None


def kind_words(kind: str) -> str:
    """A JSON Schema type as a person calls the kind of answer."""
    words = {"string": _("a text"), "integer": _("a whole number"), "number": _("a number"),
             "boolean": _("a yes/no answer"), "array": _("a table of rows"), "object": _("a group of fields")}
    return words.get(kind) or kind or _("any answer")


def field_words(path: str, form_schema: Any, ui: Any, shape: Any) -> str:
    """``lines.*.grade`` as "the field «Grade» of each row of «Students»", in the reader's language."""
    locale = str(get_locale() or "en")
    parts = path.split(".")
    named: list[tuple[str, bool]] = []  # (label, is a table) of each field on the path
    form_node, ui_node, shape_node = form_schema, ui, shape
    for index, part in enumerate(parts):
        if part == "*":
            continue
        form_field = _properties(form_node).get(part)
        shape_field = _properties(shape_node).get(part)
        ui_field = _entry(ui_node, part)
        title = _entry(form_field, "title") or _entry(shape_field, "title")
        label = field_label(_entry(ui_field, "ui:title"), title if isinstance(title, str) else None, part, locale)
        table = index + 1 < len(parts) and parts[index + 1] == "*"
        named.append((str(label), table))
        if table:
            form_field, ui_field, shape_field = (_entry(n, "items") for n in (form_field, ui_field, shape_field))
        form_node, ui_node, shape_node = form_field, ui_field, shape_field
    field = named[-1][0] if named else path
    if len(named) < 2:
        return _("the field «%(field)s»", field=field)
    container = " › ".join(label for label, _table in named[:-1])
    if named[-2][1]:
        return _("the field «%(field)s» of each row of «%(table)s»", field=field, table=container)
    return _("the field «%(field)s» of «%(group)s»", field=field, group=container)


#: the types a JSON Schema's ``type`` names
SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")


def schema_mistake(err: Any) -> str:
    """A form's JSON Schema that is not valid JSON Schema (jsonschema's ``SchemaError``), in the reader's language:
    where in the schema, the value, and what is wrong with it — jsonschema's own words ("'strin' is not valid under
    any of the given schemas", "'ten' is not of type 'integer'") were English on a Kazakh or Russian page."""
    import json

    where = ".".join(str(part) for part in err.path) or "(schema)"
    value = json.dumps(err.instance, ensure_ascii=False, default=str)
    value = value if len(value) <= 60 else value[:59] + "…"
    if err.path and err.path[-1] == "type":
        what = _("%(value)s is not a type of JSON Schema; use %(types)s", value=value, types=", ".join(SCHEMA_TYPES))
    elif err.validator == "type":
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        what = _("%(value)s is not %(kind)s", value=value,
                 kind=" / ".join(kind_words(str(kind)) for kind in expected))
    elif err.validator == "minimum":
        what = _("%(value)s is less than %(n)s", value=value, n=err.validator_value)
    elif err.validator == "enum":
        what = _("%(value)s is not one of %(allowed)s", value=value,
                 allowed=", ".join(json.dumps(v, ensure_ascii=False) for v in err.validator_value))
    else:
        what = _("%(value)s is not allowed here", value=value)
    return f"{where}: {what}"
