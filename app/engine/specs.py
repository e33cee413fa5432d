"""Load, validate and cache process specs from a model version's files.

Parsing goes through the hardened XML parser; validation rejects what would otherwise fail in front of
a citizen at run time: unknown lanes, forms, handlers or operators, scripts that RestrictedPython
refuses, diagrams without an end event.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from flask_babel import gettext as _
from jsonschema import Draft202012Validator, SchemaError
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from app.engine.errors import ModelInvalid, ModelProblem
from app.engine.handlers import get_handler
from app.engine.lanes import role_for_lane
from app.engine.operators import get_operator
from app.engine.scripting import check_script
from app.engine.xml import ModelXmlError, parse_model_xml


@dataclass
class ParsedModel:
    process_id: str
    name: str
    spec: object
    subprocess_specs: dict
    trees: dict  # filename -> lxml root, for line numbers


def _line_of(trees: dict, element_id: str | None) -> tuple[str | None, int | None]:
    if not element_id:
        return None, None
    for filename, root in trees.items():
        found = root.xpath("//*[@id=$id]", id=element_id)
        if found:
            return filename, found[0].sourceline
    return None, None


def parse_files(files: dict[str, str]) -> ParsedModel:
    """Parse the BPMN and DMN files of one model; raise ModelInvalid with line numbers on failure."""
    bpmn_names = [n for n in files if n.endswith(".bpmn")]
    if len(bpmn_names) != 1:
        raise ModelInvalid([ModelProblem("(model)", "A model needs exactly one .bpmn file")])
    parser = SpiffBpmnParser(validator=VALIDATOR)
    trees = {}
    try:
        for name in sorted(files):
            if not name.endswith((".bpmn", ".dmn")):
                continue
            root = parse_model_xml(files[name].encode("utf-8"), name).getroot()
            trees[name] = root
            if name.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)
            else:
                parser.add_bpmn_xml(root, filename=name)
        ids = parser.get_process_ids()
        executable = [
            p.get("id") for p in trees[bpmn_names[0]].iter("{*}process") if p.get("isExecutable") == "true"
        ] or ids
        if not executable:
            raise ModelInvalid([ModelProblem(bpmn_names[0], _("The diagram has no executable process"))])
        process_id = executable[0]
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ModelXmlError as err:
        raise ModelInvalid([ModelProblem(err.filename, err.reason, line=err.line)]) from err
    except ValidationException as err:
        line = int(err.line_number) if str(err.line_number).isdigit() else None
        raise ModelInvalid(
            [ModelProblem(err.file_name or bpmn_names[0], str(err).split("\n")[0], err.id or None, line)]
        ) from err
    return ParsedModel(process_id, spec.description or process_id, spec, subprocess_specs, trees)


def _form_problems(files: dict[str, str], filename: str | None, where: str, elem_line) -> list[ModelProblem]:
    if not filename:
        return []
    if filename not in files:
        return [ModelProblem(where, _("Form file %(name)s is not part of the model", name=repr(filename)), *elem_line)]
    try:
        schema = json.loads(files[filename])
    except json.JSONDecodeError as err:
        return [ModelProblem(filename, _("Not valid JSON: %(reason)s", reason=err.msg), line=err.lineno)]
    if filename.endswith("schema.json") and "uischema" not in filename:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            return [ModelProblem(filename, _("Not a valid JSON Schema: %(reason)s", reason=err.message))]
    return []


def _script_problems(source: str | None, mode: str, filename: str, element_id: str, line) -> list[ModelProblem]:
    if not source:
        return []
    return [
        ModelProblem(filename, _("Expression rejected: %(reason)s", reason=p.message), element_id, line)
        for p in check_script(source, mode)
    ]


def validate_files(files: dict[str, str]) -> tuple[ParsedModel | None, list[ModelProblem]]:
    """Every problem of a model, each with its file, element and line; empty list means publishable."""
    try:
        parsed = parse_files(files)
    except ModelInvalid as err:
        return None, err.problems
    problems: list[ModelProblem] = []
    has_end = False
    specs = [parsed.spec, *parsed.subprocess_specs.values()]
    for wf_spec in specs:
        for ts in wf_spec.task_specs.values():
            element_id = getattr(ts, "bpmn_id", None)
            if not element_id:
                continue
            filename, line = _line_of(parsed.trees, element_id)
            filename = filename or "(model)"
            where = (element_id, line)
            if isinstance(ts, EndEvent):
                has_end = True
            if isinstance(ts, UserTask):
                if role_for_lane(ts.lane) is None:
                    problems.append(ModelProblem(
                        filename, _("User task is in lane %(lane)s, which maps to no role", lane=repr(ts.lane)),
                        *where))
                props = ts.extensions.get("properties", {})
                schema_file = props.get("formJsonSchemaFilename")
                if not schema_file:
                    problems.append(ModelProblem(filename, _("User task has no formJsonSchemaFilename"), *where))
                problems += _form_problems(files, schema_file, filename, where)
                problems += _form_problems(files, props.get("formUiSchemaFilename"), filename, where)
                if get_handler(props.get("taskHandler")) is None:
                    problems.append(ModelProblem(
                        filename, _("Unknown task handler %(name)s", name=repr(props.get("taskHandler"))), *where))
            if isinstance(ts, ServiceTask):
                op = get_operator(ts.operation_name)
                if op is None:
                    problems.append(ModelProblem(
                        filename, _("Unregistered service operator %(name)s", name=repr(ts.operation_name)), *where))
                else:
                    given = set(ts.operation_params or {})
                    if given != set(op.params):
                        problems.append(ModelProblem(
                            filename,
                            _("Operator %(op)s takes parameters %(expected)s, the task gives %(given)s", op=op.id,
                              expected=sorted(op.params), given=sorted(given)),
                            *where))
                for param in (ts.operation_params or {}).values():
                    problems += _script_problems(param.get("value"), "eval", filename, *where)
            if isinstance(ts, ScriptTask):
                problems += _script_problems(ts.script, "exec", filename, *where)
            for attr in ("prescript", "postscript"):
                problems += _script_problems(getattr(ts, attr, None), "exec", filename, *where)
            if isinstance(ts, MultiChoice):
                for condition, _target in ts.cond_task_specs:
                    source = condition.args[0] if getattr(condition, "args", None) else condition
                    if isinstance(source, str):
                        problems += _script_problems(source, "eval", filename, *where)
            if isinstance(ts, CatchingEvent) and isinstance(ts.event_definition, TimerEventDefinition):
                problems += _script_problems(ts.event_definition.expression, "eval", filename, *where)
    if not has_end:
        problems.append(ModelProblem(next(iter(parsed.trees)), _("The process has no end event")))
    problems += unreachable_problems(parsed.trees)
    return parsed, problems


_FLOW_NODES = {
    "startEvent", "endEvent", "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask",
    "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent",
}


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def unreachable_problems(trees: dict) -> list[ModelProblem]:
    """Flow nodes no token can reach from a start event (rule: every step must be reachable).

    Roots are the start events of each process and of event subprocesses, and link catch events; a
    reached subprocess makes its own start events reached; a reached activity its boundary events.
    """
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for process in root.iter("{*}process"):
            nodes = {el.get("id"): el for el in process.iter() if _local(el.tag) in _FLOW_NODES and el.get("id")}
            edges: dict[str, list[str]] = {}
            for flow in process.iter("{*}sequenceFlow"):
                edges.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
            boundary: dict[str, list[str]] = {}
            for el in nodes.values():
                if _local(el.tag) == "boundaryEvent":
                    boundary.setdefault(el.get("attachedToRef"), []).append(el.get("id"))
            todo = []
            for node_id, el in nodes.items():
                parent = el.getparent()
                parent_kind = _local(parent.tag)
                is_root_start = _local(el.tag) == "startEvent" and (
                    parent_kind == "process" or parent.get("triggeredByEvent") == "true")
                is_link = _local(el.tag) == "intermediateCatchEvent" and el.find("{*}linkEventDefinition") is not None
                if is_root_start or is_link:
                    todo.append(node_id)
            seen: set[str] = set()
            while todo:
                node_id = todo.pop()
                if node_id in seen or node_id not in nodes:
                    continue
                seen.add(node_id)
                el = nodes[node_id]
                todo.extend(edges.get(node_id, []))
                todo.extend(boundary.get(node_id, []))
                if _local(el.tag) in ("subProcess", "transaction"):
                    todo.extend(c.get("id") for c in el if _local(c.tag) == "startEvent")
            for node_id, el in nodes.items():
                if node_id not in seen:
                    problems.append(ModelProblem(
                        filename, _("This element cannot be reached from a start event"), node_id, el.sourceline))
    return problems


_cache: dict[int, ParsedModel] = {}
_cache_lock = threading.Lock()


def spec_for_version(version) -> ParsedModel:
    """Parsed spec of a stored model version, parsed once per process (versions are immutable).

    A draft is still being edited, so it is parsed afresh every time and never cached: its id becomes a
    published version's id when it is published."""
    parsed = _cache.get(version.id)  # only non-drafts are cached: a hit needs nothing but the id
    if parsed is not None:
        return parsed
    if version.status == "draft":
        return parse_files(version.files)
    if parsed is None:
        with _cache_lock:
            parsed = _cache.get(version.id)
            if parsed is None:
                parsed = parse_files(version.files)
                _cache[version.id] = parsed
    return parsed


def clear_spec_cache() -> None:
    _cache.clear()
