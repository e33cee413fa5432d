"""What ``complete_task`` accepts as JSON data (the API's path, ``data=``): the form's schema decides on the server,
every time, with formats checked — and what a started instance records.

Issue 17: the mutation run of ``app/engine/runtime.py`` showed that the compiled validator of a version's forms
could be built from the wrong schema or without its format checker — letting invalid data through the API —
and that the instance's start event and a task's due date could change, without a test noticing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine import runtime
from app.engine.errors import ConflictError, FormInvalid, TaskNotAvailable
from app.engine.models import HumanTask
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import task_of, user
from tests.modeler.factory import chain_model, user_task

AT = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)  # a Thursday
FORM = {"type": "object", "required": ["when", "comment"], "properties": {
    "when": {"type": "string", "format": "date", "title": "When"},
    "comment": {"type": "string", "maxLength": 10, "title": "Comment"}}}


@pytest.fixture()
def dated(world):
    """start → *Plan* (a form with a date and a short comment; due in 2 working days) → *Check*."""
    due = '<spiffworkflow:property name="dueInWorkingDays" value="2" />'
    model = chain_model("dated", [("plan", "Operator", user_task("plan", "Plan", form="plan.schema.json", ui=None)),
                                  ("check", "Operator", user_task("check", "Check"))])
    model["dated.bpmn"] = model["dated.bpmn"].replace(
        '<spiffworkflow:property name="formJsonSchemaFilename" value="plan.schema.json" />',
        '<spiffworkflow:property name="formJsonSchemaFilename" value="plan.schema.json" />' + due)
    model["plan.schema.json"] = json.dumps(FORM)
    publish_version(model)
    db.session.commit()
    with clock.FrozenClock(AT):
        instance = runtime.start_instance("dated", title="Dated plan", actor=user("owner"))
        db.session.commit()
    return instance


@pytest.mark.parametrize("data", [
    {"when": "2026-13-45", "comment": "ok"},       # not a date: the format is checked
    {"when": "2026-11-05", "comment": "far too long"},  # over maxLength
    {"when": "2026-11-05"},                         # required field missing
    {"when": 20261105, "comment": "ok"},            # wrong type
])
def test_invalid_json_data_is_refused_and_changes_nothing(dated, data):
    task = task_of(dated, "plan")
    for _attempt in range(2):  # the second time through the version's cached validator
        with pytest.raises(FormInvalid):
            runtime.complete_task(task.id, user("operator"), data=data)
        db.session.rollback()
    assert task_of(dated, "plan").status == "open"


def test_valid_json_data_completes_the_task_and_each_forms_own_schema_decides(dated):
    runtime.complete_task(task_of(dated, "plan").id, user("operator"), data={"when": "2026-11-05", "comment": "ok"})
    db.session.commit()
    check = task_of(dated, "check")  # another form: its own schema (comment ≤ 200 characters, no date)
    runtime.complete_task(check.id, user("operator"), data={"comment": "c" * 200})
    db.session.commit()
    assert [t.status for t in (task_of(dated, "plan"), task_of(dated, "check"))] == ["completed", "completed"]


def test_a_task_is_due_after_the_working_days_its_step_gives(dated):
    """Thursday + 2 working days = Monday; a step without a due property has none."""
    plan = task_of(dated, "plan")
    due = plan.due_at if plan.due_at.tzinfo else plan.due_at.replace(tzinfo=UTC)
    assert due == AT + timedelta(days=4)
    assert plan.details is None, "no form options: nothing extra kept on the row"
    runtime.complete_task(plan.id, user("operator"), data={"when": "2026-11-05", "comment": "ok"})
    db.session.commit()
    assert task_of(dated, "check").due_at is None


@pytest.mark.parametrize(("props", "due"), [
    ({"dueInDays": "3"}, AT + timedelta(days=3)),            # calendar days, weekend included
    ({"dueInDays": "0"}, AT),
    ({"dueInWorkingDays": "1"}, AT + timedelta(days=1)),     # Thursday -> Friday
    ({"dueInWorkingDays": "3"}, AT + timedelta(days=5)),     # Thursday -> Tuesday, over the weekend
    ({"dueInWorkingDays": "2", "dueInDays": "10"}, AT + timedelta(days=4)),  # working days win
    ({"dueInWorkingDays": "two", "dueInDays": "1"}, AT + timedelta(days=1)),  # not a number: the other one
    ({"dueInDays": "-1"}, None),
    ({"dueInDays": "soon"}, None),
    ({}, None),
])
def test_a_steps_due_property_sets_its_due_date(props, due):
    assert runtime.due_date(props, AT) == due


def test_the_start_is_recorded_with_its_model_version_title_and_starter(dated):
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"instance:{dated.id}",
                                                        AuditEvent.action == "instance.started")).one()
    assert (event.object_type, event.object_id, event.actor_id, event.details) == (
        "process_instance", dated.id, user("owner").id, {"model": "dated", "version": 1, "title": "Dated plan"})


def test_refusals_say_what_is_wrong(dated):
    with pytest.raises(LookupError, match=r"^No published version of process model “no_such_model”: "):
        runtime.start_instance("no_such_model", title="x")
    with pytest.raises(TaskNotAvailable, match=r"^No such task, or it is not yours to complete\.$"):
        runtime.complete_task(task_of(dated, "plan").id, user("accountant"), data={})
    plan = task_of(dated, "plan")
    runtime.complete_task(plan.id, user("operator"), data={"when": "2026-11-05", "comment": "ok"})
    db.session.commit()
    with pytest.raises(ConflictError, match=r"^This task has already been completed\.$"):
        runtime.complete_task(plan.id, user("operator"), data={"when": "2026-11-05", "comment": "ok"})
    with pytest.raises(TaskNotAvailable, match=r"^No such task\.$"):
        runtime.get_task_for(user("operator"), plan.id + 10_000)


def test_options_from_task_data_are_checked_on_json_data_too(world):
    """A form whose choices come from the workflow's data (SpiffArena's ``options_from_task_data_var:``): a value
    that was not offered is refused through the API as through the page."""
    schema = {"type": "object", "required": ["fruit"], "properties": {
        "fruit": {"type": "string", "title": "Fruit", "anyOf": ["options_from_task_data_var:fruits"]}}}
    script = ('<bpmn:scriptTask id="offer" name="Offer"><bpmn:script>fruits = [{"value": "apple", "label": "Apple"}, '
              '{"value": "pear", "label": "Pear"}]</bpmn:script></bpmn:scriptTask>')
    model = chain_model("fruit", [("offer", "Operator", script),
                                  ("pick", "Operator", user_task("pick", "Pick", form="pick.json", ui=None))])
    model["pick.json"] = json.dumps(schema)
    publish_version(model)
    db.session.commit()
    instance = runtime.start_instance("fruit", title="Fruit", actor=user("owner"))
    db.session.commit()
    pick = task_of(instance, "pick")
    with pytest.raises(FormInvalid):
        runtime.complete_task(pick.id, user("operator"), data={"fruit": "plum"})
    db.session.rollback()
    runtime.complete_task(pick.id, user("operator"), data={"fruit": "pear"})
    db.session.commit()
    assert task_of(instance, "pick").status == "completed"


@pytest.mark.parametrize(("data", "fields"), [
    ({"when": "2026-13-45", "comment": "ok"}, {"when"}),
    ({"when": "2026-11-05", "comment": "far too long"}, {"comment"}),
    ({"comment": "ok"}, {"when"}),
])
def test_each_refusal_names_the_field_that_is_wrong(dated, data, fields):
    with pytest.raises(FormInvalid) as refused:
        runtime.complete_task(task_of(dated, "plan").id, user("operator"), data=data)
    assert set(refused.value.errors) == fields and all(refused.value.errors.values())


def test_a_versions_forms_are_read_once_and_read_again_when_its_spec_is_parsed_again(dated):
    """The forms of a version (schemas, compiled validators) are kept beside its parsed spec: the same entry
    for every task of the version, a new one once the spec cache was cleared (never a stale validator)."""
    from app.engine.specs import clear_spec_cache, spec_for_version

    first = runtime._forms_for(dated)
    assert first.parsed is spec_for_version(dated.model_version)
    assert first.files == dict(dated.model_version.files)
    assert runtime._forms_for(dated) is first
    clear_spec_cache()
    again = runtime._forms_for(dated)
    assert again is not first and again.parsed is spec_for_version(dated.model_version)
    assert runtime._forms_for(dated) is again


def test_options_from_task_data_are_kept_on_the_task_as_json_decimals_as_text(world):
    """The options a form takes from the workflow's data are kept on the task row when it opens; a value the
    process state holds but JSON has no type for (a ``Decimal`` amount) is kept as its text, never failing
    the step."""
    from decimal import Decimal

    schema = {"type": "object", "properties": {
        "tariff": {"type": "string", "title": "Tariff", "anyOf": ["options_from_task_data_var:tariffs"]}}}
    model = chain_model("tariffs", [("pick", "Operator", user_task("pick", "Pick", form="pick.json", ui=None))])
    model["pick.json"] = json.dumps(schema)
    publish_version(model)
    db.session.commit()
    tariffs = [{"value": "a", "label": "Basic", "monthly": Decimal("38500.00")}]
    instance = runtime.start_instance("tariffs", title="Tariffs", actor=user("owner"), data={"tariffs": tariffs})
    db.session.commit()
    assert task_of(instance, "pick").details["form_options"] == {
        "tariffs": [{"value": "a", "label": "Basic", "monthly": "38500.00"}]}


@pytest.mark.parametrize("row_points_at", ["a task the saved state does not hold", "the completed start event"])
def test_a_task_row_the_saved_state_no_longer_waits_on_is_refused_and_nothing_changes(dated, row_points_at):
    """The task row says open, but the instance's saved state does not wait on that task (a row out of step
    with the state: a hand-edited row, a restored backup): the completion is refused as a conflict, word for
    word, before any handler or engine step runs — the row stays open, the state and the audit trail as they
    were."""
    from uuid import uuid4

    from app.engine.models import ProcessInstance

    task = task_of(dated, "plan")
    if row_points_at == "the completed start event":
        start = next(t for t in runtime._load(dated).get_tasks() if t.task_spec.name == "start")
        task.task_guid = str(start.id)
    else:
        task.task_guid = str(uuid4())
    db.session.commit()
    state, events = dated.state, db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    with pytest.raises(ConflictError) as refused:
        runtime.complete_task(task.id, user("operator"), data={"when": "2026-11-06", "comment": "ok"})
    assert str(refused.value) == "This step is no longer waiting for input."
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"
    assert db.session.get(ProcessInstance, dated.id).state == state
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == events


def test_a_handler_is_given_the_workflow_tasks_own_data(dated, monkeypatch):
    """A task handler's ``submit`` sees the data the workflow task holds (what the process put there before the
    step), beside the form's data — e.g. the year-end report's academic year for an instance without its row."""
    from app.engine import handlers

    seen = {}

    class Recording(handlers.TaskHandler):
        def submit(self, ctx, data):
            seen.update(workflow=dict(ctx.data), form=dict(data), task=ctx.human_task.spec_name)
            return data

    monkeypatch.setitem(handlers._HANDLERS, "test/recording", Recording())
    wf = runtime._load(dated)
    plan = next(t for t in wf.get_tasks() if t.task_spec.name == "plan")
    plan.set_data(academic_year="2026/2027")
    dated.state = runtime._dump(wf)
    task = task_of(dated, "plan")
    task.handler = "test/recording"
    db.session.commit()
    runtime.complete_task(task.id, user("operator"), data={"when": "2026-11-06", "comment": "ok"})
    assert seen["task"] == "plan" and seen["form"] == {"when": "2026-11-06", "comment": "ok"}
    assert seen["workflow"].get("academic_year") == "2026/2027"
