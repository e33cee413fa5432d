"""Inbox queries. They read only the human-task table (indexes in migration 0005_inbox).

Authorisation lives in the base clauses below (role + scope via :func:`scope_clause`, claim, deputies);
filters only narrow a base query, so a filter — saved, shared or typed into the URL — can never show a
user more than the base query allows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true, union_all
from sqlalchemy.orm import defer

from app import clock
from app.engine.models import HumanTask
from app.engine.runtime import TRIAL_ROLES
from app.extensions import db
from app.inbox import models as _inbox_models  # noqa: F401 - maps the inbox's extra human_task columns
from app.people.access import scope_clause
from app.processes import models as _cockpit_models  # noqa: F401 - maps human_task.is_trial
from app.registry.cells import UnreadableIdentifier, searched_identifier
from app.registry.identifiers import ASCII_12
from app.user_input import calendar_date, escape_like

VIEWS = ("mine", "group", "waiting", "completed")
STATUSES = ("unclaimed", "claimed_by_me", "claimed_by_others", "due_soon", "overdue")
SORTS = {
    "created": (HumanTask.created_at, HumanTask.id),
    "-created": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    "due": (HumanTask.due_at, HumanTask.id),
    "-due": (HumanTask.due_at.desc(), HumanTask.id.desc()),
    "school": (HumanTask.school_name, HumanTask.id),
}
PAGE_SIZE = 25
SUPERVISES = {"department_head": ("department_official",)}
WAITING_WINDOW = 1000  # "waiting for" looks at the most recent instances the user acted in
DUE_SOON = timedelta(days=2)


def as_utc(at: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back; every timestamp we store is UTC.
    if at is None:
        return None
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def sla_state(task: HumanTask, now: datetime | None = None) -> str | None:
    """``overdue`` / ``due_soon`` / None for an open task, from its due date."""
    due = as_utc(task.due_at)
    if task.status != "open" or due is None:
        return None
    now = now or clock.now()
    if due <= now:
        return "overdue"
    if due <= now + DUE_SOON:
        return "due_soon"
    return None


# -- who may act --------------------------------------------------------------------------------------------
def _direct_clause(user) -> ColumnElement[bool]:
    return and_(
        HumanTask.is_trial == false(),  # trial runs are not production work (app.processes.trials)
        HumanTask.role == user.role,
        scope_clause(user, HumanTask.region_id, HumanTask.organisation_id),
        or_(HumanTask.assignee_id.is_(None), HumanTask.assignee_id == user.id),
    )


def actionable_clause(user) -> ColumnElement[bool]:
    """Tasks the user may complete: their own, or those of principals they stand in for today."""
    from app.people.substitutions import active_principals

    clauses = [_direct_clause(user)] + [_direct_clause(p) for p in active_principals(user)]
    if user.role in TRIAL_ROLES:  # the tasks of the trial runs they started, whatever the lane
        clauses.append(and_(HumanTask.is_trial == true(), HumanTask.assignee_id == user.id))
    return or_(*clauses) if len(clauses) > 1 else clauses[0]


def open_tasks_for(user) -> Select:
    """Open tasks this user may complete: their role, their scope, unclaimed or claimed by them."""
    return select(HumanTask).where(HumanTask.status == "open", actionable_clause(user))


def view_query(user, view: str) -> Select:
    if view == "group":
        # A department head also oversees the officials' queue (to see who has what, and reassign).
        roles = [user.role, *SUPERVISES.get(user.role, ())]
        return select(HumanTask).where(
            HumanTask.status == "open", HumanTask.is_trial == false(),
            HumanTask.role.in_(roles) if len(roles) > 1 else HumanTask.role == user.role,
            scope_clause(user, HumanTask.region_id, HumanTask.organisation_id),
        )
    if view == "waiting":
        # Instances I started or took a step in, now waiting on someone else (not on me). Bounded to the
        # WAITING_WINDOW most recent instances I acted in, so an official with years of history stays fast.
        acted = (select(HumanTask.instance_id).where(HumanTask.completed_by_id == user.id)
                 .order_by(HumanTask.completed_at.desc()).limit(WAITING_WINDOW).subquery())
        started = (select(HumanTask.instance_id).where(HumanTask.started_by_id == user.id, HumanTask.status == "open")
                   .limit(WAITING_WINDOW).subquery())
        mine = union_all(select(acted.c.instance_id), select(started.c.instance_id))
        # Within what the person may see now: moved to another school or region, an accountant went on reading in
        # "waiting for" how the former school's acts were being decided (the step, who has it, when it is due).
        return select(HumanTask).where(
            HumanTask.status == "open", HumanTask.instance_id.in_(mine),
            ~actionable_clause(user), scope_clause(user, HumanTask.region_id, HumanTask.organisation_id),
        )
    if view == "completed":
        return select(HumanTask).where(HumanTask.completed_by_id == user.id, HumanTask.status == "completed",
                                       scope_clause(user, HumanTask.region_id, HumanTask.organisation_id))
    return open_tasks_for(user)


# -- filters --------------------------------------------------------------------------------------------------
@dataclass
class InboxFilter:
    view: str = "mine"
    process: str = ""
    task: str = ""
    school: str = ""
    status: str = ""
    due_before: str = ""
    q: str = ""
    sort: str = "created"
    errors: list[str] = field(default_factory=list)

    PARAMS = ("view", "process", "task", "school", "status", "due_before", "q", "sort")

    @classmethod
    def from_args(cls, args) -> InboxFilter:
        """Parse query parameters; a bad value is dropped with a message, never a 500."""
        from flask_babel import gettext as _

        f = cls(**{k: (args.get(k) or "").strip()[:100] for k in cls.PARAMS if args.get(k)})
        if f.view not in VIEWS:
            f.view = "mine"
        if f.status and f.status not in STATUSES:
            f.errors.append(_("Unknown status filter; it was ignored."))
            f.status = ""
        if f.sort not in SORTS:
            f.sort = "created"
        if f.due_before:  # ASCII digits, a calendar date (app/user_input.py): fromisoformat took 2026-W45-4
            day = calendar_date(f.due_before)
            if day is None:
                f.errors.append(_("The due date must be a date (YYYY-MM-DD); it was ignored."))
            f.due_before = day.isoformat() if day else ""
        if f.school:  # a BIN as people write it, in ASCII digits (app/registry/cells.py)
            try:
                f.school = searched_identifier(f.school) or f.school
            except UnreadableIdentifier:
                f.errors.append(_("Type the BIN with the ordinary digits 0–9; the school filter was ignored."))
                f.school = ""
        return f

    def params(self, **changes) -> dict:
        data = {k: v for k, v in asdict(self).items() if k in self.PARAMS and v}
        data.update({k: v for k, v in changes.items()})
        return {k: v for k, v in data.items() if v not in ("", None)}

    @property
    def active(self) -> bool:
        return any((self.process, self.task, self.school, self.status, self.due_before, self.q))

    def apply(self, query: Select, user) -> Select:
        now = clock.now()
        if self.process:
            query = query.where(HumanTask.process_id == self.process)
        if self.task:
            query = query.where(HumanTask.spec_name == self.task)
        if self.school:
            if ASCII_12.fullmatch(self.school):
                query = query.where(HumanTask.school_bin == self.school)
            else:
                query = query.where(HumanTask.school_name.ilike(f"%{escape_like(self.school)}%", escape="\\"))
        if self.q:
            term = self.q.upper()
            query = query.where(or_(HumanTask.subject_number == term,
                                    HumanTask.subject_number.ilike(f"%{escape_like(term)}%", escape="\\")))
        if self.status == "unclaimed":
            query = query.where(HumanTask.assignee_id.is_(None))
        elif self.status == "claimed_by_me":
            query = query.where(HumanTask.assignee_id == user.id)
        elif self.status == "claimed_by_others":
            query = query.where(HumanTask.assignee_id.is_not(None), HumanTask.assignee_id != user.id)
        elif self.status == "overdue":
            query = query.where(HumanTask.due_at <= now)
        elif self.status == "due_soon":
            query = query.where(HumanTask.due_at > now, HumanTask.due_at <= now + DUE_SOON)
        if self.due_before:
            # the day as people in Kazakhstan read it on the page (a deadline at 00:30 local is the next day's)
            limit = datetime.combine(date.fromisoformat(self.due_before) + timedelta(days=1), datetime.min.time(),
                                     tzinfo=clock.KZ).astimezone(UTC)  # stored in UTC
            query = query.where(HumanTask.due_at < limit)
        if self.view == "completed":
            return query.order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
        return query.order_by(*SORTS[self.sort])


@dataclass
class InboxPage:
    tasks: list[HumanTask]
    page: int
    has_next: bool


def inbox_page(user, f: InboxFilter, page: int = 1, page_size: int = PAGE_SIZE) -> InboxPage:
    page = max(page, 1)
    query = f.apply(view_query(user, f.view), user)
    rows = db.session.scalars(query.limit(page_size + 1).offset((page - 1) * page_size)).all()
    return InboxPage(tasks=list(rows[:page_size]), page=page, has_next=len(rows) > page_size)


def count_statement(query: Select, cap: int | None = None) -> Select:
    """``SELECT count(*)`` over ``query``: exact, or at most ``cap`` (a capped count stops scanning early)."""
    query = query.order_by(None)
    if cap is not None:
        query = query.with_only_columns(HumanTask.id).limit(cap)
    return select(func.count()).select_from(query.subquery())


def count_query(query: Select, cap: int | None = None) -> int:
    """Exact count, or at most ``cap`` (shown as "99+")."""
    return db.session.scalar(count_statement(query, cap)) or 0


def count_open_tasks(user) -> int:
    """The nav badge; computed once per request (the inbox tabs show the same number)."""
    from flask import g, has_app_context

    if not has_app_context():
        return count_query(open_tasks_for(user))
    cache = g.setdefault("_open_task_count", {})
    if user.id not in cache:
        cache[user.id] = count_query(open_tasks_for(user))
    return cache[user.id]


def view_counts(user) -> dict[str, int]:
    """Tab counts for the views that are work to do ("waiting for" and "completed" are history, not counted)."""
    return {"mine": count_open_tasks(user), "group": count_query(view_query(user, "group"))}


def completed_by(user, limit: int = 50) -> list[HumanTask]:
    return db.session.scalars(
        select(HumanTask).where(HumanTask.completed_by_id == user.id, HumanTask.status == "completed")
        .order_by(HumanTask.completed_at.desc()).limit(limit)
    ).all()


def filter_choices() -> dict[str, list[tuple[str, str]]]:
    """Process models and task kinds for the filter drop-downs (small tables, not the task table)."""
    from app.engine.models import ProcessModel
    from app.ui import TASK_TITLES

    processes = [(m.identifier, m.name) for m in db.session.scalars(select(ProcessModel).order_by(ProcessModel.name))]
    return {"processes": processes, "tasks": [(k, str(v)) for k, v in TASK_TITLES.items()]}


def performers(version) -> dict[str, set[str]]:
    """The roles a published version gives its people's steps to, by step (the user task's id): each user task's
    lane's role, else the version's role for tasks without one (``"starter"``: whoever starts it, any role), else
    the administrator's — as :func:`app.engine.runtime._performer` assigns a new task."""
    from app.engine.errors import ModelInvalid
    from app.engine.lanes import role_for_lane
    from app.engine.specs import spec_for_version

    try:
        parsed = spec_for_version(version)
    except ModelInvalid:
        return {}
    steps: dict[str, set[str]] = {}
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "manual", False):
                role = role_for_lane(getattr(task_spec, "lane", None)) or version.lane_role or "admin"
                steps.setdefault(task_spec.name, set()).add(role)
    return steps


