from __future__ import annotations

from sqlalchemy import Select, func, or_, select

from app.engine.models import HumanTask
from app.extensions import db
from app.people.access import scope_clause


def open_tasks_for(user) -> Select:
    """Open tasks this user may complete: their role, their scope, unclaimed or claimed by them."""
    return select(HumanTask).where(
        HumanTask.status == "open",
        HumanTask.role == user.role,
        scope_clause(user, HumanTask.region_id, HumanTask.organisation_id),
        or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == user.id),
    )


def count_open_tasks(user) -> int:
    return db.session.scalar(select(func.count()).select_from(open_tasks_for(user).subquery())) or 0


def completed_by(user, limit: int = 50) -> list[HumanTask]:
    return db.session.scalars(
        select(HumanTask).where(HumanTask.completed_by_id == user.id, HumanTask.status == "completed")
        .order_by(HumanTask.completed_at.desc()).limit(limit)
    ).all()
