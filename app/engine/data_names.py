"""Names a model reads that nothing in it sets: said in the editor before the model runs.

A script reading ``verifikation`` (for ``verification``) or a gateway testing ``valid`` that no step sets published
with no problem, then stopped the first live instance to reach it ("'valid' is not defined"), in front of a school
submitting its act. A model's steps set task data through scripts (what they assign), forms (their fields), service
tasks (their result variable), decision tables (their outputs), data objects and multi-instance items; the process's
start and the domain's task handlers set more, which the domain names with :func:`provide_names` (the engine imports
no domain package). What is read is looked for in all of these; a name found in none is a notice — it does not stop
publishing: a model may be started with data of its own. A close match among the names that are set is named as the
likely typo, and that is a problem, as is a bare word in a decision table's output cell: both are certain mistakes.
"""

from __future__ import annotations

import difflib
import json

from flask_babel import gettext as _

from app.engine.errors import ModelProblem
from app.engine.scripting import script_names

_PROVIDED: set[str] = set()

#: what Camunda, Flowable and Activiti set for each multi-instance step (and conditions of their models read)
ENGINE_LOOP_VARIABLES = frozenset({"nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances", "loopCounter"})


def provide_names(*names: str) -> None:
    """Names task data has without a step of the model setting them: a process's start data, a task handler's
    results (``act_id``, ``decision``...). Called by the domain when it is imported."""
    _PROVIDED.update(names)


_RESERVED: set[str] = set()


def reserve_names(*names: str) -> None:
    """Names the domain sets when it starts a process and reads back afterwards (the subject's id: ``act_id``,
    ``contract_id``...): a form field of that name would overwrite it with whatever a person types. Called by the
    domain when it is imported; the form check refuses such a field (:func:`app.engine.forms.form_shape_problems`)."""
    _RESERVED.update(names)


def reserved_names() -> frozenset[str]:
    return frozenset(_RESERVED)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _bound(source: str) -> frozenset[str]:
    """Names a script binds itself: assignments, loop and comprehension targets, function and lambda arguments."""
    names = script_names(source, "exec")
    return frozenset() if names is None else names.bound


def _read(source: str, mode: str) -> frozenset[str]:
    names = script_names(source, mode)  # None: not Python, the script check reports it
    return frozenset() if names is None else names.read


def _scripts(el) -> list[str]:
    texts = [el.findtext("{*}script") or ""] if _local(el.tag) == "scriptTask" else []
    return texts + [s.text or "" for s in el.iter("{*}preScript", "{*}postScript")]


def _set_names(files: dict[str, str], trees: dict, io: bool = True) -> set[str]:
    """Every name some part of the model sets; ``io``: a step's declared data inputs and outputs count as set."""
    names = set(_PROVIDED)
    for name, text in files.items():
        if name.endswith(".schema.json"):
            try:
                schema = json.loads(text)
            except (ValueError, RecursionError):  # nested past the recursion limit: a problem of the form
                continue
            if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
                names |= {key for key in schema["properties"] if isinstance(key, str)}
    for name, root in trees.items():
        if name.endswith(".dmn"):
            names |= {el.get("name") for el in root.iter("{*}output") if el.get("name")}
            names |= {el.get("id") for el in root.iter("{*}decision") if el.get("id")}
    diagrams = [(name, root) for name, root in trees.items() if name.endswith(".bpmn")]
    for _f, root in diagrams:
        for el in root.iter():
            tag = _local(el.tag)
            for source in _scripts(el):
                names |= _bound(source)
            for attribute in ("resultVariable", "messageVariable", "variable", "outputElementVariable"):
                if el.get(attribute):
                    names.add(el.get(attribute))
            if tag in ("dataObject", "dataObjectReference", "dataStoreReference") or (
                    io and tag in ("dataInput", "dataOutput")):
                names |= {value for value in (el.get("id"), el.get("name")) if value}
            if tag in ("inputDataItem", "outputDataItem", "loopDataOutputRef"):
                names |= {value for value in (el.get("name"), el.get("id"), (el.text or "").strip()) if value}
    return names


def _reads(root) -> list[tuple[object, str, set[str]]]:
    """(element, where, names read) of each script and expression of a diagram."""
    found = []
    for el in root.iter():
        tag = _local(el.tag)
        for source in _scripts(el):
            found.append((el, "script", _read(source, "exec")))
        if tag == "sequenceFlow":
            condition = el.findtext("{*}conditionExpression")
            if condition and condition.strip():
                found.append((el, "condition", _read(condition.strip(), "eval")))
        if tag == "loopDataInputRef" and (el.text or "").strip():
            # the collection a multi-instance step runs over, by name ("Missing data input for multiinstance task")
            owner = el.getparent().getparent() if el.getparent() is not None else None
            found.append((owner if owner is not None else el, "collection", {el.text.strip()}))
        if tag in ("loopCardinality", "completionCondition", "loopCondition") and (el.text or "").strip():
            owner = el.getparent().getparent() if el.getparent() is not None else el
            found.append((owner if owner is not None else el, "expression", _read(el.text.strip(), "eval")))
    return found


