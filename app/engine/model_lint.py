"""What a model drawn in any BPMN 2.0 tool needs before SpiffWorkflow 3.2 can run it (issue 16 §1).

SpiffWorkflow's parser stops at the first element it cannot handle and names it as ``<Element … at 0x…>``.
This module looks at the XML first and reports *every* element the engine cannot run, each with its file,
id, name and line, in the user's language; it also gives the engine a copy of each tree it can parse
(descriptive processes marked executable, data stores taken out: both are reported here), so the
engine's own checks still see the rest of the model. :func:`engine_problem` turns whatever the engine
raises anyway into the same kind of problem.

Nothing here changes the stored files: what the tool wrote (ids, extensions) stays as it was.
"""

from __future__ import annotations

import ast
import copy
import re
from collections import defaultdict

from flask_babel import gettext as _
from lxml import etree

from app.engine.decisions import input_marks_replaced
from app.engine.errors import ModelProblem
from app.engine.foreign_engines import (
    PYTHON_LANGUAGES,
    call_mapping_problems,
    correlation_key_problems,
    expression_language,
    foreign_decision,
    foreign_language_problems,
    language_words,
    zeebe_script_problems,
)
from app.engine.forms import has_direction_control, has_invisible_character
from app.engine.scripting import check_script, script_names
from app.engine.timer_literals import is_cron, iso_inside, quote_bare_timers
from app.engine.xml import ALLOWED_NAMESPACES

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}


def local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _problem(filename: str, el, message: str) -> ModelProblem:
    return ModelProblem(filename, message, el.get("id"), el.sourceline, el.get("name") or None)


def _bpmn(root, path: str) -> list:
    return root.xpath(path, namespaces=_NS)


def process_ids(trees: dict) -> set[str]:
    return {p.get("id") for name, root in trees.items() if name.endswith(".bpmn")
            for p in _bpmn(root, ".//bpmn:process") if p.get("id")}


def decision_ids(trees: dict) -> set[str]:
    return {d.get("id") for name, root in trees.items() if name.endswith(".dmn")
            for d in root.iter("{*}decision") if d.get("id")}


def lint(trees: dict) -> list[ModelProblem]:
    """Every element of the BPMN files that the engine cannot run, all at once."""
    problems: list[ModelProblem] = []
    called = process_ids(trees)
    decisions = decision_ids(trees)
    calls = _process_calls(trees)
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for el in _bpmn(root, ".//bpmn:dataStore | .//bpmn:dataStoreReference"):
            problems.append(_problem(filename, el, _(
                "Data stores cannot be run by the engine; use a data object (process data) instead.")))
        for el in _bpmn(root, ".//bpmn:complexGateway"):
            problems.append(_problem(filename, el, _(
                "Complex gateways cannot be run by the engine; use an inclusive or exclusive gateway.")))
        for el in _bpmn(root, ".//bpmn:choreography | .//bpmn:choreographyTask | .//bpmn:subChoreography"
                              " | .//bpmn:callChoreography"):
            problems.append(_problem(filename, el, _(
                "Choreographies are kept for viewing; the engine cannot run them.")))
        for el in _bpmn(root, ".//bpmn:adHocSubProcess"):
            # SpiffWorkflow 3.2 opens every step inside at once and waits for all of them, and checks the completion
            # condition before any step ran (no condition: the instance fails as the subprocess starts)
            problems.append(_problem(filename, el, _(
                "Ad hoc subprocesses cannot be run by the engine: it would open every step inside at once and wait "
                "for all of them, instead of letting the performer choose. Draw the steps with an inclusive gateway "
                "that decides which of them apply.")))
        for el in _bpmn(root, ".//bpmn:receiveTask"):
            # without a message the engine passed the step at once: "Wait for the bank" waited for nothing
            if not el.get("messageRef"):
                problems.append(_problem(filename, el, _(
                    "This receive task names no message, so the engine would pass it at once instead of waiting. "
                    "Choose the message it waits for.")))
        bare = [d.getparent() for d in _bpmn(root, ".//bpmn:messageEventDefinition") if not d.get("messageRef")]
        if not [e for e in bare if local(e.tag) not in ("endEvent", "intermediateThrowEvent")]:
            # nothing waits for a message without a name: the engine sent it to no one and went on ("Tell the
            # school" told no one); a catch without a name beside it is the one place such a message arrives
            for el in bare:
                problems.append(_problem(filename, el, _(
                    "This message event names no message, so nothing would receive what it sends: the engine would "
                    "go on as if it had been sent. Choose the message, the one the receiving event waits for.")))
        for el in _bpmn(root, ".//bpmn:subProcess | .//bpmn:transaction"):
            starts = [c for c in el if local(c.tag) == "startEvent"]
            if len(starts) != 1:
                problems.append(_problem(filename, el, _(
                    "A subprocess needs exactly one start event inside it; this one has %(n)s.", n=len(starts))))
            elif not [c for c in el if local(c.tag) == "endEvent"]:
                # the engine refuses it too, but one at a time and in its own English ("A SubWorkflow Must contain
                # an End event"): every such subprocess is said now, in the owner's words
                problems.append(_problem(filename, el, _(
                    "This subprocess has no end event inside it: draw one after its last step.")))
        for el in _bpmn(root, ".//bpmn:callActivity"):
            target = el.get("calledElement")
            zeebe = next(el.iter("{http://camunda.org/schema/zeebe/1.0}calledElement"), None)
            if not target and zeebe is not None and zeebe.get("processId"):
                # Camunda 8 names the called process in its own extension, which the engine does not read
                problems.append(_problem(filename, el, _(
                    "The call activity names its process for Camunda 8 only (zeebe:calledElement %(id)s), which the "
                    "engine does not read: write the process's id as the call activity's called element "
                    "(calledElement).", id=repr(zeebe.get("processId")))))
            elif not target:
                problems.append(_problem(filename, el, _("The call activity names no process to call.")))
            elif target not in called:
                problems.append(_problem(filename, el, _(
                    "The called process %(id)s is not part of the model: add its .bpmn file.", id=repr(target))))
        for el in _bpmn(root, ".//bpmn:businessRuleTask"):
            decision = el.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}calledDecisionId")
            name = (decision.text or "").strip() if decision is not None else ""
            foreign = foreign_decision(el)
            if not name and foreign:
                problems.append(_problem(filename, el, _(
                    "The business rule task names its decision for %(tool)s only (%(named)s), which the engine does "
                    "not read: choose the decision in the side panel (called decision). Its outputs are then set "
                    "under their own names, not in a result variable.", tool=foreign[0], named=foreign[1])))
            elif not name:
                problems.append(_problem(filename, el, _(
                    "The business rule task names no decision table (called decision).")))
            elif name not in decisions:
                problems.append(_problem(filename, el, _(
                    "The decision %(id)s is not in any .dmn file of the model.", id=repr(name))))
        for el in _bpmn(root, ".//bpmn:scriptTask"):
            fmt = (el.get("scriptFormat") or "").strip().lower()
            if fmt not in PYTHON_LANGUAGES:
                problems.append(_problem(filename, el, _(
                    "Scripts are Python here; this one is written in %(lang)s.", lang=el.get("scriptFormat"))))
            elif not (el.findtext(f"{{{BPMN}}}script") or "").strip() and not zeebe_script_problems(filename, el):
                problems.append(_problem(filename, el, _("The script task has no script.")))
        for el in _bpmn(root, ".//bpmn:timerEventDefinition"):
            if not any(local(c.tag) in ("timeDate", "timeDuration", "timeCycle") and (c.text or "").strip()
                       for c in el):
                # a reusable definition at the top of the file (iGrafx) is its own element; else its event is
                owner = el if local(el.getparent().tag) == "definitions" else el.getparent()
                problems.append(_problem(filename, owner, _("The timer has no date, duration or cycle.")))
            elif local(el.getparent().tag) == "intermediateCatchEvent" and any(
                    local(c.tag) == "timeCycle" and (c.text or "").strip() for c in el):
                # the engine passes a token on at each repetition ("R2/PT1S" opened the next step twice) and ends
                # the instance at once on "R0/..." — as in Camunda, only start and boundary events may repeat
                problems.append(_problem(filename, el.getparent(), _(
                    "An intermediate timer event waits once: it cannot have a cycle (only start and boundary timer "
                    "events repeat). Give it a duration (\"PT1H\") or a date instead.")))
        for el in _bpmn(root, ".//bpmn:serviceTask"):
            if el.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}serviceTaskOperator") is None:
                problems.append(_problem(filename, el, missing_operator_message(el)))
        for el in _bpmn(root, ".//bpmn:multiInstanceLoopCharacteristics"):
            collection = any(local(c.tag) == "loopDataOutputRef" and (c.text or "").strip() for c in el)
            if collection != any(local(c.tag) == "outputDataItem" for c in el):
                # SpiffWorkflow 3.2 collects an instance's output only with both: an output collection alone stayed
                # empty (the instances' results were merged into the process data instead, the last one winning)
                problems.append(_problem(filename, el.getparent(), _(
                    "This multi-instance step collects its results with an output collection (loopDataOutputRef) "
                    "and an output data item (the name each instance sets); it has only one of them, so nothing "
                    "would be collected. Give it both, or neither.")))
            item = next((c for c in el if local(c.tag) == "outputDataItem"), None)
            if collection and item is not None and local(el.getparent().tag) in ("manualTask", "task"):
                # each instance must leave its output item in its data, and these steps set none: the step failed as
                # its first instance ended, in SpiffWorkflow's words ("Expected an output item")
                problems.append(_problem(filename, el.getparent(), _(
                    "Each instance of this multi-instance step must leave its output data item %(name)s in its "
                    "data, and a step of this kind sets no data: it would fail as its first instance ends. Remove "
                    "the output collection and output data item, or make it a user task whose form has that field.",
                    name=repr(item.get("id") or item.get("name")))))
            cardinality = next((c for c in el if local(c.tag) == "loopCardinality" and (c.text or "").strip()), None)
            if cardinality is not None:
                problems += _written_count_problems(filename, el.getparent(), cardinality.text)
            if any(local(c.tag) in ("loopCardinality", "loopDataInputRef") and (c.text or "").strip() for c in el):
                continue
            # Camunda 7, Activiti and Flowable write the collection as an attribute (collection="schools"), Zeebe as
            # an extension element
            foreign = next((tool for key in el.attrib if (tool := _engine_of(key))), None) or (
                "Zeebe" if any(local(c.tag) == "loopCharacteristics" for c in el.iter()) else None)
            owner = el.getparent()
            if foreign:
                message = _("This multi-instance step is written for %(tool)s: its collection and element variable "
                            "are not read here. Write the collection's name as the loop input (loopDataInputRef) "
                            "and the element's name as the input data item, or a number of instances (loop "
                            "cardinality).", tool=foreign)
            else:
                message = _("This multi-instance step names neither a number of instances (loop cardinality) nor "
                            "a collection to run over (loop input).")
            problems.append(_problem(filename, owner, message))
        for el in _bpmn(root, ".//bpmn:intermediateCatchEvent[bpmn:conditionalEventDefinition]"):
            # SpiffWorkflow checks the condition once, on the step's own data, when the token arrives; the host's
            # background pass refreshes timers only, and another branch's data never reaches the waiting step
            problems.append(_problem(filename, el, _(
                "A conditional event is checked only once, when the token arrives: if its condition is false then, "
                "the instance waits here for good (the engine does not check it again when the data changes). Use "
                "an exclusive gateway to decide now, or a message or timer event to wait.")))
        for el in _bpmn(root, ".//bpmn:boundaryEvent[bpmn:conditionalEventDefinition]"
                              " | .//bpmn:startEvent[bpmn:conditionalEventDefinition]"):
            # the same once-only check, when the activity (or the process or subprocess) starts: a step inside the
            # subprocess setting the condition's data did not start the handler (run with SpiffWorkflow 3.2)
            problems.append(_problem(filename, el, _(
                "A conditional event is checked only once, when the step it is attached to (or the process it "
                "starts in) begins: the engine does not check it again when the data changes, so a condition that "
                "becomes true later never starts its flow. Use an exclusive gateway where the data is set, or a "
                "message or timer event.")))
        for el in _bpmn(root, ".//bpmn:compensateEventDefinition"):
            owner = el if local(el.getparent().tag) == "definitions" else el.getparent()
            problems.append(_problem(filename, owner, _(
                "Compensation is not supported by the engine: this compensation event would never run its "
                "handler. Model the undo steps as ordinary steps (for example after an error boundary event).")))
        for el in _bpmn(root, ".//bpmn:endEvent[bpmn:signalEventDefinition]"):
            # SpiffWorkflow 3.2's end event parser reads message, error, escalation, cancel and terminate only: a
            # signal end event was a plain one, and the boundary event waiting for its signal never fired
            problems.append(_problem(filename, el, _(
                "A signal end event is not supported by the engine: it would end here without sending the signal. "
                "Send it with an intermediate signal throw event, followed by a plain end event.")))
        problems += _foreign_extension_problems(filename, root) + zeebe_script_problems(filename, root)
        problems += correlation_key_problems(filename, root) + call_mapping_problems(filename, root)
        problems += foreign_language_problems(filename, root, foreign_expression)
        problems += _event_reference_problems(filename, root)
        problems += _call_cycle_problems(filename, root, calls)
        problems += _attachment_problems(filename, root)
        for el in _bpmn(root, ".//bpmn:boundaryEvent[not(*[contains(local-name(), 'EventDefinition')])]"):
            # SpiffWorkflow raised NotImplementedError with the element's XML as its text
            problems.append(_problem(filename, el, _(
                "The boundary event has no trigger (timer, message, signal, error, escalation...): choose what it "
                "waits for, or delete it.")))
        problems += _flow_reference_problems(filename, root)
        problems += _event_gateway_problems(filename, root)
        problems += _layout_problems(filename, root)
        problems += _gateway_problems(filename, root)
        problems += _split_problems(filename, root)
        problems += _condition_problems(filename, root)
        problems += _timer_language_problems(filename, root)
        problems += _loop_condition_language_problems(filename, root)
        problems += _link_problems(filename, root)
        problems += _data_output_problems(filename, root)
        problems += _correlation_property_problems(filename, root)
        problems += _unidentified_definition_problems(filename, root)
    return problems