def findable(user) -> tuple[set[str], set[str]]:
    """The processes, and the steps (user task ids), the user can find a task of in their inbox: those a published
    model gives their role (or a role they oversee or stand in for), and those of the trial runs they started (a
    process owner's, whatever the lanes). The operator and the process owner were offered every process — the placing
    of an order, the application, the dormitories' — and the filter found nothing; the task filter offered everyone
    every step ("Submit monthly act" to the operator, "Pay act" to the department)."""
    from app.engine.models import ProcessModel, ProcessModelVersion
    from app.people.substitutions import active_principals

    roles = {user.role, *SUPERVISES.get(user.role, ()), *(p.role for p in active_principals(user))}
    latest = (select(ProcessModelVersion.process_model_id, func.max(ProcessModelVersion.number).label("number"))
              .where(ProcessModelVersion.status == "published").group_by(ProcessModelVersion.process_model_id)
              .subquery())
    versions = db.session.execute(  # the files load only for a version not parsed yet (spec_for_version's cache)
        select(ProcessModel.identifier, ProcessModelVersion).join(ProcessModelVersion)
        .options(defer(ProcessModelVersion.files))
        .join(latest, and_(latest.c.process_model_id == ProcessModelVersion.process_model_id,
                           latest.c.number == ProcessModelVersion.number))).all()
    processes: set[str] = set()
    steps: set[str] = set()
    for identifier, version in versions:
        for step, step_roles in performers(version).items():
            if step_roles & roles or "starter" in step_roles:
                processes.add(identifier)
                steps.add(step)
    if user.role in ("process_owner", "admin"):
        for process_id, step in db.session.execute(select(HumanTask.process_id, HumanTask.spec_name).where(
                HumanTask.assignee_id == user.id, HumanTask.is_trial == true()).distinct()):
            processes.add(process_id)
            steps.add(step)
    return processes, steps


def bulk_candidates(user, task_ids: list[int]) -> list[HumanTask]:
    """Of the given ids, open *Accept act* tasks this user may complete whose act has no excluded lines."""
    if not task_ids:
        return []
    return list(db.session.scalars(
        select(HumanTask).where(
            HumanTask.id.in_(task_ids[:200]), HumanTask.status == "open", HumanTask.spec_name == "accept_act",
            HumanTask.excluded_lines == 0, actionable_clause(user),
        ).order_by(HumanTask.created_at, HumanTask.id)
    ))
