"""What another engine's diagram asks for that this engine would not do (issue 16 §1): the language its expressions
are written in, Camunda's and Zeebe's forms, Zeebe's FEEL script tasks and message correlation keys.

Each is a problem on its element and line, until the project's own way of saying it is there (a Python script, a
form chosen in the side panel): the extension is then kept as the tool wrote it and not read.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.engine.errors import ModelProblem
from app.engine.timer_literals import TIMER_VALUES, bare_iso, is_cron

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
#: Camunda 7 and the engines it was forked from or into: their extensions have the same shapes (formKey on a user
#: task, in/out mappings on a call activity)
CAMUNDA7_FAMILY = {CAMUNDA: "Camunda 7", "http://activiti.org/bpmn": "Activiti",
                    "http://flowable.org/bpmn": "Flowable"}
ZEEBE = "http://camunda.org/schema/zeebe/1.0"

#: languages of scripts, conditions, timers and loop expressions the engine runs (RestrictedPython); no attribute
#: means Python too (jBPM names it by its URL)
PYTHON_LANGUAGES = {"", "python", "py", "text/python", "text/x-python", "application/x-python",
                    "http://www.python.org/", "https://www.python.org/"}
#: BPMN 2.0 makes XPath the default of ``definitions@expressionLanguage``, and Signavio, actiBPM, Yaoqiang and
#: bpmn-js write it out whatever their expressions are: written on the definitions it states nothing
_SPEC_DEFAULT = {"http://www.w3.org/1999/xpath", "http://www.w3.org/tr/xpath"}

#: the expressions of a diagram the engine evaluates, besides conditions (said with their sequence flow)
_EVALUATED = ("timeDate", "timeDuration", "timeCycle", "loopCondition", "completionCondition", "loopCardinality")


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _problem(filename: str, el, message: str) -> ModelProblem:
    return ModelProblem(filename, message, el.get("id"), el.sourceline, el.get("name") or None)


def diagram_language(root) -> str:
    """The language the diagram's definitions give every expression without one of its own ('' when none, or the
    specification's XPath default written out)."""
    language = (root.get("expressionLanguage") or "").strip() if _local(root.tag) == "definitions" else ""
    return "" if language.lower().rstrip("/") in _SPEC_DEFAULT else language


def expression_language(expression) -> tuple[str, bool]:
    """(language, inherited) of a formal expression: its own ``language``, else the diagram's (inherited)."""
    own = (expression.get("language") or "").strip()
    if own:
        return own, False
    return diagram_language(expression.getroottree().getroot()), True


def is_python(expression) -> bool:
    return expression_language(expression)[0].lower() in PYTHON_LANGUAGES


def language_words(expression) -> str:
    """Why an expression (a condition, a timer, a loop's condition) written in another language cannot run here."""
    language, inherited = expression_language(expression)
    if inherited:
        return _("Expressions (conditions, timers, loops) are Python here. This one names no language of its own, "
                 "and the diagram says its expressions are written in %(lang)s (expressionLanguage of its "
                 "definitions, line %(line)s). Write it in Python and mark it as Python (language=\"python\"): "
                 "the side panel does both for conditions and timers.", lang=language,
                 line=expression.getroottree().getroot().sourceline)
    return _("Expressions (conditions, timers, loops) are Python here; this one is written in %(lang)s.",
             lang=language)


def _owner(value):
    """The element a problem of an expression is shown on: the event of a timer, the step of a loop."""
    parent = value.getparent()
    if _local(parent.tag) == "timerEventDefinition":
        return parent if _local(parent.getparent().tag) == "definitions" else parent.getparent()
    return parent.getparent()


def foreign_language_problems(filename: str, root, said_as_text) -> list[ModelProblem]:
    """Timers and loop expressions written in another language than Python, by their own ``language`` or by the
    diagram's ``expressionLanguage`` (a FEEL diagram's ``duration("PT5M")`` was evaluated as Python and failed when
    the timer was set). ``said_as_text``: JUEL or FEEL recognised by its text, which has its own words."""
    return [_problem(filename, _owner(value), language_words(value))
            for value in root.iter(*(f"{{{BPMN}}}{tag}" for tag in _EVALUATED))
            if (value.text or "").strip() and not is_python(value) and not said_as_text(value.text)
            and not _iso_timer(value)]


def _iso_timer(value) -> bool:
    """A timer written as a bare ISO 8601 value is that value in any language (Trisotech's FEEL diagrams, a timer
    marked ``language="FEEL"``): it is read as the literal (:mod:`app.engine.timer_literals`). A cron cycle (jBPM
    marks it ``language="cron"``) has its own words, with the ISO cycles to write instead (model_lint)."""
    if _local(value.tag) not in TIMER_VALUES:
        return False
    return bare_iso(value.text) is not None or _local(value.tag) == "timeCycle" and is_cron(value.text)