#: the engines whose extensions carry behaviour, by their namespace (what a user would call the tool)
_ENGINE_NAMESPACES = {
    "http://camunda.org/schema/1.0/bpmn": "Camunda 7",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8 (Zeebe)",
    "http://activiti.org/bpmn": "Activiti",
    "http://flowable.org/bpmn": "Flowable",
    "http://www.jboss.org/drools": "jBPM",
}


def _engine_of(tag) -> str | None:
    return _ENGINE_NAMESPACES.get(tag.split("}", 1)[0][1:]) if isinstance(tag, str) and tag.startswith("{") else None


#: how Camunda 7, Flowable and Activiti implement a service task (attributes; an external worker's topic says more
#: than its type 'external'), and Zeebe (a job type)
_IMPLEMENTATIONS = ("class", "delegateExpression", "expression", "topic", "type")


def foreign_implementation(task) -> tuple[str, str, str] | None:
    """(engine, how, what) of a service task implemented for another engine: ``flowable:class`` naming a Java class,
    ``camunda:topic`` an external worker, ``zeebe:taskDefinition type`` a job worker..."""
    for how in _IMPLEMENTATIONS:
        for key, value in task.attrib.items():
            if local(key) == how and (tool := _engine_of(key)) and value.strip():
                return tool, how, value.strip()
    for el in task.iter():
        if (tool := _engine_of(el.tag)) and local(el.tag) == "taskDefinition" and (el.get("type") or "").strip():
            return tool, "taskDefinition type", el.get("type").strip()
    return None


def missing_operator_message(task) -> str:
    """What a service task without a service operator lacks, naming the engine and the implementation it was drawn
    for: the 196 service tasks of Flowable's test models were all 'it may be written for another engine', and the
    owner had to open the XML to learn which Java class or job worker the step stood for."""
    found = foreign_implementation(task) if task is not None else None
    if found is None:
        return _("Service task has no service operator (it may be written for another engine): choose one in the "
                 "side panel.")
    tool, how, what = found
    return _("This service task is implemented for %(tool)s (%(how)s %(what)s), which the engine cannot call: choose "
             "a service operator in the side panel that does the same work, or do it in a script task.",
             tool=tool, how=how, what=repr(what if len(what) <= 80 else what[:79] + "…"))


def _foreign_extension_problems(filename: str, root) -> list[ModelProblem]:
    """Extensions of another engine that carry behaviour the engine would skip without a word: listeners (code run
    as a step starts or ends), input/output mappings (the names a step sets or reads) and form fields (what the
    person is asked). Ids, assignees, retries and the like are harmless and kept as written. A Camunda 7 model with
    Python conditions read ``approved`` from a form field nobody was shown: it published and failed at the gateway."""
    problems = []
    for task in _bpmn(root, ".//bpmn:sendTask"):
        # Camunda implements a send task as a service task (a Java class, an expression, an external worker; Zeebe a
        # job type): the engine passed it without sending anything, and the instance went on as if it had
        how = next(((tool, local(key)) for key in task.attrib if (tool := _engine_of(key))
                    and local(key) in ("class", "expression", "delegateExpression", "type", "topic")), None)
        if how is None:
            how = next(((tool, local(el.tag)) for el in task.iter() if (tool := _engine_of(el.tag))
                        and local(el.tag) == "taskDefinition"), None)
        if how is not None:
            problems.append(_problem(filename, task, _(
                "This send task is implemented for %(tool)s (%(how)s): the engine would pass it without sending "
                "anything. Use a service task with a service operator, or a message throw event.",
                tool=how[0], how=how[1])))
    for task in _bpmn(root, ".//bpmn:scriptTask"):
        # Camunda 7 stores a script's value in its result variable; here a script sets names by assigning them
        tool = next((_engine_of(key) for key in task.attrib if _engine_of(key) and local(key) == "resultVariable"),
                    None)
        if tool is not None:
            problems.append(_problem(filename, task, _(
                "This script task gives its result to %(name)s the %(tool)s way (resultVariable): the engine does not "
                "set it. Assign it in the script instead: %(name)s = ...", tool=tool,
                name=next(v for k, v in task.attrib.items() if local(k) == "resultVariable"))))
    seen: set[tuple[int, str]] = set()
    for extensions in _bpmn(root, ".//bpmn:extensionElements"):
        owner = extensions.getparent()
        for el in extensions.iter():
            tool = _engine_of(el.tag)
            kind = local(el.tag)
            if tool is None or (id(owner), kind) in seen:
                continue
            if kind in _SKIPPED_EXTENSIONS:  # said once per element and kind (Zeebe's listeners sit in a wrapper)
                seen.add((id(owner), kind))
                problems.append(_problem(filename, owner, _skipped_extension_words(kind, tool)))
    return problems


_LISTENERS = ("executionListener", "taskListener", "onEntry-script", "onExit-script")  # jBPM's: the step's own
_SKIPPED_EXTENSIONS = (*_LISTENERS, "inputOutput", "ioMapping", "formField", "formProperty")


def _skipped_extension_words(kind: str, tool: str) -> str:
    """Why another engine's extension ``kind`` on an element is a problem here: the engine would skip it silently."""
    if kind in _LISTENERS:
        return _("This element has a %(tool)s listener (%(kind)s): the engine does not run listeners, so what it "
                 "does would be skipped. Do it in a script task, or in the step's script before or after.",
                 tool=tool, kind=kind)
    if kind in ("inputOutput", "ioMapping"):
        return _("This element maps its data with an input/output mapping of %(tool)s (%(kind)s): the engine does "
                 "not read it, so the names it sets would be missing. Set them in a script task, or in the step's "
                 "script before or after.", tool=tool, kind=kind)
    return _("This step's form is written as %(tool)s form fields (%(kind)s): the engine does not read them, "
             "so the person would be asked nothing and the data would be missing. Build the form in the side "
             "panel.", tool=tool, kind=kind)


#: what may follow an event-based gateway: the events it waits for (BPMN 2.0, 10.6.6)
_AFTER_EVENT_GATEWAY = ("intermediateCatchEvent", "receiveTask")


def _event_gateway_problems(filename: str, root) -> list[ModelProblem]:
    """An event-based gateway waits for the first of the events its flows lead to; anything else after it made the
    engine's parser fail with its own words (AttributeError: 'UserTask' object has no attribute 'event_definition')."""
    problems = []
    for gateway in _bpmn(root, ".//bpmn:eventBasedGateway"):
        container = gateway.getparent()
        nodes = {el.get("id"): el for el in container if el.get("id")}
        for flow in container:
            if local(flow.tag) != "sequenceFlow" or flow.get("sourceRef") != gateway.get("id"):
                continue
            target = nodes.get(flow.get("targetRef"))
            if target is None or local(target.tag) in _AFTER_EVENT_GATEWAY:
                continue  # a flow to nothing is said by the flow check
            problems.append(_problem(filename, gateway, _(
                "An event-based gateway waits for the first of several events: each flow out of it must lead to an "
                "intermediate catch event (a message, timer or signal) or a receive task, not to %(target)s. Put "
                "the event it waits for between them.", target=repr(target.get("name") or target.get("id")))))
    return problems


def _not_a_number(value: str | None) -> bool:
    try:
        float(value if value is not None else 0)
    except ValueError:
        return True
    return False


def _layout_bounds(root) -> list:
    """The shapes' bounds whose position is not a number (as the engine's parser reads positions)."""
    return [bounds for bounds in root.iter("{*}Bounds")
            if local(bounds.getparent().tag) == "BPMNShape"
            and (_not_a_number(bounds.get("x")) or _not_a_number(bounds.get("y")))]


def _layout_problems(filename: str, root) -> list[ModelProblem]:
    """A shape whose x or y is not a number (``1,5`` from a decimal comma): the engine's parser reads the positions
    to order a gateway's flows, and failed with "could not convert string to float", on no element."""
    return [_problem(filename, bounds.getparent(), _(
        "The diagram's layout places this shape at x = %(x)s, y = %(y)s: a position must be a number (with a decimal "
        "point, not a comma). Move the shape in the editor, or correct the file.", x=repr(bounds.get("x")),
        y=repr(bounds.get("y")))) for bounds in _layout_bounds(root)]


def _process_calls(trees: dict) -> dict[str, set[str]]:
    """Each process's id → the ids of the processes its call activities call (subprocesses included)."""
    calls: dict[str, set[str]] = {}
    for name, root in trees.items():
        if name.endswith(".bpmn"):
            for process in _bpmn(root, ".//bpmn:process[@id]"):
                calls.setdefault(process.get("id"), set()).update(
                    c.get("calledElement") for c in _bpmn(process, ".//bpmn:callActivity[@calledElement]"))
    return calls


_ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask", "sendTask",
               "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}


