"""Every state change of an act passes through here and writes its audit event."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, insert, select

from app import clock
from app.acts.models import Act, ActLine
from app.acts.verification import VerificationSummary, month_bounds, verify_act
from app.audit.facts import act_facts
from app.audit.operations import record_event
from app.engine.errors import DomainRefused
from app.engine.runtime import start_instance
from app.extensions import db
from app.people.models import Organisation
from app.registry.adapter import student_registry

MONTHLY_ACT_PROCESS = "monthly_act"


def _chain(act: Act) -> str:
    return f"instance:{act.instance_id}" if act.instance_id else f"act:{act.id}"


def open_monthly_act(school: Organisation, period: date, actor=None) -> Act:
    """Create the act for a school and month and start its workflow (one act per school and month)."""
    period = period.replace(day=1)
    existing = db.session.scalars(select(Act).where(Act.school_id == school.id, Act.period == period)).first()
    if existing is not None:
        raise DomainRefused(f"An act for {period:%Y-%m} already exists for this school.")
    act = Act(
        number=f"ACT-{school.bin}-{period:%Y%m}", school_id=school.id, region_id=school.region_id,
        period=period, status="awaiting_submission", created_at=clock.now(),
    )
    db.session.add(act)
    db.session.flush()
    instance = start_instance(
        MONTHLY_ACT_PROCESS, title=f"{act.number} · {school.name}", actor=actor, region_id=school.region_id,
        organisation_id=school.id, subject_type="act", subject_id=act.id,
        data={"act_id": act.id, "period": period.isoformat()},
    )
    act.instance_id = instance.id
    record_event(_chain(act), "act.opened", "act", act.id, actor_id=getattr(actor, "id", None),
                 details={"number": act.number, "period": f"{period:%Y-%m}"})
    return act


def prefill_lines(act: Act) -> list[dict]:
    """Last submitted lines when correcting; otherwise the school's contingent registered in NEDB."""
    if act.lines:
        return [{"iin": ln.iin, "full_name": ln.full_name, "grade": ln.grade,
                 "days_attended": ln.days_attended} for ln in act.lines]
    start, end = month_bounds(act.period)
    school_days = sum(1 for d in range(start.day, end.day + 1) if start.replace(day=d).weekday() < 5)
    return [{"iin": e.iin, "full_name": e.full_name, "grade": e.grade, "days_attended": school_days}
            for e in student_registry().enrollments_at_school(act.school.bin, start, end)]


def submit_act(act: Act, lines: list[dict], note: str | None, actor) -> None:
    if act.status not in ("awaiting_submission", "returned"):
        raise DomainRefused("This act has already been submitted.")
    db.session.execute(delete(ActLine).where(ActLine.act_id == act.id))
    db.session.expire(act, ["lines"])
    if lines:  # one executemany for the whole act (the ORM would insert line by line)
        db.session.execute(insert(ActLine), [
            {"act_id": act.id, "period": act.period, "school_id": act.school_id, "line_no": i, "iin": ln["iin"],
             "full_name": ln["full_name"], "grade": ln["grade"], "days_attended": ln["days_attended"]}
            for i, ln in enumerate(lines, start=1)
        ])
    act.status = "submitted"
    act.revision += 1
    act.note = note
    act.submitted_at = clock.now()
    record_event(_chain(act), "act.submitted", "act", act.id, actor_id=actor.id,
                 details={"revision": act.revision, "lines": len(lines)})
    db.session.flush()


def verify(act: Act, actor=None) -> VerificationSummary:
    summary = verify_act(act)
    act.status = "verified"
    act.verified_at = clock.now()
    record_event(_chain(act), "act.verified", "act", act.id, actor_id=getattr(actor, "id", None),
                 details={"accepted": summary.accepted, "excluded": summary.excluded,
                          "amount_tiyn": summary.amount_tiyn, "by_rule": summary.by_rule})
    return summary


def decide(act: Act, decision: str, comment: str | None, actor) -> None:
    if act.status != "verified":
        raise DomainRefused("Only a verified act can be accepted or returned.")
    if decision == "return":
        act.status = "returned"
        act.return_comment = comment
    else:
        act.status = "accepted"
    act.decided_at = clock.now()
    record_event(_chain(act), f"act.{'returned' if decision == 'return' else 'accepted'}", "act", act.id,
                 actor_id=actor.id, details={"comment": comment or ""},
                 facts=None if decision == "return" else act_facts(act))