def foreign_language_elements(trees: dict, said_as_text) -> set[str]:
    """The ids of the events and steps :func:`foreign_language_problems` reports: their Python checks are not run."""
    return {p.element_id for name, root in trees.items() if name.endswith(".bpmn")
            for p in foreign_language_problems(name, root, said_as_text) if p.element_id}


def foreign_decision(task) -> tuple[str, str] | None:
    """(tool, what names it) of a business rule task's decision written for Camunda 7 (``camunda:decisionRef``,
    Activiti and Flowable alike) or Camunda 8 (``zeebe:calledDecision decisionId``)."""
    for namespace, tool in CAMUNDA7_FAMILY.items():
        if (task.get(f"{{{namespace}}}decisionRef") or "").strip():
            return tool, f"{tool.split()[0].lower()}:decisionRef {task.get(f'{{{namespace}}}decisionRef').strip()!r}"
    called = next(task.iter(f"{{{ZEEBE}}}calledDecision"), None)
    if called is not None and (called.get("decisionId") or "").strip():
        return "Camunda 8", f"zeebe:calledDecision {called.get('decisionId').strip()!r}"
    return None


def _has_form(task) -> bool:
    return any((p.get("value") or "").strip() for p in task.iter(f"{{{SPIFF}}}property")
               if p.get("name") == "formJsonSchemaFilename")


def _foreign_form(el) -> tuple[str, str, str] | None:
    """(tool, what names the form, the key) of a user task's or start event's form written for Camunda 7 or 8,
    Activiti or Flowable."""
    for namespace, tool in CAMUNDA7_FAMILY.items():
        for attribute in ("formKey", "formRef"):
            if (el.get(f"{{{namespace}}}{attribute}") or "").strip():
                prefix = tool.split()[0].lower()
                return tool, f"{prefix}:{attribute}", el.get(f"{{{namespace}}}{attribute}").strip()
    for definition in el.iter(f"{{{ZEEBE}}}formDefinition"):
        for attribute in ("formKey", "formId", "externalReference"):
            if (definition.get(attribute) or "").strip():
                return "Camunda 8", f"zeebe:formDefinition {attribute}", definition.get(attribute).strip()
    return None


def foreign_form_problems(filename: str, root, form_files: list[str]) -> list[ModelProblem]:
    """A user task whose form is named for Camunda 7 (``camunda:formKey``, ``formRef``) or Camunda 8
    (``zeebe:formDefinition``, often of an embedded ``zeebe:userTaskForm``), and no form of this model: it ran as a
    plain confirmation, and the person who should have filled in the form was asked nothing. A start event's form:
    instances started without it, and what it asks was never there.

    Not mapped by name: those keys name an HTML page or a Camunda Forms file, not a JSON Schema, and a form attached
    behind the side panel's back would run while the panel says "none". A form of the model whose name matches the
    key's is suggested."""
    problems = []
    for el in root.iter(f"{{{BPMN}}}userTask", f"{{{BPMN}}}startEvent"):
        foreign = _foreign_form(el)
        if foreign is None or _has_form(el):
            continue
        tool, label, key = foreign
        named = f"{label} {key!r}"
        if _local(el.tag) == "startEvent":
            problems.append(_problem(filename, el, _(
                "This start event's form is named for %(tool)s (%(named)s), which the engine does not read: "
                "instances would start without asking anything, and what the form sets would be missing. Ask it in "
                "a user task after the start event, with one of the model's forms.", tool=tool, named=named)))
            continue
        message = _("This user task's form is named for %(tool)s (%(named)s), which the engine does not read: the "
                    "person would only confirm the step and be asked nothing. Choose one of the model's forms in "
                    "the side panel, or add one under Forms.", tool=tool, named=named)
        match = _same_name(key, form_files)
        if match:
            message += " " + _("The model has the form %(form)s.", form=match)
        problems.append(_problem(filename, el, message))
    return problems


