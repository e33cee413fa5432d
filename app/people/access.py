"""The one server-side answer to "may this user see records of this organisation / region?".

Every view, API endpoint and query goes through these helpers, so the rule lives in one place.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import ColumnElement, false, true

from app.engine import access as engine_access
from app.people.models import User
from app.people.roles import Role, Scope

#: roles whose work needs children's IINs and names in acts: the school or dormitory (its own acts), the department that
#: accepts them, the operator that pays them, the auditor; process owners and administrators — who reach acts
#: through analytics and the cockpit — see them masked (DESIGN: personal data only for roles that may see it)
PERSONAL_DATA_ROLES = frozenset({Role.SCHOOL_ACCOUNTANT.value, Role.SCHOOL_DIRECTOR.value,
                                 Role.DORMITORY_ACCOUNTANT.value, Role.DORMITORY_DIRECTOR.value,
                                 Role.DEPARTMENT_OFFICIAL.value, Role.DEPARTMENT_HEAD.value, Role.OPERATOR.value,
                                 Role.AUDITOR.value})


def can_see(user: User, region_id: int | None, organisation_id: int | None) -> bool:
    if not user.is_authenticated:
        return False
    scope = user.scope
    if scope is Scope.NATIONAL:
        return True
    if scope is Scope.REGION:
        return region_id is not None and region_id == user.region_id
    return organisation_id is not None and organisation_id == user.organisation_id


def sees_personal_data(user: User) -> bool:
    return user.is_authenticated and user.role in PERSONAL_DATA_ROLES


def scope_clause(user: User, region_col, organisation_col) -> ColumnElement[bool]:
    """SQL condition equivalent to :func:`can_see` for a query over rows with these columns."""
    scope = user.scope
    if scope is Scope.NATIONAL:
        return true()
    if scope is Scope.REGION:
        return region_col == user.region_id if user.region_id is not None else false()
    return organisation_col == user.organisation_id if user.organisation_id is not None else false()


def require_visible(user: User, region_id: int | None, organisation_id: int | None) -> None:
    """404 rather than 403: a user outside the scope should not learn that the record exists."""
    if not can_see(user, region_id, organisation_id):
        abort(404)


def get_visible_or_404(model, ident: int, *, organisation_attr: str = "school_id"):
    """Load a region/organisation-scoped record for the current user; 404 if missing or out of scope."""
    from flask_login import current_user

    from app.extensions import db

    record = db.session.get(model, ident)
    if record is None:
        abort(404)
    require_visible(current_user, record.region_id, getattr(record, organisation_attr))
    return record



def has_holder(role: str, region_id: int | None, organisation_id: int | None) -> bool:
    """Whether an active person with ``role`` may take a task of that region and organisation (a step for a role
    nobody holds there waits with no one to take it). Read once per request and place."""
    from flask import g, has_app_context
    from sqlalchemy import select

    from app.extensions import db

    cache = g.setdefault("_role_holders", {}) if has_app_context() else {}
    key = (role, region_id, organisation_id)
    if key not in cache:
        holders = db.session.scalars(select(User).where(User.role == role, User.active.is_(True))).all()
        cache[key] = any(can_see(holder, region_id, organisation_id) for holder in holders)
    return cache[key]


# The engine asks these rules whether a user may see a task and whether anyone may take one (app.engine.access: it
# imports no domain package).
engine_access.use_scope_rule(can_see)
engine_access.use_staffing_rule(has_holder)
