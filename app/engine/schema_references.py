"""How much of a form's JSON Schema its references make jsonschema walk: a reference that leads back to itself, or
references that multiply.

jsonschema follows a ``$ref`` every time it meets it, on the same value. ``{"allOf": [{"$ref": "#"}]}`` (the form
applied to itself) or two definitions referring to each other never end: each submission of such a form raised
``RecursionError`` — a 500 for every person on that step. Three references to the next definition, thirty
definitions deep, end after 3³⁰ checks: a worker held for good. Both passed the form checks, which only asked
whether each reference points inside the form. :func:`reference_expansion` follows every reference once, in time
linear in the schema, and counts the schemas a check of one value would walk.
"""

from __future__ import annotations

from typing import Any

#: schemas one value's check may walk with every reference followed (the shipped forms walk a few hundred)
MAX_EXPANDED_SCHEMAS = 10_000

#: keywords whose values are data, not schemas (a default may hold a "$ref" key), and the definitions, which are
#: walked only where a reference leads
_NOT_APPLIED = frozenset({"enum", "const", "default", "examples", "$defs", "definitions"})

_END = object()


def _anchors(schema: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("$anchor", "$dynamicAnchor"):
                if isinstance(node.get(key), str):
                    found.setdefault(node[key], node)
            stack.extend(value for key, value in node.items() if key not in ("enum", "const", "default", "examples"))
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _target(schema: Any, ref: str, anchors: dict[str, Any]) -> Any:
    """The part of the form ``ref`` points at, or None (a reference outside the form: refused on its own)."""
    if not ref.startswith("#"):
        return None
    fragment = ref[1:]
    if not fragment.startswith("/"):
        return schema if fragment == "" else anchors.get(fragment)
    node = pointer_target(schema, fragment)
    return None if node is NOT_FOUND else node


#: What :func:`pointer_target` answers for a pointer that names nothing in the form.
NOT_FOUND = object()


def pointer_target(schema: Any, pointer: str) -> Any:
    """The part of ``schema`` a JSON pointer ("/$defs/name", "~1" for "/", "~0" for "~") names, or NOT_FOUND."""
    node = schema
    for part in pointer[1:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return NOT_FOUND
    return node


def reference_expansion(schema: Any, limit: int = MAX_EXPANDED_SCHEMAS) -> tuple[str, str | None] | None:
    """None when every reference of ``schema``, followed, ends within ``limit`` schemas; else ``("loop", ref)``
    for a reference that leads back to a schema it was reached from, or ``("too_many", None)``."""
    anchors = _anchors(schema)

    def children(node: Any) -> list[tuple[Any, str | None]]:
        if isinstance(node, list):
            return [(item, None) for item in node if isinstance(item, dict | list)]
        found = [(value, None) for key, value in node.items()
                 if key not in _NOT_APPLIED and isinstance(value, dict | list)]
        for key in ("$ref", "$dynamicRef"):
            ref = node.get(key)
            target = _target(schema, ref, anchors) if isinstance(ref, str) else None
            if isinstance(target, dict | list):
                found.append((target, ref))
        return found

    if not isinstance(schema, dict | list):
        return None
    sizes: dict[int, int] = {}  # the schemas walked from each node, every reference followed (capped)
    walking: dict[int, int] = {id(schema): 1}  # the nodes on the path from the root, with their count so far
    stack = [(schema, iter(children(schema)))]
    while stack:
        node, rest = stack[-1]
        child, ref = next(rest, (_END, None))
        if child is _END:
            stack.pop()
            size = sizes[id(node)] = min(walking.pop(id(node)), limit + 1)
            if stack:
                walking[id(stack[-1][0])] += size
            continue
        if id(child) in sizes:
            walking[id(node)] += sizes[id(child)]
        elif id(child) in walking:  # a JSON document is a tree: only a reference can lead back up the path
            return "loop", ref
        else:
            walking[id(child)] = 1
            stack.append((child, iter(children(child))))
    return ("too_many", None) if sizes[id(schema)] > limit else None
