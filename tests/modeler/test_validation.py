"""Save-as-draft validation: one case per rule, each problem pinned to its element and line."""

from __future__ import annotations

import pytest

from app.engine.specs import validate_files
from app.extensions import db
from tests.modeler.factory import chain_model, two_step, user_task


def _problems(files):
    _parsed, problems = validate_files(files)
    return problems


def _only(problems, element_id):
    found = [p for p in problems if p.element_id == element_id]
    assert found, f"no problem on {element_id}: {problems}"
    assert all(p.line for p in found), "every element problem names its line"
    return " | ".join(p.message for p in found)


def test_a_correct_model_has_no_problems(app_ctx):
    assert _problems(two_step()) == []


def test_xml_parse_error_names_file_and_line(app_ctx):
    files = two_step()
    files["trial.bpmn"] = files["trial.bpmn"].replace("</bpmn:process>", "</bpmn:proces>", 1)
    problems = _problems(files)
    assert problems[0].filename == "trial.bpmn" and problems[0].line


def test_external_entity_xxe_is_refused_and_never_read(app_ctx):
    files = two_step()
    files["trial.bpmn"] = files["trial.bpmn"].replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>').replace(
        'name="Fill in"', 'name="&e;"')
    text = " ".join(str(p) for p in _problems(files))
    assert "DOCTYPE" in text or "entit" in text.lower()
    assert "root:" not in text


def test_entity_bomb_is_refused(app_ctx):
    files = two_step()
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY a{i} "{("&a" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 9))
    files["trial.bpmn"] = files["trial.bpmn"].replace(
        '<?xml version="1.0" encoding="UTF-8"?>', f'<?xml version="1.0"?><!DOCTYPE d [{entities}]>').replace(
        'name="Fill in"', 'name="&a8;"')
    problems = _problems(files)
    assert [(p.filename, p.line, p.element_id, p.message) for p in problems] == [
        ("trial.bpmn", 1, None, "<!DOCTYPE> declarations are not allowed in model files")]


def test_unknown_lane(app_ctx):
    files = two_step()
    files["trial.bpmn"] = files["trial.bpmn"].replace('name="Department official"', 'name="Janitor"')
    assert "lane 'Janitor'" in _only(_problems(files), "review")


def test_missing_form(app_ctx):
    files = chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill", form="gone.schema.json"))])
    assert "gone.schema.json" in _only(_problems(files), "fill")


def test_user_task_without_form_is_a_confirmation_step(app_ctx):
    """Other tools' user tasks have no form: they run as a "done" step (issue 16 §1)."""
    files = chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill", form=None, ui=None))])
    assert _problems(files) == []


def test_due_time_must_be_a_number(app_ctx):
    files = chain_model("trial", [("fill", "School accountant", user_task(
        "fill", "Fill", extra="").replace("</spiffworkflow:properties>",
                                          '<spiffworkflow:property name="dueInWorkingDays" value="soon" />'
                                          "</spiffworkflow:properties>"))])
    assert "whole number of days" in _only(_problems(files), "fill")


def _service(op_id: str, params: str) -> str:
    return (f'<bpmn:serviceTask id="svc" name="Service"><bpmn:extensionElements>'
            f'<spiffworkflow:serviceTaskOperator id="{op_id}" resultVariable="r"><spiffworkflow:parameters>{params}'
            f'</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>')


def test_unregistered_operator(app_ctx):
    files = chain_model("trial", [("svc", "School accountant", _service("nobody/home", ""))])
    assert "Unregistered service operator 'nobody/home'" in _only(_problems(files), "svc")


def test_operator_with_wrong_parameters(app_ctx):
    param = '<spiffworkflow:parameter id="wrong" type="int" value="1" />'
    files = chain_model("trial", [("svc", "School accountant", _service("acts/verify", param))])
    assert "takes parameters ['act_id']" in _only(_problems(files), "svc")


def test_parameter_expression_rejected(app_ctx):
    param = '<spiffworkflow:parameter id="act_id" type="int" value="__import__(\'os\')" />'
    files = chain_model("trial", [("svc", "School accountant", _service("acts/verify", param))])
    assert "Expression rejected" in _only(_problems(files), "svc")


@pytest.mark.parametrize("script", ["import os", "x = (", "x = ().__class__.__base__.__subclasses__()"])
def test_script_rejected_or_not_compiling(app_ctx, script):
    task = (f'<bpmn:scriptTask id="calc" name="Calc" scriptFormat="python"><bpmn:script>{script}</bpmn:script>'
            '</bpmn:scriptTask>')
    files = chain_model("trial", [("calc", "School accountant", task)])
    assert "rejected" in _only(_problems(files), "calc")


