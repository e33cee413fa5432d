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

import copy
import re

from flask_babel import gettext as _

from app.engine.errors import ModelProblem
from app.engine.scripting import check_script

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}

#: script languages the engine runs (RestrictedPython); no attribute means Python too
PYTHON_SCRIPT_FORMATS = {"", "python", "py", "text/python", "text/x-python", "application/x-python"}


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
            problems.append(_problem(filename, el, _("Choreographies are kept for viewing; the engine cannot run them.")))
        for el in _bpmn(root, ".//bpmn:adHocSubProcess[@ordering='Sequential']"):
            problems.append(_problem(filename, el, _(
                "Ad hoc subprocesses with sequential ordering cannot be run by the engine.")))
        for el in _bpmn(root, ".//bpmn:subProcess | .//bpmn:transaction"):
            starts = [c for c in el if local(c.tag) == "startEvent"]
            if len(starts) != 1:
                problems.append(_problem(filename, el, _(
                    "A subprocess needs exactly one start event inside it; this one has %(n)s.", n=len(starts))))
        for el in _bpmn(root, ".//bpmn:callActivity"):
            target = el.get("calledElement")
            if not target:
                problems.append(_problem(filename, el, _("The call activity names no process to call.")))
            elif target not in called:
                problems.append(_problem(filename, el, _(
                    "The called process %(id)s is not part of the model: add its .bpmn file.", id=repr(target))))
        for el in _bpmn(root, ".//bpmn:businessRuleTask"):
            decision = el.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}calledDecisionId")
            name = (decision.text or "").strip() if decision is not None else ""
            if not name:
                problems.append(_problem(filename, el, _(
                    "The business rule task names no decision table (called decision).")))
            elif name not in decisions:
                problems.append(_problem(filename, el, _(
                    "The decision %(id)s is not in any .dmn file of the model.", id=repr(name))))
        for el in _bpmn(root, ".//bpmn:scriptTask"):
            fmt = (el.get("scriptFormat") or "").strip().lower()
            if fmt not in PYTHON_SCRIPT_FORMATS:
                problems.append(_problem(filename, el, _(
                    "Scripts are Python here; this one is written in %(lang)s.", lang=el.get("scriptFormat"))))
            elif not (el.findtext(f"{{{BPMN}}}script") or "").strip():
                problems.append(_problem(filename, el, _("The script task has no script.")))
        for el in _bpmn(root, ".//bpmn:timerEventDefinition"):
            if not any(local(c.tag) in ("timeDate", "timeDuration", "timeCycle") and (c.text or "").strip()
                       for c in el):
                problems.append(_problem(filename, el.getparent(), _("The timer has no date, duration or cycle.")))
        for el in _bpmn(root, ".//bpmn:serviceTask"):
            if el.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}serviceTaskOperator") is None:
                problems.append(_problem(filename, el, _(
                    "Service task has no service operator (it may be written for another engine): choose one "
                    "in the side panel.")))
        problems += _gateway_problems(filename, root)
        problems += _split_problems(filename, root)
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
    for container in _bpmn(root, ".//bpmn:process | .//bpmn:subProcess | .//bpmn:transaction | .//bpmn:adHocSubProcess"):
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
    for gateway in _bpmn(root, ".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway"):
        process = gateway.getparent()
        outgoing = [f for f in process if local(f.tag) == "sequenceFlow" and f.get("sourceRef") == gateway.get("id")]
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
    caller), data stores and their references and associations left out (reported by :func:`lint`)."""
    tree = copy.deepcopy(root)
    for process in _bpmn(tree, ".//bpmn:process"):
        process.set("isExecutable", "true")
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
        (r"Exactly one start event is required in a SubWorkflow Task; found (\d+)",
         lambda m: _("A subprocess needs exactly one start event inside it; this one has %(n)s.", n=m.group(1))),
        (r"Non-default exclusive outgoing sequence flow\s+without condition",
         lambda m: _("A flow out of this gateway has no condition and is not the default flow.")),
        (r"The process '([^']*)' was not found",
         lambda m: _("The called process %(id)s is not part of the model: add its .bpmn file.", id=repr(m.group(1)))),
        (r"No start event found", lambda m: _("The process has no start event.")),
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


def engine_problem(err, trees: dict, default_file: str) -> ModelProblem:
    """A SpiffWorkflow ValidationException as a problem with file, element, name and line."""
    element_id = getattr(err, "id", None) or None
    filename, el = find_element(trees, element_id, getattr(err, "file_name", None) or None)
    line = el.sourceline if el is not None else None
    if line is None and str(getattr(err, "line_number", "")).isdigit():
        line = int(err.line_number)
    name = (el.get("name") if el is not None else None) or getattr(err, "name", None) or None
    message = translate_engine_message(str(err), getattr(err, "tag", "") or (local(el.tag) if el is not None else ""))
    return ModelProblem(filename or getattr(err, "file_name", None) or default_file, message, element_id, line, name)


# --------------------------------------------------------------------------------------------------
# Decision tables: every cell is a Python expression the sandbox must accept (as scripts are)

_QUESTION = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def dmn_problems(trees: dict) -> list[ModelProblem]:
    """Input expressions, input entries and output entries of every decision table, checked by the same
    RestrictedPython rules as scripts and conditions (an entry is compared with its input the way the
    engine does: ``?`` stands for the input, otherwise ``input == entry`` or ``input <entry>``)."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".dmn"):
            continue
        for table in root.iter("{*}decisionTable"):
            inputs = [i for i in table if local(i.tag) == "input"]
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
                for entry in (e for e in rule if local(e.tag) == "outputEntry"):
                    text = (entry.findtext("{*}text") or "").strip()
                    if text:
                        problems += _cell(filename, entry, text, rule)
    return problems


def _cell(filename: str, el, source: str, rule=None) -> list[ModelProblem]:
    owner = rule if rule is not None else el
    return [ModelProblem(filename, _("Decision table cell %(cell)s rejected: %(reason)s",
                                     cell=repr(source[:80]), reason=p.message), owner.get("id"),
                         el.sourceline, owner.get("label") or None)
            for p in check_script(source, "eval")]


def _entry(filename: str, el, rule, input_expr: str, text: str) -> list[ModelProblem]:
    substituted = _QUESTION.sub("dmninputexpr", text)
    if "dmninputexpr" in substituted:
        return _cell(filename, el, substituted.replace("dmninputexpr", "(" + input_expr + ")"), rule)
    if not check_script(f"({input_expr}) == ({text})", "eval"):
        return []
    if not check_script(f"{input_expr} {text}", "eval"):
        return []
    return _cell(filename, el, text, rule)


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