def _table_reads(root) -> list[tuple[object, str, set[str]]]:
    """(rule or input, where, names read) of a decision table's cells: its input expressions and each rule's
    entries run as Python over the task data (an output cell ``urban`` without quotes is a name, not a text)."""
    found = []
    for table in root.iter("{*}decisionTable"):
        inputs: set[str] = set()
        for entry in table.iter("{*}inputExpression"):
            read = _read((entry.findtext("{*}text") or "").strip(), "eval")
            inputs |= read
            found.append((entry.getparent(), "input", read))
        for rule in table.iter("{*}rule"):
            for cell in [*rule.iter("{*}inputEntry"), *rule.iter("{*}outputEntry")]:
                text = (cell.findtext("{*}text") or "").strip()
                if text and text != "-" and "?" not in text:
                    read = _read(text, "eval")
                    if _local(cell.tag) == "outputEntry":  # a name an input reads too is as certain as that input
                        found.append((rule, "output", read - inputs))
                        read = read & inputs
                    found.append((rule, "cell", read))
    return found


def unset_name_notices(files: dict[str, str], trees: dict) -> list[ModelProblem]:
    """A notice per step reading a name that no step of the model sets (nor the start or a handler, as the domain
    names them) and that is not a likely typo (those are problems: :func:`unset_name_problems`)."""
    return unset_name_findings(files, trees)[1]


#: names a Java script of jBPM or Activiti reads (System.out.println, jBPM's kcontext): never process data
_JAVA_SCRIPT_NAMES = ("System", "kcontext")


def unset_name_problems(files: dict[str, str], trees: dict) -> list[ModelProblem]:
    """Names read that no step sets and that are certain mistakes: a close match among the names that are set (a
    typo: "did you mean 'decision'?" was only a notice, and a published model blocked acts in production), or a
    bare word in a decision table's output cell (``senior`` for ``"senior"``): the rule fails whenever it matches."""
    return unset_name_findings(files, trees)[0]


def unset_name_findings(files: dict[str, str], trees: dict) -> tuple[list[ModelProblem], list[ModelProblem]]:
    """(problems, notices) of the names read that no step of the model sets."""
    from app.engine.model_lint import FEEL_LITERALS
    from app.engine.scripting import SAFE_BUILTINS

    problems: list[ModelProblem] = []
    notices: list[ModelProblem] = []
    known = _set_names(files, trees)
    for filename, root in trees.items():
        reads = _reads(root) if filename.endswith(".bpmn") else _table_reads(root) if filename.endswith(".dmn") else []
        for el, where, read in reads:
            # FEEL's true/false/null in a decision table are model_lint's problem, said with what to write instead
            feel = set(FEEL_LITERALS) if where in ("input", "output", "cell") else set()
            for name in sorted(read - known - set(SAFE_BUILTINS) - feel):
                close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
                if name in FEEL_LITERALS and filename.endswith(".bpmn"):
                    # a condition "true" (Signavio, Bizagi, ADONIS exports; FEEL, JavaScript, XPath all spell it so)
                    # was only a notice: the model published and the gateway failed on the first instance
                    problems.append(ModelProblem(filename, _(
                        "%(name)s is not Python: conditions and scripts here are Python, where %(name)s is a name "
                        "that no step sets, so this step fails when it runs. Write %(python)s.",
                        name=name, python=FEEL_LITERALS[name]), el.get("id"), el.sourceline, el.get("name") or None))
                    continue
                if name == "execution" and filename.endswith(".bpmn") and where == "script":
                    # Camunda's script variable: execution.getVariable("x") / execution.setVariable("x", 1)
                    problems.append(ModelProblem(filename, _(
                        "This script uses Camunda's execution object, which does not exist here: a script reads and "
                        "sets the process data by name (approved = amount > 100, not execution.setVariable(...))."),
                        el.get("id"), el.sourceline, el.get("name") or None))
                    continue
                if name in _JAVA_SCRIPT_NAMES and filename.endswith(".bpmn") and where == "script":
                    # jBPM's test models write Java with no scriptFormat: System.out.println("..."); reads as Python,
                    # published, and the step failed when it ran (89 of the fourth foreign-model probe's files)
                    problems.append(ModelProblem(filename, _(
                        "This script is Java (%(name)s, as jBPM and Activiti write scripts), which does not exist "
                        "here: scripts are Python, and read and set the process data by name (approved = amount > "
                        "100, not kcontext.setVariable(...)).", name=f"{name}..."),
                        el.get("id"), el.sourceline, el.get("name") or None))
                    continue
                if name in ENGINE_LOOP_VARIABLES and filename.endswith(".bpmn"):
                    # Camunda's, Flowable's and Activiti's multi-instance counters: the condition of an imported
                    # model published with a notice and the step failed as its first instance ended
                    problems.append(ModelProblem(filename, _(
                        "%(name)s is a variable that Camunda, Flowable and Activiti set for a multi-instance step; "
                        "this engine does not set it, so this step fails when it runs. Test the data of the "
                        "instance that has just ended instead (for example decision == \"reject\").", name=repr(name)),
                        el.get("id"), el.sourceline, el.get("name") or None))
                    continue
                if close:
                    message = _("%(name)s is read here, but no step of this model sets it: did you mean %(match)s? "
                                "When it runs, this step fails unless the process is started with %(name)s.",
                                name=repr(name), match=repr(close[0]))
                elif where == "output":
                    message = _("%(name)s is written without quotes in an output cell, so it is read as a name that "
                                "no step of this model sets: the rule fails whenever it matches. Write it in quotes "
                                "(\"%(name)s\") if it is a text.", name=name)
                else:
                    message = _("%(name)s is read here, but no step of this model sets it (a script, a form field, an "
                                "operator's or a decision table's result): when it runs, this step fails unless the "
                                "process is started with %(name)s.", name=repr(name))
                found = ModelProblem(filename, message, el.get("id"), el.sourceline, el.get("name") or None)
                (problems if close or where == "output" else notices).append(found)
    return problems, notices


