"""Turn a JSON Schema + UI schema into field descriptors the server-side templates render.

The same descriptors serve every user task (and, later, the form editor's live preview), so what a
process owner designs is exactly what the accountant sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.engine.forms import OPTIONS_CUT, date_shown, extra_rows, field_label, is_table, localised


@dataclass
class Field:
    name: str
    label: str
    kind: str  # text | textarea | number | date | select | radio | checkbox | table
    required: bool = False
    value: Any = None
    error: str | None = None
    help: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    columns: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    row_errors: dict[int, str] = field(default_factory=dict)
    #: a table's rows marked for the reader (a returned act's excluded lines): row index → the reason shown on it
    row_marks: dict[int, str] = field(default_factory=dict)


#: an IIN or BIN as a page's field takes it (the browser's check, never stricter than the server's): twelve ASCII
#: digits, perhaps set apart by the spaces and dashes app/registry/cells.py removes
IDENTIFIER_TYPED = "\\s*[0-9](?:[\\s\\-\u2010-\u2014\u2212]*[0-9]){11}\\s*"
IDENTIFIER_TYPED_LENGTH = 23


def _obj(value: Any) -> dict:
    """A schema or UI entry as the page reads it: forms are checked when saved and published
    (``forms.form_shape_problems``), so anything else is an older version's, drawn as an empty entry, never a 500."""
    return value if isinstance(value, dict) else {}


def _ordered(schema: dict, ui: dict) -> list[str]:
    props = list(_obj(schema.get("properties")))
    wanted = ui.get("ui:order")
    order = [p for p in (wanted if isinstance(wanted, list) else []) if isinstance(p, str) and p in props]
    return order + [p for p in props if p not in order]


def choice_options(schema: dict) -> list[tuple]:
    """``anyOf``/``oneOf`` of single-value branches (``{"enum": [v], "title": t}`` or ``{"const": v}``), the way
    SpiffArena forms list labelled options: [(value, title)]; [] for any other schema."""
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key)
        if not isinstance(branches, list) or not branches:
            continue
        out = []
        for branch in branches:
            if not isinstance(branch, dict):
                return []
            if "const" in branch:
                value = branch["const"]
            elif isinstance(branch.get("enum"), list) and len(branch["enum"]) == 1:
                value = branch["enum"][0]
            else:
                return []
            out.append((value, branch.get("title") or value))
        return out
    return []


def _joined(texts: list) -> str:
    """Helps and notes said one after the other. A stored form of any shape is still drawn: a help that is not text (a
    version published before the checks) is left out."""
    return " ".join(t for t in texts if isinstance(t, str) and t)


def _cut_note(schema: dict) -> str | None:
    """What a choice filled from task data says when it offers fewer options than its variable holds (the limits of
    a page: forms.with_task_data_options)."""
    cut = schema.get(OPTIONS_CUT)
    if not (isinstance(cut, list) and len(cut) == 2):
        return None
    return _("Only the first %(shown)s of %(count)s options can be shown here. If yours is not among them, tell the "
             "process owner: the list needs narrowing.", shown=cut[0], count=cut[1])