def test_timer_expression_rejected(app_ctx):
    timer = ('<bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:timerEventDefinition>'
             '<bpmn:timeDuration>open("/etc/passwd")</bpmn:timeDuration></bpmn:timerEventDefinition>'
             '</bpmn:intermediateCatchEvent>')
    files = chain_model("trial", [("wait", "School accountant", timer)])
    assert "rejected" in _only(_problems(files), "wait")


def test_gateway_condition_rejected(app_ctx):
    gw = '<bpmn:exclusiveGateway id="gw" default="f_gw_end" />'
    files = chain_model("trial", [("gw", "School accountant", gw)], extra_flows=(
        '<bpmn:sequenceFlow id="f_gw_other" sourceRef="gw" targetRef="end">'
        '<bpmn:conditionExpression>__import__("os")</bpmn:conditionExpression></bpmn:sequenceFlow>'))
    assert "rejected" in _only(_problems(files), "f_gw_other")  # on the flow that carries the condition


def test_unreachable_element(app_ctx):
    files = two_step()
    orphan = user_task("orphan", "Nobody gets here")
    files["trial.bpmn"] = files["trial.bpmn"].replace('<bpmn:endEvent id="end" />',
                                                      f'<bpmn:endEvent id="end" />{orphan}')
    assert "cannot be reached" in _only(_problems(files), "orphan")
    assert not [p for p in _problems(two_step()) if "reached" in p.message]


def test_no_end_event(app_ctx):
    files = chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill"))], end=False)
    problems = _problems(files)
    assert [(p.filename, p.element_id, p.message) for p in problems] == [
        ("trial.bpmn", "trial", "The process has no end event")]
    # on the process, with its line: the owner of a file with several processes learns which one
    assert problems[0].line == files["trial.bpmn"][:files["trial.bpmn"].index("<bpmn:process")].count("\n") + 1


def test_invalid_form_schema(app_ctx):
    files = two_step()
    files["fill.schema.json"] = '{"type": "object", "properties": {"x": {"type": "strin"}}}'
    problems = _problems(files)
    assert problems and {(p.filename, p.element_id) for p in problems} == {("fill.schema.json", None)}
    assert all(p.message.startswith('Not a valid JSON Schema: properties.x.type: "strin" is not a type of JSON Schema')
               for p in problems), problems
    assert all("'strin' is not valid" in p.detail for p in problems), "jsonschema's own words stay as the detail"


def test_an_event_subprocess_is_reached_by_its_trigger_not_by_a_flow(app_ctx):
    """A tester's model (an error end event caught by an event subprocess, as Camunda Modeler draws it) could not
    be published: "This element cannot be reached from a start event" on the event subprocess itself."""
    files = two_step()
    handler = ('<bpmn:subProcess id="on_error" name="Handle rejection" triggeredByEvent="true">'
               '<bpmn:startEvent id="err_start"><bpmn:errorEventDefinition id="err_catch" /></bpmn:startEvent>'
               '<bpmn:endEvent id="err_end" /><bpmn:sequenceFlow id="e1" sourceRef="err_start" targetRef="err_end" />'
               '</bpmn:subProcess>')
    files["trial.bpmn"] = files["trial.bpmn"].replace('<bpmn:endEvent id="end" />',
                                                      f'<bpmn:endEvent id="end" />{handler}')
    assert not [p for p in _problems(files) if "reached" in p.message]
    # An ordinary subprocess without a flow into it is still unreachable.
    files["trial.bpmn"] = files["trial.bpmn"].replace('triggeredByEvent="true"', "")
    assert "cannot be reached" in _only(_problems(files), "on_error")


def test_a_name_read_that_no_step_sets_is_a_notice_with_the_likely_typo(world):
    """Process owner probe: a script reading ``verifikation`` (for ``verification``) and a gateway testing a ``valid``
    nothing set published with no problem, then stopped the first live instance that reached them."""
    from app.engine.specs import model_notices
    from tests.modeler.factory import chain_model, user_task

    script = ('<bpmn:scriptTask id="calc" name="Bonus"><bpmn:script>'
              'bonus = commnet + "!"\nok = valid and all(x > 0 for x in [1, 2])\nf = lambda y: y + 1\n'
              'total = f(len(comment))</bpmn:script></bpmn:scriptTask>')
    files = chain_model("typos", [("fill", "School accountant", user_task("fill", "Fill in")),
                                  ("calc", "School accountant", script)])
    notices = [n for n in model_notices(files) if "no step of this model sets it" in n.message]
    assert [n.message.split(" ", 1)[0] for n in notices] == ["'valid'"], [n.message for n in notices]
    assert "did you mean" not in notices[0].message and notices[0].element_id == "calc"
    # a likely typo is certain: a problem (probe D1: a published model with it blocked acts in production)
    typos = [p for p in validate_files(files)[1] if "no step of this model sets it" in p.message]
    assert [p.message.split(" ", 1)[0] for p in typos] == ["'commnet'"], [p.message for p in typos]
    assert "did you mean 'comment'?" in typos[0].message and typos[0].element_id == "calc" and typos[0].line


