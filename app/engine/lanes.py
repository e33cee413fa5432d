"""Lanes → roles. A lane's *name* in the diagram names the role that works in it; the instance's
region/organisation then decides which users of that role see the task.

A name is matched without regard to case or to how its words are spaced: modelers wrap a long lane name onto two
lines (bpmn.io keeps the line break the drawer typed, Signavio and BIC Cloud Design write "&#10;" into names), and a
lane drawn as "Department\\nofficial" or "school accountant" was refused as naming no role.

A lane may also be named in Kazakh or Russian, as the reader calls the role ("Мектеп бухгалтері", "Бухгалтер
школы"): a process owner who draws in their own language had every lane refused."""

from __future__ import annotations

from collections.abc import Iterable

_LANES: dict[str, str] = {}
_MATCHED: dict[str, str] = {}
#: lane name (as drawn in English) -> the role's name in the reader's language (a lazy string)
_LABELS: dict[str, object] = {}


def _key(name: str) -> str:
    """A lane's name as it is matched: its words spaced by one space, without regard to case (the modeler's script
    matches them the same way: app/static/modeler.js, laneKey)."""
    return " ".join(name.split()).casefold()


def register_lane(name: str, role: str, *, label: object = None, also: Iterable[str] = ()) -> None:
    """``name`` names ``role``'s lane; ``label``: the role's name in the reader's language (for messages), ``also``:
    the lane's names in the other languages, matched as ``name`` is."""
    _LANES[name] = role
    _MATCHED[_key(name)] = role
    if label is not None:
        _LABELS[name] = label
    for other in also:
        if _MATCHED.setdefault(_key(other), role) != role:
            raise ValueError(f"Lane name {other!r} already names role {_MATCHED[_key(other)]!r}")


def role_for_lane(name: str | None) -> str | None:
    return _MATCHED.get(_key(name)) if name else None


def known_lanes() -> dict[str, str]:
    return dict(_LANES)


def lane_names_read() -> str:
    """The names of the roles' lanes as the reader calls them (each accepted as a lane's name), for a message."""
    return ", ".join(str(_LABELS.get(name, name)) for name in _LANES)


def lane_aliases() -> dict[str, str]:
    """Every name a role's lane may have, as matched (see :func:`_key`), with the lane's English name: "мектеп
    бухгалтері" and "бухгалтер школы" → "School accountant". The editor finds by it the lane a task is in, whichever
    language the lane was named in."""
    english = {role: name for name, role in _LANES.items()}
    return {key: english[role] for key, role in _MATCHED.items() if role in english}
