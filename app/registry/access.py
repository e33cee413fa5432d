"""Who may touch the registries: importing is the operator's (and the admin's) job; server-side, every route."""

from __future__ import annotations

from flask import abort

from app.people.roles import Role

IMPORTERS = {Role.OPERATOR.value, Role.ADMIN.value}


def can_import(user) -> bool:
    return bool(user.is_authenticated and user.role in IMPORTERS)


READERS = IMPORTERS | {Role.AUDITOR.value}


def require_reader(user) -> None:
    """Looking a person or organisation up in the registries: the operator advises participants."""
    if not (user.is_authenticated and user.role in READERS):
        abort(403)


def require_importer(user) -> None:
    if not can_import(user):
        abort(403)