def _attachment_problems(filename: str, root) -> list[ModelProblem]:
    """A boundary event attached to something that is not a step of its process: drawn on a start event, it
    published and every instance failed as it started ("Split at s.BoundaryEventSplit was not reached"); attached
    to an id that does not exist, it was reported as "cannot be reached from a start event". Attached to an event
    subprocess (Flowable's EventSubProcessWithBoundaryEventsTest draws one of each kind), it was refused in the
    engine's words, without a line: "'BoundaryEventSplit' object has no attribute 'spec'"."""
    problems: list[ModelProblem] = []
    for process in _bpmn(root, ".//bpmn:process"):
        activities = {el.get("id") for el in process.iter() if local(el.tag) in _ACTIVITIES}
        triggered = {el.get("id") for el in process.iter() if el.get("triggeredByEvent") == "true"}
        for el in _bpmn(process, ".//bpmn:boundaryEvent"):
            if el.get("attachedToRef") in triggered:
                problems.append(_problem(filename, el, _(
                    "The boundary event is attached to the event subprocess %(id)s: an event subprocess is started by "
                    "its own start event, never by the flow, so nothing would wait for this event (BPMN does not "
                    "allow it, and the engine cannot read it). Delete the boundary event, or attach it to a step "
                    "inside the event subprocess.", id=repr(el.get("attachedToRef")))))
            elif el.get("attachedToRef") not in activities:
                problems.append(_problem(filename, el, _(
                    "The boundary event is attached to %(id)s, which is not a task, subprocess or call activity of "
                    "this process: attach it to the step it watches.", id=repr(el.get("attachedToRef") or ""))))
    return problems


def _call_cycle_problems(filename: str, root, calls: dict[str, set[str]]) -> list[ModelProblem]:
    """A call activity whose process calls, directly or through others, the process it is in: SpiffWorkflow 3.2
    starts the called process at once and has no depth limit, so starting an instance held the worker for good
    (a process calling itself: still running after 150 s, its memory growing)."""
    problems: list[ModelProblem] = []
    for process in _bpmn(root, ".//bpmn:process[@id]"):
        home = process.get("id")
        for el in _bpmn(process, ".//bpmn:callActivity[@calledElement]"):
            seen, todo = set(), [el.get("calledElement")]
            while todo:
                current = todo.pop()
                if current in seen:
                    continue
                seen.add(current)
                todo.extend(calls.get(current, ()))
            if home in seen:
                problems.append(_problem(filename, el, _(
                    "The call activity calls %(id)s, which leads back to the process it is in: the engine would "
                    "start the process again and again without end. Draw the repetition as a loop (a gateway "
                    "back to an earlier step) instead.", id=repr(el.get("calledElement")))))
    return problems


#: the attribute of an event definition (or send/receive task) naming a top-level element, and that element's tag
_EVENT_REFS = {"messageRef": "message", "signalRef": "signal", "errorRef": "error", "escalationRef": "escalation"}


def _event_reference_problems(filename: str, root) -> list[ModelProblem]:
    """A message, signal, error or escalation named by an event (or a send or receive task) that its file does not
    define: SpiffWorkflow's parser looks for it in the same file only, and failed on its own error report (a
    TypeError about ``raise_validation_exception``), which was all the owner saw. An empty reference fails the same
    way, except a message's (the event's name is used)."""
    problems: list[ModelProblem] = []
    for attribute, kind in _EVENT_REFS.items():
        defined = {el.get("id") for el in _bpmn(root, f".//bpmn:{kind}") if el.get("id")}
        for el in _bpmn(root, f".//bpmn:*[@{attribute}]"):
            tag = local(el.tag)
            if not (tag.endswith("EventDefinition") or tag in ("sendTask", "receiveTask")):
                continue  # a message flow's message is not read by the engine
            owner = el.getparent() if tag.endswith("EventDefinition") else el
            ref = el.get(attribute)
            if (ref in defined and '"' not in ref) or (kind == "message" and not ref) or \
                    local(owner.tag) == "definitions":
                continue
            problems.append(_problem(filename, owner, {
                "message": _("The event names the message %(id)s, which this file does not define: choose a "
                             "message from the list, or define it.", id=repr(ref)),
                "signal": _("The event names the signal %(id)s, which this file does not define: choose a "
                            "signal from the list, or define it.", id=repr(ref)),
                "error": _("The event names the error %(id)s, which this file does not define: choose an error "
                           "from the list, or define it.", id=repr(ref)),
                "escalation": _("The event names the escalation %(id)s, which this file does not define: choose "
                                "an escalation from the list, or define it.", id=repr(ref)),
            }[kind]))
    return problems


#: the triggers of an event subprocess's start event that SpiffWorkflow 3.2 starts alongside the main flow without
#: stopping it, even when drawn interrupting
_RUNS_ALONGSIDE = ("timerEventDefinition", "messageEventDefinition", "signalEventDefinition",
                   "conditionalEventDefinition")
#: the triggers SpiffWorkflow 3.2 does not parse on a start event at all (its start event parser reads a message,
#: signal, timer or condition only): the start event becomes a plain one
_NOT_A_TRIGGER = ("errorEventDefinition", "escalationEventDefinition")


_ARITHMETIC = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
               ast.Pow: lambda a, b: a ** b}
#: past this, a written number of instances is "huge": no need to compute 10**10**10 to refuse it
_HUGE = 10 ** 18


def _constant_count(node):
    """The value of a number of instances written as a constant (``5000``, ``10**9``, ``"abc"``), or None when it is
    read from the data. Arithmetic of whole numbers is worked out, bounded by :data:`_HUGE`."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _constant_count(node.operand)
        return -value if isinstance(value, int | float) and isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        a, b = _constant_count(node.left), _constant_count(node.right)
        if not (isinstance(a, int) and isinstance(b, int)) or isinstance(a, bool) or isinstance(b, bool):
            return None
        if isinstance(node.op, ast.Pow) and (b < 0 or (abs(a) > 1 and b * abs(a).bit_length() > 64)):
            return _HUGE if b > 0 else None
        return max(min(_ARITHMETIC[type(node.op)](a, b), _HUGE), -_HUGE)
    return None


def _written_count_problems(filename: str, step, text: str | None) -> list[ModelProblem]:
    """A number of instances written in the diagram that the engine would refuse when the step begins
    (``app.engine.multi_instance``): past the limit, or not a whole number."""
    from app.engine.multi_instance import MAX_INSTANCES, not_a_count, too_many_instances

    try:
        value = _constant_count(ast.parse((text or "").strip(), mode="eval").body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # the expression check says it
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        reason = not_a_count(value)
    elif value > MAX_INSTANCES:
        reason = too_many_instances(value)
    else:
        return []
    return [_problem(filename, step, _("This multi-instance step cannot run: %(reason)s.", reason=reason))]


def interrupting_event_subprocess_problems(trees: dict) -> list[ModelProblem]:
    """An interrupting event subprocess (a timer, message, signal or condition start, solid outline) is refused: the
    engine starts it but does not cancel the main flow, so both went on (probe: "Long work" and "Handle timeout"
    were both current, and completing "Long work" continued the main flow). BPMN's default for ``isInterrupting``
    is true.

    An event subprocess started by an error or an escalation is refused whether drawn interrupting or not: the
    engine reads its start event as a plain one, so the handler started with the process (or the subprocess it is
    drawn in) before anything was thrown, and a thrown error was not caught — the subprocess that threw it ended
    as if it had succeeded and the flow went on after it, next to the handler (run with SpiffWorkflow 3.2)."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for start in _bpmn(root, ".//bpmn:subProcess[@triggeredByEvent='true']/bpmn:startEvent"):
            if any(local(c.tag) in _NOT_A_TRIGGER for c in start):
                problems.append(_problem(filename, start, _(
                    "An event subprocess started by an error or an escalation is not supported by the engine: it "
                    "would start together with the process (or the subprocess it is drawn in), whether anything is "
                    "thrown or not, and would not catch what is thrown. Catch the error or escalation with a "
                    "boundary event on the subprocess or call activity that throws it.")))
                continue
            if (start.get("isInterrupting") or "true").strip().lower() == "false":
                continue
            if any(local(c.tag) in _RUNS_ALONGSIDE for c in start):
                problems.append(_problem(filename, start, _(
                    "An interrupting event subprocess is not supported by the engine: its trigger would start it "
                    "but would not stop the main flow, so both would go on. Make its start event non-interrupting, "
                    "or put an interrupting boundary event on the step it should stop.")))
    return problems


def _reached(process, start) -> set[str]:
    """Ids of the elements a token from ``start`` can reach by the sequence flows of ``process`` (not ``start``)."""
    after: dict[str, list[str]] = {}
    for flow in _bpmn(process, "./bpmn:sequenceFlow"):
        after.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    seen: set[str] = set()
    todo = list(after.get(start.get("id"), []))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += after.get(node, [])
    return seen


def message_start_problems(trees: dict) -> list[ModelProblem]:
    """A process that starts on a message or signal is started by delivering it to that start event
    (``runtime._start``). With another start event beside it, the ways in were never all open: a plain start ran at
    once and cancelled the message start; a timer start was cancelled by the message delivered at once; of two
    message starts, every instance began at the first drawn. Refused on each message, signal or timer start event of
    such a process; one such start event alone runs as drawn (tests/engine/test_task_rows.py). A timer start event with
a cycle is refused alone too."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for process in _bpmn(root, ".//bpmn:process"):
            starts = _bpmn(process, "./bpmn:startEvent")
            for start in starts:
                if _bpmn(start, "./bpmn:timerEventDefinition/bpmn:timeCycle"):
                    # BPMN starts a new instance at each round; the engine ran every round inside the one instance
                    # (probe: "R/P1D", the user task opened again each day, the data of one day carried to the next,
                    # the instance never ended)
                    problems.append(_problem(filename, start, _(
                        "A timer start event with a cycle would start a new instance at each round; the engine runs "
                        "every round inside the one instance instead, with the data of the last round, and the "
                        "instance never ends. Give the start event a date or a duration, or draw the repetition in "
                        "the process: a loop back through an intermediate timer event.")))
            if len(starts) < 2:
                continue
            for start in starts:
                kinds = {local(c.tag) for c in start}
                if kinds & {"messageEventDefinition", "signalEventDefinition"}:
                    problems.append(_problem(filename, start, _(
                        "The process has %(n)s start events and this one waits for a message or signal: the engine "
                        "starts an instance at one start event only, so the other ways in would never be taken. Draw "
                        "one start event, with an exclusive gateway on the start data after it for the different "
                        "ways in.", n=len(starts))))
                elif "timerEventDefinition" in kinds:
                    # beside a plain start, the plain start runs at once and the timer start is cancelled with it
                    problems.append(_problem(filename, start, _(
                        "The process has %(n)s start events and this one waits for a timer: the engine starts an "
                        "instance at one start event only, so the timer would be cancelled as the instance starts. "
                        "Draw one start event, and put the wait on an intermediate timer event after it.",
                        n=len(starts))))
                elif (start is not starts[0] and not any(k.endswith("EventDefinition") for k in kinds)
                      and not _reached(process, start) <= _reached(process, starts[0])):
                    # two plain start events (ARIS, Signavio, Bizagi draw one per way in): the engine began every
                    # instance at the first drawn and the steps after the other never ran, without a word
                    first = starts[0]
                    problems.append(_problem(filename, start, _(
                        "The process has %(n)s start events: the engine starts every instance at the first one "
                        "drawn, %(first)s, so the steps after this one would never run. Draw one start event and, "
                        "where the process has several ways in, an exclusive gateway after it that decides between "
                        "them.", n=len(starts), first=repr(first.get("name") or first.get("id")))))
    return problems


#: what a running step writes of its element (``human_task.spec_name``, ``.title``, ``.lane``; any failed element's id
#: in ``incident.element_id``, a process's in ``process_model_version.process_id``): a longer id, name or lane was
#: published and failed every instance at that step on PostgreSQL, where the column refuses it
MAX_STORED_STEP_ID, MAX_STORED_ID, MAX_STORED_TASK_NAME, MAX_STORED_LANE_NAME = 100, 200, 255, 100
_HUMAN_STEPS = ("userTask", "manualTask")


def stored_length_problems(trees: dict) -> list[ModelProblem]:
    """Ids of BPMN elements, names of user and manual tasks and names of lanes too long for the rows a running
    step is kept in: refused here, with the element and the limit, instead of failing where a person meets the
    step."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for el in root.iter(f"{{{BPMN}}}*"):
            element_id, name, kind = el.get("id") or "", el.get("name") or "", local(el.tag)
            longest_id = MAX_STORED_STEP_ID if kind in _HUMAN_STEPS else MAX_STORED_ID
            if len(element_id) > longest_id:
                problems.append(_problem(filename, el, _(
                    "The id is longer than %(n)s characters: shorten it.", n=longest_id)))
            if kind in _HUMAN_STEPS and len(name) > MAX_STORED_TASK_NAME:
                problems.append(_problem(filename, el, _(
                    "The task's name is longer than %(n)s characters: shorten it (its documentation can say more).",
                    n=MAX_STORED_TASK_NAME)))
            if kind == "lane" and len(name) > MAX_STORED_LANE_NAME:
                problems.append(_problem(filename, el, _(
                    "The lane's name is longer than %(n)s characters: shorten it.", n=MAX_STORED_LANE_NAME)))
    return problems


