"""Who may see a task, and who stands in for whom: the engine asks, the domain answers.

The engine is a library the domain calls (DESIGN.md): it knows a task's role, region and organisation only as
columns. The people package plugs in its scope rule (``app.people.access``) and its substitutions
(``app.people.substitutions``) when it is imported — the app factory imports both before it serves anything.
Until a rule is plugged in, nobody sees any task and nobody stands in for anyone: a missing rule denies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ScopeRule = Callable[[Any, "int | None", "int | None"], bool]
SubstitutionRule = Callable[[Any, Any], Any]


def _nobody(user, region_id, organisation_id) -> bool:
    return False


def _no_deputy(user, task) -> None:
    return None


_rules: dict[str, Callable] = {"scope": _nobody, "substitution": _no_deputy}


def use_scope_rule(rule: ScopeRule) -> None:
    """``rule(user, region_id, organisation_id)``: whether the user's scope covers a record there."""
    _rules["scope"] = rule


def use_substitution_rule(rule: SubstitutionRule) -> None:
    """``rule(user, task)``: the principal this user stands in for on the task today, or None."""
    _rules["substitution"] = rule


def _anyone(role, region_id, organisation_id) -> bool:
    return True  # not known: no warning


_rules["staffed"] = _anyone


def use_staffing_rule(rule: Callable[[str, int | None, int | None], bool]) -> None:
    """``rule(role, region_id, organisation_id)``: whether an active person with the role may take a task there."""
    _rules["staffed"] = rule


def staffed(role: str, region_id: int | None, organisation_id: int | None) -> bool:
    return bool(_rules["staffed"](role, region_id, organisation_id))


def can_see(user, region_id: int | None, organisation_id: int | None) -> bool:
    return bool(_rules["scope"](user, region_id, organisation_id))


def principal_for(user, task):
    return _rules["substitution"](user, task)
