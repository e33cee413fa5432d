"""The join check's words and shapes, one rule at a time (app.engine.gateway_matching; the corpus files and the
engine's runs of them: test_gateway_matching.py). Each refusal is pinned word for word with the names it gives: a
process owner reads it to redraw the join."""

from __future__ import annotations

import pytest
from lxml import etree

from app.engine.gateway_matching import join_problems
from tests.engine.test_foreign_model_problems import diagram
from tests.modeler.test_gateway_matching import _nodes_and_flows


def _said(nodes: list[str], flows: list[tuple[str, str]], extra: str = "") -> list[tuple[str, str]]:
    xml = diagram(_nodes_and_flows(nodes, flows) + extra)
    return [(p.element_id, p.message) for p in join_problems({"m.bpmn": etree.fromstring(xml.encode())})]


START, END, JOIN = '<bpmn:startEvent id="s" />', '<bpmn:endEvent id="e" />', '<bpmn:parallelGateway id="j" />'
A, B = '<bpmn:userTask id="a" name="A" />', '<bpmn:userTask id="b" name="B" />'
TIMER = '<bpmn:timerEventDefinition><bpmn:timeDuration>"P2D"</bpmn:timeDuration></bpmn:timerEventDefinition>'


def _boundary(cancel: str) -> list[str]:
    return ['<bpmn:userTask id="t" name="Review" />',
            f'<bpmn:boundaryEvent id="late" name="Two days" attachedToRef="t" cancelActivity="{cancel}">{TIMER}'
            '</bpmn:boundaryEvent>']


X = '<bpmn:exclusiveGateway id="x" name="Which?" default="f2" />'
CHOSEN_A = ("This parallel gateway waits for a token on every incoming flow, but the one from 'A' comes only when "
            "'Which?' chooses that way: when it chooses another, the instance would wait here for good. Join the ways "
            "of a choice with an exclusive gateway, or end the process on the other way with a terminate end event.")

ROUNDS_MIX = ("Two tokens can come to this join on the flow from 'A' at the same time: the flow from 'p' to 'Which?' "
              "leads from inside a branch of 'p' back to before it, so 'p' starts its branches again while one of the "
              "previous round still runs. The join would pair tokens of different rounds (the steps after it ran "
              "twice, or it waited for good). Loop back from after the join, or keep the loop inside one branch.")