def _scalar(name: str, key: str, schema: dict, ui: dict, value, errors: dict, required: bool, locale: str) -> Field:
    label = field_label(ui.get("ui:title"), schema.get("title"), key, locale)
    widget = ui.get("ui:widget")
    kind = "text"
    attrs: dict[str, Any] = {}
    options: list[tuple[str, str]] = []
    typ = schema.get("type")
    if isinstance(schema.get("enum"), list):
        names = _obj(ui.get("ui:enumNames"))
        options = [(str(v), localised(names.get(str(v)), locale) or str(v)) for v in schema["enum"]]
        kind = "radio" if widget == "radio" else "select"
    elif choice_options(schema):
        options = [(str(v), localised(t, locale) or str(v)) for v, t in choice_options(schema)]
        kind = "radio" if widget == "radio" else "select"
    elif typ in ("integer", "number"):
        kind = "number"
        attrs.update({k: schema[k] for k in ("minimum", "maximum") if k in schema})
        if typ == "integer":
            attrs["step"] = 1
    elif typ == "boolean":
        kind = "checkbox"
    elif schema.get("format") == "date" or widget == "date":
        # Typed day first, as the user's language writes it: the browser's own date field orders day and month by
        # the browser's language (mm/dd/yyyy in an English browser), not the one chosen here.
        kind = "date"
        value = date_shown(value)
        attrs.update({"inputmode": "numeric", "maxlength": 10, "autocomplete": "off", "lang": locale,
                      "placeholder": _("dd.mm.yyyy"), "data-format": "date"})
    elif widget == "textarea":
        kind = "textarea"
    elif widget == "password":
        kind = "password"  # never echoed back into the page
        value = None
    if "maxLength" in schema:
        attrs["maxlength"] = schema["maxLength"]
    if schema.get("format") in ("iin", "bin"):
        # twelve digits, which may be written in groups as they are copied from a document ("791028 302728"): the
        # server reads them (app/registry/formats.py); a maxlength of 12 cut a pasted grouped IIN to 11 digits
        attrs.update({"maxlength": IDENTIFIER_TYPED_LENGTH, "inputmode": "numeric", "pattern": IDENTIFIER_TYPED,
                      "data-format": schema["format"]})
    elif schema.get("format") == "iban-kz":
        attrs["data-format"] = "iban-kz"
    if isinstance(schema.get("pattern"), str) and kind == "text":
        # The page checks it before a decisive submit asks its question (early.js); the server still decides.
        attrs["data-pattern"] = schema["pattern"]
    if ui.get("ui:inputmode"):
        attrs["inputmode"] = ui["ui:inputmode"]
    help_text = localised(ui.get("ui:help"), locale)
    help_text = _joined([help_text, _cut_note(schema)])
    if kind == "date" and _("dd.mm.yyyy") not in str(errors.get(name) or ""):
        # an error that already names the format is not followed by the hint saying it again (the page read
        # "Enter a real date as dd.mm.yyyy, for example 05.03.2026. Write the date as dd.mm.yyyy.")
        help_text = " ".join(filter(None, [help_text, _("Write the date as %(format)s.", format=_("dd.mm.yyyy"))]))
    return Field(name=name, label=label, kind=kind, required=required, value=value, error=errors.get(name),
                 help=help_text, options=options, attrs=attrs)


def build_fields(schema: dict, ui: dict, values: dict, errors: dict, locale: str, prefix: str = "") -> list[Field]:
    fields: list[Field] = []
    required = set(schema.get("required", []))
    ui = _obj(ui)
    for key in _ordered(schema, ui):
        sub = _obj(schema["properties"][key])
        sub_ui = _obj(ui.get(key))
        name = f"{prefix}{key}"
        value = (values or {}).get(key)
        if is_table(sub):
            items, items_ui = sub["items"], _obj(sub_ui.get("items"))
            item_required = set(items.get("required", []))
            keys = _ordered(items, items_ui)
            item_props = _obj(items.get("properties"))
            columns = [_scalar(k, k, _obj(item_props[k]), _obj(items_ui.get(k)), None, {}, k in item_required,
                               locale) for k in keys]
            filled = value if isinstance(value, list) else []
            rows_values = filled + [{}] * extra_rows(sub_ui)
            rows = [
                [_scalar(f"{name}.{i}.{k}", k, _obj(item_props[k]), _obj(items_ui.get(k)),
                         row.get(k) if isinstance(row, dict) else None, errors, False, locale) for k in keys]
                for i, row in enumerate(rows_values)
            ]
            row_errors = {i: errors[f"{name}.{i}"] for i in range(len(rows_values)) if f"{name}.{i}" in errors}
            fields.append(Field(name=name, label=field_label(sub_ui.get("ui:title"), sub.get("title"), key, locale),
                                kind="table", required=key in required, error=errors.get(name),
                                help=_joined([localised(sub_ui.get("ui:help"), locale)] + [
                                    f"{c.label}: {note}" for c, k in zip(columns, keys, strict=True)
                                    if (note := _cut_note(_obj(item_props[k])))]), columns=columns, rows=rows,
                                row_errors=row_errors))
        else:
            fields.append(_scalar(name, key, sub, sub_ui, value, errors, key in required, locale))
    return fields
