"""Process analytics per model version: where time is spent (p50/p95 per user task, for the heat overlay), where
instances wait now, SLA compliance of acceptance per department, throughput per month; the pilot's figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from app import clock
from app.acts.models import Act
from app.engine.models import HumanTask, ProcessInstance, ProcessModel, ProcessModelVersion
from app.extensions import db
from app.payments.models import Payment


@dataclass
class ElementTime:
    element: str  # BPMN id
    title: str
    done: int
    p50_hours: float
    p95_hours: float
    waiting_now: int


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


def versions() -> list[tuple[ProcessModelVersion, str, int]]:
    """Published versions with their model's name and how many instances started on each."""
    counts = dict(db.session.execute(select(ProcessInstance.model_version_id, func.count(ProcessInstance.id))
                                     .group_by(ProcessInstance.model_version_id)).all())
    rows = db.session.execute(select(ProcessModelVersion, ProcessModel.name).join(ProcessModel)
                              .where(ProcessModelVersion.status == "published")
                              .order_by(ProcessModel.name, ProcessModelVersion.number.desc()))
    return [(version, name, counts.get(version.id, 0)) for version, name in rows]


def element_times(version_id: int, scope: ColumnElement[bool]) -> list[ElementTime]:
    """Time from a user task's creation to its completion, per element; open tasks counted as waiting now."""
    rows = db.session.execute(
        select(HumanTask.spec_name, HumanTask.title, HumanTask.status, HumanTask.created_at, HumanTask.completed_at)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(ProcessInstance.model_version_id == version_id, scope))
    durations: dict[str, list[float]] = defaultdict(list)
    waiting: dict[str, int] = defaultdict(int)
    titles: dict[str, str] = {}
    for spec, title, status, created, completed in rows:
        titles[spec] = title
        if status == "completed" and completed is not None:
            durations[spec].append(_hours(created, completed))
        elif status == "open":
            waiting[spec] += 1
    result = []
    for spec in sorted(titles):
        values = sorted(durations[spec])
        result.append(ElementTime(spec, titles[spec], len(values), _quantile(values, 0.5), _quantile(values, 0.95),
                                  waiting[spec]))
    return result


def timers_waiting(version_id: int, scope: ColumnElement[bool]) -> int:
    return db.session.scalar(select(func.count(ProcessInstance.id)).where(
        ProcessInstance.model_version_id == version_id, ProcessInstance.status == "running",
        ProcessInstance.next_timer_at.is_not(None), scope)) or 0


def throughput(version_id: int, scope: ColumnElement[bool]) -> list[tuple[str, int, int]]:
    """(month, started, completed) per month for instances of this version."""
    started: dict[str, int] = defaultdict(int)
    completed: dict[str, int] = defaultdict(int)
    for s, c in db.session.execute(select(ProcessInstance.started_at, ProcessInstance.completed_at)
                                   .where(ProcessInstance.model_version_id == version_id, scope)):
        started[f"{s:%Y-%m}"] += 1
        if c is not None:
            completed[f"{c:%Y-%m}"] += 1
    return [(month, started[month], completed[month]) for month in sorted(set(started) | set(completed))]


@dataclass
class SlaRow:
    region_id: int | None
    done: int
    on_time: int
    open_overdue: int

    @property
    def share(self) -> float:
        return self.on_time / self.done if self.done else 1.0


def acceptance_sla(scope: ColumnElement[bool]) -> list[SlaRow]:
    """Per department (region): acceptances done by their due date, and those open past it now."""
    now = clock.now()
    rows: dict[int | None, SlaRow] = {}
    for region_id, status, due, completed in db.session.execute(
            select(HumanTask.region_id, HumanTask.status, HumanTask.due_at, HumanTask.completed_at)
            .where(HumanTask.spec_name == "accept_act", HumanTask.due_at.is_not(None),
                   scope)):
        row = rows.setdefault(region_id, SlaRow(region_id, 0, 0, 0))
        due = _aware(due)
        if status == "completed" and completed is not None:
            row.done += 1
            row.on_time += _aware(completed) <= due
        elif status == "open" and due < now:
            row.open_overdue += 1
    return sorted(rows.values(), key=lambda r: r.share)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def pilot_figures(scope_acts: ColumnElement[bool]) -> dict:
    """What the operator watches: schools connected, acts on time, payments made, disputes (returned acts)."""
    acts = db.session.execute(select(Act.school_id, Act.status, Act.period, Act.submitted_at, Act.revision)
                              .where(scope_acts)).all()
    from app.analytics.flags import LATE_AFTER_DAYS, _month_end

    submitted = [a for a in acts if a.submitted_at is not None]
    on_time = [a for a in submitted if (clock.local_day(a.submitted_at) - _month_end(a.period)).days <= LATE_AFTER_DAYS]
    paid = db.session.execute(select(func.count(Payment.id), func.sum(Payment.amount_tiyn))
                              .join(Act, Act.id == Payment.act_id)
                              .where(scope_acts, Payment.returned_on.is_(None))).one()  # returned: not paid
    return {"schools": len({a.school_id for a in acts}), "acts": len(acts), "submitted": len(submitted),
            "on_time": len(on_time), "payments": int(paid[0] or 0), "paid_tiyn": int(paid[1] or 0),
            "returned_now": sum(1 for a in acts if a.status == "returned"),
            "disputed": sum(1 for a in acts if a.revision >= 2 or a.status == "returned")}