SHAPES = {
    "exclusive split, parallel join": (
        [START, X, A, B, JOIN, END], [("s", "x"), ("x", "a"), ("x", "b"), ("a", "j"), ("b", "j"), ("j", "e")],
        ("j", CHOSEN_A)),
    "inclusive split, parallel join": (
        [START, '<bpmn:inclusiveGateway id="x" name="Which?" />', A, B, JOIN, END],
        [("s", "x"), ("x", "a"), ("x", "b"), ("a", "j"), ("b", "j"), ("j", "e")],
        ("j", "This parallel gateway waits for a token on every incoming flow, but the one from 'A' comes only when "
              "the inclusive gateway 'Which?' takes that way, and it may not: the instance would then wait here for "
              "good. Join the ways of an inclusive gateway with an inclusive gateway.")),
    "a non-interrupting boundary event's path into a parallel join": (
        [START, *_boundary("false"), A, JOIN, END],
        [("s", "t"), ("t", "j"), ("late", "a"), ("a", "j"), ("j", "e")],
        ("j", "This parallel gateway waits for a token on every incoming flow, but the one from 'A' comes only if "
              "the boundary event 'Two days' fires, and it may not: the instance would then wait here for good. End "
              "the boundary event's path with an end event of its own.")),
    "an interrupting boundary event's path and the step's own into a parallel join": (
        [START, *_boundary("true"), A, B, JOIN, END],
        [("s", "t"), ("t", "b"), ("late", "a"), ("a", "j"), ("b", "j"), ("j", "e")],
        ("j", "This parallel gateway waits for a token on every incoming flow, but the one from 'A' comes only when "
              "'Review' ends that way (normally, or through one of its boundary events), and it cannot end two "
              "ways: the instance would wait here for good. Join these paths with an exclusive gateway, or end the "
              "process on the other path with a terminate end event.")),
    "a way that forks, its branches joined again, beside the flow to the join": (
        [START, X, '<bpmn:parallelGateway id="p" />', A, B, '<bpmn:userTask id="c" />', '<bpmn:userTask id="d" />',
         '<bpmn:parallelGateway id="pj" />', '<bpmn:endEvent id="e2" />', JOIN, END],
        [("s", "x"), ("x", "p"), ("x", "b"), ("p", "a"), ("p", "c"), ("p", "d"), ("c", "pj"), ("d", "pj"),
         ("pj", "e2"), ("a", "j"), ("b", "j"), ("j", "e")],
        ("j", CHOSEN_A)),
    # said twice on the join: as a choice's way, and as a loop from inside the fork's branch back to before it
    # (the rounds of the fork mix at the join)
    "a way that forks back to the choice beside the flow to the join": (
        [START, X, '<bpmn:parallelGateway id="p" />', A, B, JOIN, END],
        [("s", "x"), ("x", "p"), ("x", "b"), ("p", "a"), ("p", "x"), ("a", "j"), ("b", "j"), ("j", "e")],
        [("j", CHOSEN_A), ("j", ROUNDS_MIX)]),
    "a way whose step's boundary event leads to the join": (
        [START, X, '<bpmn:userTask id="t" name="Review" />',
         f'<bpmn:boundaryEvent id="late" name="Two days" attachedToRef="t">{TIMER}</bpmn:boundaryEvent>',
         A, B, '<bpmn:endEvent id="e2" />', JOIN, END],
        [("s", "x"), ("x", "t"), ("x", "b"), ("t", "e2"), ("late", "a"), ("a", "j"), ("b", "j"), ("j", "e")],
        ("j", CHOSEN_A)),
    "parallel branches merged by an exclusive gateway": (
        [START, '<bpmn:parallelGateway id="fork" />', A, B, '<bpmn:exclusiveGateway id="m" name="Merge" />',
         '<bpmn:userTask id="n" name="Next" />', END],
        [("s", "fork"), ("fork", "a"), ("fork", "b"), ("a", "m"), ("b", "m"), ("m", "n"), ("n", "e")],
        ("m", "The flows from 'A' and 'B' can bring a token to this gateway at the same time (they come from "
              "branches that run side by side): it lets each token through, so every step after it would run once "
              "for each. Join such branches with a parallel gateway (with an inclusive gateway when an inclusive "
              "gateway split them).")),
    "parallel branches into one step (the second unnamed: said by its id)": (
        [START, '<bpmn:parallelGateway id="fork" />', A, '<bpmn:userTask id="b" />',
         '<bpmn:userTask id="n" name="Next" />', END],
        [("s", "fork"), ("fork", "a"), ("fork", "b"), ("a", "n"), ("b", "n"), ("n", "e")],
        ("n", "The flows from 'A' and 'b' can bring a token to this element at the same time (they come from "
              "branches that run side by side): it would run once for each, and so would every step after it. Join "
              "the branches with a parallel gateway before it (with an inclusive gateway when an inclusive gateway "
              "split them).")),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_join_that_does_not_match_is_said_word_for_word_on_the_join(app_ctx, shape):
    nodes, flows, said = SHAPES[shape]
    assert _said(nodes, flows) == (said if isinstance(said, list) else [said])


def _inside(*elements: str) -> str:
    """A subprocess's inside: a start, ``elements`` one after the other, an end."""
    ids = ["in_s"] + [f"in_{i}" for i in range(len(elements))] + ["in_e"]
    body = ['<bpmn:startEvent id="in_s" />'] + [el.format(id=f"in_{i}") for i, el in enumerate(elements)] + [
        '<bpmn:endEvent id="in_e" />']
    return "".join(body) + "".join(f'<bpmn:sequenceFlow id="g{i}" sourceRef="{a}" targetRef="{b}" />'
                                   for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))