def direction_control_problems(trees: dict) -> list[ModelProblem]:
    """Text of a diagram or decision table holding a direction control (U+202A–U+202E, U+2066–U+2069), once per
    element: a task's name is every inbox's title of its step, a lane's the role people read, a script is what a
    reviewer approves. Such a text reads other than it is — a step "<U+202E>00.005 12 :тнемйаП" showed in the inbox as
    "Payment: 21 500.00", and a script can hide code from whoever reads it ("Trojan Source"). People's answers and
    comments were refused them already; a model now is too. So are the other invisible characters
    (:func:`~app.engine.forms.has_invisible_character`): two steps "Accept" and "Acc<U+200B>ept" looked the same in
    the inbox and in a gateway's conditions. Reported on the element with an id nearest to the text, its name left
    out (it may be the very text); one problem per element."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        flagged: set = set()
        for node in root.iter():
            texts = [node.text or ""]
            if isinstance(node.tag, str):
                texts += [str(value) for value in node.attrib.values()]
            direction = any(has_direction_control(text) for text in texts)
            if not direction and not any(has_invisible_character(text) for text in texts):
                continue
            owner = next((el for el in (node, *node.iterancestors()) if isinstance(el.tag, str) and el.get("id")),
                         root)
            if id(owner) in flagged:
                continue
            flagged.add(id(owner))
            message = (_("Remove the invisible text-direction characters: they make the text read other than it is.")
                       if direction else
                       _("Remove the invisible characters (zero-width, control or line-separator characters): the "
                         "text would look the same as one that differs from it."))
            problems.append(ModelProblem(filename, message, owner.get("id"), node.sourceline or owner.sourceline))
    return problems


#: the names SpiffWorkflow 3.2 gives the start and end of every process and subprocess it builds: an element with
#: one of them as its id takes their place in the spec (``<process id>.EndJoin`` is the other)
ENGINE_STEP_NAMES = ("Start", "End")


def reserved_id_problems(trees: dict) -> list[ModelProblem]:
    """A step, event or gateway whose id is a name the engine gives its own start or end of a process: the element
    was dropped from the spec without a word. A user task with the id "End" published, and every instance ended as
    the token reached it — the task never opened, the steps after it never ran; a start event "Start" lost the whole
    process ("The process has no end event")."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for container in _bpmn(root, _CONTAINERS):
            reserved = (*ENGINE_STEP_NAMES, f"{container.get('id')}.EndJoin")
            for el in container:
                if local(el.tag) in _FLOW_NODE_TAGS | _SPLITTERS | {"endEvent"} and el.get("id") in reserved:
                    problems.append(_problem(filename, el, _(
                        "The id %(id)s is the name the engine gives the start or end of every process: this element "
                        "would be lost, and what it does skipped. Give it another id (for example %(other)s) where "
                        "the diagram was drawn, and import it again.",
                        id=repr(el.get("id")), other=f"{el.get('id')}_1")))
    return problems


def duplicate_id_problems(trees: dict) -> list[ModelProblem]:
    """An id written twice in one file (rule: ids are unique per file): the engine keeps one of the elements and
    the diagram editor drops the other when it saves. Reported once per id, on its last use, with every line.
    Ids of other tools' and SpiffWorkflow's extension elements are names, not element ids (a service operator
    ``acts/verify`` is used by many tasks), so only BPMN, DMN and diagram elements count."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        seen: dict[str, list] = {}
        for el in root.iter():
            if not isinstance(el.tag, str) or el.get("id") is None:
                continue
            namespace = el.tag[1:].split("}", 1)[0] if el.tag.startswith("{") else ""
            if namespace in ALLOWED_NAMESPACES and namespace != SPIFF:
                seen.setdefault(el.get("id"), []).append(el)
        for element_id, elements in seen.items():
            if len(elements) < 2:
                continue
            lines = [str(el.sourceline) for el in elements]
            if len(elements) == 2:
                message = _("The id %(id)s is used twice, on lines %(first)s and %(second)s: give each element its "
                            "own id (the engine would run only one of them, and the editor keeps only one when it "
                            "saves).", id=repr(element_id), first=lines[0], second=lines[1])
            else:
                message = _("The id %(id)s is used %(count)s times, on lines %(lines)s: give each element its own id "
                            "(the engine would run only one of them, and the editor keeps only one when it saves).",
                            id=repr(element_id), count=len(elements), lines=", ".join(lines))
            problems.append(_problem(filename, elements[-1], message))
    return problems


#: ``${amount > 100}`` / ``#{...}``: JUEL (Camunda, Activiti, Flowable), whatever the flow says its language is
_JUEL = re.compile(r"^\s*[$#]\{.*\}\s*$", re.DOTALL)


def _broken_flows(root):
    """(flow, source, target, ids of its process) of every sequence flow not joining two elements of its process."""
    for process in _bpmn(root, ".//bpmn:process | .//bpmn:subProcess | .//bpmn:transaction"
                               " | .//bpmn:adHocSubProcess"):
        ids = {el.get("id") for el in process if el.get("id")}
        for flow in (f for f in process if local(f.tag) == "sequenceFlow"):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if not (source in ids and target in ids):
                yield flow, source, target, ids


def _unidentified_flows(root) -> list:
    return [flow for flow in _bpmn(root, ".//bpmn:sequenceFlow") if not (flow.get("id") or "").strip()]


def broken_flow_ends(trees: dict) -> set[str]:
    """The elements a broken sequence flow leaves from or goes to: the engine's own error about them ("we found two
    items, perhaps a form has the same ID?") says nothing the flow's problem does not say better."""
    return {ref for name, root in trees.items() if name.endswith(".bpmn")
            for _flow, source, target, ids in _broken_flows(root) for ref in (source, target) if ref}


def _flow_reference_problems(filename: str, root) -> list[ModelProblem]:
    """A sequence flow must join two elements of its own process (the engine said "we found two items, perhaps a
    form has the same ID?" of a flow pointing at an id that does not exist). A flow needs an id: Flowable's and
    Activiti's test models leave it out, the engine's parser then kept one flow of the process, and the owner was
    told "The process has no end event"."""
    problems: list[ModelProblem] = [_problem(filename, flow, _(
        "This sequence flow (from %(source)s to %(target)s) has no id: the engine tells the flows of a process apart "
        "by their ids, so it would lose the steps after it. Give every sequence flow an id (the editor gives one to "
        "each flow it draws).", source=repr(flow.get("sourceRef") or ""), target=repr(flow.get("targetRef") or "")))
        for flow in _unidentified_flows(root)]
    for flow, source, target, ids in _broken_flows(root):
        if not source or not target:
            problems.append(_problem(filename, flow, _("The sequence flow is not connected at both ends.")))
        for ref in (r for r in (source, target) if r and r not in ids):
            problems.append(_problem(filename, flow, _(
                "The sequence flow connects %(ref)s, which is not an element of this process: connect it to a "
                "step that exists.", ref=repr(ref))))
    return problems


def _condition_problems(filename: str, root) -> list[ModelProblem]:
    """A condition written in another language than Python, on its sequence flow (the gateway is not at fault).
    Only conditions the engine evaluates, on the flows out of an exclusive or inclusive gateway: it ignores the
    others (a condition on a flow out of a task or event)."""
    problems = []
    gateways = {el.get("id") for el in _bpmn(root, ".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway")}
    for condition in _bpmn(root, ".//bpmn:sequenceFlow/bpmn:conditionExpression"):
        if condition.getparent().get("sourceRef") not in gateways:
            if (condition.text or "").strip():
                # BPMN takes a conditional flow out of a task or event only when its condition holds; the engine
                # takes it always (two conditional flows out of a start event both ran)
                problems.append(_problem(filename, condition.getparent(), _(
                    "This flow has a condition but leaves a step or event, not an exclusive or inclusive gateway: "
                    "the engine does not evaluate it and would always take the flow. Put an exclusive gateway "
                    "before the flows that depend on a condition.")))
            continue
        language, inherited = expression_language(condition)
        if inherited and language.lower() not in PYTHON_LANGUAGES and (condition.text or "").strip() and \
                not foreign_expression(condition.text):  # JUEL and FEEL by their text have their own words
            problems.append(_problem(filename, condition.getparent(), language_words(condition)))
        elif not inherited and language.lower() not in PYTHON_LANGUAGES:
            problems.append(_problem(filename, condition.getparent(), _(
                "Conditions are Python here; this one is written in %(lang)s.", lang=language)))
        elif _JUEL.match(condition.text or ""):
            problems.append(_problem(filename, condition.getparent(), _(
                "Conditions are Python here; this one is written in JUEL (${...}): write it without ${ }, for "
                "example amount > 100.")))
        elif is_feel(condition.text or ""):
            problems.append(_problem(filename, condition.getparent(), _(
                "Conditions are Python here; this one is written in FEEL (Zeebe's =...): write it in Python without "
                "the leading =, for example ok == True or amount > 100.")))
    return problems


def is_feel(text: str) -> bool:
    """A Zeebe FEEL expression: it starts with ``=`` (``=ok = true``, ``=duration("PT5M")``)."""
    return text.lstrip().startswith("=") and not text.lstrip().startswith("==")


def foreign_expression(text: str) -> bool:
    """JUEL (``${x}``) or Zeebe FEEL (``=x``): said by :func:`lint`, not as Python that cannot be read."""
    return bool(_JUEL.match(text or "")) or is_feel(text or "")


