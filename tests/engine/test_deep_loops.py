"""A loop that goes round too often fails as a step, never "completes": SpiffWorkflow follows a task tree at most
1,000 levels deep, and past that its ready tasks are not found, so the workflow read as completed. A tester's
script loop (no wait, an exit that is never taken) started as a "completed" instance after 6 s; a review loop
was "completed" at its 500th round without reaching its end event."""

from __future__ import annotations

import pytest

from app.engine import runtime
from app.engine.errors import StepFailed
from app.engine.models import ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import user

LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://x">
<bpmn:process id="loopy" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:scriptTask id="init" name="Init"><bpmn:script>n = 0</bpmn:script></bpmn:scriptTask>
<bpmn:scriptTask id="count" name="Count"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="g" default="back"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="init"/>
<bpmn:sequenceFlow id="f1" sourceRef="init" targetRef="count"/>
<bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="g"/>
<bpmn:sequenceFlow id="back" sourceRef="g" targetRef="count"/>
<bpmn:sequenceFlow id="out" sourceRef="g" targetRef="e">
<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">n &gt; ROUNDS</bpmn:conditionExpression></bpmn:sequenceFlow>
</bpmn:process></bpmn:definitions>"""


def _start(rounds: int) -> ProcessInstance:
    publish_version({"loopy.bpmn": LOOP.replace("ROUNDS", str(rounds))})
    db.session.commit()
    return runtime.start_instance("loopy", title="Loop", actor=user("owner"))


def test_a_loop_that_never_ends_fails_as_a_step_and_is_not_completed(world):
    with pytest.raises(StepFailed, match=r"^This process has gone round its loops too often: the engine follows at "
                                         r"most 1000 steps in one path") as failed:
        _start(10**6)
    assert failed.value.element_id in ("count", "g")
    db.session.rollback()
    assert db.session.query(ProcessInstance).filter_by(title="Loop").count() == 0


def test_a_loop_that_ends_in_time_completes(world):
    instance = _start(200)  # 200 rounds of two steps each: 400 levels
    db.session.commit()
    assert instance.status == "completed"


def test_a_due_time_in_other_digits_is_a_model_problem_not_a_crash_when_the_task_opens(app_ctx):
    """``"²".isdigit()`` is true and ``int("²")`` fails: a model with ``dueInDays="²"`` passed the check and its
    task could not be created."""
    from datetime import UTC, datetime

    from app.engine.runtime import due_date
    from app.engine.specs import validate_files
    from tests.modeler.factory import chain_model, user_task

    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for odd in ("²", "１", "٣", "-1", "99999"):
        assert due_date({"dueInDays": odd}, now) is None
        assert due_date({"dueInWorkingDays": odd}, now) is None
        task = user_task("fill", "Fill", extra="").replace(
            "</spiffworkflow:properties>", f'<spiffworkflow:property name="dueInDays" value="{odd}" />'
                                           "</spiffworkflow:properties>")
        _parsed, problems = validate_files(chain_model("due", [("fill", "School accountant", task)]), process_id="due")
        assert any("whole number of days" in p.message for p in problems), odd
    assert due_date({"dueInDays": "3"}, now) == datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def test_a_form_nested_past_the_recursion_limit_is_a_model_problem(app_ctx):
    from app.engine.specs import validate_files
    from tests.modeler.factory import two_step

    files = two_step()
    files["fill.schema.json"] = "[" * 100_000 + "]" * 100_000
    _parsed, problems = validate_files(files, process_id="trial")
    assert {p.message for p in problems if p.filename == "fill.schema.json"} == {
        "Not valid JSON: nested or sized beyond reason"}  # once per task that uses the form
