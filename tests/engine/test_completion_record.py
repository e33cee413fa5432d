"""What one completed step leaves behind (``runtime.complete_task``): the ``task.completed`` event as it is, who it
was done for, the form's full check on the HTML path, the lock version the page was drawn from, the person the
following service steps run as, and the rows it reads.

Issue 17: the mutation run of ``app/engine/runtime.py`` (seventh round) showed that each of these could change
without a test noticing: the event's details or object dropped, a colleague who may act directly recorded as
acting "on behalf of" the person they deputise for, the HTML form's schema check skipped, a stale page's
submission accepted, the next service step run without its actor, and the step reading every open row of the
instance when nothing was to be cancelled."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine import runtime
from app.engine.errors import ConflictError, FormInvalid
from app.engine.models import HumanTask, ProcessInstance
from app.engine.operators import operator
from app.engine.publishing import publish_version
from app.extensions import db
from app.people.models import User
from app.people.substitutions import create_substitution
from tests.helpers import statements_of, task_of, user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import service_task

AT = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
FORM = {"type": "object", "required": ["when", "comment"], "properties": {
    "when": {"type": "string", "format": "date", "title": "When"},
    "comment": {"type": "string", "maxLength": 10, "title": "Comment"}}}
ACTORS: list = []


@operator("tests/completion_sees_actor", {}, "Records who runs the step (tests only).")
def _sees_actor(ctx):
    ACTORS.append(getattr(ctx.actor, "username", None))
    return {"seen": True}


@pytest.fixture()
def planned(world):
    """start → *Plan* (Operator; a date and a short comment) → a service step → *Check* (Operator)."""
    model = chain_model("planned", [
        ("plan", "Operator", user_task("plan", "Plan", form="plan.schema.json", ui=None)),
        ("look", "Operator", service_task("look", "tests/completion_sees_actor")),
        ("check", "Operator", user_task("check", "Check"))])
    model["plan.schema.json"] = json.dumps(FORM)
    publish_version(model)
    db.session.commit()
    ACTORS.clear()
    with clock.FrozenClock(AT):
        instance = runtime.start_instance("planned", title="Planned", actor=user("owner"))
        db.session.commit()
    return instance


def _completed_events(task: HumanTask) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.completed",
                                                            AuditEvent.object_id == task.id)))


def _colleague() -> User:
    """A second operator of the operator's organisation, deputy of the first from today."""
    principal = user("operator")
    deputy = User(username="operator_deputy", full_name="Дана Ермекова", role="operator",
                  organisation_id=principal.organisation_id, created_at=clock.now(), email="operator_deputy@example.kz")
    deputy.set_password("pw")
    db.session.add(deputy)
    db.session.flush()
    create_substitution(principal, deputy.id, clock.today(), date(2026, 12, 31), principal)
    db.session.commit()
    return deputy


GOOD = {"when": "2026-11-06", "comment": "ok"}


def test_the_completed_event_names_the_task_its_title_and_the_actor(planned):
    task = task_of(planned, "plan")
    with clock.FrozenClock(AT):
        runtime.complete_task(task.id, user("operator"), data=GOOD)
        db.session.commit()
    events = _completed_events(task)
    assert [(e.object_type, e.object_id, e.actor_id, e.on_behalf_of_id, e.details) for e in events] == [
        ("human_task", task.id, user("operator").id, None, {"task": "plan", "title": "Plan"})]
    assert events[0].chain == planned.audit_chain
    # the process goes on (its *Check* is open): nothing says it completed
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "instance.completed", AuditEvent.object_id == planned.id)) == 0
    instance = db.session.get(ProcessInstance, planned.id)
    assert (instance.status, instance.completed_at) == ("running", None)
    check = task_of(planned, "check")
    assert (check.lane, check.role, check.title, check.subject_title) == ("Operator", "operator", "Check", "Planned")


def test_the_last_step_completes_the_instance_at_its_time(planned):
    later = AT.replace(hour=15)
    with clock.FrozenClock(AT):
        runtime.complete_task(task_of(planned, "plan").id, user("operator"), data=GOOD)
        db.session.commit()
    with clock.FrozenClock(later):
        runtime.complete_task(task_of(planned, "check").id, user("operator"), data={"comment": "done"})
        db.session.commit()
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, planned.id)
    completed_at = instance.completed_at if instance.completed_at.tzinfo else instance.completed_at.replace(tzinfo=UTC)
    assert (instance.status, completed_at) == ("completed", later)


def test_a_handlers_context_names_the_task_its_instance_and_the_person(planned):
    task, person = task_of(planned, "plan"), user("operator")
    ctx = runtime.task_context(task, person)
    assert (ctx.human_task, ctx.instance, ctx.actor) == (task, planned, person)