def _timer_language_problems(filename: str, root) -> list[ModelProblem]:
    """A timer written in JUEL or FEEL (Camunda's ``${reminderDelay}``, Zeebe's ``=duration("PT5M")``), or as a cron
    expression (Camunda's and Zeebe's cycles ``0 0/5 * * * ?``): each said with what to write here — the ISO 8601
    value it wraps when it wraps one (``=duration("PT5M")``: PT5M), else the variable's name in Python."""
    problems = []
    for definition in _bpmn(root, ".//bpmn:timerEventDefinition"):
        owner = definition if local(definition.getparent().tag) == "definitions" else definition.getparent()
        for value in (c for c in definition if local(c.tag) in ("timeDate", "timeDuration", "timeCycle")):
            text = (value.text or "").strip()
            inside = iso_inside(text)
            if (_JUEL.match(text) or is_feel(text)) and inside is not None:
                problems.append(_problem(filename, owner, _(
                    "Timers here are an ISO 8601 value or a Python expression; this one is written in %(lang)s "
                    "(%(text)s): write the value itself, %(value)s.",
                    lang="JUEL" if _JUEL.match(text) else "FEEL", text=text[:80], value=inside)))
            elif _JUEL.match(text):
                problems.append(_problem(filename, owner, _(
                    "Timers here are an ISO 8601 value or a Python expression; this one is written in JUEL (${...}): "
                    "write it without ${ } (%(inner)s), or the ISO 8601 value itself (P5D).",
                    inner=text.strip()[2:-1].strip()[:80])))
            elif is_feel(text):
                problems.append(_problem(filename, owner, _(
                    "Timers here are an ISO 8601 value or a Python expression; this one is written in FEEL (Zeebe's "
                    "=...): write the ISO 8601 value itself (PT5M), or the expression in Python without the "
                    "leading =.")))
            elif local(value.tag) == "timeCycle" and is_cron(text):
                problems.append(_problem(filename, owner, _(
                    "The timer cycle %(value)s is a cron expression, which the engine does not read: write it as an "
                    "ISO 8601 cycle, R/PT5M (every five minutes, no end), R3/P1D (three times, a day apart) or "
                    "R/2027-01-04T09:00:00+05:00/P1W (every Monday at 09:00 Astana time).", value=text[:80])))
    return problems


def _loop_condition_language_problems(filename: str, root) -> list[ModelProblem]:
    """A loop's or a multi-instance step's condition written in JUEL or FEEL (Camunda's ``${nrOfCompletedInstances
    >= 1}``, Zeebe's ``=done``): it published, and the step failed when the engine first evaluated it as Python."""
    problems = []
    for condition in _bpmn(root, ".//bpmn:standardLoopCharacteristics/bpmn:loopCondition"
                                 " | .//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition"
                                 " | .//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality"):
        text = (condition.text or "").strip()
        step = condition.getparent().getparent()
        if local(condition.tag) == "loopCardinality":
            # Flowable's ${nrOfLoops} published and the step failed with a syntax error when it began
            if _JUEL.match(text):
                problems.append(_problem(filename, step, _(
                    "The number of instances of this multi-instance step (loopCardinality) is Python here; this one "
                    "is written in JUEL (${...}): write it without ${ }, as in %(inner)s.",
                    inner=text[2:-1].strip()[:80])))
            elif is_feel(text):
                problems.append(_problem(filename, step, _(
                    "The number of instances of this multi-instance step (loopCardinality) is Python here; this one "
                    "is written in FEEL (Zeebe's =...): write it in Python without the leading =.")))
        elif _JUEL.match(text):
            problems.append(_problem(filename, step, _(
                "The condition of this step's loop (%(what)s) is Python here; this one is written in JUEL (${...}): "
                "write it without ${ }, for example count >= 3.", what=local(condition.tag))))
        elif is_feel(text):
            problems.append(_problem(filename, step, _(
                "The condition of this step's loop (%(what)s) is Python here; this one is written in FEEL (Zeebe's "
                "=...): write it in Python without the leading =, for example count >= 3.", what=local(condition.tag))))
    return problems


def _link_name(event) -> str:
    definition = event.find(f"{{{BPMN}}}linkEventDefinition")
    return ((definition.get("name") if definition is not None else None) or event.get("name") or "").strip()


def _links(container) -> tuple[dict[str, list], dict[str, list]]:
    """Link throw and catch events directly in one process or subprocess, by link name (links never cross it)."""
    throws: dict[str, list] = {}
    catches: dict[str, list] = {}
    for el in container:
        kind = local(el.tag)
        if kind in ("intermediateThrowEvent", "intermediateCatchEvent") and el.find(
                f"{{{BPMN}}}linkEventDefinition") is not None:
            (throws if kind == "intermediateThrowEvent" else catches).setdefault(_link_name(el), []).append(el)
    return throws, catches


_CONTAINERS = ".//bpmn:process | .//bpmn:subProcess | .//bpmn:transaction | .//bpmn:adHocSubProcess"


def _link_problems(filename: str, root) -> list[ModelProblem]:
    """A link throw goes on at the one link catch of the same name in the same process level; without it the
    token would stop at the throw, and a catch no throw names is never reached."""
    problems = []
    for container in _bpmn(root, _CONTAINERS):
        throws, catches = _links(container)
        for name, events in throws.items():
            if name not in catches:
                problems += [_problem(filename, el, _(
                    "No link catch event named %(link)s is in the same process: this link leads nowhere. Give the "
                    "catch event the same link name.", link=repr(name))) for el in events]
        for name, events in catches.items():
            if name not in throws:
                problems += [_problem(filename, el, _(
                    "No link throw event named %(link)s is in the same process: nothing leads to this link. Give "
                    "the throw event the same link name.", link=repr(name))) for el in events]
            elif len(events) > 1:
                problems += [_problem(filename, el, _(
                    "Several link catch events are named %(link)s: a link must lead to exactly one.",
                    link=repr(name))) for el in events[1:]]
    return problems


#: definitions the engine's parser reads by id, and stopped at, in its own words and without a line, when one had none
_IDENTIFIED = ("message", "signal", "error", "escalation", "correlationProperty")


def _unidentified_definitions(root) -> list:
    return [el for el in root.iter(*(f"{{{BPMN}}}{tag}" for tag in _IDENTIFIED)) if not (el.get("id") or "").strip()]


def _unidentified_definition_problems(filename: str, root) -> list[ModelProblem]:
    """A message, signal, error, escalation or correlation property without an id (Flowable's incomplete signal model
    writes ``<signal/>``): nothing can refer to it, and the engine's parser said "Signal identifier is missing from
    bpmn xml" of no element and no line."""
    return [ModelProblem(filename, _(
        "This %(kind)s has no id, so nothing can refer to it: give it an id, or delete it.", kind=local(el.tag)),
        None, el.sourceline, el.get("name") or None) for el in _unidentified_definitions(root)]


def _retrieval_less_properties(root) -> list:
    return [prop for prop in _bpmn(root, ".//bpmn:correlationProperty")
            if not _bpmn(prop, ".//bpmn:correlationPropertyRetrievalExpression")]


def _correlation_property_problems(filename: str, root) -> list[ModelProblem]:
    """A correlation property that says in no message where its value is (SpiffArena's editor leaves one behind when
    its message is deleted): the engine's parser stopped on it in its own words, on no element and no line."""
    return [_problem(filename, prop, _(
        "The correlation property %(name)s says for no message where its value is found (it has no retrieval "
        "expression), so the engine cannot read it. Give it a retrieval expression for each message it "
        "correlates, or delete it.", name=repr(prop.get("name") or prop.get("id"))))
        for prop in _retrieval_less_properties(root)]


def _data_output_problems(filename: str, root) -> list[ModelProblem]:
    """A script task that writes a data object must set the variable named like the data object's id: after the
    task, SpiffWorkflow copies that task variable into the data object (``DataObject.set``) and fails the step
    when it is missing. Only scripts are checked: a form or a service may set the variable too."""
    problems = []
    references = {el.get("id"): el for el in _bpmn(root, ".//bpmn:dataObjectReference")}
    objects = {el.get("id"): el for el in _bpmn(root, ".//bpmn:dataObject")}
    for task in _bpmn(root, ".//bpmn:scriptTask"):
        written = [(c.text or "").strip() for c in _bpmn(task, "./bpmn:dataOutputAssociation/bpmn:targetRef")]
        if not written:
            continue
        sources = [task.findtext(f"{{{BPMN}}}script") or ""] + [
            el.text or "" for el in task.iter(f"{{{SPIFF}}}preScript", f"{{{SPIFF}}}postScript")]
        assigned: set[str] = set()
        for source in sources:
            names = script_names(source, "exec")
            if names is None:  # not Python: the script check reports it
                break
            assigned |= names.assigned
        else:
            for ref_id in written:
                reference = references.get(ref_id)
                object_id = reference.get("dataObjectRef") if reference is not None else None
                if object_id is None or object_id in assigned:
                    continue
                data_object = objects.get(object_id)
                shown = (data_object.get("name") if data_object is not None else None) or object_id
                problems.append(_problem(filename, task, _(
                    "This script task writes the data object %(name)s, but its script never sets the variable "
                    "%(id)s: the engine takes the data object's value from the variable named like its id. Add "
                    "%(id)s = ... to the script.", name=repr(shown), id=object_id)))
    return problems


#: flow nodes that may have several outgoing flows (the others need a gateway to split)
_SPLITTERS = {"startEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
              "complexGateway"}
_FLOW_NODE_TAGS = {
    "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess", "intermediateCatchEvent",
    "intermediateThrowEvent", "boundaryEvent"}


def _split_problems(filename: str, root) -> list[ModelProblem]:
    """Several flows out of a task or event: BPMN reads it as a parallel split, the engine needs the gateway."""
    problems = []
    containers = ".//bpmn:process | .//bpmn:subProcess | .//bpmn:transaction | .//bpmn:adHocSubProcess"
    for container in _bpmn(root, containers):
        counts: dict[str, int] = {}
        for flow in container:
            if local(flow.tag) == "sequenceFlow":
                counts[flow.get("sourceRef")] = counts.get(flow.get("sourceRef"), 0) + 1
        for el in container:
            if local(el.tag) in _FLOW_NODE_TAGS and counts.get(el.get("id"), 0) > 1:
                problems.append(_problem(filename, el, _(
                    "Several flows leave this element: the engine needs a parallel (or exclusive) gateway after "
                    "it to split.")))
    return problems


def _gateway_problems(filename: str, root) -> list[ModelProblem]:
    problems = []
    # The flows leaving each element of each process level, found in one pass: reading the whole level again for
    # every gateway held a worker for minutes on a 2 MB diagram of 20,000 gateways in a row.
    leaving: dict[tuple, list] = defaultdict(list)
    for flow in _bpmn(root, ".//bpmn:sequenceFlow"):
        leaving[(flow.getparent(), flow.get("sourceRef"))].append(flow)
    for gateway in _bpmn(root, ".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway | .//bpmn:eventBasedGateway"):
        outgoing = leaving.get((gateway.getparent(), gateway.get("id")), [])
        if not outgoing:
            # The engine's exclusive and inclusive gateways failed in its own words ("At least one output
            # required") when a token came, and an event-based one held the instance for good, waiting for nothing;
            # a parallel gateway with no way out is an implicit end (a notice, as for a step).
            problems.append(_problem(filename, gateway, _(
                "Nothing leaves this gateway: an instance that reaches it would stop here for good. Connect it to "
                "the steps it chooses between, or delete it.")))
            continue
        if local(gateway.tag) == "eventBasedGateway":
            continue  # what follows it: _event_gateway_problems
        default = gateway.get("default")
        if default and default not in {f.get("id") for f in outgoing}:
            # The engine reads no default then: where no condition holds, the instance stopped with an incident.
            problems.append(_problem(filename, gateway, _(
                "The gateway's default flow %(id)s is not one of the flows leaving it: choose one of them as the "
                "default, or none.", id=repr(default))))
        if len(outgoing) < 2:
            continue
        for flow in outgoing:
            has_condition = (flow.findtext(f"{{{BPMN}}}conditionExpression") or "").strip()
            if not has_condition and flow.get("id") != gateway.get("default"):
                problems.append(_problem(filename, flow, _(
                    "This flow leaves a gateway with several ways out: it needs a condition, or make it the "
                    "gateway's default flow.")))
    return problems