def test_the_shipped_models_read_only_names_they_or_the_domain_set(world):
    from sqlalchemy import select

    from app.engine.models import ProcessModelVersion
    from app.engine.specs import model_notices

    for version in db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")):
        unset = [str(n) for n in model_notices(version.files) if "no step of this model sets it" in n.message]
        assert unset == [], unset


@pytest.mark.parametrize(("source", "line", "ru_words"), [
    ("x = 1\nif paid_total > 0\n    x = 2", 2, "не хватает двоеточия"),
    ("x = (1 +\n", 1, "скобка ( не закрыта"),
    ("if x:\ny = 2", 2, "должны быть с отступом"),
    ("total = 1a", 1, "число сливается с буквами"),
])
def test_a_scripts_syntax_error_names_its_line_in_the_script_in_the_readers_words(app, source, line, ru_words):
    """Process owner probe: "синтаксическая ошибка: expected ':' at statement: …" — half English, and only the
    diagram file's line given."""
    from flask_babel import force_locale

    from app.engine.specs import _script_problems

    with app.test_request_context(), force_locale("ru"):
        (problem,) = _script_problems(source, "exec", "m.bpmn", "calc", 151)
    assert f"в строке {line} скрипта" in problem.message and ru_words in problem.message, problem.message
    assert "expected" not in problem.message and "never closed" not in problem.message
    assert problem.line == 151 and problem.element_id == "calc"


def test_a_decision_table_output_cell_naming_something_no_step_sets_is_a_problem(world):
    """Process owner probe: an output cell ``urban`` without quotes (a name, not a text) was accepted."""
    from app.engine.specs import model_notices
    from tests.modeler.factory import NORM_DMN, NORM_RULE_TASK, chain_model

    files = chain_model("norms", [("decide", "School accountant", NORM_RULE_TASK)])
    files["norm.dmn"] = NORM_DMN.replace("<outputEntry id=\"r1_out\"><text>100</text>",
                                         "<outputEntry id=\"r1_out\"><text>urban</text>")
    # a bare word in an output cell fails whenever its rule matches: a problem (probe D1), not a notice
    problems = [p for p in validate_files(files)[1] if "urban" in p.message]
    assert [(p.filename, p.element_id) for p in problems] == [("norm.dmn", "r1")], [str(p) for p in problems]
    assert not [n for n in model_notices(files) if "urban" in n.message]
    files["norm.dmn"] = NORM_DMN
    assert not [n for n in model_notices(files) + validate_files(files)[1] if "urban" in n.message]


@pytest.mark.parametrize("trigger", [
    '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1S"</bpmn:timeDuration></bpmn:timerEventDefinition>',
    '<bpmn:messageEventDefinition id="m" />',
    '<bpmn:signalEventDefinition id="s" />'], ids=["timer", "message", "signal"])
def test_an_interrupting_event_subprocess_is_refused_a_non_interrupting_one_is_not(app_ctx, trigger):
    """Process-owner probe: an interrupting timer event subprocess did not cancel the main flow's task (SpiffWorkflow
    3.2 starts it alongside): "Long work" and "Handle timeout" were both current. BPMN's default is interrupting."""
    def with_handler(interrupting: str) -> dict:
        files = two_step()
        handler = ('<bpmn:subProcess id="esp" name="On timeout" triggeredByEvent="true">'
                   f'<bpmn:startEvent id="esp_start"{interrupting}>{trigger}</bpmn:startEvent>'
                   '<bpmn:endEvent id="esp_end" />'
                   '<bpmn:sequenceFlow id="e1" sourceRef="esp_start" targetRef="esp_end" /></bpmn:subProcess>')
        files["trial.bpmn"] = files["trial.bpmn"].replace('<bpmn:endEvent id="end" />',
                                                          f'<bpmn:endEvent id="end" />{handler}')
        return files

    for drawn in ("", ' isInterrupting="true"'):
        assert "interrupting event subprocess is not supported" in _only(_problems(with_handler(drawn)), "esp_start")
    assert not [p for p in _problems(with_handler(' isInterrupting="false"')) if p.element_id == "esp_start"]


