"""A comment inside a script or a condition — a note a tool or a person left there — ended the text the engine
read: ``amount = 0<!-- was 5 -->`` then ``amount = 5`` ran as ``amount = 0`` (the rest skipped without a word, the
gateway took the other branch), and a condition after a comment read as empty ("needs a condition"). The trees the
checks and the engine read have no comments; the stored file keeps them."""

from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine.runtime import SCRIPT_ENGINE, advance
from app.engine.specs import validate_files
from tests.engine.test_foreign_model_problems import diagram, flows


def _gateway(condition: str, script: str) -> str:
    return diagram('<bpmn:startEvent id="s" />\n'
                   f'<bpmn:scriptTask id="set"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>\n'
                   '<bpmn:exclusiveGateway id="g" default="f_low" />\n'
                   f'<bpmn:sequenceFlow id="f_high" sourceRef="g" targetRef="high"><bpmn:conditionExpression>'
                   f'{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
                   '<bpmn:sequenceFlow id="f_low" sourceRef="g" targetRef="low" />\n'
                   '<bpmn:endEvent id="high" /><bpmn:endEvent id="low" />\n' + flows("s", "set", "g"))


def _ends_at(xml: str) -> str:
    parsed, problems = validate_files({"c.bpmn": xml})
    assert problems == [], [str(p) for p in problems]
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
    advance(workflow)
    assert workflow.is_completed()
    return next(t.task_spec.name for t in workflow.tasks.values()
                if t.task_spec.name in ("high", "low") and t.state == TaskState.COMPLETED)


def test_a_comment_inside_a_script_does_not_cut_it_short(app_ctx):
    assert _ends_at(_gateway("amount &gt; 1", "amount = 0<!-- was 5 -->\namount = 5")) == "high"


def test_a_condition_after_a_comment_is_read(app_ctx):
    assert _ends_at(_gateway("<!-- Signavio's note -->amount &gt; 1", "amount = 5")) == "high"
    assert _ends_at(_gateway("<!-- Signavio's note -->amount &gt; 9", "amount = 5")) == "low"