def _same_name(key: str, form_files: list[str]) -> str | None:
    """The form file named like the key's last part (``camunda-forms:app:task-form.form`` → ``task-form``)."""
    stem = key.replace("\\", "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].split(".", 1)[0]
    return next((f for f in form_files if stem and f.rsplit("/", 1)[-1].split(".", 1)[0] == stem), None)


def zeebe_script_problems(filename: str, root) -> list[ModelProblem]:
    """A Camunda 8 script task (``zeebe:script``: a FEEL expression whose value goes to a result variable), one
    done by a Zeebe job worker (``zeebe:taskDefinition``), or a Camunda 7 one whose script is a file of the deployment
    (``camunda:resource``), with no Python script: "The script task has no script" said nothing of what the tool
    wrote."""
    problems = []
    for task in root.iter(f"{{{BPMN}}}scriptTask"):
        if (task.findtext(f"{{{BPMN}}}script") or "").strip():
            continue
        script = next(task.iter(f"{{{ZEEBE}}}script"), None)
        worker = next(task.iter(f"{{{ZEEBE}}}taskDefinition"), None)
        resource = next(((tool, value) for namespace, tool in CAMUNDA7_FAMILY.items()
                         if (value := (task.get(f"{{{namespace}}}resource") or "").strip())), None)
        if resource is not None:
            problems.append(_problem(filename, task, _(
                "This script task's script is a file of the %(tool)s deployment (%(resource)s), which the engine "
                "does not read. Scripts are Python here: write the script itself in the side panel.",
                tool=resource[0], resource=repr(resource[1]))))
        elif script is not None:
            result = (script.get("resultVariable") or "").strip() or "result"
            expression = (script.get("expression") or "").strip().lstrip("=").strip()
            problems.append(_problem(filename, task, _(
                "This script task is written for Camunda 8 (zeebe:script): a FEEL expression (%(expr)s) whose value "
                "goes to %(name)s. The engine does not read it. Scripts are Python here: write the script in the "
                "side panel and assign the value yourself, for example %(name)s = ...", expr=repr(expression[:80]),
                name=result)))
        elif worker is not None:
            problems.append(_problem(filename, task, _(
                "This script task is done by a Camunda 8 job worker (zeebe:taskDefinition type %(type)s), which "
                "does not exist here. Scripts are Python here: write the script in the side panel.",
                type=repr(worker.get("type") or ""))))
    return problems


def correlation_key_problems(filename: str, root) -> list[ModelProblem]:
    """A message caught with a Camunda 8 correlation key (``zeebe:subscription correlationKey`` on the message), on
    each event or receive task waiting for it. Messages here travel only between the pools and steps of one
    instance, and the engine has no such key: a catch took the first message of its name whatever key it carried
    (two orders' "paid" messages in one instance reached whichever catch waited first), and no message comes from
    outside as Zeebe's clients publish them."""
    keys = {}
    for message in root.iter(f"{{{BPMN}}}message"):
        key = next(((s.get("correlationKey") or "").strip() for s in message.iter(f"{{{ZEEBE}}}subscription")), "")
        if key and message.get("id"):
            keys[message.get("id")] = key
    problems = []
    for el in root.iter(f"{{{BPMN}}}intermediateCatchEvent", f"{{{BPMN}}}boundaryEvent", f"{{{BPMN}}}startEvent",
                        f"{{{BPMN}}}receiveTask"):
        if _local(el.tag) == "receiveTask":
            ref = el.get("messageRef")
        elif _local(el.tag) == "startEvent" and _local(el.getparent().tag) != "subProcess":
            continue  # a process's message start is how an instance begins: the engine delivers it
        else:
            ref = next((d.get("messageRef") for d in el.iter(f"{{{BPMN}}}messageEventDefinition")), None)
        if ref in keys:
            problems.append(_problem(filename, el, _(
                "This step waits for a message matched by a Camunda 8 correlation key (zeebe:subscription "
                "correlationKey %(key)s), which the engine does not have: it would take the first message of its "
                "name sent within this instance, whatever key it carries, and no message reaches an instance from "
                "outside. Draw the sender in this model and remove the key, or wait for a person's confirmation "
                "with a user task instead.", key=repr(keys[ref]))))
    return problems


def call_mapping_problems(filename: str, root) -> list[ModelProblem]:
    """A call activity's ``in``/``out`` mapping of Camunda 7, Activiti or Flowable that renames data or computes it
    (``source="amount" target="sum"``, ``sourceExpression="${a + b}"``). The engine passes the data to the called
    process and back under the same names and does not read the mapping: the called process read ``sum``, which
    was not there. ``variables="all"`` and a name passed as itself are what the engine does anyway."""
    problems = []
    for call in root.iter(f"{{{BPMN}}}callActivity"):
        for el in call.iter(*(f"{{{ns}}}{kind}" for ns in CAMUNDA7_FAMILY for kind in ("in", "out"))):
            source = (el.get("source") or el.get("sourceExpression") or "").strip()
            target = (el.get("target") or "").strip()
            if not target or source == target:
                continue
            tool = CAMUNDA7_FAMILY[el.tag[1:].split("}", 1)[0]]
            problems.append(_problem(filename, call, _(
                "This call activity passes %(source)s as %(target)s (a %(tool)s %(kind)s mapping), which the engine "
                "does not read: it passes the data to the called process and back under the same names, so "
                "%(target)s would be missing. Set %(target)s in a script before the call (or after it), or use the "
                "same name in both processes.", source=source, target=target, tool=tool, kind=_local(el.tag))))
            break  # one problem per call activity: the owner rewrites its mappings at once
    return problems