def _associated(el, kind: str) -> set[str]:
    """The references an element's data input (``kind`` "Input", by source) or output (by target) associations name."""
    end = "sourceRef" if kind == "Input" else "targetRef"
    return {(ref.text or "").strip() for assoc in el if _local(assoc.tag) == f"data{kind}Association"
            for ref in assoc if _local(ref.tag) == end}


def data_object_read_problems(trees: dict) -> list[ModelProblem]:
    """A step or condition reading a data object by name without a data input association from it. Once a step
    writes a data object (an association from the step to it), SpiffWorkflow moves the value out of the task data
    into the process's data objects, and a step sees it again only through an input association, for that step
    only. Probe: a script listed the schools into a data object, a multi-instance step connected to it visited them,
    and the next script's ``len(schools)`` failed ("'schools' is not defined") — the model had published clean."""
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        objects = {el.get("id") for el in root.iter("{*}dataObject") if el.get("id")}
        refs = {el.get("id"): el.get("dataObjectRef") for el in root.iter("{*}dataObjectReference") if el.get("id")}
        writers: dict[str, set] = {}
        assigned_elsewhere: set[str] = set()
        for el in root.iter():
            written = {refs.get(ref, ref) for ref in _associated(el, "Output")} & objects
            for name in written:
                writers.setdefault(name, set()).add(el)
            for source in _scripts(el):
                assigned_elsewhere |= _bound(source) - written
        moved = set(writers) - assigned_elsewhere  # only a writer sets it: after the first write it is gone
        for el, _where, read in _reads(root):
            for name in sorted(read & moved):
                if el in writers[name] or name in {refs.get(ref, ref) for ref in _associated(el, "Input")}:
                    continue
                problems.append(ModelProblem(filename, _(
                    "%(name)s is a data object of this process: once a step writes it, the engine keeps its value "
                    "with the process, not in the task data, so reading it here fails. Connect the data object to "
                    "this step (a data input association); a condition cannot have one — set a variable for it in "
                    "the step before the gateway.", name=repr(name)), el.get("id"), el.sourceline,
                    el.get("name") or None))
    return problems


def io_specification_problems(files: dict[str, str], trees: dict) -> list[ModelProblem]:
    """A step's declared data output (its ioSpecification) that no part of the model sets, or a data input filled
    only by an assignment. SpiffWorkflow requires each data output in the step's data as the step ends, and takes a
    data input from the task data by its id as it begins; it does not read assignments. jBPM writes every user
    task's TaskName, GroupId... as data inputs filled by assignments: such a model published clean and every
    instance failed as it reached the task ("Missing data input"); an output nothing sets failed after the person
    had done the work. A data input without an assignment may come with the start data: said when it runs."""
    known = _set_names(files, trees, io=False)
    problems: list[ModelProblem] = []
    for filename, root in trees.items():
        if not filename.endswith(".bpmn"):
            continue
        for spec in root.iter("{*}ioSpecification"):
            step = spec.getparent()
            if step is None or _local(step.tag) == "process":
                continue
            assigned = {(a.findtext("{*}targetRef") or "").strip() for a in step
                        if _local(a.tag) == "dataInputAssociation" and not (a.findtext("{*}sourceRef") or "").strip()}
            for var in spec:
                name = var.get("id")
                if not name or name in known:
                    continue
                if _local(var.tag) == "dataInput" and name in assigned:
                    message = _("This step's data input %(name)s is filled by an assignment (as jBPM writes TaskName "
                                "or GroupId), which the engine does not read: it takes the input from the task data "
                                "by its id, and no step sets it, so the step would fail as it begins. Remove the "
                                "data input, or set %(name)s in an earlier step.", name=repr(name))
                elif _local(var.tag) == "dataOutput":
                    message = _("This step declares %(name)s as a data output (ioSpecification): the engine requires "
                                "it in the step's data when the step ends, and nothing sets it, so the step would "
                                "fail after it is done. Remove the data output, or give the step's form a field of "
                                "that name.", name=repr(name))
                else:
                    continue
                problems.append(ModelProblem(filename, message, step.get("id"), step.sourceline,
                                             step.get("name") or None))
    return problems
