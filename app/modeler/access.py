"""Who may read and who may change process models (server-side, on every modeler route)."""

from __future__ import annotations

from flask import abort

from app.people.roles import Role

EDITORS = {Role.PROCESS_OWNER.value, Role.ADMIN.value}
READERS = EDITORS | {Role.AUDITOR.value}


def can_edit_models(user) -> bool:
    return bool(user.is_authenticated and user.role in EDITORS)


def require_model_reader(user) -> None:
    if not (user.is_authenticated and user.role in READERS):
        abort(403)


def require_model_editor(user) -> None:
    if not can_edit_models(user):
        abort(403)
