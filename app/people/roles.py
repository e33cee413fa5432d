"""Roles and what each may see.

A role says *what* a user does; the user's organisation (and its region) says *where*. Scope rules:
``organisation`` — only the user's own organisation; ``region`` — everything in the organisation's
region; ``national`` — everything.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    SCHOOL_ACCOUNTANT = "school_accountant"
    SCHOOL_DIRECTOR = "school_director"
    DORMITORY_ACCOUNTANT = "dormitory_accountant"
    DORMITORY_DIRECTOR = "dormitory_director"
    DEPARTMENT_OFFICIAL = "department_official"
    DEPARTMENT_HEAD = "department_head"
    OPERATOR = "operator"
    PROCESS_OWNER = "process_owner"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Scope(StrEnum):
    ORGANISATION = "organisation"
    REGION = "region"
    NATIONAL = "national"


#: Who may take the steps that decide or move money (``TaskHandler.roles``): the department decides what the
#: organisations ask, the organisations ask for themselves — never the other way round, whatever lane a process
#: owner draws the step in.
DEPARTMENT_ROLES = frozenset({Role.DEPARTMENT_OFFICIAL.value, Role.DEPARTMENT_HEAD.value})
SCHOOL_ROLES = frozenset({Role.SCHOOL_ACCOUNTANT.value, Role.SCHOOL_DIRECTOR.value})
DORMITORY_ROLES = frozenset({Role.DORMITORY_ACCOUNTANT.value, Role.DORMITORY_DIRECTOR.value})

ROLE_SCOPE: dict[Role, Scope] = {
    Role.SCHOOL_ACCOUNTANT: Scope.ORGANISATION,
    Role.SCHOOL_DIRECTOR: Scope.ORGANISATION,
    Role.DORMITORY_ACCOUNTANT: Scope.ORGANISATION,
    Role.DORMITORY_DIRECTOR: Scope.ORGANISATION,
    Role.DEPARTMENT_OFFICIAL: Scope.REGION,
    Role.DEPARTMENT_HEAD: Scope.REGION,
    Role.OPERATOR: Scope.NATIONAL,
    Role.PROCESS_OWNER: Scope.NATIONAL,
    Role.AUDITOR: Scope.NATIONAL,
    Role.ADMIN: Scope.NATIONAL,
}

ROLE_LABELS = {
    Role.SCHOOL_ACCOUNTANT: _l("School accountant"),
    Role.SCHOOL_DIRECTOR: _l("School director"),
    Role.DORMITORY_ACCOUNTANT: _l("Dormitory accountant"),
    Role.DORMITORY_DIRECTOR: _l("Dormitory director"),
    Role.DEPARTMENT_OFFICIAL: _l("Department official"),
    Role.DEPARTMENT_HEAD: _l("Department head"),
    Role.OPERATOR: _l("Operator"),
    Role.PROCESS_OWNER: _l("Process owner"),
    Role.AUDITOR: _l("Auditor"),
    Role.ADMIN: _l("Administrator"),
}
