"""Names that become keys of the process's data: what a form's fields, data objects, operators' results, decision
outputs and multi-instance items may be called.

A form field named ``applicant.age`` published without a problem, then failed when it ran: the task page sends it as
``applicant.age``, which the form reads as the field ``age`` inside ``applicant`` ("Unexpected field"), and a gateway
testing ``applicant.age > 6`` reads the name ``applicant``, which nothing sets. The same holds for any name that is
not one Python name: a space, a dash, a leading digit, Cyrillic letters (the page's field names are Latin), a leading
``_`` (the sandbox refuses such names), one of Python's own words (``class``, ``None``). Supporting such names would
need a second way of reading data in every expression; they are refused when the model is saved and published
instead, each where it is written, with a name that would do.
"""

from __future__ import annotations

import json
import keyword
import re

from flask_babel import gettext as _

from app.engine.errors import ModelProblem

_DATA_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: fields the task page sends with every form itself (CSRF): a form field of that name never reaches the data
_PAGE_FIELDS = frozenset({"csrf_token"})


def is_data_key(name: object) -> bool:
    """Whether ``name`` can be a key of task data that conditions, scripts and the task page all read as one name."""
    return (isinstance(name, str) and _DATA_KEY.match(name) is not None and not keyword.iskeyword(name)
            and name not in _PAGE_FIELDS)


def _suggestion(name: str) -> str | None:
    """A name that would do for ``name`` (``applicant.age`` → ``applicant_age``), or None when none can be made."""
    words = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    if not words:
        return None
    if not words[0].isalpha():
        words = f"field_{words}"
    return words if is_data_key(words) else f"{words}_"


def _why(name: str) -> str:
    """The rule, and a name that keeps to it, in the reader's language."""
    rule = _("Conditions, scripts and the task page read the process's data by name: a name has only Latin letters, "
             "digits and _, starts with a letter, and is not one of Python's own words (if, class, None…).")
    better = _suggestion(name)
    return f"{rule} {_('Rename it, e.g. %(name)s.', name=better)}" if better else rule


def form_field_name_problems(schema: object) -> list[tuple[list[str], str]]:
    """(path, message) of each field of a form — a table's columns too — whose name cannot be a key of the data."""
    found: list[tuple[list[str], str]] = []

    def walk(node: object, path: list[str], depth: int = 0) -> None:
        if depth > 50 or not isinstance(node, dict):
            return
        props = node.get("properties")
        if isinstance(props, dict):
            for key, sub in props.items():
                where = [*path, key]
                if not is_data_key(key):
                    found.append((where, _("JSON Schema: the field %(name)s has a name the process cannot use for "
                                           "its data.", name=json.dumps("/".join(where), ensure_ascii=False))
                                  + " " + _why(key)))
                walk(sub, where, depth + 1)
        items = node.get("items")
        if isinstance(items, dict):
            walk(items, path, depth + 1)

    walk(schema, [])
    return found


def json_key_line(text: str, path: list[str]) -> int | None:
    """The line of ``text`` (a JSON file) where the key at ``path`` is written: each key looked for after the one
    before it, written as JSON writes it (escaped or not)."""
    position, line = 0, None
    for key in path:
        spellings = {json.dumps(key), json.dumps(key, ensure_ascii=False)}
        matches = [m for m in (re.compile(re.escape(s) + r"\s*:").search(text, position) for s in spellings) if m]
        if not matches:
            return None
        match = min(matches, key=lambda m: m.start())
        position, line = match.end(), text.count("\n", 0, match.start()) + 1
    return line


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _problem(filename: str, el, message: str, name: str) -> ModelProblem:
    return ModelProblem(filename, f"{message} {_why(name)}", el.get("id"), el.sourceline, el.get("name") or None)


def _used_data_objects(root) -> set[str]:
    """The ids of the data objects a step reads or writes (through a reference to it, or itself): one drawn and used
    by nothing never becomes a key of the data."""
    refs = {el.get("id"): el.get("dataObjectRef") for el in root.iter("{*}dataObjectReference")}
    ends = {(el.text or "").strip() for el in root.iter("{*}sourceRef", "{*}targetRef")
            if _local(el.getparent().tag) in ("dataInputAssociation", "dataOutputAssociation")}
    return {refs.get(end) or end for end in ends}


def model_data_key_problems(trees: dict) -> list[ModelProblem]:
    """The names a model's diagrams and decision tables give to data that cannot be keys of it: the id of a data
    object a step reads or writes (the engine keeps the object under its id), an operator's result variable, a
    multi-instance step's item, a decision table's output (``norm.primary`` is the key ``primary`` inside ``norm``:
    only its first part counts; an output without a name is kept under its label)."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if filename.endswith(".dmn"):
            for output in root.iter("{*}output"):
                name = output.get("name") or output.get("label") or ""
                if name and not is_data_key(name.split(".")[0]):
                    problems.append(_problem(filename, output, _(
                        "The output %(name)s of this decision table has a name the process cannot use for its "
                        "data.", name=json.dumps(name, ensure_ascii=False)), name.split(".")[0]))
            continue
        if not filename.endswith(".bpmn"):
            continue
        used = _used_data_objects(root)
        for el in root.iter():
            tag = _local(el.tag)
            if tag == "dataObject" and el.get("id") in used and not is_data_key(el.get("id")):
                problems.append(_problem(filename, el, _(
                    "The data object's id %(name)s is a name the process cannot use for its data (the engine "
                    "keeps the object under its id).", name=json.dumps(el.get("id"), ensure_ascii=False)),
                    el.get("id")))
            elif tag == "serviceTaskOperator" and el.get("resultVariable") is not None:
                name = el.get("resultVariable")
                if name.strip() and not is_data_key(name):
                    owner = el.getparent().getparent() if el.getparent() is not None else None
                    problems.append(_problem(filename, owner if owner is not None else el, _(
                        "The result variable %(name)s is a name the process cannot use for its data.",
                        name=json.dumps(name, ensure_ascii=False)), name))
            elif tag in ("inputDataItem", "outputDataItem"):
                name = el.get("id") or ""  # the engine keeps the item under its id
                if name and not is_data_key(name):
                    loop = el.getparent()
                    owner = loop.getparent() if loop is not None and loop.getparent() is not None else el
                    problems.append(_problem(filename, owner, _(
                        "The item %(name)s of this multi-instance step is a name the process cannot use for its "
                        "data.", name=json.dumps(name, ensure_ascii=False)), name))
    return problems
