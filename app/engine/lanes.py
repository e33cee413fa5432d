"""Lanes → roles. A lane's *name* in the diagram names the role that works in it; the instance's
region/organisation then decides which users of that role see the task.

A name is matched without regard to case or to how its words are spaced: modelers wrap a long lane name onto two
lines (bpmn.io keeps the line break the drawer typed, Signavio and BIC Cloud Design write "&#10;" into names), and a
lane drawn as "Department\\nofficial" or "school accountant" was refused as naming no role."""

from __future__ import annotations

_LANES: dict[str, str] = {}
_MATCHED: dict[str, str] = {}


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def register_lane(name: str, role: str) -> None:
    _LANES[name] = role
    _MATCHED[_key(name)] = role


def role_for_lane(name: str | None) -> str | None:
    return _MATCHED.get(_key(name)) if name else None


def known_lanes() -> dict[str, str]:
    return dict(_LANES)
