"""How the files of two versions of a model differ: added, removed, or changed — and of a changed file, whether
anything but its layout or its formatting changed.

A plain save in the editor re-serialises the diagram (the editor's own attribute order, spacing and namespace
declarations), and moving a shape changes only the diagram's layout (BPMN DI): the version diff had listed such a
file among the "files that differ" beside "0 changed elements", and the owner could not tell whether the process
had changed. A changed file is compared by its meaning: XML as elements, attributes and text (namespace prefixes,
attribute order, comments and indentation aside), with and without its layout; JSON as the values it holds.
"""

from __future__ import annotations

import json

from app.engine.xml import parse_model_xml

_LAYOUT = {"BPMNDiagram", "DMNDI"}  # the layout sections of BPMN and DMN files


def _shape(el) -> tuple:
    children = tuple(_shape(child) for child in el if isinstance(child.tag, str))
    return el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(), children


def _xml_shapes(text: str, name: str) -> tuple[tuple, tuple]:
    root = parse_model_xml(text.encode("utf-8"), name).getroot()
    whole = _shape(root)
    content = tuple(shape for child, shape in zip((c for c in root if isinstance(c.tag, str)), whole[3], strict=True)
                    if child.tag.rsplit("}", 1)[-1] not in _LAYOUT)
    return whole, content


def _kind(name: str, old: str, new: str) -> str:
    try:
        if name.endswith(".json"):
            return "formatting" if json.loads(old) == json.loads(new) else "content"
        if name.endswith((".bpmn", ".dmn")):
            (old_whole, old_content), (new_whole, new_content) = _xml_shapes(old, name), _xml_shapes(new, name)
            if old_whole == new_whole:
                return "formatting"
            return "layout" if old_content == new_content else "content"
    except Exception:  # noqa: BLE001 - a file that cannot be read as its kind is simply said to have changed
        return "content"
    return "content"


def file_changes(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str]]:
    """(file name, kind) of every file that is not byte for byte the same in both versions, by name; kind is
    ``added``, ``removed``, ``content``, ``layout`` (only the diagram's layout) or ``formatting`` (nothing but how
    the file is written)."""
    found = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            found.append((name, "added"))
        elif name not in new:
            found.append((name, "removed"))
        elif old[name] != new[name]:
            found.append((name, _kind(name, old[name], new[name])))
    return found
