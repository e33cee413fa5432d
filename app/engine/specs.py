"""Load, validate and cache process specs from a model version's files.

Parsing goes through the hardened XML parser; validation rejects what would otherwise fail in front of
a citizen at run time: unknown lanes, forms, handlers or operators, scripts that RestrictedPython
refuses, diagrams without an end event.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass

from flask_babel import gettext as _
from jsonschema import Draft202012Validator, SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from app.engine.data_keys import form_field_name_problems, json_key_line, model_data_key_problems
from app.engine.data_names import data_object_read_problems, io_specification_problems
from app.engine.errors import ModelInvalid, ModelProblem
from app.engine.foreign_engines import foreign_form_problems, foreign_language_elements
from app.engine.form_words import field_words, kind_words, schema_mistake
from app.engine.forms import TASK_DATA_OPTIONS, form_shape_problems, shape_gaps, with_task_data_options
from app.engine.gateway_matching import join_notices, join_problems
from app.engine.handlers import get_handler, roles_named
from app.engine.lanes import lane_names_read, role_for_lane
from app.engine.model_lint import (
    broken_flow_ends,
    descriptive_process,
    direction_control_problems,
    dmn_problems,
    duplicate_id_problems,
    element_finder,
    engine_copy,
    engine_problem,
    find_element,
    foreign_expression,
    interrupting_event_subprocess_problems,
    lint,
    local,
    message_start_problems,
    missing_operator_message,
    no_default_notices,
    reserved_id_problems,
    stored_length_problems,
    translate_engine_message,
    uncaught_throw_findings,
)
from app.engine.operators import get_operator
from app.engine.scripting import MAX_MODEL_SCRIPT_CHARACTERS, check_script, script_names
from app.engine.timer_literals import engine_text, is_cron
from app.engine.xml import ModelXmlError, parse_model_xml


@dataclass
class ParsedModel:
    process_id: str  # the BPMN process (or collaboration) id the engine runs, as the tool wrote it
    name: str
    spec: object
    subprocess_specs: dict
    trees: dict  # filename -> lxml root, for line numbers
    primary: str | None = None  # the .bpmn file that holds it
    descriptive: bool = False  # marked isExecutable="false": kept for viewing, not published
    lane_role: str | None = None  # the version's role for user tasks without a role's lane ("starter")
    option_forms: frozenset = frozenset()  # form files that take options from task data


def _line_of(trees: dict, element_id: str | None) -> tuple[str | None, int | None]:
    filename, el = find_element(trees, element_id)
    return filename, (el.sourceline if el is not None else None)


def _load_trees(files: dict[str, str]) -> tuple[dict, list[ModelProblem]]:
    """Every .bpmn and .dmn file through the hardened parser; a file that is refused is a problem."""
    trees, problems = parse_trees(files)
    if not any(n.endswith(".bpmn") for n in files):
        problems.append(ModelProblem("(model)", _("A model needs a .bpmn diagram")))
    return trees, problems


def parse_trees(files: dict[str, str]) -> tuple[dict, list[ModelProblem]]:
    """Each diagram and decision table through the hardened parser: the trees, and every refusal at once
    (per file and line, in the user's language)."""
    trees, problems = {}, []
    for name in sorted(files):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            trees[name] = parse_model_xml(files[name].encode("utf-8"), name).getroot()
        except ModelXmlError as err:
            problems.append(ModelProblem(err.filename, xml_reason(err.reason), line=err.line))
    return trees, problems


def xml_reason(reason: str) -> str:
    """The hardened parser's refusal (English, in app.engine.xml) in the user's language."""
    declared = re.fullmatch(r"<!(DOCTYPE|ENTITY)> declarations are not allowed in model files", reason)
    if declared:
        return _("<!%(kind)s> declarations are not allowed in model files", kind=declared.group(1))
    known = {
        "a DOCTYPE is not allowed in model files": _("a DOCTYPE is not allowed in model files"),
        "entity references are not allowed in model files": _("entity references are not allowed in model files"),
        "the file is empty": _("the file is empty"),
        "the file contains no XML element": _("the file contains no XML element"),
    }
    if reason in known:
        return known[reason]
    version = re.fullmatch(r"the decision table is written in a DMN version the engine does not know \((.*)\): "
                           r"save it as DMN 1\.3 \(DMN 1\.1 to 1\.5 are supported\)", reason)
    if version:
        return _("The decision table is written in a DMN version the engine does not know (%(namespace)s): save it "
                 "as DMN 1.3 (DMN 1.1 to 1.5 are supported).", namespace=version.group(1))
    too_deep = re.match(r"not well-formed XML: Excessive depth in document: ([0-9]+)", reason)
    if too_deep:  # libxml2's limit on nesting: the file is well-formed, and its advice (XML_PARSE_HUGE) is not ours
        return _("the elements are nested more than %(n)s levels deep, past what model files may be: put fewer "
                 "subprocesses inside one another (a call activity can call a process kept in its own file).",
                 n=too_deep.group(1))
    if reason.startswith("not well-formed XML: "):
        return _("not well-formed XML: %(reason)s", reason=reason[len("not well-formed XML: "):])
    return reason


def choose_process(trees: dict, process_id: str | None = None,
                   primary: str | None = None) -> tuple[str | None, str | None]:
    """(primary file, process or collaboration id) the engine runs.

    The stored choice wins while it still exists; otherwise the primary file is the diagram whose processes
    no other diagram calls, and in it a collaboration of several pools with start events (run together, so
    their messages meet), else the first executable process with a start event, else the first process.
    """
    bpmn = [n for n in sorted(trees) if n.endswith(".bpmn")]
    if not bpmn:
        return None, None
    ids_in = {n: [p.get("id") for p in trees[n].iter("{*}process") if p.get("id")] for n in bpmn}
    collabs_in = {n: [c.get("id") for c in trees[n].iter("{*}collaboration") if c.get("id")] for n in bpmn}
    if process_id:
        for name in ([primary] if primary in ids_in else []) + bpmn:
            if process_id in ids_in[name] or process_id in collabs_in[name]:
                return name, process_id
    if primary not in ids_in:
        called = {el.get("calledElement") for n in bpmn for el in trees[n].iter("{*}callActivity")}
        primary = next((n for n in bpmn if ids_in[n] and not set(ids_in[n]) & called), None) or next(
            (n for n in bpmn if ids_in[n]), bpmn[0])
    root = trees[primary]
    processes = [p for p in root.iter("{*}process") if p.get("id")]
    starting = [p for p in processes if any(local(c.tag) == "startEvent" for c in p)]
    for collab in root.iter("{*}collaboration"):
        refs = {part.get("processRef") for part in collab.iter("{*}participant")}
        if collab.get("id") and len([p for p in starting if p.get("id") in refs]) >= 2:
            return primary, collab.get("id")
    for group in ([p for p in starting if p.get("isExecutable") == "true"], starting, processes):
        if group:
            return primary, group[0].get("id")
    return primary, None


#: DMN elements whose id the engine's parser reads (``attrib['id']``); DMN makes every id optional
_DMN_IDS_READ = ("decision", "decisionTable", "input", "output", "rule", "inputEntry", "outputEntry")


def _add_decisions(parser: SpiffBpmnParser, name: str, root) -> None:
    """A .dmn file's decisions given to the engine's parser, on a copy it can read. It reads the file's first
    decision with the prefix ``dmn:``, bound to the file's default namespace, and the id of every table element: a
    file with no decision (only input data, knowledge models or notes) failed with "list index out of range", one
    whose DMN elements carry a prefix (``semantic:``, as Trisotech writes them, its default namespace the model's
    own) with "Undefined namespace prefix" or "list index out of range", and a rule or column without an id (as
    Flowable writes them) with "KeyError('id')" — all said of the process's diagram. A file with no decision is left
    out (:func:`dmn_problems` says it); the copy has the DMN namespace as its default and an id, named after its
    line, on each element the parser reads one of."""
    if root.find("{*}decision") is None:
        return
    namespace = root.tag.partition("}")[0].lstrip("{")
    nsmap = {prefix: uri for prefix, uri in root.nsmap.items() if prefix is not None}
    engine_root = etree.Element(root.tag, attrib=dict(root.attrib), nsmap={**nsmap, None: namespace})
    engine_root.extend(copy.deepcopy(child) for child in root)
    taken = {el.get("id") for el in engine_root.iter() if isinstance(el.tag, str) and el.get("id")}
    for el in engine_root.iter(*(f"{{{namespace}}}{tag}" for tag in _DMN_IDS_READ)):
        if el.get("id"):
            continue
        base = f"{etree.QName(el).localname}_line{el.sourceline}"
        element_id, n = base, 1
        while element_id in taken:
            n += 1
            element_id = f"{base}_{n}"
        taken.add(element_id)
        el.set("id", element_id)
    parser.add_dmn_xml(engine_root, filename=name)


def _parse_trees(trees: dict, process_id: str | None, primary: str | None) -> ParsedModel:
    """The engine's spec of the chosen process; raises ModelInvalid (one problem: the engine stops at its first)."""
    primary, chosen = choose_process(trees, process_id, primary)
    if chosen is None:
        raise ModelInvalid([ModelProblem(primary or "(model)", _(
            "The diagram has no process the engine could run (it may hold only a collaboration, conversation "
            "or choreography); it is kept for viewing."))])
    parser = SpiffBpmnParser(validator=None)  # the XSD is stricter than the tools that write BPMN; the
    try:                                       # engine's parser and lint() check what running needs
        for name, root in trees.items():
            if name.endswith(".dmn"):
                _add_decisions(parser, name, root)
            else:
                parser.add_bpmn_xml(engine_copy(root), filename=name)
        if chosen in parser.collaborations:
            spec, subprocess_specs = parser.get_collaboration(chosen)
            collab = next(c for c in trees[primary].iter("{*}collaboration") if c.get("id") == chosen)
            name = collab.get("name") or next(
                (p.get("name") for p in collab.iter("{*}participant") if p.get("name")), chosen)
            spec.description = name
        else:
            spec = parser.get_spec(chosen)
            subprocess_specs = parser.get_subprocess_specs(chosen)
            name = spec.description or chosen
    except (ValidationException, RecursionError) as err:
        if _too_deep(err):
            raise ModelInvalid([ModelProblem(primary, _(
                "A chain of steps is too long for the engine's parser: it follows each path step by step and "
                "stops after about %(steps)s steps in a row. Group the steps into subprocesses (or call "
                "activities): the parser reads each of them on its own.", steps=_PARSER_STEPS))]) from err
        raise ModelInvalid([engine_problem(err, trees, primary)]) from err
    except Exception as err:  # noqa: BLE001 - any other parser failure is a problem, never a 500
        raise ModelInvalid([ModelProblem(primary, translate_engine_message(str(err)))]) from err
    descriptive = descriptive_process(trees, primary, chosen) is not None
    _inherit_lane_roles(trees, [spec, *subprocess_specs.values()])
    return ParsedModel(chosen, name, spec, subprocess_specs, trees, primary, descriptive)


def _inherit_lane_roles(trees: dict, specs: list) -> None:
    """A lane inside a lane (a ``childLaneSet``: "Reviewers" inside "Department official") works for the nearest
    enclosing lane that names a role, unless its own name names one: its tasks were refused as "in a lane that
    names no role". The engine knows only the innermost lane, so its tasks are given that lane's name."""
    parents: dict[str, str] = {}
    for root in trees.values():
        for lane in root.iter("{*}lane"):
            for child_set in (c for c in lane if c.tag.endswith("childLaneSet")):
                for child in (c for c in child_set if c.tag.endswith("}lane")):
                    if child.get("name") and lane.get("name"):
                        parents.setdefault(child.get("name"), lane.get("name"))
    if not parents:
        return
    for wf_spec in specs:
        for ts in wf_spec.task_specs.values():
            lane, seen = getattr(ts, "lane", None), set()
            while lane and role_for_lane(lane) is None and lane in parents and lane not in seen:
                seen.add(lane)
                lane = parents[lane]
            if lane and lane != ts.lane and role_for_lane(lane) is not None:
                ts.lane = lane


#: About how many steps in a row SpiffWorkflow's parser follows: it parses the next step from inside the
#: previous one (``TaskParser.parse_node`` -> ``ProcessParser.parse_node``, two frames a step) until Python's
#: recursion limit (1,000 frames, some used by the caller). A tester's chain of 2,000 script tasks stopped at the
#: 473rd step outside a request. A subprocess or call activity is parsed on its own, after the process that holds
#: it (``SubprocessParser`` only names its spec), so grouping steps into them resets the count.
_PARSER_STEPS = 400


def _too_deep(err: BaseException) -> bool:
    """Whether the parser ran out of Python's recursion limit (it wraps the RecursionError of the step where that
    happened in a ValidationException, so the step it names is just where the stack ran out)."""
    while err is not None:
        if isinstance(err, RecursionError) or "RecursionError(" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def parse_files(files: dict[str, str], process_id: str | None = None, primary: str | None = None) -> ParsedModel:
    """Parse the BPMN and DMN files of one model; raise ModelInvalid with line numbers on failure."""
    trees, problems = _load_trees(files)
    if problems:
        raise ModelInvalid(problems)
    return _parse_trees(trees, process_id, primary)


def _form_problems(files: dict[str, str], filename: str | None, where: str, elem_line,
                   kind: str = "schema") -> list[ModelProblem]:
    if not filename:
        return []
    if filename not in files:
        return [ModelProblem(where, _("Form file %(name)s is not part of the model", name=repr(filename)), *elem_line)]
    try:
        schema = json.loads(files[filename])
    except json.JSONDecodeError as err:
        return [ModelProblem(filename, _("Not valid JSON: %(reason)s", reason=err.msg), line=err.lineno)]
    except (RecursionError, ValueError):  # nested past Python's recursion limit; an integer past 4,300 digits
        return [ModelProblem(filename, _("Not valid JSON: %(reason)s", reason=_("nested or sized beyond reason")))]
    if not isinstance(schema, dict):
        return [ModelProblem(filename, _("JSON Schema: the form must be a JSON object"))]
    if kind == "schema":  # whatever the file is called (SpiffArena names vary)
        try:
            # options taken from task data when the task opens are checked as an (empty) list of options
            Draft202012Validator.check_schema(with_task_data_options(schema, {}))
        except SchemaError as err:
            return [ModelProblem(filename, _("Not a valid JSON Schema: %(reason)s", reason=schema_mistake(err)),
                                 detail=err.message)]
    return []


def _shape_gaps(files: dict[str, str], schema_file: str, ui_file: str | None, shape: dict, handler: str,
                filename: str, where: tuple) -> list[ModelProblem]:
    """The fields the step's handler needs that its form (which parses) does not ask, or asks as another kind: named
    as the form labels them; the data's path is the problem's detail."""
    try:
        schema = json.loads(files[schema_file])
        ui = json.loads(files[ui_file]) if ui_file and ui_file in files else {}
    except (RecursionError, ValueError):
        return []
    return [ModelProblem(filename, _("The step %(handler)s needs %(field)s in its form, as %(kind)s: add it, or the "
                                     "step can never be completed.", handler=repr(handler),
                                     field=field_words(path, schema, ui, shape), kind=kind_words(kind)),
                         *where, detail=f"{path} ({kind or '-'})")
            for path, kind in shape_gaps(shape, schema)]


def _form_shape(files: dict[str, str], schema_file: str, ui_file: str | None) -> list[ModelProblem]:
    """forms.form_shape_problems of a task's form whose files parse (their own problems are reported apart)."""
    try:
        schema = json.loads(files[schema_file])
        ui = json.loads(files[ui_file]) if ui_file and ui_file in files else {}
    except (RecursionError, ValueError):
        return []
    if not isinstance(schema, dict):
        return []
    # a field's name that cannot be a key of the data is said at the line that names it
    lines = {message: json_key_line(files[schema_file], path) for path, message in form_field_name_problems(schema)}
    return [ModelProblem(ui_file if part == "ui" and ui_file else schema_file, message,
                         line=lines.get(message) if part == "schema" else None)
            for part, message in form_shape_problems(schema, ui)]


#: SpiffArena's script helpers (spiff-arena's script registry). None of them exists in our sandbox: they read
#: the server's environment, secrets, users and groups, or other instances. A script that calls one is refused
#: at save with this reason, instead of a NameError in front of a citizen at run time.
SPIFFARENA_HELPERS = frozenset({
    "get_current_user", "get_process_initiator_user", "get_last_user_completing_task", "get_user_properties",
    "set_user_properties", "get_group_members", "get_all_permissions", "get_env", "get_secret",
    "get_frontend_url", "get_url_for_task_with_bpmn_identifier", "get_toplevel_process_info", "get_process_info",
    "get_data_sizes", "get_encoded_file_data", "get_markdown_file_download_link", "get_task_data_value",
    "get_localtime", "refresh_permissions", "delete_process_instances_with_criteria", "get_current_task_info",
    "markdown_file_download_link", "get_timezone", "add_permission", "add_user_to_group",
})


_SANDBOX_REASONS = (
    (re.compile(r'"(.+)" is an invalid (?:attribute|variable) name because it starts with "_"\.?'),
     lambda m: _('"%(name)s" is not allowed: names that start with "_" are the interpreter\'s own.', name=m[1])),
    (re.compile(r"(\w+) statements are not allowed\.?"),
     lambda m: _("%(what)s statements are not allowed.", what=m[1])),
    (re.compile(r"(\w+) calls are not allowed\.?"), lambda m: _("%(what)s calls are not allowed.", what=m[1])),
    (re.compile(r"syntax error: (.*)", re.S), lambda m: _("syntax error: %(reason)s", reason=m[1])),
    (re.compile(r'"(\w+)" is not allowed: use an f-string'),
     lambda m: _('"%(name)s" is not allowed: use an f-string.', name=m[1])),
    (re.compile(r'calling "(\w+)" is not allowed'), lambda m: _('calling "%(name)s" is not allowed.', name=m[1])),
    (re.compile(r'"(\w+)" is not allowed: types are not inspected in scripts'),
     lambda m: _('"%(name)s" is not allowed: types are not inspected in scripts.', name=m[1])),
)


#: Python's own words for the syntax errors a person makes most, in the reader's language (the message read
#: "синтаксическая ошибка: expected ':' at statement: …", half in English, with the diagram file's line only)
_SYNTAX_WORDS = (
    (re.compile(r"invalid syntax"), lambda m: _("the line cannot be read as Python")),
    (re.compile(r"expected ':'"), lambda m: _("a colon (:) is missing at the end of the line")),
    (re.compile(r"'(.)' was never closed"), lambda m: _("the bracket %(b)s is never closed", b=m[1])),
    (re.compile(r"unmatched '(.)'"), lambda m: _("the bracket %(b)s closes nothing", b=m[1])),
    (re.compile(r"unexpected indent"), lambda m: _("the line is indented where it should not be")),
    (re.compile(r"expected an indented block after '?(.+?)'? (?:statement )?on line ([0-9]+)"),
     lambda m: _("the lines after %(what)s on line %(n)s must be indented", what=m[1], n=m[2])),
    (re.compile(r"unindent does not match any outer indentation level"),
     lambda m: _("the line's indentation matches no line above it")),
    (re.compile(r"unterminated (?:triple-quoted )?string literal.*"), lambda m: _("a text in quotes is not closed")),
    (re.compile(r"invalid decimal literal"),
     lambda m: _("a number runs into letters (a name cannot start with a digit)")),
)
_SYNTAX = re.compile(r"(?:syntax error|IndentationError|TabError): (.*?)(?: at statement: '(.*)')?", re.S)


def _syntax_reason(match: re.Match, line: int | None) -> str:
    reason, code = match[1].strip(), match[2]
    for pattern, say in _SYNTAX_WORDS:
        words = pattern.fullmatch(reason)
        if words:
            reason = say(words)
            break
    if code:
        reason = f"{reason} («{code.strip()[:80]}»)"
    if line:
        return _("syntax error on line %(n)s of the script: %(reason)s", n=line, reason=reason)
    return _("syntax error: %(reason)s", reason=reason)


def sandbox_reason(message: str, line: int | None = None) -> str:
    """The sandbox's reason (RestrictedPython's English) in the reader's language, where it is one of the common
    ones; a syntax error with its line in the script and, for the common mistakes, Python's words translated too."""
    syntax = _SYNTAX.fullmatch(message.strip())
    if syntax:
        return _syntax_reason(syntax, line)
    for pattern, say in _SANDBOX_REASONS:
        match = pattern.fullmatch(message.strip())
        if match:
            return say(match)
    return message


#: what drawing tools write for an expression nobody has written yet
_PLACEHOLDER = re.compile(r"_?undefined", re.IGNORECASE)


def _script_problems(source: str | None, mode: str, filename: str, element_id: str, line, name=None,
                     ) -> list[ModelProblem]:
    if not source:
        return []
    if mode == "eval" and _PLACEHOLDER.fullmatch(source.strip()):
        # itp-commerce's Visio modeler writes "_undefined" where nobody wrote a condition: the owner was told that
        # "names that start with "_" are the interpreter's own", which says nothing about what to do
        return [ModelProblem(filename, _(
            "%(text)s is what the drawing tool writes where nobody has written the expression yet: write it in Python "
            "(a condition such as amount > 1000), or, on a flow out of a gateway, make the flow the gateway's "
            "default flow instead.", text=repr(source.strip())), element_id, line, name)]
    found = [
        ModelProblem(filename, (_("Script rejected: %(reason)s", reason=sandbox_reason(p.message, p.line))
                                if mode == "exec" else
                                _("Expression rejected: %(reason)s", reason=sandbox_reason(p.message))),
                     element_id, line, name)
        for p in check_script(source, mode)
    ]
    if found:
        return found
    calls = sorted(script_names(source, mode).called & SPIFFARENA_HELPERS)  # it compiled, so it has its names
    return [ModelProblem(filename, _(
        "%(helper)s() is a SpiffArena helper that does not exist here (it reads users, secrets or the server); "
        "pass the value in the task data or use a service task.", helper=helper), element_id, line, name)
        for helper in calls]


def validate_files(files: dict[str, str], *, process_id: str | None = None, primary: str | None = None,
                   lane_role: str | None = None) -> tuple[ParsedModel | None, list[ModelProblem]]:
    """Every problem of a model, each with its file, element, name and line; empty list means publishable.

    All at once: the files' XML problems, every element the engine cannot run (:func:`lint`), every
    decision table cell, then - when the engine can parse the model - lanes, forms, operators, scripts,
    conditions and timers of every task. ``lane_role``: the role that performs user tasks without a lane
    (or in a lane that names no role); ``"starter"`` means the person who started the instance.
    """
    trees, problems = _load_trees(files)
    if not any(n.endswith(".bpmn") for n in trees):
        return None, problems
    too_much = script_volume_problems(trees)
    if too_much:  # every check below reads each script again: refused before that work, not after minutes of it
        return None, problems + too_much
    reserved = reserved_id_problems(trees)
    problems += lint(trees) + dmn_problems(trees) + duplicate_id_problems(trees) + stored_length_problems(trees)
    problems += direction_control_problems(trees)
    problems += reserved
    problems += _foreign_form_problems(files, trees) + data_object_read_problems(trees)
    problems += io_specification_problems(files, trees)
    problems += interrupting_event_subprocess_problems(trees) + message_start_problems(trees)
    problems += _certain_unset_names(files, trees, problems) + uncaught_throw_findings(trees)[0]
    problems += model_data_key_problems(trees) + join_problems(trees) + unsent_message_problems(trees)
    flagged = {p.element_id for p in problems if p.element_id} | broken_flow_ends(trees)
    try:
        parsed = _parse_trees(trees, process_id, primary)
    except ModelInvalid as err:
        # the engine's own words without an element (its parser stops at "The process 'x' was not found" with no
        # node) are dropped when a check of the XML already said the same on its element and line
        located = {p.message for p in problems if p.element_id and p.line}
        found = problems + [p for p in err.problems if not p.element_id and p.message not in located
                            or p.element_id and p.element_id not in flagged]
        # The engine could not read the model, so its checks per task do not run; the ones the XML alone can
        # answer are still said now — not one round of fixes later (an imported model met its problems in rounds).
        flagged |= {p.element_id for p in found if p.element_id}
        unreachable = [p for p in unreachable_problems(trees) if p.element_id not in flagged]
        return None, _once(found + _unparsed_problems(trees, lane_role, flagged) + unreachable)
    if parsed.descriptive:
        process = descriptive_process(trees, parsed.primary, parsed.process_id)
        problems.append(ModelProblem(parsed.primary, _(
            "This process is marked as not executable (a descriptive model): it is kept for viewing and "
            "documentation. Mark it executable to publish and run it."), parsed.process_id, process.sourceline,
            process.get("name") or None))
    has_end = False
    specs = [parsed.spec, *parsed.subprocess_specs.values()]
    foreign_language = foreign_language_elements(parsed.trees, foreign_expression)  # said by lint()
    find = element_finder(parsed.trees)
    outgoing: dict = {}  # each level's sequence flows by their source (_condition_flows)
    for wf_spec in specs:
        for ts in wf_spec.task_specs.values():
            element_id = getattr(ts, "bpmn_id", None)
            if not element_id:
                continue
            filename, el = find(element_id, getattr(wf_spec, "file", None))
            line = el.sourceline if el is not None else None
            filename = filename or "(model)"
            where = (element_id, line, getattr(ts, "bpmn_name", None) or None)
            if isinstance(ts, EndEvent):
                has_end = True
            if isinstance(ts, UserTask):
                if role_for_lane(ts.lane) is None and not lane_role:
                    if ts.lane:
                        message = _("User task is in lane %(lane)s, which names no role: rename the lane after a "
                                    "role, or choose who performs tasks without a role's lane.", lane=repr(ts.lane))
                        message += " " + _("Lanes named after a role: %(names)s.", names=lane_names_read())
                    else:
                        message = _("User task has no lane: choose which role performs user tasks without a lane, "
                                    "or draw it in a lane named after a role.")
                    problems.append(ModelProblem(filename, message, *where))
                props = ts.extensions.get("properties", {})
                schema_file = props.get("formJsonSchemaFilename")
                # No form is allowed: the task is then a confirmation ("done") without fields, as other tools'
                # user tasks are until someone adds a form.
                problems += _form_problems(files, schema_file, filename, where)
                for key in ("dueInWorkingDays", "dueInDays"):
                    if props.get(key) and not re.fullmatch(r"[0-9]{1,4}", str(props[key]).strip()):
                        problems.append(ModelProblem(filename, _(
                            "The due time must be a whole number of days, not %(value)s.", value=repr(props[key])),
                            *where))
                ui_file = props.get("formUiSchemaFilename")
                form_problems = _form_problems(files, ui_file, filename, where, "ui")
                if not form_problems and schema_file in files and not _form_problems(files, schema_file, filename,
                                                                                       where):
                    form_problems = _form_shape(files, schema_file, ui_file)
                problems += form_problems
                handler = get_handler(props.get("taskHandler"))
                if handler is None:
                    problems.append(ModelProblem(
                        filename, _("Unknown task handler %(name)s", name=repr(props.get("taskHandler"))), *where))
                elif schema_file in files and not form_problems and (shape := handler.model_shape(parsed.process_id)):
                    problems += _shape_gaps(files, schema_file, ui_file, shape, props.get("taskHandler"), filename,
                                            where)
                if handler is not None and handler.roles and (role_for_lane(ts.lane) or lane_role) not in handler.roles:
                    problems.append(ModelProblem(filename, _(
                        "The step %(handler)s can be performed only by: %(roles)s. Draw it in the lane of one of "
                        "these roles.", handler=repr(props.get("taskHandler")), roles=roles_named(handler.roles)),
                        *where))
            if isinstance(ts, ServiceTask):
                op = get_operator(ts.operation_name)
                if op is None and not ts.operation_name:
                    problems.append(ModelProblem(filename, missing_operator_message(el), *where))
                elif op is None:
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
            for condition in (_loop_conditions(el) if element_id not in foreign_language else ()):
                # evaluated as Python each round (a loop) or as each instance ends (multi-instance)
                problems += _script_problems(condition, "eval", filename, *where)
            for attr in ("prescript", "postscript"):
                problems += _script_problems(getattr(ts, attr, None), "exec", filename, *where)
            if isinstance(ts, MultiChoice):
                flows = _condition_flows(el, outgoing)
                for condition, _target in ts.cond_task_specs:
                    source = condition.args[0] if getattr(condition, "args", None) else condition
                    if not isinstance(source, str):
                        continue
                    # the condition is written on its sequence flow: the problem is there, not on the gateway
                    flow = flows.get(source.strip())
                    if flow is None:
                        problems += _script_problems(source, "eval", filename, *where)
                    elif flow.get("id") not in flagged:  # written in another language: said once, by lint()
                        problems += _script_problems(source, "eval", filename, flow.get("id"), flow.sourceline,
                                                     flow.get("name") or None)
            for timer, timer_where in _timers(ts, el, where, find, filename):
                if foreign_expression(timer.expression or "") or timer_where[0] in foreign_language or (
                        isinstance(timer, CycleTimerEventDefinition) and is_cron(timer.expression)):
                    continue  # JUEL or FEEL, another language, or a cron cycle: said by lint()
                # a bare ISO value (PT5M, as Camunda writes it) reaches here quoted: app.engine.timer_literals
                found = _script_problems(timer.expression, "eval", filename, *timer_where)
                problems += found or _timer_problems(timer, filename, timer_where)
    if not has_end and not reserved:  # an end event with a reserved id is said as that
        # on the process, with its line: the message alone named neither which process nor where it is drawn
        filename, process = find_element(parsed.trees, parsed.process_id, parsed.primary)
        problems.append(ModelProblem(filename or parsed.primary, _("The process has no end event"),
                                     parsed.process_id if process is not None else None,
                                     process.sourceline if process is not None else None,
                                     (process.get("name") or None) if process is not None else None))
    problems += [p for p in unreachable_problems(parsed.trees) if p.element_id not in flagged]
    return parsed, _once(problems)


def _foreign_form_problems(files: dict[str, str], trees: dict) -> list[ModelProblem]:
    """User tasks whose form is named for Camunda 7 or 8 (app.engine.foreign_engines), with the model's forms to
    suggest from."""
    forms = sorted(n for n in files if n.endswith("schema.json") and "uischema" not in n)
    return [p for name, root in trees.items() if name.endswith(".bpmn")
            for p in foreign_form_problems(name, root, forms)]


def _loop_conditions(el) -> list[str]:
    """The loop condition, completion condition or number of instances of a step's own loop (not of the steps inside
    a subprocess), when written in Python: JUEL and FEEL are said by :func:`lint`. The number of instances was not
    checked at all: a syntax error in it published and failed when the step began."""
    if el is None:
        return []
    return [text for lc in el if _local(lc.tag) in ("standardLoopCharacteristics", "multiInstanceLoopCharacteristics")
            for c in lc if _local(c.tag) in ("loopCondition", "completionCondition", "loopCardinality")
            if (text := (c.text or "").strip()) and not foreign_expression(text)]


def _certain_unset_names(files: dict[str, str], trees: dict, problems: list[ModelProblem]) -> list[ModelProblem]:
    """Names read that no step sets and that are certain mistakes (app.engine.data_names), on elements with no other
    problem yet (a script the sandbox refuses is reported as that)."""
    from app.engine.data_names import unset_name_problems

    flagged = {(p.filename, p.element_id) for p in problems if p.element_id}
    return [p for p in unset_name_problems(files, trees) if (p.filename, p.element_id) not in flagged]


def _unparsed_problems(trees: dict, lane_role: str | None, flagged: set) -> list[ModelProblem]:
    """Of a model the engine cannot parse: the scripts and conditions (Python the sandbox refuses) and the user
    tasks without a role's lane, read from the XML — as the checks of a parsed model would say them."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        in_lanes = {(ref.text or "").strip() for ref in root.iter("{*}flowNodeRef")}
        for el in root.iter("{*}scriptTask", "{*}sequenceFlow", "{*}userTask"):
            element_id = el.get("id")
            if not element_id or element_id in flagged:
                continue
            where = (element_id, el.sourceline, el.get("name") or None)
            tag = _local(el.tag)
            if tag == "scriptTask":
                problems += _script_problems(el.findtext("{*}script"), "exec", filename, *where)
            elif tag == "sequenceFlow":
                problems += _script_problems((el.findtext("{*}conditionExpression") or "").strip() or None, "eval",
                                             filename, *where)
            elif not lane_role and element_id not in in_lanes:
                problems.append(ModelProblem(filename, _(
                    "User task has no lane: choose which role performs user tasks without a lane, or draw it in a "
                    "lane named after a role."), *where))
    return problems


def _once(problems: list[ModelProblem]) -> list[ModelProblem]:
    """Each problem once, in order: a problem of the whole file or model (no element) can be found both by the
    checks of the XML and by the engine."""
    seen, kept = set(), []
    for problem in problems:
        key = (problem.filename, problem.message, problem.element_id, problem.line)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept


def _condition_flows(gateway, outgoing: dict) -> dict:
    """The sequence flows out of ``gateway`` by their condition (the first flow of each; none when the element is
    unknown), read in one pass: looking for each condition's flow among all the level's elements again took 4 s
    for a gateway of 2,000 ways out. ``outgoing``: the cache of :func:`_flows_by_source` per level."""
    if gateway is None or gateway.getparent() is None:
        return {}
    level = gateway.getparent()
    if level not in outgoing:
        outgoing[level] = _flows_by_source(level)
    flows: dict = {}
    for flow in outgoing[level].get(gateway.get("id"), ()):
        flows.setdefault((flow.findtext("{*}conditionExpression") or "").strip(), flow)
    return flows


def _flows_by_source(level) -> dict[str, list]:
    """A process level's sequence flows by the element they leave, in document order: read once per level — read
    again for each gateway, a model of 800 gateways among 3,600 elements took 5 s for this alone."""
    found: dict[str, list] = {}
    for flow in level:
        if _local(flow.tag) == "sequenceFlow":
            found.setdefault(flow.get("sourceRef"), []).append(flow)
    return found


def _timers(ts, el, where: tuple, find, filename: str) -> list[tuple[TimerEventDefinition, tuple]]:
    """(timer, (element id, line, name)) of a catching event. An event-based gateway carries the timers of the
    events after it — SpiffWorkflow moves their definitions onto the gateway and leaves the events plain — so an
    unquoted ``PT1S`` there was found only when the gateway was reached (Activiti's act1623 test model); each is
    said on its own event."""
    definition = getattr(ts, "event_definition", None) if isinstance(ts, CatchingEvent) else None
    if isinstance(definition, TimerEventDefinition):
        return [(definition, where)]
    if not isinstance(definition, MultipleEventDefinition) or el is None:
        return []
    parent = el.getparent()
    targets = [find(flow.get("targetRef"), filename)[1] for flow in parent if _local(flow.tag) == "sequenceFlow"
               and flow.get("sourceRef") == el.get("id")]
    found = []
    for timer in (d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)):
        event = next((t for t in targets if t is not None and any(
            (engine_text(value.text) or "").strip() == (timer.expression or "").strip()
            for value in t.iter("{*}timeDate", "{*}timeDuration", "{*}timeCycle"))), None)
        found.append((timer, where if event is None else (event.get("id"), event.sourceline,
                                                         event.get("name") or None)))
    return found


def _timer_problems(definition, filename: str, where) -> list[ModelProblem]:
    """A timer whose expression is a constant is checked now, not when the timer is due: an ISO 8601 date,
    duration or cycle (quoted, or bare as other engines write it: quoted in the engine's copy), or
    ``timedelta(...)`` / ``datetime(...)`` (SpiffArena's Python timers, turned into ISO values by the script
    engine)."""
    import ast

    expression = (definition.expression or "").strip()
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return []  # reported by the script check
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("timedelta", "datetime"):
        return []
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return []  # a variable or another expression: known only at run time
    return timer_value_problems(type(definition).__name__, node.value, filename, where)


#: How far ahead a timer may be: a deadline past it is a typo (``P99999999D``, ``P10000Y``) — and past the year 9999
#: SpiffWorkflow's timer fails when it is reached with Python's "date value out of range", in front of a citizen.
TIMER_HORIZON_YEARS = 100
_DESIGNATOR_DAYS = {"years": 366, "months": 31, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440,
                    "seconds": 1 / 86400}


def _too_far(parsed: dict) -> bool:
    """Whether a parsed ISO duration (SpiffWorkflow's dict of designators) reaches past the horizon. Estimated from
    the designators first: the library counts months one by one, and ``P99999999Y`` would take minutes."""
    return sum(_DESIGNATOR_DAYS.get(k, 0) * float(v) for k, v in parsed.items()) > TIMER_HORIZON_YEARS * 366


def timer_value_problems(kind: str, value: str, filename: str, where) -> list[ModelProblem]:
    """A constant timer value (``kind``: the engine's timer class name) checked as the engine will read it: an ISO
    8601 date, duration or cycle; no cycle of zero repetitions ("R0/PT1H" ended the instance without its remaining
    steps); nothing past ``TIMER_HORIZON_YEARS`` years."""
    from datetime import datetime, timedelta

    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer

    from app import clock
    from app.engine import durations

    def too_far() -> list[ModelProblem]:
        return [ModelProblem(filename, _(
            "The timer %(value)s is more than %(years)s years away: the engine cannot wait that long (it would "
            "fail when the timer is reached). Check the number.", value=repr(value), years=TIMER_HORIZON_YEARS),
            *where)]

    def naive() -> list[ModelProblem]:
        # the engine reads a date without an offset in the server's own time zone: "10:00" was 10:00 on a server
        # set to Astana's time and 15:00 in Astana on one set to UTC
        return [ModelProblem(filename, _(
            "The timer %(value)s has no time zone offset, so the time it fires at would depend on the server's "
            "clock settings. Write the offset: %(example)s for Astana time, or Z for UTC.",
            value=repr(value), example=f'"{_with_offset(text)}"'), *where)]

    # the application's clock, as the engine arms the timer with (a test's or the time-travel demo's moment, not the
    # server's: a date 80 years after the demo's day was refused as more than 100 years away, or let through)
    now = clock.now()

    def deadline(parsed: dict) -> datetime:
        return durations.shift(now, parsed)

    horizon = now + timedelta(days=TIMER_HORIZON_YEARS * 366)
    text = value.strip()
    try:
        if kind == "CycleTimerEventDefinition":
            parts = text.upper().replace("--", "/").strip("R").split("/")
            durations = [Timer.parse_iso_duration(p) for p in parts[1:] if p.startswith("P")]
            if any(_too_far(d) for d in durations):
                return too_far()
            if any(_naive(p) for p in parts[1:] if p and not p.startswith("P")):
                return naive()
            cycles, start, _duration = Timer.parse_iso_recurring_interval(text)
            if cycles == 0:
                return [ModelProblem(filename, _(
                    "The timer cycle %(value)s repeats zero times: it would never fire. Write how many times it "
                    "repeats (R3/PT1H), or R/PT1H for no end.", value=repr(value)), *where)]
            if start > horizon:
                return too_far()
            if _duration.total_seconds() <= 0:
                # each background pass fired one round: a new branch every 30 seconds, for ever
                return [ModelProblem(filename, _(
                    "The timer cycle %(value)s repeats with no time between its rounds: it would fire at every pass "
                    "of the engine. Write the interval (R3/PT1H, R/P1D).", value=repr(value)), *where)]
        elif kind != "DurationTimerEventDefinition" and text.upper().startswith("P"):
            # the engine compares a date timer's value with now: a duration there failed when reached ("'<' not
            # supported between instances of 'dict' and 'datetime.datetime'")
            return [ModelProblem(filename, _(
                "The timer %(value)s is a duration, but this timer waits for a date: make it a duration timer, or "
                "write a date (\"2027-01-15T09:00:00+05:00\").", value=repr(value)), *where)]
        elif kind == "DurationTimerEventDefinition" and text[:1] in tuple("0123456789"):  # ASCII digits only
            # a date in a duration timer (Camunda's 2027-01-15 under "Duration"): the library's parse said nothing
            return [ModelProblem(filename, _(
                "The timer %(value)s is a date, but this timer waits for a duration: make it a date timer, or write "
                "a duration (P5D, PT2H).", value=repr(value)), *where)]
        elif kind == "DurationTimerEventDefinition":
            parsed = Timer.parse_iso_duration(text)
            if _too_far(parsed) or deadline(parsed) > horizon:
                return too_far()
        else:
            if _naive(text):
                return naive()
            if Timer.parse_time_or_duration(text) > horizon:
                return too_far()
    except OverflowError:
        return too_far()
    except Exception:  # noqa: BLE001 - the library raises bare Exception/ValueError/AttributeError
        return [ModelProblem(filename, _("The timer value %(value)s is not an ISO 8601 date, duration or cycle.",
                                         value=repr(value)), *where)]
    return []


def _naive(text: str) -> bool:
    """Whether an ISO 8601 date-time is written without its offset (a date alone counts: midnight, no zone)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        return False


def _with_offset(text: str) -> str:
    """``text`` (a timer of one date, or a cycle) with Astana's offset written after its date-time."""
    from datetime import datetime

    def placed(part: str) -> str:
        if part.startswith(("P", "R")) or not _naive(part):
            return part
        return datetime.fromisoformat(part).isoformat() + "+05:00"

    return "/".join(placed(p) for p in text.strip().split("/"))


def _cycle_seconds(value: str) -> float | None:
    """The interval of a constant timer cycle, in seconds (None when it cannot be read: a problem says why)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as Timer

    try:
        parts = value.strip().upper().replace("--", "/").strip("R").split("/")
        durations = [Timer.parse_iso_duration(p) for p in parts[1:] if p.startswith("P")]
        if not durations or any(_too_far(d) for d in durations):
            return None
        return Timer.parse_iso_recurring_interval(value.strip())[2].total_seconds()
    except Exception:  # noqa: BLE001 - as above
        return None


_FLOW_NODES = {
    "startEvent", "endEvent", "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "manualTask",
    "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "adHocSubProcess",
}


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


#: the elements whose text the engine runs as Python: scripts (a script task's, SpiffArena's pre- and post-scripts),
#: conditions, and a multi-instance's cardinality and completion condition
_SCRIPT_TEXTS = frozenset({"script", "preScript", "postScript", "conditionExpression", "loopCardinality",
                           "completionCondition", "loopCondition"})


def script_volume_problems(trees: dict) -> list[ModelProblem]:
    """The model's scripts and conditions together past :data:`MAX_MODEL_SCRIPT_CHARACTERS`: one problem, said before
    any of them is read (each script alone may hold MAX_SOURCE_LENGTH; five of them held a worker for 38 s)."""
    total = sum(len(el.text or "") for root in trees.values() for el in root.iter()
                if _local(el.tag) in _SCRIPT_TEXTS)
    if total <= MAX_MODEL_SCRIPT_CHARACTERS:
        return []
    return [ModelProblem("(model)", _(
        "The model's scripts and conditions hold %(n)s characters together, more than the %(limit)s a model may "
        "hold: move the work to a service task, or split the model into processes that call each other.",
        n=total, limit=MAX_MODEL_SCRIPT_CHARACTERS))]


def unreachable_problems(trees: dict) -> list[ModelProblem]:
    """Flow nodes no token can reach from a start event (rule: every step must be reachable).

    Roots are the start events of each process, event subprocesses and their start events, and link catch
    events; a reached subprocess makes its own start events reached; a reached activity its boundary events.
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
                # An event subprocess has no incoming flow by definition: its start event's trigger starts it.
                is_event_subprocess = el.get("triggeredByEvent") == "true"
                if is_root_start or is_link or is_event_subprocess:
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
                elif _local(el.tag) == "adHocSubProcess":
                    # no start event: every step inside without an incoming flow may begin it
                    incoming = {flow.get("targetRef") for flow in el.iter("{*}sequenceFlow")}
                    todo.extend(c.get("id") for c in el if c.get("id") not in incoming)
            for node_id, el in nodes.items():
                if node_id not in seen:
                    problems.append(ModelProblem(
                        filename, _("This element cannot be reached from a start event"), node_id, el.sourceline))
    return problems


#: nodes after which a token must go on: a step, a gateway or an intermediate event without an outgoing flow ends its
#: process there (valid BPMN — an implicit end — and the engine runs it), which is rarely what the drawer meant
#: (a gateway that chooses and has no way out is a problem, not a notice: model_lint's gateway check)
_MUST_GO_ON = _FLOW_NODES - {"startEvent", "endEvent", "boundaryEvent", "exclusiveGateway", "inclusiveGateway",
                             "eventBasedGateway"}


def _readable(files: dict[str, str], trees: dict | None = None) -> dict | None:
    """The parsed files of a model (``trees`` when the caller parsed them already), or None when a file is refused
    (its problems say why, not a notice). Parsing is most of a notice's cost — 0.35 s for a diagram of 0.8 MB —
    so :func:`model_notices` parses once and hands the trees to each."""
    if trees is not None:
        return trees
    trees, problems = parse_trees(files)
    return None if problems else trees


def _diagrams(files: dict[str, str], trees: dict | None = None) -> list:
    """(file name, root) of each .bpmn file — none when a file is refused (its problems say why, not a notice)."""
    trees = _readable(files, trees)
    return [] if trees is None else [(name, root) for name, root in trees.items() if name.endswith(".bpmn")]


def implicit_end_notices(files: dict[str, str], trees: dict | None = None) -> list[ModelProblem]:
    """Notices, not problems: flow nodes with no outgoing sequence flow (an "implicit end"). The engine ends the
    process there and foreign models rely on it, so publishing stays allowed; the editor says it, so that a deleted
    end event ("Pay act" then led nowhere and the draft showed no problem) is seen. Compensation handlers and the
    nodes of event and ad-hoc subprocesses are left out: they end where they stop by design."""
    notices: list[ModelProblem] = []
    for filename, root in _diagrams(files, trees):
        for process in root.iter("{*}process"):
            leaving = {flow.get("sourceRef") for flow in process.iter("{*}sequenceFlow")}
            for el in process.iter():
                if _local(el.tag) not in _MUST_GO_ON or not el.get("id") or el.get("id") in leaving:
                    continue
                parent = el.getparent()
                # an event subprocess has no flows by definition: its start event's trigger starts it
                if el.get("isForCompensation") == "true" or el.get("triggeredByEvent") == "true" or (
                        parent is not None and (parent.get("triggeredByEvent") == "true"
                                                or _local(parent.tag) == "adHocSubProcess")):
                    continue
                if _local(el.tag) == "intermediateThrowEvent" and el.find("{*}linkEventDefinition") is not None:
                    continue  # a link throw goes on at its catch event
                notices.append(ModelProblem(filename, _(
                    "Nothing follows this step: the process ends here without an end event. Add an end event after "
                    "it if that is meant, or connect it to the next step."), line=el.sourceline,
                    element_id=el.get("id"), name=el.get("name")))
    return notices


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
        return _parse_version(version)
    if parsed is None:
        with _cache_lock:
            parsed = _cache.get(version.id)
            if parsed is None:
                parsed = _parse_version(version)
                _cache[version.id] = parsed
    return parsed


def _parse_version(version) -> ParsedModel:
    parsed = parse_files(version.files, version.process_id or version.process_model.identifier,
                         version.primary_file)
    parsed.lane_role = version.lane_role
    parsed.option_forms = frozenset(name for name, text in version.files.items()
                                    if name.endswith(".json") and TASK_DATA_OPTIONS in text)
    return parsed


def clear_spec_cache() -> None:
    _cache.clear()


#: elements a diagram draws (a shape or an edge of BPMN DI each)
_DRAWN = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask", "sendTask",
          "receiveTask", "callActivity", "subProcess", "startEvent", "endEvent", "intermediateCatchEvent",
          "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
          "eventBasedGateway", "sequenceFlow"}


def layout_notices(files: dict[str, str], trees: dict | None = None) -> list[ModelProblem]:
    """Notices, not problems: elements with no layout (BPMN DI). The engine runs them, but the editor and the
    viewer cannot draw them — a flow added by hand to an imported model was invisible, and a model without any
    layout was published with nothing said. A file without any layout is one notice; otherwise each element."""
    notices: list[ModelProblem] = []
    for filename, root in _diagrams(files, trees):
        drawn = {el.get("bpmnElement") for el in root.iter("{*}BPMNShape", "{*}BPMNEdge")}
        missing = [el for el in root.iter() if isinstance(el.tag, str) and _local(el.tag) in _DRAWN
                   and el.get("id") and el.get("id") not in drawn]
        if not missing:
            continue
        if not drawn:
            notices.append(ModelProblem(filename, _(
                "This diagram has no layout (no BPMN DI): the process runs, but the editor and the viewer cannot "
                "draw it. Lay it out in a BPMN tool and import it again.")))
            continue
        notices += [ModelProblem(filename, _(
            "This element has no layout (no BPMN DI): it runs, but the editor and the viewer do not draw it."),
            el.get("id"), el.sourceline, el.get("name") or None) for el in missing]
    return notices


#: the kinds of event a step can wait for that only the model itself can send (each defined by a top-level element
#: of that name): its event definition's tag and reference attribute
_SENDABLE = {"message": ("messageEventDefinition", "messageRef"), "signal": ("signalEventDefinition", "signalRef")}


class _Unnamed(str):
    """The name an event without a message or signal reference waits for: its own name (or none)."""

    def __new__(cls, name: str | None):
        return super().__new__(cls, name or "")


def _unsent_waits(diagrams: list) -> tuple[list[tuple[str, object, str, str, bool]], list[tuple[str, object]]]:
    """(file, element, kind, name, whether nothing else can go on) of each step that waits for a message or signal
    nothing in the model sends, and (file, gateway) of each event-based gateway all of whose events are such waits.
    The engine has no way to deliver a message or a signal from outside an instance (Camunda's and Zeebe's come
    by correlation or broadcast from their clients): a receive task or a message or signal catch event in the flow
    waits there for good; after an event-based gateway another of its events may come (a timer), and a boundary
    event that never fires leaves its step to end as usual. Start events are left out: starting delivers theirs.
    Matched by name, as SpiffWorkflow does; a signal end event sends nothing (model_lint refuses it)."""
    names = {kind: {m.get("id"): m.get("name") or m.get("id")
                    for _f, root in diagrams for m in root.iter(f"{{*}}{kind}")} for kind in _SENDABLE}
    sent: dict[str, set] = {kind: set() for kind in _SENDABLE}

    def called(kind: str, el, ref: str | None) -> str | None:
        # SpiffWorkflow names an event definition without a reference after its event: a catch event "Paid" with a
        # bare message definition waits for the message "Paid" (None when the event has no name either)
        return names[kind].get(ref) if ref else el.get("name")

    for _f, root in diagrams:
        for el in root.iter("{*}intermediateThrowEvent", "{*}endEvent"):
            sent["message"].update(called("message", el, d.get("messageRef"))
                                   for d in el.iter("{*}messageEventDefinition"))
            if _local(el.tag) == "intermediateThrowEvent":
                sent["signal"].update(called("signal", el, d.get("signalRef"))
                                      for d in el.iter("{*}signalEventDefinition"))
        # a send task without a message sends nothing (the engine makes it a plain step)
        sent["message"].update(names["message"].get(t.get("messageRef")) for t in root.iter("{*}sendTask")
                               if t.get("messageRef"))
    found, gateways = [], []
    for filename, root in diagrams:
        event_gateways = {g.get("id"): g for g in root.iter("{*}eventBasedGateway")}
        after_event_gateway: dict[str, set] = {}
        for f in root.iter("{*}sequenceFlow"):
            if f.get("sourceRef") in event_gateways:
                after_event_gateway.setdefault(f.get("sourceRef"), set()).add(f.get("targetRef"))
        after = set().union(*after_event_gateway.values())
        waits = []
        for el in root.iter("{*}intermediateCatchEvent", "{*}boundaryEvent", "{*}receiveTask"):
            refs = [("message", el.get("messageRef"))] if _local(el.tag) == "receiveTask" else [
                (kind, d.get(attribute)) for kind, (tag, attribute) in _SENDABLE.items()
                for d in el.iter(f"{{*}}{tag}")]
            stuck = _local(el.tag) != "boundaryEvent" and el.get("id") not in after
            # a message or signal the files do not define is a problem of its own (model_lint), and so is a receive
            # task without a message (the engine passes it at once); a catch event without one waits for the
            # message or signal named as the event itself, which nothing sent in the Camunda examples ("stuck")
            waits += [(filename, el, kind, called(kind, el, ref) if ref else _Unnamed(el.get("name")), stuck)
                      for kind, ref in refs
                      if (ref in names[kind] or (not ref and _local(el.tag) != "receiveTask"))
                      and called(kind, el, ref) not in sent[kind]]
        dead = {el.get("id") for _f, el, *_rest in waits}
        for gateway_id, targets in after_event_gateway.items():
            if targets <= dead:
                gateways.append((filename, event_gateways[gateway_id]))
        refused = set().union(*[after_event_gateway[g.get("id")] for f, g in gateways if f == filename])
        found += [w for w in waits if w[1].get("id") not in refused]  # said once, on the gateway
    return found, gateways


def _unnamed_wait(kind: str, name: str, stuck: bool) -> str:
    """A catch event whose message or signal definition names none: what it waits for, in the owner's words."""
    if kind == "message":
        text = _("This event names no message to wait for, and nothing in this model sends a matching one (without "
                 "a message the engine waits for one called as the event itself, %(name)s).", name=repr(name)) \
            if name else _("This event names no message to wait for, and nothing in this model sends a message without "
                           "a name.")
        what = _("Choose the message it waits for, one that a message throw or end event or a send task of this "
                 "model sends, or wait for a user task or a timer instead.")
    else:
        text = _("This event names no signal to wait for, and nothing in this model throws a matching one (without "
                 "a signal the engine waits for one called as the event itself, %(name)s).", name=repr(name)) \
            if name else _("This event names no signal to wait for, and nothing in this model throws a signal without "
                           "a name.")
        what = _("Choose the signal it waits for, one that a signal throw event of this model throws, or wait for "
                 "a user task or a timer instead.")
    if stuck:
        return " ".join((text, _("Every instance that reaches it would wait here for good."), what))
    return " ".join((text, _("An instance that reaches it waits there for good.")))


def unsent_message_problems(trees: dict) -> list[ModelProblem]:
    """A receive task or message or signal catch event in the flow waiting for what nothing in the model sends, and
    an event-based gateway whose events are all such: published, every instance that reached it waited there for
    good (probe: 'Wait for the bank' after 'Accept the act')."""
    waits, gateways = _unsent_waits(_diagrams({}, trees))
    problems = [ModelProblem(filename, _unnamed_wait(kind, name, stuck=True), el.get("id"), el.sourceline,
                             el.get("name") or None)
                for filename, el, kind, name, stuck in waits if stuck and isinstance(name, _Unnamed)]
    problems += [ModelProblem(filename, _(
        "This step waits for the message %(name)s, which nothing in this model sends, and the engine cannot receive "
        "a message from outside an instance: every instance that reaches it would wait here for good. Send the "
        "message from this model (a message throw or end event, a send task), or wait for a user task or a timer "
        "instead.", name=repr(name)) if kind == "message" else _(
        "This step waits for the signal %(name)s, which nothing in this model throws, and the engine cannot receive "
        "a signal from outside an instance: every instance that reaches it would wait here for good. Throw the "
        "signal from this model (a signal throw event), or wait for a user task or a timer instead.",
        name=repr(name)), el.get("id"), el.sourceline, el.get("name") or None)
        for filename, el, kind, name, stuck in waits if stuck and not isinstance(name, _Unnamed)]
    problems += [ModelProblem(filename, _(
        "Every event after this gateway is a message or signal that nothing in this model sends, and the engine "
        "cannot receive one from outside an instance: every instance that reaches the gateway would wait here for "
        "good. Send one of them from this model, or add a timer after the gateway."),
        gateway.get("id"), gateway.sourceline, gateway.get("name") or None) for filename, gateway in gateways]
    return problems


def unsent_message_notices(files: dict[str, str], trees: dict | None = None) -> list[ModelProblem]:
    """Notices: a step that waits for a message or signal nothing in the model sends where something else may go on
    (after an event-based gateway, on a boundary event); the others are problems (:func:`unsent_message_problems`)."""
    return [ModelProblem(filename, _unnamed_wait(kind, name, stuck=False) if isinstance(name, _Unnamed) else _(
        "This step waits for the message %(name)s, which nothing in this model sends: an instance "
        "that reaches it waits there for good.", name=repr(name)) if kind == "message" else _(
        "This step waits for the signal %(name)s, which nothing in this model throws: an instance "
        "that reaches it waits there for good.", name=repr(name)), el.get("id"), el.sourceline, el.get("name") or None)
        for filename, el, kind, name, stuck in _unsent_waits(_diagrams(files, trees))[0] if not stuck]


def unset_names(files: dict[str, str], trees: dict | None = None) -> list[ModelProblem]:
    """Notices: names scripts and conditions read that no step of the model sets (app.engine.data_names)."""
    from app.engine.data_names import unset_name_notices

    trees = _readable(files, trees)
    return [] if trees is None else unset_name_notices(files, trees)


def fast_cycle_notices(files: dict[str, str], trees: dict | None = None) -> list[ModelProblem]:
    """Notices: a start or boundary timer that repeats more often than once a minute ("R/PT1S"): it fires on every
    background pass, and without a count it does so for as long as the instance (or the step) lives."""
    import ast

    notices: list[ModelProblem] = []
    for filename, root in _diagrams(files, trees):
        for cycle in root.iter("{*}timeCycle"):
            definition = cycle.getparent()
            event = definition.getparent() if definition is not None else None
            if event is None or _local(event.tag) not in ("startEvent", "boundaryEvent"):
                continue
            try:
                node = ast.parse((cycle.text or "").strip(), mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            seconds = _cycle_seconds(node.value)
            if seconds is not None and seconds < 60:
                notices.append(ModelProblem(filename, _(
                    "The timer cycle %(value)s repeats more often than once a minute: it fires on every pass of the "
                    "background worker for as long as it waits. Repeat it at most every minute (R/PT1M).",
                    value=repr(node.value)), event.get("id"), event.sourceline, event.get("name") or None))
    return notices


def model_notices(files: dict[str, str], *, process_id: str | None = None,
                  primary: str | None = None) -> list[ModelProblem]:
    """Everything the editor says of a draft that does not stop publishing (``process_id``, ``primary``: the
    version's choice of what it runs, when it has made one)."""
    trees = _readable(files)
    if trees is None or script_volume_problems(trees):  # refused by validate_files before any script is read: the
        return []                                       # notices read every script (11 s for 800 kB of them)
    return (implicit_end_notices(files, trees) + layout_notices(files, trees) + unsent_message_notices(files, trees)
            + unset_names(files, trees) + fast_cycle_notices(files, trees) + decision_notices(files, trees)
            + flow_notices(files, trees) + idle_process_notices(files, process_id, primary, trees))


def idle_process_notices(files: dict[str, str], process_id: str | None = None,
                         primary: str | None = None, trees: dict | None = None) -> list[ModelProblem]:
    """A process the model never runs: not the one it runs, not a pool of the collaboration it runs, and called by
    no call activity. A file of two processes without a collaboration ran the first and kept the second silently."""
    trees = _readable(files, trees)
    if trees is None:
        return []
    primary, chosen = choose_process(trees, process_id, primary)
    if chosen is None:
        return []
    runs = {chosen}
    for name in trees:
        for collab in trees[name].iter("{*}collaboration"):
            if collab.get("id") == chosen:
                runs |= {part.get("processRef") for part in collab.iter("{*}participant")}
    called = {el.get("calledElement") for root in trees.values() for el in root.iter("{*}callActivity")}
    shown = next((p.get("name") or chosen for root in trees.values()
                  for p in root.iter("{*}process", "{*}collaboration") if p.get("id") == chosen), chosen)
    return [ModelProblem(name, _(
        "This process never runs: the model runs %(main)s, and no call activity calls this one. Draw both as pools "
        "of one collaboration to run them together, call it from a call activity, or delete it.",
        main=repr(shown) if shown == chosen else f"{shown!r} ({chosen!r})"), p.get("id"), p.sourceline,
        p.get("name") or None)
        for name, root in sorted(trees.items()) if name.endswith(".bpmn")
        for p in root.iter("{*}process")
        if p.get("id") and p.get("id") not in runs | called
        and any(_local(c.tag) == "startEvent" for c in p)]


def decision_notices(files: dict[str, str], trees: dict | None = None) -> list[ModelProblem]:
    """Notices of decision tables (model_lint.dmn_notices): overlapping UNIQUE rules, no rule for every case."""
    from app.engine.model_lint import dmn_notices

    trees = _readable(files, trees)
    return [] if trees is None else dmn_notices(trees)


def flow_notices(files: dict[str, str], trees: dict | None = None) -> list[ModelProblem]:
    """Notices of the flow: gateways without a default flow that may find no way out, escalations nothing catches,
    loops back into a parallel join, a level too large for the join check to finish (app.engine.gateway_matching)."""
    trees = _readable(files, trees)
    if trees is None:
        return []
    return no_default_notices(trees) + uncaught_throw_findings(trees)[1] + join_notices(trees)


def unfinished_join_checks(files: dict[str, str]) -> list[ModelProblem]:
    """The notices of the levels too large for the join check to finish (said again when such a model is
    published: publishing is allowed, the owner is told which joins nobody checked)."""
    from app.engine.gateway_matching import check_joins

    trees = _readable(files)
    return [] if trees is None else check_joins(trees).unfinished
