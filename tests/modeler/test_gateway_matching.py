"""Foreign models whose joins do not match their splits (app.engine.gateway_matching).

Each refused corpus file is first run as drawn in SpiffWorkflow 3.2, past the publish check, to show what the
refusal prevents: a step after an exclusive merge of parallel branches ran twice; a parallel join after a choice
waited for good. Then the check says it on the join, with its line, before publishing. The legitimate shapes next to
them (mixed gateways, a branch that may end the process, an interrupting boundary path merged by an exclusive
gateway, a loop inside a branch) publish and run to the end: tests/modeler/test_bpmn_corpus.py, RUNNABLE.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine.runtime import SCRIPT_ENGINE, advance
from app.engine.specs import parse_files, validate_files
from app.modeler.operations import decoded
from tests.engine.test_foreign_model_problems import diagram
from tests.modeler.test_bpmn_corpus import RUNNABLE

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bpmn_corpus"

#: file, its timers made due at once (the run does not wait days), what happened when it ran as drawn
MISBEHAVING = [
    ("tapsyrys-bpmnio-parallel-split-exclusive-join.bpmn", {}, ("twice", "Activity_approve")),
    ("tapsyrys-bpmnio-parallel-split-implicit-merge.bpmn", {}, ("twice", "Activity_approve")),
    ("tapsyrys-flowable-inclusive-split-exclusive-join.bpmn", {}, ("twice", "send")),
    ("tapsyrys-bpmnio-reminder-exclusive-merge.bpmn", {'"P1D"': '"PT0S"'}, ("twice", "Activity_archive")),
    ("tapsyrys-signavio-exclusive-split-parallel-join.bpmn", {}, ("stuck", "sid-join")),
    ("tapsyrys-camunda7-inclusive-split-parallel-join.bpmn", {}, ("stuck", "Gateway_join")),
    ("tapsyrys-bpmnio-event-gateway-parallel-join.bpmn", {'"P3D"': '"PT0S"'}, ("stuck", "Gateway_join")),
    ("tapsyrys-bpmnio-boundary-timer-parallel-join.bpmn", {'"P2D"': '"PT0S"'}, ("stuck", "Gateway_join")),
    # a loop from inside a parallel branch back before its split (into the split itself): the split started its
    # branches again, two "Review" steps opened, and each one's token passed the join with a token of its own round
    ("tapsyrys-bpmnio-loop-back-before-parallel-split.bpmn", {}, ("twice", "Activity_pay")),
    ("tapsyrys-signavio-loop-into-parallel-split.bpmn", {}, ("twice", "sid-accept")),
]


def run_as_drawn(files: dict[str, str]) -> tuple[BpmnWorkflow, list[str]]:
    """Run the model in the engine without the publish check, completing each user task as it opens and letting due
    timers fire; the user tasks in the order they were done."""
    parsed = parse_files(files)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
    done: list[str] = []
    advance(wf)
    for _ in range(30):
        wf.refresh_waiting_tasks()
        advance(wf)
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        done.append(ready[0].task_spec.bpmn_id)
        ready[0].run()
        advance(wf)
    return wf, done


@pytest.mark.parametrize(("name", "due_now", "outcome"), MISBEHAVING, ids=[m[0] for m in MISBEHAVING])
def test_a_join_that_does_not_match_misbehaves_in_the_engine_and_is_refused_on_the_join(app_ctx, name, due_now,
                                                                                        outcome):
    text = decoded((CORPUS / name).read_bytes(), name)
    for written, now in due_now.items():
        text = text.replace(written, now)
    wf, done = run_as_drawn({name: text})
    what, element_id = outcome
    if what == "twice":
        assert done.count(element_id) == 2, done
    else:
        assert not wf.is_completed(), done
        waiting = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.WAITING | TaskState.READY)]
        assert waiting == [element_id], (waiting, done)
    _parsed, problems = validate_files({name: text}, lane_role="starter")
    said = [p for p in problems if "run once for each" in p.message or "wait here for good" in p.message
            or "pair tokens of different rounds" in p.message]
    assert len(said) == 1 and said[0].line, [str(p) for p in problems]


def _nodes_and_flows(nodes: list[str], flows: list[tuple[str, str]]) -> str:
    return "\n".join(nodes) + "\n" + "\n".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />' for i, (a, b) in enumerate(flows))


def _said(xml: str) -> list[str]:
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    return [f"{p.element_id}: {p.message}" for p in problems
            if "run once for each" in p.message or "wait here for good" in p.message]


def test_the_merge_is_said_where_the_branches_first_meet_not_again_after_it(app_ctx):
    """Parallel branches into an event-based gateway, then its events into an exclusive gateway: the second merge
    only sees the tokens the first let through; said once, on the first."""
    xml = diagram(_nodes_and_flows(
        ['<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />', '<bpmn:userTask id="a" />',
         '<bpmn:userTask id="b" />', '<bpmn:eventBasedGateway id="wait" />',
         '<bpmn:intermediateCatchEvent id="t1"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"'
         '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>',
         '<bpmn:intermediateCatchEvent id="t2"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"'
         '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>',
         '<bpmn:exclusiveGateway id="merge" />', '<bpmn:userTask id="n" />', '<bpmn:endEvent id="e" />'],
        [("s", "fork"), ("fork", "a"), ("fork", "b"), ("a", "wait"), ("b", "wait"), ("wait", "t1"), ("wait", "t2"),
         ("t1", "merge"), ("t2", "merge"), ("merge", "n"), ("n", "e")]))
    said = _said(xml)
    assert len(said) == 1 and said[0].startswith("wait: The flows from 'a' and 'b'"), said


@pytest.mark.parametrize("end", ["", "<bpmn:terminateEventDefinition />"])
def test_parallel_branches_that_meet_only_to_end_are_not_refused(app_ctx, end):
    """An exclusive gateway straight before an end event: each token ends there as at an end event of its own."""
    xml = diagram(_nodes_and_flows(
        ['<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />', '<bpmn:userTask id="a" />',
         '<bpmn:userTask id="b" />', '<bpmn:exclusiveGateway id="merge" />',
         f'<bpmn:endEvent id="e">{end}</bpmn:endEvent>'],
        [("s", "fork"), ("fork", "a"), ("fork", "b"), ("a", "merge"), ("b", "merge"), ("merge", "e")]))
    assert _said(xml) == []


def test_a_parallel_join_completed_by_another_path_is_not_refused(app_ctx):
    """The exclusive gateway's way 'yes' leads to the join, 'no' comes back to ask again: the join's token from that
    branch comes in the end, and the other branch brings its own."""
    xml = diagram(_nodes_and_flows(
        ['<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />', '<bpmn:exclusiveGateway id="ask" />',
         '<bpmn:userTask id="a" />', '<bpmn:exclusiveGateway id="ok" default="f5" />', '<bpmn:userTask id="b" />',
         '<bpmn:parallelGateway id="join" />', '<bpmn:endEvent id="e" />'],
        [("s", "fork"), ("fork", "ask"), ("ask", "a"), ("a", "ok"), ("ok", "ask"), ("ok", "join"), ("fork", "b"),
         ("b", "join"), ("join", "e")]).replace(
        '<bpmn:sequenceFlow id="f4" sourceRef="ok" targetRef="ask" />',
        '<bpmn:sequenceFlow id="f4" sourceRef="ok" targetRef="ask"><bpmn:conditionExpression>again'
        '</bpmn:conditionExpression></bpmn:sequenceFlow>'))
    assert _said(xml) == []


def test_an_error_boundary_nothing_inside_can_throw_is_not_a_way(app_ctx):
    """A subprocess in a parallel branch with an error boundary event to an end, and nothing inside that throws the
    error (bpmn-js's deep-linking example): the boundary's path is never taken, the join is not refused. With an
    error end event inside, the join would wait for good when it is thrown."""
    def model(inside_end: str) -> str:
        return diagram(_nodes_and_flows(
            ['<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />',
             '<bpmn:subProcess id="sub" name="Procure"><bpmn:startEvent id="s2" /><bpmn:userTask id="in" />'
             f'<bpmn:endEvent id="e2">{inside_end}</bpmn:endEvent>'
             '<bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="in" /><bpmn:sequenceFlow id="g2" sourceRef="in" '
             'targetRef="e2" /></bpmn:subProcess>',
             '<bpmn:boundaryEvent id="err" attachedToRef="sub"><bpmn:errorEventDefinition /></bpmn:boundaryEvent>',
             '<bpmn:userTask id="b" />', '<bpmn:parallelGateway id="join" />', '<bpmn:endEvent id="e" />',
             '<bpmn:endEvent id="failed" />'],
            [("s", "fork"), ("fork", "sub"), ("fork", "b"), ("sub", "join"), ("b", "join"), ("join", "e"),
             ("err", "failed")]))

    assert _said(model("")) == []
    said = _said(model("<bpmn:errorEventDefinition />"))
    assert len(said) == 1 and said[0].startswith("join: ") and "'Procure' ends that way" in said[0], said


def test_a_model_of_500_elements_with_many_branches_is_checked_to_its_end(app_ctx):
    """No path enumeration: 25 parallel branches of 5 choices each (the concurrency relation is polynomial, the
    chains of steps one place each). The check's work budget is not spent before the last merge, which it finds."""
    nodes = ['<bpmn:startEvent id="s" />', '<bpmn:parallelGateway id="fork" />', '<bpmn:parallelGateway id="join" />',
             '<bpmn:exclusiveGateway id="late" />', '<bpmn:endEvent id="e" />', '<bpmn:userTask id="after" />']
    flows = [("s", "fork"), ("join", "e"), ("late", "after"), ("after", "e")]
    conditions = []
    for branch in range(25):
        previous = "fork"
        for step in range(5):
            x, a, b, m = (f"{kind}{branch}_{step}" for kind in ("x", "a", "b", "m"))
            nodes += [f'<bpmn:exclusiveGateway id="{x}" default="d{x}" />', f'<bpmn:userTask id="{a}" />',
                      f'<bpmn:userTask id="{b}" />', f'<bpmn:exclusiveGateway id="{m}" />']
            conditions.append(f'<bpmn:sequenceFlow id="c{x}" sourceRef="{x}" targetRef="{a}">'
                              '<bpmn:conditionExpression>go</bpmn:conditionExpression></bpmn:sequenceFlow>'
                              f'<bpmn:sequenceFlow id="d{x}" sourceRef="{x}" targetRef="{b}" />')
            flows += [(previous, x), (a, m), (b, m)]
            previous = m
        # the last two branches meet at an exclusive gateway instead: the step after it would run twice
        flows.append((previous, "late" if branch >= 23 else "join"))
    assert len(nodes) + len(flows) + 2 * len(conditions) > 500
    said = _said(diagram(_nodes_and_flows(nodes, flows) + "\n".join(conditions)))
    assert len(said) == 1 and said[0].startswith("late: The flows from 'm23_4' and 'm24_4'"), said


def test_a_loop_back_into_a_parallel_join_runs_as_a_loop_and_is_only_a_notice(app_ctx):
    """'Archive a copy' loops back into the join of the two signatures. The engine does not wait for the returning
    flow on the first round and lets it through alone after: the copy is archived twice, the instance ends. A BPMN
    engine that follows the standard would wait at the join for good, so the editor says it — without refusing."""
    from app.engine.specs import model_notices

    name = "tapsyrys-bpmnio-loop-back-into-parallel-join.bpmn"
    text = decoded((CORPUS / name).read_bytes(), name)
    wf, done = run_as_drawn({name: text})
    assert wf.is_completed() and done.count("Activity_archive") == 2, done
    assert sorted(done[:2]) == ["Activity_director", "Activity_head"], "each signature once"
    _parsed, problems = validate_files({name: text}, lane_role="starter")
    assert problems == [], [str(p) for p in problems]
    said = [p for p in model_notices({name: text}) if "comes back to this parallel gateway" in p.message]
    assert [(p.element_id, bool(p.line)) for p in said] == [("Gateway_join", True)], [str(p) for p in said]
    assert "'Both copies archived?'" in said[0].message


LOOPS = {
    # a loop kept inside one branch, or around the whole split and join: one token goes round
    "inside the branch": [("s", "s2"), ("s2", "fork"), ("fork", "m"), ("m", "a"), ("a", "q"), ("q", "m"),
                          ("q", "join"), ("fork", "b"), ("b", "join"), ("join", "e")],
    "around split and join": [("s", "s2"), ("s2", "m"), ("m", "fork"), ("fork", "c"), ("fork", "b"), ("c", "join"),
                              ("b", "join"), ("join", "a"), ("a", "q"), ("q", "m"), ("q", "e")],
    # no join after the split: each round's branches run on their own ('b' once a round)
    "back before a split with no join": [("s", "s2"), ("s2", "m"), ("m", "fork"), ("fork", "a"), ("a", "q"),
                                         ("q", "m"), ("q", "e"), ("fork", "b"), ("b", "e2")],
}


@pytest.mark.parametrize("shape", sorted(LOOPS))
def test_loops_whose_rounds_do_not_mix_run_and_are_not_refused(app_ctx, shape):
    flows = LOOPS[shape]
    nodes = {"s": '<bpmn:startEvent id="s" />', "s2": '<bpmn:scriptTask id="s2"><bpmn:script>n = 0</bpmn:script>'
             '</bpmn:scriptTask>', "m": '<bpmn:exclusiveGateway id="m" />',
             "fork": '<bpmn:parallelGateway id="fork" />',
             "a": '<bpmn:scriptTask id="a"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>',
             "c": '<bpmn:scriptTask id="c"><bpmn:script>k = 1</bpmn:script></bpmn:scriptTask>',
             "q": '<bpmn:exclusiveGateway id="q" />', "b": '<bpmn:userTask id="b" />',
             "join": '<bpmn:parallelGateway id="join" />', "e": '<bpmn:endEvent id="e" />',
             "e2": '<bpmn:endEvent id="e2" />'}
    used = {n for flow in flows for n in flow}
    xml = diagram(_nodes_and_flows([nodes[n] for n in nodes if n in used], flows))
    for i, (a, b) in enumerate(flows):
        if a == "q":
            condition = "n &lt; 2" if b == "m" else "n &gt;= 2"
            xml = xml.replace(f'<bpmn:sequenceFlow id="f{i}" sourceRef="q" targetRef="{b}" />',
                              f'<bpmn:sequenceFlow id="f{i}" sourceRef="q" targetRef="{b}"><bpmn:conditionExpression>'
                              f'{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')
    wf, done = run_as_drawn({"m.bpmn": xml})
    assert wf.is_completed() and done == (["b"] if shape == "inside the branch" else ["b", "b"]), done
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    assert not [p for p in problems if "rounds" in p.message], [str(p) for p in problems]

@pytest.mark.parametrize("name", sorted(RUNNABLE))
def test_no_join_of_a_file_that_runs_to_the_end_is_refused(app_ctx, name):
    """The join check alone on every corpus file that publishes and runs to the end (test_bpmn_corpus.py runs them,
    slowly): none of its joins is said. Quick, so that the mutation key can ask it of every mutant of the check."""
    assert _said(decoded((CORPUS / name).read_bytes(), name)) == []
