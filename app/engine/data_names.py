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

import ast
import difflib
import json

from flask_babel import gettext as _

from app.engine.errors import ModelProblem

_PROVIDED: set[str] = set()


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


def _parsed(source: str, mode: str):
    try:
        return ast.parse(source or "", mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the script check reports it


def _bound(tree) -> set[str]:
    """Names a source binds itself: assignments, loop and comprehension targets, function and lambda arguments."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del)}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.Lambda | ast.AsyncFunctionDef):
            args = node.args
            names |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
            names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return names


def _read(source: str, mode: str) -> set[str]:
    tree = _parsed(source, mode)
    if tree is None:
        return set()
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - _bound(tree)


def _scripts(el) -> list[str]:
    texts = [el.findtext("{*}script") or ""] if _local(el.tag) == "scriptTask" else []
    return texts + [s.text or "" for s in el.iter("{*}preScript", "{*}postScript")]


def _set_names(files: dict[str, str], trees: dict) -> set[str]:
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
                tree = _parsed(source, "exec")
                if tree is not None:
                    names |= _bound(tree)
            for attribute in ("resultVariable", "messageVariable", "variable", "outputElementVariable"):
                if el.get(attribute):
                    names.add(el.get(attribute))
            if tag in ("dataObject", "dataObjectReference", "dataInput", "dataOutput", "dataStoreReference"):
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
