"""Lanes → roles. A lane's *name* in the diagram names the role that works in it; the instance's
region/organisation then decides which users of that role see the task."""

from __future__ import annotations

_LANES: dict[str, str] = {}


def register_lane(name: str, role: str) -> None:
    _LANES[name] = role


def role_for_lane(name: str | None) -> str | None:
    return _LANES.get(name) if name else None


def known_lanes() -> dict[str, str]:
    return dict(_LANES)
