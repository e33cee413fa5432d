"""Substitution: a deputy acts for a principal over a date range.

The deputy sees the principal's open tasks in their own inbox and may complete them; the engine records
``on_behalf_of_id`` on the audit event (see :func:`app.engine.runtime.complete_task`). A deputy must be an
active user of the principal's organisation, so seeing the tasks never widens anyone's scope — and stays one: a
substitution counts only while both are in the same organisation, the deputy acts only on tasks within their own
scope, and moving either person to another organisation or role ends their substitutions (``end_substitutions_of``).

A deputy also holds the principal's **role**: a deputy does the principal's job, never a second one. The duties the
processes keep apart are given to different roles of one organisation — the department's official allocates places
and accepts acts, its head signs the contracts; the school's accountant submits the acts, its director signs — and
a deputy of another role merged them: the official who allocated a school's places signed its contract as the
head's deputy, an accountant signed as the director's. An organisation with one person in a role names an acting
colleague through the administrator (a second account with that role). A substitution named before this rule, across
roles, no longer counts (:func:`_load_principals`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.engine import access as engine_access
from app.extensions import db
from app.people.models import User


class Substitution(db.Model):
    """``deputy`` acts for ``principal`` from ``starts_on`` to ``ends_on`` inclusive (dates in UTC)."""

    __tablename__ = "substitution"
    __table_args__ = (Index("ix_substitution_deputy", "deputy_id", "starts_on", "ends_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    deputy: Mapped[User] = relationship(foreign_keys=[deputy_id])


def active_principals(deputy: User, on: date | None = None) -> list[User]:
    """Users this deputy stands in for today."""
    if deputy is None or not getattr(deputy, "is_authenticated", False) or deputy.id is None:
        return []
    from flask import g, has_app_context

    key = (deputy.id, on or clock.today())
    cache = g.setdefault("_active_principals", {}) if has_app_context() else {}
    if key not in cache:
        cache[key] = _load_principals(deputy, key[1])
    return cache[key]


def _load_principals(deputy: User, on: date) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Substitution, Substitution.principal_id == User.id).where(
            Substitution.deputy_id == deputy.id, Substitution.starts_on <= on, Substitution.ends_on >= on,
            Substitution.revoked_at.is_(None), User.active.is_(True),
            # still colleagues: a person moved to another organisation stands in for nobody there
            User.organisation_id == deputy.organisation_id,
            User.role == deputy.role,  # of the same role: see the module's docstring
        ).order_by(User.id)
    ).unique())


def principal_for(deputy: User, task) -> User | None:
    """The principal on whose behalf ``deputy`` may act on ``task`` today, or None."""
    from app.engine.runtime import can_act_directly

    if not engine_access.can_see(deputy, task.region_id, task.organisation_id):
        return None  # a deputy's own scope bounds what they may do for anyone
    for principal in active_principals(deputy):
        if can_act_directly(principal, task):
            return principal
    return None


def substitutions_of(user: User) -> list[Substitution]:
    """Current and future substitutions where the user is principal or deputy (for the settings page)."""
    today = clock.today()
    return list(db.session.scalars(
        select(Substitution).where(
            (Substitution.principal_id == user.id) | (Substitution.deputy_id == user.id),
            Substitution.ends_on >= today, Substitution.revoked_at.is_(None),
        ).order_by(Substitution.starts_on)
    ))


MAX_DAYS = 366


def deputy_candidates(principal: User) -> list[User]:
    """Active colleagues of the same organisation (a deputy never widens anyone's scope) and the same role (never
    merges two duties: see the module's docstring)."""
    if principal.organisation_id is None:
        return []
    return list(db.session.scalars(select(User).where(
        User.organisation_id == principal.organisation_id, User.role == principal.role, User.id != principal.id,
        User.active.is_(True),
    ).order_by(User.full_name)))


def create_substitution(principal: User, deputy_id: int | None, starts_on: date | None, ends_on: date | None,
                        actor: User) -> Substitution:
    from flask_babel import gettext as _

    from app.audit.operations import record_event
    from app.engine.errors import DomainRefused

    if actor.id != principal.id and actor.role != "admin":
        raise DomainRefused(_("Only the person themselves or an administrator can name a deputy."))
    deputy = db.session.get(User, deputy_id) if deputy_id else None
    if deputy is None or deputy not in deputy_candidates(principal):
        if actor.id != principal.id:  # an administrator names the deputy of someone away: "your" was the admin's
            raise DomainRefused(_("Choose as deputy an active colleague of %(name)s: someone of the same "
                                  "organisation with the same role.", name=principal.full_name))
        raise DomainRefused(_("Choose an active colleague from your organisation with your role as deputy."))
    if starts_on is None or ends_on is None:
        raise DomainRefused(_("Enter both dates (YYYY-MM-DD)."))
    if ends_on < starts_on:
        raise DomainRefused(_("The end date is before the start date."))
    if ends_on < clock.today():
        raise DomainRefused(_("The period is already over."))
    if (ends_on - starts_on).days >= MAX_DAYS:
        raise DomainRefused(_("A substitution can last at most a year."))
    sub = Substitution(principal_id=principal.id, deputy_id=deputy.id, starts_on=starts_on, ends_on=ends_on,
                       created_by_id=actor.id, created_at=clock.now())
    db.session.add(sub)
    db.session.flush()
    record_event(f"user:{principal.id}", "substitution.created", "substitution", sub.id, actor_id=actor.id,
                 details={"deputy_id": deputy.id, "deputy": deputy.full_name, "from": starts_on.isoformat(),
                          "to": ends_on.isoformat()})
    from app.notifications.operations import notify

    notify(deputy, "deputy_named", principal=principal.full_name, start=starts_on.isoformat(),
           end=ends_on.isoformat())
    return sub


def revoke_substitution(sub: Substitution, actor: User) -> None:
    from flask_babel import gettext as _

    from app.audit.operations import record_event
    from app.engine.errors import DomainRefused

    if actor.id not in (sub.principal_id, sub.created_by_id) and actor.role != "admin":
        raise DomainRefused(_("Only the principal can end this substitution."))
    if sub.revoked_at is None:
        sub.revoked_at = clock.now()
        record_event(f"user:{sub.principal_id}", "substitution.revoked", "substitution", sub.id, actor_id=actor.id,
                     details={"deputy_id": sub.deputy_id})
        db.session.flush()


def end_substitutions_of(user: User, actor: User, reason: str) -> int:
    """End every current and future substitution where ``user`` is principal or deputy (their organisation or
    role changed: what they were trusted with there does not follow them). Each is audited; the count ended."""
    from app.audit.operations import record_event

    ended = 0
    for sub in substitutions_of(user):
        sub.revoked_at = clock.now()
        record_event(f"user:{sub.principal_id}", "substitution.revoked", "substitution", sub.id, actor_id=actor.id,
                     details={"deputy_id": sub.deputy_id, "reason": reason})
        ended += 1
    if ended:
        db.session.flush()
        from flask import g

        g.pop("_active_principals", None)
    return ended


# The engine asks who a deputy stands in for on a task (app.engine.access: it imports no domain package).
engine_access.use_substitution_rule(principal_for)