def test_a_deputy_completing_their_principals_claimed_task_is_recorded_on_their_behalf(planned):
    task = task_of(planned, "plan")
    task.assignee_id = user("operator").id  # claimed by the principal: the deputy may act only for them
    db.session.commit()
    with clock.FrozenClock(AT):
        deputy = _colleague()
        runtime.complete_task(task.id, deputy, data=GOOD)
        db.session.commit()
    (done,) = _completed_events(task)
    assert (done.actor_id, done.on_behalf_of_id) == (deputy.id, user("operator").id)
    assert done.details == {"task": "plan", "title": "Plan", "on_behalf_of": user("operator").full_name}


def test_a_deputy_who_may_act_directly_is_recorded_as_themselves(planned):
    """The same deputy on an unclaimed task of their own role acts in their own right: no "on behalf of"."""
    task = task_of(planned, "plan")
    with clock.FrozenClock(AT):
        deputy = _colleague()
        runtime.complete_task(task.id, deputy, data=GOOD)
        db.session.commit()
    (done,) = _completed_events(task)
    assert (done.actor_id, done.on_behalf_of_id) == (deputy.id, None)
    assert "on_behalf_of" not in done.details


@pytest.mark.parametrize(("form", "field"), [
    ({"when": "2026-11-45", "comment": "ok"}, "when"),               # a text field, but not a date
    ({"when": "2026-11-06", "comment": "far too long"}, "comment"),  # over maxLength
])
def test_the_html_path_checks_the_whole_schema_after_reading_the_fields(planned, form, field):
    """Fields that read fine as text still go through the form's schema (formats, lengths) on the HTML path."""
    task = task_of(planned, "plan")
    with pytest.raises(FormInvalid) as refused:
        runtime.complete_task(task.id, user("operator"), form=form)
    assert set(refused.value.errors) == {field}
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).status == "open"


def test_a_page_drawn_from_an_older_state_is_refused_and_the_current_one_is_taken(planned):
    task = task_of(planned, "plan")
    current = db.session.get(ProcessInstance, planned.id).lock_version
    with pytest.raises(ConflictError) as refused:
        runtime.complete_task(task.id, user("operator"), data=GOOD, expected_lock_version=current - 1)
    assert str(refused.value) == runtime._conflict_message()
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).status == "open"
    with clock.FrozenClock(AT):
        runtime.complete_task(task.id, user("operator"), data=GOOD, expected_lock_version=current)
        db.session.commit()
    assert db.session.get(HumanTask, task.id).status == "completed"


def test_the_service_step_after_a_completion_runs_as_the_person_who_completed(planned):
    with clock.FrozenClock(AT):
        runtime.complete_task(task_of(planned, "plan").id, user("operator"), data=GOOD)
        db.session.commit()
    assert ACTORS == ["operator"]
    assert task_of(planned, "check").status == "open"


def _open_row_reads(run) -> int:
    """How many statements of ``run`` read the instance's open task rows."""
    seen = statements_of(run)
    where = [s.split("WHERE", 1)[1] for s in seen if s.lstrip().startswith("SELECT") and "FROM human_task" in s
             and "WHERE" in s]
    return sum("human_task.instance_id" in w and "human_task.status" in w for w in where)


def test_a_step_that_cancels_nothing_does_not_read_the_open_rows(planned):
    """The step knows which rows are open (the state it loaded waits on exactly those), so it reads them only
    when one has to be cancelled; a completion that just opens the next task reads none."""

    task_id, operator_user = task_of(planned, "plan").id, user("operator")

    def complete():
        with clock.FrozenClock(AT):
            runtime.complete_task(task_id, operator_user, data=GOOD)
            db.session.commit()

    db.session.commit()
    assert _open_row_reads(complete) == 0
    assert {t.spec_name: t.status for t in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == planned.id))} == {"plan": "completed", "check": "open"}


def test_a_new_instance_reads_neither_open_rows_nor_its_audit_chain(world):
    """A new instance has no task rows and an empty audit chain: starting it opens its first task and records
    ``instance.started`` without reading either (one step of the country's monthly acts is thousands of these)."""
    publish_version(chain_model("fresh", [("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    owner = user("owner")
    started = []

    def start():
        with clock.FrozenClock(AT):
            started.append(runtime.start_instance("fresh", title="Fresh", actor=owner))
            db.session.commit()

    seen = statements_of(start)
    reads = [s for s in seen if s.lstrip().startswith("SELECT") and ("FROM human_task" in s or "FROM audit_event" in s)]
    assert reads == []
    (instance,) = started
    assert [(t.spec_name, t.status) for t in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id))] == [("check", "open")]
    assert db.session.scalars(select(AuditEvent.seq).where(AuditEvent.chain == instance.audit_chain)).all() == [1]


def test_a_step_moves_the_lock_version_by_exactly_one(planned):
    """Each saved step is one new version of the instance (what a page drawn from it is compared with)."""
    before = db.session.get(ProcessInstance, planned.id).lock_version
    with clock.FrozenClock(AT):
        runtime.complete_task(task_of(planned, "plan").id, user("operator"), data=GOOD)
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(ProcessInstance, planned.id).lock_version == before + 1