def _handled_by_event_subprocess(start: str, definitions: str = "") -> dict:
    """*Fill in* → *Review*, and an event subprocess "On rejection" whose start event is ``start``."""
    files = two_step()
    handler = ('<bpmn:subProcess id="esp" name="On rejection" triggeredByEvent="true">'
               f'{start}<bpmn:endEvent id="esp_end" />'
               '<bpmn:sequenceFlow id="e1" sourceRef="esp_start" targetRef="esp_end" /></bpmn:subProcess>')
    files["trial.bpmn"] = (files["trial.bpmn"]
                           .replace("<bpmn:process ", f"{definitions}<bpmn:process ", 1)
                           .replace('<bpmn:endEvent id="end" />', f'<bpmn:endEvent id="end" />{handler}'))
    return files


@pytest.mark.parametrize("drawn", ["", ' isInterrupting="true"', ' isInterrupting="false"'],
                         ids=["default", "interrupting", "non-interrupting"])
@pytest.mark.parametrize(("trigger", "definitions"), [
    ('<bpmn:errorEventDefinition errorRef="E1" />', '<bpmn:error id="E1" name="Rejected" errorCode="rejected" />'),
    ("<bpmn:errorEventDefinition />", ""),
    ('<bpmn:escalationEventDefinition escalationRef="S1" />',
     '<bpmn:escalation id="S1" name="Late" escalationCode="late" />')], ids=["error", "any-error", "escalation"])
def test_an_event_subprocess_started_by_an_error_or_an_escalation_is_refused(app_ctx, drawn, trigger, definitions):
    """SpiffWorkflow 3.2 parses such a start event as a plain one (its start event parser reads messages, signals,
    timers and conditions only): the handler started with every instance, before anything was thrown, and an
    error thrown in a subprocess was not caught — the flow went on after the subprocess as if it had succeeded."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from app.engine.specs import parse_files

    files = _handled_by_event_subprocess(f'<bpmn:startEvent id="esp_start"{drawn}>{trigger}</bpmn:startEvent>',
                                         definitions)
    parsed = parse_files(files)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.do_engine_steps()
    started = {t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)}
    assert "esp_start" in started and "fill" not in started, "the handler ran at the start, nothing thrown"

    found = [p for p in _problems(files) if p.element_id == "esp_start"]
    assert [p.message for p in found] == [
        "An event subprocess started by an error or an escalation is not supported by the engine: it would start "
        "together with the process (or the subprocess it is drawn in), whether anything is thrown or not, and would "
        "not catch what is thrown. Catch the error or escalation with a boundary event on the subprocess or call "
        "activity that throws it."]
    assert found[0].line == 2 and found[0].filename == "trial.bpmn"


def test_an_error_event_subprocess_inside_a_subprocess_is_refused_and_non_interrupting_handlers_still_publish(
        app_ctx):
    """The refusal finds the error start wherever the event subprocess is drawn; a non-interrupting timer, message
    or signal event subprocess (which the engine runs alongside the main flow, as drawn) is no problem."""
    inner = ('<bpmn:subProcess id="checks" name="Checks"><bpmn:startEvent id="checks_start" />'
             '<bpmn:endEvent id="checks_end" />'
             '<bpmn:sequenceFlow id="c1" sourceRef="checks_start" targetRef="checks_end" />'
             '<bpmn:subProcess id="esp" name="On rejection" triggeredByEvent="true">'
             '<bpmn:startEvent id="esp_start"><bpmn:errorEventDefinition /></bpmn:startEvent>'
             '<bpmn:endEvent id="esp_end" /><bpmn:sequenceFlow id="e1" sourceRef="esp_start" targetRef="esp_end" />'
             '</bpmn:subProcess></bpmn:subProcess>')
    files = chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill in")),
                                  ("checks", "School accountant", inner)])
    assert "started by an error or an escalation" in _only(_problems(files), "esp_start")
    for trigger in ('<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>'
                    '</bpmn:timerEventDefinition>', '<bpmn:messageEventDefinition id="m" />',
                    '<bpmn:signalEventDefinition id="s" />'):
        handler = _handled_by_event_subprocess(
            f'<bpmn:startEvent id="esp_start" isInterrupting="false">{trigger}</bpmn:startEvent>')
        assert _problems(handler) == [], trigger