def engine_copy(root):
    """The tree the engine parses: every process executable (a descriptive model is reported by the
    caller), data stores and their references and associations left out, compensation events left out or
    made plain events, shapes' positions that are not numbers left out, an event-based gateway followed by other
    steps read as a parallel one (all reported by :func:`lint`), each link throw event joined to its catch event, and
    each timer written as a bare ISO 8601 value given its quotes (:mod:`app.engine.timer_literals`).

    SpiffWorkflow 3.2 does not know link events: it reads a link throw as a plain event (the token stopped there)
    and never reaches the catch event. A sequence flow from the throw to the one catch of its name, in the same
    process level, is what a link means; the stored file keeps the link events as drawn."""
    tree = copy.deepcopy(root)
    for process in _bpmn(tree, ".//bpmn:process"):
        process.set("isExecutable", "true")
    quote_bare_timers(tree)  # PT5M as Camunda writes it is the value "PT5M" (app.engine.timer_literals)
    for definition in _bpmn(tree, ".//bpmn:compensateEventDefinition"):
        event = definition.getparent()
        if local(event.tag) == "boundaryEvent":
            event.getparent().remove(event)
        else:
            event.remove(definition)
    for container in _bpmn(tree, _CONTAINERS):
        throws, catches = _links(container)
        leaving = {flow.get("sourceRef") for flow in container if local(flow.tag) == "sequenceFlow"}
        for name, events in throws.items():
            if len(catches.get(name, ())) != 1:
                continue
            for event in events:
                if event.get("id") not in leaving:
                    flow = etree.SubElement(container, f"{{{BPMN}}}sequenceFlow")
                    flow.set("id", f"{event.get('id')}__link")
                    flow.set("sourceRef", event.get("id"))
                    flow.set("targetRef", catches[name][0].get("id"))
    for bounds in _layout_bounds(tree):  # a position that is not a number: reported by lint(), not read
        bounds.getparent().remove(bounds)
    misdrawn = {p.element_id for p in _event_gateway_problems("", tree)}  # other steps after it: said by lint()
    for gateway in _bpmn(tree, ".//bpmn:eventBasedGateway"):
        if gateway.get("id") in misdrawn:
            gateway.tag = f"{{{BPMN}}}parallelGateway"
    for number, flow in enumerate(_unidentified_flows(tree)):  # reported by lint(): the parser kept one of them
        flow.set("id", f"{flow.get('sourceRef')}__{flow.get('targetRef')}__{number}")
    triggered = {el.get("id") for el in tree.iter() if el.get("triggeredByEvent") == "true"}
    for event in [el for el in _bpmn(tree, ".//bpmn:boundaryEvent") if el.get("attachedToRef") in triggered]:
        for flow in [f for f in event.getparent() if local(f.tag) == "sequenceFlow"
                     and f.get("sourceRef") == event.get("id")]:
            flow.getparent().remove(flow)  # on an event subprocess: reported by lint(); the engine's parser failed
        event.getparent().remove(event)
    for prop in _retrieval_less_properties(tree) + _unidentified_definitions(tree):  # reported by lint(): the
        prop.getparent().remove(prop)                                                  # engine's parser stopped there
    removed = set()
    for el in _bpmn(tree, ".//bpmn:dataStore | .//bpmn:dataStoreReference"):
        removed.add(el.get("id"))
        el.getparent().remove(el)
    if removed:
        for assoc in _bpmn(tree, ".//bpmn:dataInputAssociation | .//bpmn:dataOutputAssociation"):
            refs = {(c.text or "").strip() for c in assoc if local(c.tag) in ("sourceRef", "targetRef")}
            if refs & removed:
                assoc.getparent().remove(assoc)
    return tree


# --------------------------------------------------------------------------------------------------
# The engine's own messages, in the user's language

_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>|<Element (\S+) at 0x[0-9a-fA-F]+>")


def _clean(text: str) -> str:
    """``<Element {ns}task at 0x7f…>`` → ``task``: no memory addresses in front of a person."""
    return _ELEMENT_REPR.sub(lambda m: m.group(1) or m.group(2), text).strip().rstrip(".")


def translate_engine_message(text: str, tag: str = "") -> str:
    """SpiffWorkflow's English message for a problem, as a sentence in the user's language."""
    first = _clean(str(text).split("\n")[0])
    patterns = [
        (r"There is no support implemented for this task type",
         lambda m: _("The engine cannot run this kind of element (%(tag)s).", tag=tag.replace("bpmn:", "") or "?")),
        (r"Exactly one start event is required in a SubWorkflow Task; found ([0-9]+)",
         lambda m: _("A subprocess needs exactly one start event inside it; this one has %(n)s.", n=m.group(1))),
        (r"Non-default exclusive outgoing sequence flow\s+without condition",
         lambda m: _("A flow out of this gateway has no condition and is not the default flow.")),
        (r"The process '([^']*)' was not found",
         lambda m: _("The called process %(id)s is not part of the model: add its .bpmn file.", id=repr(m.group(1)))),
        (r"No start event found", lambda m: _("The process has no start event.")),
        (r"A SubWorkflow Must contain an End event", lambda m: _(
            "This subprocess has no end event inside it: draw one after its last step.")),
        (r"A multiinstance task must specify a cardinality or a loop input data reference", lambda m: _(
            "This multi-instance step names neither a number of instances (loop cardinality) nor a collection to "
            "run over (loop input).")),
        (r"A Service Task must have an operator", lambda m: _(
            "Service task has no service operator (it may be written for another engine): choose one in the side "
            "panel.")),
        (r"Multiple outgoing flows are not supported", lambda m: _(
            "Several flows leave this element: the engine needs a parallel (or exclusive) gateway after it to "
            "split.")),
        (r"Duplicate process ID: (.*)",
         lambda m: _("Two processes have the same id %(id)s.", id=repr(m.group(1)))),
        (r"Data Store with name (.*) has no implementation",
         lambda m: _("Data stores cannot be run by the engine; use a data object (process data) instead.")),
        (r"A loopMaximum or loopCondition must be specified", lambda m: _(
            "This step repeats (a standard loop) but has neither a loop condition nor a maximum number of "
            "repetitions: give it one.")),
        (r"Cannot resolve data(?:Input|Output)Association", lambda m: _(
            "A data association of this step names a data object or data input/output that is not in this "
            "process: connect it to one that is, or delete it.")),
    ]
    for pattern, make in patterns:
        match = re.search(pattern, first)
        if match:
            return make(match)
    return _("The engine cannot run this element: %(reason)s", reason=first or "?")


def find_element(trees: dict, element_id: str | None, prefer: str | None = None):
    """(filename, element) of an id, looking in ``prefer`` first: ids may repeat across files."""
    if not element_id:
        return None, None
    names = sorted(trees, key=lambda n: n != prefer)
    for filename in names:
        found = trees[filename].xpath("//*[@id=$id]", id=element_id)
        if found:
            return filename, found[0]
    return None, None


def element_finder(trees: dict):
    """:func:`find_element` for many ids of the same files: each file is read once, then every id is a look-up (a
    search of the whole file per element made checking a diagram of 8,000 tasks take 40 s)."""
    by_file: dict[str, dict] = {name: {} for name in trees}
    for name, root in trees.items():
        for el in root.iter():
            element_id = el.get("id") if isinstance(el.tag, str) else None
            if element_id is not None:
                by_file[name].setdefault(element_id, el)  # the first in the file, as the search found it

    def find(element_id: str | None, prefer: str | None = None):
        if not element_id:
            return None, None
        for filename in sorted(trees, key=lambda n: n != prefer):
            el = by_file[filename].get(element_id)
            if el is not None:
                return filename, el
        return None, None

    return find


_UNIDENTIFIED_FLOW_ID = re.compile(r"(.*)__(.*)__([0-9]+)")


def _unidentified_flow(trees: dict, element_id: str | None):
    """(filename, flow) of a sequence flow written without an id, from the id the engine's copy gave it
    (``source__target__number``): the engine's error about such a flow (a Flowable test model's unconditioned flow
    out of a gateway) then has the flow's line instead of an id nobody can find in the file."""
    match = _UNIDENTIFIED_FLOW_ID.fullmatch(element_id or "")
    if match is None:
        return None, None
    source, target, number = match.group(1), match.group(2), int(match.group(3))
    for filename, root in trees.items():
        flows = _unidentified_flows(root) if filename.endswith(".bpmn") else []
        if number < len(flows) and (flows[number].get("sourceRef"), flows[number].get("targetRef")) == (source, target):
            return filename, flows[number]
    return None, None


def engine_problem(err, trees: dict, default_file: str) -> ModelProblem:
    """A SpiffWorkflow ValidationException as a problem with file, element, name and line."""
    element_id = getattr(err, "id", None) or None
    filename, el = find_element(trees, element_id, getattr(err, "file_name", None) or None)
    if el is None:
        filename, el = _unidentified_flow(trees, element_id)
        if el is not None:  # the id the engine knew it by is ours (see engine_copy): the file has none to show
            element_id = None
    line = el.sourceline if el is not None else None
    if line is None and str(getattr(err, "line_number", "")).isdigit():
        line = int(err.line_number)
    name = (el.get("name") if el is not None else None) or getattr(err, "name", None) or None
    message = translate_engine_message(str(err), getattr(err, "tag", "") or (local(el.tag) if el is not None else ""))
    return ModelProblem(filename or getattr(err, "file_name", None) or default_file, message, element_id, line, name)


# --------------------------------------------------------------------------------------------------
# Decision tables: every cell is a Python expression the sandbox must accept (as scripts are)