ERROR = "<bpmn:errorEventDefinition />"
ESCALATION = "<bpmn:escalationEventDefinition />"
CANCEL = "<bpmn:cancelEventDefinition />"


def _sub(kind: str, *elements: str) -> str:
    return f'<bpmn:{kind} id="t" name="Review">{_inside(*elements)}</bpmn:{kind}>'


def _throw(kind: str, definition: str) -> str:
    return f'<bpmn:{kind} id="{{id}}">{definition}</bpmn:{kind}>'


@pytest.mark.parametrize(("step", "caught", "may_fire"), [
    # a timer (or any event not thrown from inside) may fire on a subprocess as on a step
    (_sub("subProcess"), TIMER, True),
    # an error boundary on a step of work: the step's own failure may throw it
    ('<bpmn:userTask id="t" name="Review" />', ERROR, True),
    ('<bpmn:serviceTask id="t" name="Review" />', ERROR, True),
    # on a subprocess, only what is thrown inside
    (_sub("subProcess"), ERROR, False),
    (_sub("transaction"), CANCEL, False),
    (_sub("transaction"), ERROR, False),
    (_sub("subProcess", '<bpmn:callActivity id="{id}" calledElement="x" />'), ERROR, True),  # the called process's
    (_sub("subProcess", '<bpmn:serviceTask id="{id}" />'), ESCALATION, True),  # what a service raises
    (_sub("subProcess", '<bpmn:userTask id="{id}" />'), ERROR, False),
    (_sub("subProcess", _throw("intermediateThrowEvent", ESCALATION)), ESCALATION, True),
    (_sub("subProcess", _throw("intermediateThrowEvent", ESCALATION)), ERROR, False),  # another kind thrown
    (_sub("subProcess", _throw("intermediateCatchEvent", ERROR)), ERROR, False),  # caught inside, not thrown
    (_sub("transaction", _throw("endEvent", CANCEL)), CANCEL, True),
])
def test_a_boundary_event_is_a_way_out_of_its_step_when_it_may_fire(app_ctx, step, caught, may_fire):
    """The step ends normally to B or through its interrupting boundary event to A, both into a parallel join: said
    when the event may fire, else the boundary's path is never taken and the join gets its one token from B."""
    boundary = f'<bpmn:boundaryEvent id="late" name="Caught" attachedToRef="t">{caught}</bpmn:boundaryEvent>'
    nodes = [START, step, boundary, A, B, JOIN, END]
    said = _said(nodes, [("s", "t"), ("t", "b"), ("late", "a"), ("a", "j"), ("b", "j"), ("j", "e")])
    if may_fire:
        assert said == [("j", "This parallel gateway waits for a token on every incoming flow, but the one from 'A' "
                              "comes only when 'Review' ends that way (normally, or through one of its boundary "
                              "events), and it cannot end two ways: the instance would wait here for good. Join these "
                              "paths with an exclusive gateway, or end the process on the other path with a terminate "
                              "end event.")]
    else:
        assert said == []


def test_a_joins_flow_that_also_comes_without_the_choice_is_not_the_one_named(app_ctx):
    """Beside the choice, C's branch reaches the join 'Both' and through it the last join: the flow from 'Both'
    comes whichever way is chosen (once 'Both' has its tokens), so the last join is said for B's flow, which only
    one way brings. 'Both' waits for A's flow, which only the other way brings."""
    said = _said([START, '<bpmn:parallelGateway id="fork" />', X, A, B, '<bpmn:userTask id="c" name="C" />',
                  '<bpmn:userTask id="d" name="D" />', '<bpmn:parallelGateway id="pj" name="Both" />', JOIN, END],
                 [("s", "fork"), ("fork", "x"), ("fork", "c"), ("fork", "d"), ("x", "a"), ("x", "b"), ("a", "pj"),
                  ("c", "pj"), ("pj", "j"), ("b", "j"), ("d", "j"), ("j", "e")])
    assert said == [("pj", CHOSEN_A), ("j", CHOSEN_A.replace("'A'", "'B'"))]
