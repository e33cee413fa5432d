"""SLA on "Accept act": a deadline in working days, the inbox due date, escalation to the department head.

The deadline is computed once, by a service task right before "Accept act"; the non-interrupting
boundary timer on that task fires at the deadline and calls ``acts/escalate``. The official can still
accept the act afterwards — the escalation only notifies.
"""

from __future__ import annotations

from datetime import datetime

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.audit.operations import record_event
from app.contracts.models import ActEscalation
from app.engine import signals, timers
from app.engine.models import HumanTask
from app.engine.operators import ServiceValue, instance_subject, operator
from app.extensions import db
from app.i18n import N_
from app.people.models import Organisation, User
from app.people.roles import Role

ACCEPT_TASK = "accept_act"
_signals = Namespace()
#: sender = ActEscalation just written (notifications may subscribe)
act_escalated = _signals.signal("act-escalated")


#: The longest acceptance deadline a process may set (about a year of working days).
MAX_SLA_WORKING_DAYS = 260


def working_days() -> int:
    return int(current_app.config.get("SLA_ACCEPT_WORKING_DAYS", 5))


#: The working-day calendar is Kazakhstan's, in :mod:`app.clock` (the inbox's due dates count the same days).
is_working_day = clock.is_working_day
add_working_days = clock.add_working_days


#: Deadline computed for an instance in this engine step, handed to the inbox row created right after it.
_deadlines: dict[int, datetime] = {}


@operator("acts/acceptance_deadline",
          description=_l("Computes when the act's acceptance becomes overdue (the deadline in working days)."))
def acceptance_deadline(ctx) -> dict:
    """When acceptance becomes overdue: SLA working days (process variable ``sla_working_days`` or config)."""
    days = ctx.task_data.get("sla_working_days")
    if isinstance(days, int) and not isinstance(days, bool) and days > MAX_SLA_WORKING_DAYS:
        # counted a day at a time: a process owner's 10**9 held the step for seconds, then overflowed the date
        raise ServiceValue(N_("The model sets sla_working_days to %(days)s: at most %(max)s working days (about a "
                              "year)."), days=days, max=MAX_SLA_WORKING_DAYS)
    days = days if isinstance(days, int) and not isinstance(days, bool) and days >= 0 else working_days()
    due = add_working_days(clock.now(), days)
    instance = getattr(ctx, "instance", None)
    if instance is not None and instance.id is not None:
        _deadlines[instance.id] = due
    return {"due": due.isoformat(), "working_days": days}


@signals.task_created.connect
def _set_due_date(task: HumanTask, **_kw) -> None:
    """The inbox shows the same deadline the boundary timer waits for."""
    if task.spec_name != ACCEPT_TASK:
        return
    due = _deadlines.pop(task.instance_id, None)
    task.due_at = due or add_working_days(task.created_at, working_days())


def _latest_acceptance_due(data: dict, now: datetime) -> datetime | None:
    """The latest acceptance deadline the step could set now (its working days from now): a later one was set by a
    clock that ran ahead (app.engine.timers)."""
    acceptance = data.get("acceptance")
    days = acceptance.get("working_days") if isinstance(acceptance, dict) else None
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_SLA_WORKING_DAYS:
        return None
    return add_working_days(now, days)


timers.register_date_rule('acceptance["due"]', _latest_acceptance_due)


@signals.timer_corrected.connect
def _follow_corrected_deadline(instance, *, attached_to: str | None, due: datetime, **_kw) -> None:
    """The inbox shows the deadline the corrected boundary timer now waits for (and its notices start again)."""
    if attached_to != ACCEPT_TASK:
        return
    for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.spec_name == ACCEPT_TASK,
                                                           HumanTask.status == "open")):
        task.due_at = due
        if hasattr(task, "sla_state"):
            task.sla_state = None


@operator("acts/escalate", params={"act_id": int},
          description=_l("The act waited past its deadline: marks the task overdue and notifies the region's "
                         "department heads."))
def escalate(ctx, act_id: int) -> dict:
    """The act waited past its deadline: mark the task overdue and notify the region's department heads."""
    act = instance_subject(ctx, Act, "act", act_id)
    now = clock.now()
    task = db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == ctx.instance.id, HumanTask.spec_name == ACCEPT_TASK,
        HumanTask.status == "open")).first()
    if task is not None:
        task.details = {**(task.details or {}), "overdue": True, "escalated_at": now.isoformat()}
        if hasattr(task, "sla_state"):  # the inbox's SLA scan then does not notify a second time
            task.sla_state = "overdue"
    heads = db.session.scalars(select(User).join(Organisation, Organisation.id == User.organisation_id).where(
        User.role == Role.DEPARTMENT_HEAD.value, Organisation.region_id == act.region_id, User.active.is_(True))).all()
    escalation = ActEscalation(act_id=act.id, region_id=act.region_id, human_task_id=task.id if task else None,
                               due_at=task.due_at if task else None, escalated_at=now,
                               notified_user_ids=",".join(str(h.id) for h in heads))
    db.session.add(escalation)
    db.session.flush()
    record_event(ctx.instance.audit_chain, "act.escalated", "act", act.id, actor_id=None,
                 details={"act": act.number, "notified": [h.full_name for h in heads]})
    _notify_bell(heads, task)
    act_escalated.send(escalation)
    return {"escalated": True, "notified": len(heads)}


def is_overdue(task: HumanTask, now: datetime | None = None) -> bool:
    now = now or clock.now()
    due = task.due_at
    if due is not None and due.tzinfo is None:
        from datetime import UTC

        due = due.replace(tzinfo=UTC)
    return task.status == "open" and (bool((task.details or {}).get("overdue")) or (due is not None and due < now))


def _notify_bell(heads: list[User], task: HumanTask | None) -> None:
    """In-app notification (bell and e-mail outbox) when the notifications package is installed."""
    try:
        from app.notifications.operations import notify
    except ImportError:
        return
    if task is None:
        return
    for head in heads:
        notify(head, "overdue", task)