def dmn_problems(trees: dict) -> list[ModelProblem]:
    """Input expressions, input entries and output entries of every decision table, checked by the same
    RestrictedPython rules as scripts and conditions (an entry is compared with its input the way the
    engine does: ``?`` stands for the input, otherwise ``input == entry`` or ``input <entry>``)."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".dmn"):
            continue
        decisions = list(root.iter("{*}decision"))
        if not decisions:
            problems.append(ModelProblem(filename, _(
                "The file holds no decision (only input data, knowledge models or notes): a business rule task has "
                "nothing here to call. Add a decision table to it, or remove the file from the model."),
                root.get("id"), root.sourceline, root.get("name") or None))
        for decision in decisions:
            if decision.find("{*}decisionTable") is None:
                kind = next((local(c.tag) for c in decision if local(c.tag) in (
                    "literalExpression", "context", "invocation", "list", "relation", "functionDefinition")),
                    None)
                problems.append(ModelProblem(filename, _(
                    "The decision %(id)s is %(kind)s, not a decision table: only decision tables run here.",
                    id=repr(decision.get("id") or decision.get("name") or "?"),
                    kind=_("a FEEL %(kind)s", kind=kind) if kind else _("empty")),
                    decision.get("id"), decision.sourceline, decision.get("name") or None))
        if len(decisions) > 1:
            problems.append(ModelProblem(filename, _(
                "The file holds %(n)s decisions (%(ids)s); the engine reads one decision per .dmn file: put each in "
                "its own file.", n=len(decisions), ids=", ".join(repr(d.get("id")) for d in decisions[:5])),
                decisions[1].get("id"), decisions[1].sourceline, decisions[1].get("name") or None))
        for table in root.iter("{*}decisionTable"):
            problems += _hit_policy_problems(filename, table)
            inputs = [i for i in table if local(i.tag) == "input"]
            outputs = [o for o in table if local(o.tag) == "output"]
            expressions = []
            for inp in inputs:
                text = ""
                for node in inp.iter("{*}inputExpression"):
                    text = (node.findtext("{*}text") or "").strip()
                expressions.append(text or "None")
                if text:
                    problems += _cell(filename, inp, text)
            for rule in (r for r in table if local(r.tag) == "rule"):
                entries = [e for e in rule if local(e.tag) == "inputEntry"]
                for entry, input_expr in zip(entries, expressions, strict=False):
                    text = (entry.findtext("{*}text") or "").strip()
                    if not text or text == "-":
                        continue
                    problems += _entry(filename, entry, rule, input_expr, text)
                outs = [e for e in rule if local(e.tag) == "outputEntry"]
                for entry, output in zip(outs, outputs + [None] * len(outs), strict=False):
                    text = (entry.findtext("{*}text") or "").strip()
                    if text:
                        found = _cell(filename, entry, text, rule)
                        problems += found or _typed_output(filename, rule, text, output, expressions)
    return problems


_NUMERIC_TYPES = {"integer": "int", "long": "int", "number": "number", "double": "number"}


def _typed_output(filename: str, rule, text: str, output, expressions: list[str]) -> list[ModelProblem]:
    """An output cell of a column typed as a number that is not one: a fraction in an integer column (norms are
    whole tiyn), a text, or a bare name no input of the table gives ("abc" in a norm saved with no problem and
    failed only when an order was placed)."""
    kind = _NUMERIC_TYPES.get((output.get("typeRef") or "").strip().lower()) if output is not None else None
    if kind is None:
        return []
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return []  # _cell said it
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    column = output.get("label") or output.get("name") or output.get("id") or "?"
    wrong = None
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str) or isinstance(value, bool) or value is None:
            wrong = _("a text")
        elif kind == "int" and isinstance(value, float) and not value.is_integer():
            wrong = _("a fraction")
    elif isinstance(node, ast.Name) and not any(re.search(rf"\b{re.escape(node.id)}\b", e) for e in expressions):
        wrong = _("the name %(name)s, which no input of the table gives", name=node.id)
    if wrong is None:
        return []
    if kind == "int":
        message = _("Output %(column)s is a whole number, and this cell is %(what)s: write the number.",
                    column=column, what=wrong)
    else:
        message = _("Output %(column)s is a number, and this cell is %(what)s: write the number.", column=column,
                    what=wrong)
    return [_problem(filename, rule, message)]


#: Hit policies SpiffWorkflow's DMNEngine applies as DMN defines them (``DMNEngine.decide``/``result``): UNIQUE
#: (the first matching rule; a valid table has only one), FIRST (the first matching rule), ANY (all matching rules
#: give the same output, the engine returns the first: app.engine.decisions checks they do) and COLLECT without
#: aggregation (a list per output). It returns the first matching rule for PRIORITY, OUTPUT ORDER and RULE ORDER
#: too, and ignores COLLECT's aggregation (SUM, COUNT, MIN, MAX): a result other than the table's author meant,
#: without an error.
APPLIED_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "ANY", "COLLECT"})


def _hit_policy_problems(filename: str, table) -> list[ModelProblem]:
    policy = " ".join((table.get("hitPolicy") or "UNIQUE").upper().split())
    aggregation = (table.get("aggregation") or "").strip().upper()
    if policy in APPLIED_HIT_POLICIES and not (policy == "COLLECT" and aggregation):
        return []
    name = _table_name(table)
    shown = f"{policy} {aggregation}".strip() if policy == "COLLECT" else policy
    return [ModelProblem(filename, _(
        "The decision table %(table)s uses the hit policy %(policy)s, which the engine does not apply (it would "
        "give another result without an error). The engine applies UNIQUE, FIRST, ANY and COLLECT without "
        "aggregation: change the table's hit policy.", table=repr(name), policy=shown),
        table.get("id"), table.sourceline, name)]


def _cell(filename: str, el, source: str, rule=None, said: tuple[str, ...] = ()) -> list[ModelProblem]:
    """The problems of a cell; ``said``: what its input expression's own problem already says (not repeated on every
    rule that reads it)."""
    owner = rule if rule is not None else el
    reasons = [p.message for p in check_script(source, "eval")] or [
        r for r in _call_problems(source) if r not in said]
    return [ModelProblem(filename, _("Decision table cell %(cell)s rejected: %(reason)s",
                                     cell=repr(source[:80]), reason=reason), owner.get("id"),
                         el.sourceline, owner.get("label") or None)
            for reason in reasons]


#: FEEL's literals and what Python calls them: a cell ``true`` (Camunda, Signavio, Trisotech write them) was read as a
#: name and failed when the table ran ("name 'true' is not defined")
FEEL_LITERALS = {"true": "True", "false": "False", "null": "None"}


def _call_problems(source: str) -> list[str]:
    """Calls a cell cannot make: a function that is not one of the scripts' builtins (FEEL's ``matches``, ``string
    length``, ``upper case``…) failed only when the table ran ("name 'matches' is not defined"), and ``date`` /
    ``datetime`` given a string as FEEL's are ("'str' object cannot be interpreted as an integer")."""
    from app.engine.scripting import SAFE_BUILTINS

    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    bound = {arg.arg for node in ast.walk(tree) if isinstance(node, ast.Lambda) for arg in node.args.args}
    bound |= {n.id for node in ast.walk(tree) if isinstance(node, ast.comprehension)
              for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in FEEL_LITERALS and node.id not in bound:
            found.append(_("%(name)s is FEEL; cells here are Python, where it is a name nothing sets and the rule "
                           "fails when it runs. Write %(python)s.", name=node.id, python=FEEL_LITERALS[node.id]))
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        name = node.func.id
        if name not in SAFE_BUILTINS and name not in bound:
            found.append(_("%(name)s() is not a function cells can call (FEEL's functions are not available: cells "
                           "are Python).", name=name))
        elif name in ("date", "datetime") and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                                  for a in node.args):
            found.append(_("%(name)s() takes numbers here, as in %(name)s(2024, 1, 31), not a text as in FEEL.",
                           name=name))
    return found


def _entry(filename: str, el, rule, input_expr: str, text: str) -> list[ModelProblem]:
    said = tuple(_call_problems(input_expr))
    substituted = input_marks_replaced(text, "dmninputexpr")
    if "dmninputexpr" in substituted:
        return _cell(filename, el, substituted.replace("dmninputexpr", "(" + input_expr + ")"), rule, said)
    feel = _feel_reading(text)
    if feel is not None:
        return [ModelProblem(filename, feel, rule.get("id"), el.sourceline, rule.get("label") or None)]
    for reading in (f"({input_expr}) == ({text})", f"{input_expr} {text}"):
        if not check_script(reading, "eval"):
            return [ModelProblem(filename, _("Decision table cell %(cell)s rejected: %(reason)s",
                                             cell=repr(text[:80]), reason=reason), rule.get("id"), el.sourceline,
                                 rule.get("label") or None) for reason in _call_problems(reading) if reason not in said]
    return _cell(filename, el, text, rule)


#: FEEL's range ``[18..65]``, ``]0..100[``, ``(1..5)``: Python said "invalid syntax. Perhaps you forgot a comma?"
#: Matched by RE2, in time linear in the cell: Python's backtracking re took 10 s on "[a", 800 spaces, "..b", 800
#: spaces and "x" (an input entry of a decision table, checked whenever a model is saved), and 16 times as long at
#: twice the length. RE2's ``\s`` is ASCII only: :func:`_is_feel_range` turns every other space into " " first.
_FEEL_RANGE = r"\s*[\[\](]\s*[^.\s][^\[\]()]*?\s*\.\.\s*[^.\s][^\[\]()]*?\s*[\[\])]\s*"


def _is_feel_range(text: str) -> bool:
    from app.engine.forms import pattern_re

    spaced = "".join(" " if char.isspace() else char for char in text)
    return pattern_re(_FEEL_RANGE).fullmatch(spaced) is not None


def _feel_reading(text: str) -> str | None:
    """An input entry that reads as FEEL but runs as Python with another meaning, never matching and never
    failing: ``"gold","silver"`` (a FEEL list of values; in Python a tuple the input never equals) and
    ``not(18)`` (FEEL negation; in Python ``input == False``). None: not one of those."""
    if _is_feel_range(text):
        return _("Decision table cell %(cell)s is a FEEL range; FEEL ranges are not supported (cells are Python). "
                 "Write it with ? for the input, as in 18 <= ? <= 65 (or ? < 65 for an open end).",
                 cell=repr(text[:80]))
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if isinstance(tree, ast.Tuple) and not text.lstrip().startswith("("):
        return _("Decision table cell %(cell)s lists values separated by commas, as FEEL does; cells here are Python "
                 "and this one would never match. Write it as in (%(values)s).", cell=repr(text[:80]),
                 values=text.strip()[:80])
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not) and re.match(r"\s*not\s*\(", text):
        return _("Decision table cell %(cell)s is FEEL's negation; cells here are Python, where it compares the "
                 "input with True or False. Write != value, or not in (values).", cell=repr(text[:80]))
    return None


def descriptive_process(trees: dict, filename: str, process_id: str):
    """The process element if it is marked ``isExecutable="false"`` (a descriptive model); for a
    collaboration, the collaboration element if all its pools are."""
    root = trees.get(filename)
    if root is None:
        return None
    processes = {p.get("id"): p for p in _bpmn(root, ".//bpmn:process")}
    if process_id in processes:
        return processes[process_id] if processes[process_id].get("isExecutable") == "false" else None
    for collab in _bpmn(root, ".//bpmn:collaboration"):
        if collab.get("id") == process_id:
            pools = [processes.get(part.get("processRef")) for part in _bpmn(collab, "./bpmn:participant")]
            pools = [p for p in pools if p is not None]
            if pools and all(p.get("isExecutable") == "false" for p in pools):
                return collab
    return None


# --------------------------------------------------------------------------------------------------
# Decision tables: notices (they do not stop publishing)

def _blank(text: str) -> bool:
    return text in ("", "-")


_FLIP = {ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt, ast.GtE: ast.LtE, ast.Eq: ast.Eq}


def _number(node):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _number(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    return None


def _interval(text: str):
    """A numeric input entry as (low, low included, high, high included): ``>= 18``, ``< 65``, ``18``,
    ``18 <= ? <= 65``. None: not one of those (then no overlap is claimed)."""
    import math

    bounds = [-math.inf, False, math.inf, False]

    def bound(op, value) -> bool:
        if isinstance(op, ast.Eq):
            return bound(ast.GtE(), value) and bound(ast.LtE(), value)
        if isinstance(op, ast.Gt | ast.GtE):
            if value > bounds[0] or (value == bounds[0] and isinstance(op, ast.Gt)):
                bounds[0:2] = [value, isinstance(op, ast.GtE)]
            return True
        if isinstance(op, ast.Lt | ast.LtE):
            if value < bounds[2] or (value == bounds[2] and isinstance(op, ast.Lt)):
                bounds[2:4] = [value, isinstance(op, ast.LtE)]
            return True
        return False

    try:
        if _number(ast.parse(text, mode="eval").body) is not None:
            text = f"== {text}"
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    try:
        node = ast.parse("dmninputexpr " + text if "?" not in text else input_marks_replaced(text, "dmninputexpr"),
                         mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not isinstance(node, ast.Compare):
        return None
    operands = [node.left, *node.comparators]
    for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
        if isinstance(left, ast.Name) and left.id == "dmninputexpr" and _number(right) is not None:
            ok = bound(op, _number(right))
        elif isinstance(right, ast.Name) and right.id == "dmninputexpr" and _number(left) is not None:
            ok = type(op) in _FLIP and bound(_FLIP[type(op)](), _number(left))
        else:
            ok = False
        if not ok:
            return None
    return tuple(bounds)


def _entries_overlap(a: str, b: str) -> bool:
    """Whether two input entries of a column can both hold: the same text, either ``-``, or numeric ranges that
    meet. Anything else is not claimed to overlap."""
    if a == b or _blank(a) or _blank(b):
        return True
    first, second = _interval(a), _interval(b)
    if first is None or second is None:
        return False
    def edge(x, y, pick):
        if x[0] == y[0]:
            return x[0], x[1] and y[1]
        return x if pick(x[0], y[0]) == x[0] else y

    low = edge(first[0:2], second[0:2], max)
    high = edge(first[2:4], second[2:4], min)
    return low[0] < high[0] or (low[0] == high[0] and low[1] and high[1])


def _table_name(table) -> str:
    """What the owner calls a table: its name, its decision's name or id (a table in a boxed context has no
    decision for a parent: the one it is in), else its id."""
    decision = next(table.iterancestors("{*}decision"), table)
    return table.get("name") or decision.get("name") or decision.get("id") or table.get("id") or "?"


_RANGE_WORDS = re.compile(r"[<>?]|!=|\bnot\b|\bin\b", re.IGNORECASE)


def _enumerates_only(entries: list[list[str]]) -> bool:
    """Whether a table may well leave a case to no rule — what the "no rule matches every case" notice is for. A
    table of one input whose entries compare or negate (``< 5`` beside ``>= 5``, ``!= "accept"`` beside
    ``== "accept"``, ``not in (…)``) is the owner's ranges, which usually cover every case by design, as does
    ``True`` beside ``False``: no notice for it (the probe read the notice on every such table, and a notice on every
    table teaches nobody anything). Tables of several inputs, and a column that only names values (``"urban"``),
    keep it: a combination or a value no rule names is easily missed."""
    if any(len(row) != 1 for row in entries):
        return True
    values = {e for row in entries for e in row if not _blank(e)}
    if any(_RANGE_WORDS.search(e) for e in values):
        return False
    return not {"True", "False"} <= values


def dmn_notices(trees: dict) -> list[ModelProblem]:
    """Notices of decision tables: rules of a UNIQUE table that can both match (identical entries, or one of them
    ``-``, in every input: the engine stops with an error when both do), and UNIQUE or FIRST tables with no rule that
    matches every case (all inputs ``-``): when no rule matches, the outputs are left unset."""
    notices: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".dmn"):
            continue
        for table in root.iter("{*}decisionTable"):
            policy = " ".join((table.get("hitPolicy") or "UNIQUE").upper().split())
            if policy not in ("UNIQUE", "FIRST"):
                continue
            rules = [r for r in table if local(r.tag) == "rule"]
            entries = [[" ".join((e.findtext("{*}text") or "").split()) for e in r if local(e.tag) == "inputEntry"]
                       for r in rules]
            name = _table_name(table)
            if rules and not any(all(_blank(e) for e in row) for row in entries) and _enumerates_only(entries):
                notices.append(ModelProblem(filename, _(
                    "No rule of the decision table %(table)s matches every case: when no rule matches, its outputs "
                    "are not set and a later step that reads them fails. Add a last rule with - in every input (and "
                    "choose the hit policy FIRST).", table=repr(name)), table.get("id"), table.sourceline, name))
            if policy != "UNIQUE":
                continue
            for j, later in enumerate(rules[:500]):
                for i in range(j):
                    if len(entries[i]) == len(entries[j]) and all(
                            _entries_overlap(a, b) for a, b in zip(entries[i], entries[j], strict=True)):
                        notices.append(ModelProblem(filename, _(
                            "Rules %(first)s and %(second)s of the decision table %(table)s (hit policy UNIQUE) can "
                            "both match: the step stops with an error when they do. Make their inputs exclusive, or "
                            "choose the hit policy FIRST.", first=i + 1, second=j + 1, table=repr(name)),
                            later.get("id"), later.sourceline, later.get("label") or None))
                        break
    return notices


# --------------------------------------------------------------------------------------------------
# Gateways that can find no way out; errors and escalations nothing catches

def _complementary(first: str, second: str) -> bool:
    """Whether two conditions are plainly each other's negation (``x`` / ``not x``, ``a > 5`` / ``a <= 5``,
    ``d == "y"`` / ``d != "y"``): then one of them always holds."""
    try:
        a = ast.parse(first.strip(), mode="eval").body
        b = ast.parse(second.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for x, y in ((a, b), (b, a)):
        if isinstance(y, ast.UnaryOp) and isinstance(y.op, ast.Not) and ast.dump(y.operand) == ast.dump(x):
            return True
    opposite = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
    if isinstance(a, ast.Compare) and isinstance(b, ast.Compare) and len(a.ops) == len(b.ops) == 1:
        same = ast.dump(a.left) == ast.dump(b.left) and ast.dump(a.comparators[0]) == ast.dump(b.comparators[0])
        return same and opposite.get(type(a.ops[0])) is type(b.ops[0])
    return False


def _always_true(condition: str) -> bool:
    return condition.strip() in ("True", "1")


def no_default_notices(trees: dict) -> list[ModelProblem]:
    """Notices: an exclusive or inclusive gateway that splits with a condition on every way out and no default flow,
    unless two of its conditions plainly complement each other: when none holds, the instance stops with an
    incident."""
    notices: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        # the flows of each level by their source, read once: reading the level's children again for each gateway
        # took 70 s for 2,500 gateways
        leaving: dict[tuple, list] = {}
        for flow in _bpmn(root, ".//bpmn:sequenceFlow"):
            leaving.setdefault((flow.getparent(), flow.get("sourceRef")), []).append(flow)
        for gateway in _bpmn(root, ".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway"):
            if gateway.get("default"):
                continue
            outgoing = leaving.get((gateway.getparent(), gateway.get("id")), [])
            conditions = [(f.findtext(f"{{{BPMN}}}conditionExpression") or "").strip() for f in outgoing]
            if not outgoing or not all(conditions) or any(_always_true(c) for c in conditions):
                continue
            if any(_complementary(a, b) for i, a in enumerate(conditions) for b in conditions[i + 1:]):
                continue
            notices.append(_problem(filename, gateway, _(
                "This gateway has no default flow: if no condition holds, the instance stops here with an incident. "
                "Make one of its flows the default flow.")))
    return notices


def _refs_match(kind: str, catch_def, throw_ref: str | None, codes: dict) -> bool:
    ref = catch_def.get(f"{kind}Ref")
    if not ref or not throw_ref or ref == throw_ref:
        return True
    return codes.get(ref) is not None and codes.get(ref) == codes.get(throw_ref)


def _caught(kind: str, container, throw_ref, codes, calls: dict, seen: set) -> bool:
    """Whether something catches an error or escalation thrown directly in ``container``: an event subprocess of
    it or of a process or subprocess around it, a boundary event on a subprocess around it, or — for a called
    process — the same around each call activity that calls it. Such an event subprocess is refused by its own
    check (:func:`interrupting_event_subprocess_problems`), which says why: not here a second time."""
    definition = f"{{{BPMN}}}{kind}EventDefinition"
    while container is not None:
        for child in container:
            if child.get("triggeredByEvent") == "true":
                for start in (c for c in child if local(c.tag) == "startEvent"):
                    if any(_refs_match(kind, d, throw_ref, codes) for d in start.iter(definition)):
                        return True
        tag = local(container.tag)
        if tag == "process":
            callers = calls.get(container.get("id"), [])
            for call in callers:
                if id(call) in seen:
                    continue
                seen.add(id(call))
                if _boundary_catches(kind, call, throw_ref, codes) or _caught(
                        kind, call.getparent(), throw_ref, codes, calls, seen):
                    return True
            return False
        if tag in ("subProcess", "transaction", "adHocSubProcess"):
            if _boundary_catches(kind, container, throw_ref, codes):
                return True
        container = container.getparent()
    return False


def _boundary_catches(kind: str, activity, throw_ref, codes) -> bool:
    parent = activity.getparent()
    if parent is None:
        return False
    return any(local(b.tag) == "boundaryEvent" and b.get("attachedToRef") == activity.get("id")
               and any(_refs_match(kind, d, throw_ref, codes) for d in b.iter(f"{{{BPMN}}}{kind}EventDefinition"))
               for b in parent)


def uncaught_throw_findings(trees: dict) -> tuple[list[ModelProblem], list[ModelProblem]]:
    """(problems, notices): an error end event nothing in the model catches is a problem — the engine ends the
    process there as if it had succeeded; an escalation nothing catches is a notice (the process goes on, or ends
    there as at a plain end event)."""
    problems: list[ModelProblem] = []
    notices: list[ModelProblem] = []
    diagrams = [(name, root) for name, root in trees.items() if name.endswith(".bpmn")]
    calls: dict[str, list] = {}
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    for _name, root in diagrams:
        for call in root.iter(f"{{{BPMN}}}callActivity"):
            calls.setdefault(call.get("calledElement"), []).append(call)
        for el in root.iter(f"{{{BPMN}}}error", f"{{{BPMN}}}escalation"):
            names[el.get("id")] = el.get("name") or el.get("errorCode") or el.get("escalationCode") or el.get("id")
            codes[el.get("id")] = el.get("errorCode") or el.get("escalationCode")
    for filename, root in diagrams:
        for kind in ("error", "escalation"):
            for definition in root.iter(f"{{{BPMN}}}{kind}EventDefinition"):
                event = definition.getparent()
                if local(event.tag) not in ("endEvent", "intermediateThrowEvent"):
                    continue
                ref = definition.get(f"{kind}Ref")
                if _caught(kind, event.getparent(), ref, codes, calls, set()):
                    continue
                shown = repr(names.get(ref, ref or "?"))
                if kind == "error":
                    problems.append(_problem(filename, event, _(
                        "Nothing catches the error %(name)s thrown here: the process would end here as if it had "
                        "succeeded. Add an error boundary event on the subprocess or call activity around it, or use a "
                        "plain end event.", name=shown)))
                else:
                    notices.append(_problem(filename, event, _(
                        "Nothing catches the escalation %(name)s thrown here: the process goes on (or ends here) as "
                        "if it had not been raised. Add an escalation boundary event on the subprocess or call "
                        "activity around it.", name=shown)))
        problems += _uncaught_cancel_problems(filename, root)
    return problems, notices


def _uncaught_cancel_problems(filename: str, root) -> list[ModelProblem]:
    """A cancel end event outside a transaction, or in one with no cancel boundary event: the engine ends the
    transaction there as if it had succeeded and goes on after it (probe: the step after the transaction ran)."""
    problems = []
    for definition in root.iter(f"{{{BPMN}}}cancelEventDefinition"):
        event = definition.getparent()
        if local(event.tag) != "endEvent":
            continue
        transaction = event.getparent()
        if local(transaction.tag) != "transaction":
            problems.append(_problem(filename, event, _(
                "A cancel end event belongs directly inside a transaction: here nothing would be cancelled and the "
                "flow would end as if it had succeeded. Draw it inside the transaction, or use a plain end event.")))
        elif not _boundary_catches("cancel", transaction, None, {}):
            problems.append(_problem(filename, event, _(
                "Nothing catches the cancellation of the transaction %(name)s: the engine would end it here as if it "
                "had succeeded and go on after it. Add a cancel boundary event on the transaction and draw where "
                "the flow goes when it is cancelled.", name=repr(transaction.get("name") or transaction.get("id")))))
    return problems
