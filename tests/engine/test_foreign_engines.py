"""What Camunda 7/8 and other engines' diagrams ask for that the engine would not do, refused on the element and
line (app.engine.foreign_engines): a diagram-wide expression language, Camunda's and Zeebe's forms, Zeebe's FEEL
script tasks and message correlation keys. Each of these published before, and ran doing something else than drawn.
"""

from __future__ import annotations

import pytest

from app.engine.specs import validate_files
from tests.engine.test_foreign_model_problems import flows, line_of, on

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"')


def diagram(body: str, definitions: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="defs" targetNamespace="http://x"'
            f'{definitions}>\n<bpmn:process id="p" name="Foreign" isExecutable="true">\n{body}\n</bpmn:process>\n'
            '</bpmn:definitions>\n')


FEEL = ' expressionLanguage="http://www.omg.org/spec/FEEL/20140401"'


def _gateway(condition: str) -> str:
    """start → set scores → gateway: ``condition`` → high, default → low."""
    return ('<bpmn:startEvent id="s" />\n'
            '<bpmn:scriptTask id="set"><bpmn:script>scores = [10, 90]</bpmn:script></bpmn:scriptTask>\n'
            '<bpmn:exclusiveGateway id="g" default="f_low" />\n'
            f'<bpmn:sequenceFlow id="f_high" sourceRef="g" targetRef="high">{condition}</bpmn:sequenceFlow>\n'
            '<bpmn:sequenceFlow id="f_low" sourceRef="g" targetRef="low" />\n'
            '<bpmn:endEvent id="high" /><bpmn:endEvent id="low" />\n' + flows("s", "set", "g"))


# ---- 1. the diagram's expression language ------------------------------------------------------------------

@pytest.mark.parametrize("language", ["http://www.omg.org/spec/FEEL/20140401", "http://www.omg.org/spec/FEEL/20140401/",
                                      "https://www.omg.org/spec/DMN/20191111/FEEL/", "JUEL", "javascript",
                                      "http://groovy.codehaus.org/"])
def test_a_condition_without_a_language_in_a_diagram_of_another_language_is_a_problem(app_ctx, language):
    """FEEL's lists count from 1: in a FEEL diagram ``scores[1] > 50`` asks about the first score (10, low); run as
    Python it read the second (90) and took the other branch. It published without a word."""
    xml = diagram(_gateway('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">scores[1] &gt; 50'
                           '</bpmn:conditionExpression>'), f' expressionLanguage="{language}"')
    _parsed, problems = validate_files({"feel.bpmn": xml})
    found = on(problems, "f_high")
    assert len(found) == 1, [str(p) for p in problems]
    assert found[0].line == line_of(xml, 'id="f_high"')
    assert language in found[0].message and "expressionLanguage" in found[0].message
    assert "line 2" in found[0].message, "the line of the definitions that give the language"


def test_a_condition_marked_python_in_such_a_diagram_publishes(app_ctx):
    """What the side panel writes for a condition (language="python") is Python whatever the diagram says."""
    xml = diagram(_gateway('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="python">'
                           'scores[1] &gt; 50</bpmn:conditionExpression>'), FEEL)
    assert validate_files({"feel.bpmn": xml})[1] == []


@pytest.mark.parametrize("language", ["http://www.w3.org/1999/XPath", "http://www.w3.org/TR/XPath", "python",
                                      "http://www.python.org/"])
def test_the_specifications_xpath_default_or_python_written_on_the_definitions_is_no_problem(app_ctx, language):
    """BPMN 2.0 makes XPath the default, and Signavio, actiBPM, Yaoqiang and bpmn-js write it out whatever the
    diagram's expressions are: it states nothing."""
    xml = diagram(_gateway('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">scores[1] &gt; 50'
                           '</bpmn:conditionExpression>'), f' expressionLanguage="{language}"')
    assert validate_files({"x.bpmn": xml})[1] == []


@pytest.mark.parametrize(("element", "owner"), [
    ('<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>duration("PT5M")'
     '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', "wait"),
    ('<bpmn:scriptTask id="wait"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>count(items)'
     '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics><bpmn:script>a = 1</bpmn:script>'
     '</bpmn:scriptTask>', "wait"),
    ('<bpmn:scriptTask id="wait"><bpmn:standardLoopCharacteristics><bpmn:loopCondition>count(items) &gt; 2'
     '</bpmn:loopCondition></bpmn:standardLoopCharacteristics><bpmn:script>items = [1]</bpmn:script>'
     '</bpmn:scriptTask>', "wait"),
])
def test_timers_and_loops_take_the_diagrams_language_too(app_ctx, element, owner):
    """One problem on the event or step, saying the language — not Python's "count is not defined" beside it."""
    xml = diagram('<bpmn:startEvent id="s" />\n' + element + '\n<bpmn:endEvent id="e" />\n' + flows("s", owner, "e"),
                  FEEL)
    _parsed, problems = validate_files({"t.bpmn": xml})
    found = on(problems, owner)
    assert len(found) == 1 and "FEEL" in found[0].message and found[0].line, [str(p) for p in problems]
    assert "expressionLanguage" in found[0].message


def test_a_timer_with_a_language_of_its_own_is_a_problem(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
                  '<bpmn:timeDuration language="javascript">"PT" + minutes + "M"</bpmn:timeDuration>'
                  '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "wait", "e"))
    found = on(validate_files({"t.bpmn": xml})[1], "wait")
    assert len(found) == 1 and "javascript" in found[0].message, [str(p) for p in found]


# ---- 2. Camunda's and Zeebe's forms ------------------------------------------------------------------------

def _user_task(attrs: str = "", extensions: str = "") -> str:
    return diagram('<bpmn:startEvent id="s" />\n'
                   f'<bpmn:userTask id="approve" name="Approve"{attrs}><bpmn:extensionElements>{extensions}'
                   '</bpmn:extensionElements></bpmn:userTask>\n<bpmn:endEvent id="e" />\n' + flows("s", "approve", "e"))


FORM = '{"type": "object", "properties": {"ok": {"type": "boolean", "title": "Approve?"}}}'
CHOSEN = ('<spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" '
          'value="approve.schema.json" /></spiffworkflow:properties>')


@pytest.mark.parametrize(("attrs", "extensions", "words"), [
    (' camunda:formKey="embedded:app:forms/approve.html"', "", "camunda:formKey 'embedded:app:forms/approve.html'"),
    (' camunda:formRef="invoice-approval"', "", "camunda:formRef"),
    ("", '<zeebe:userTask /><zeebe:formDefinition formId="invoice-form" />', "zeebe:formDefinition formId"),
    ("", '<zeebe:formDefinition formKey="camunda-forms:bpmn:userTaskForm_1" />', "zeebe:formDefinition formKey"),
])
def test_a_user_task_whose_form_is_named_for_camunda_is_a_problem_until_a_form_is_chosen(app_ctx, attrs, extensions,
                                                                                          words):
    """It ran as a bare confirmation: the person approving an invoice was asked nothing, and ``ok`` never set."""
    xml = _user_task(attrs, extensions)
    found = on(validate_files({"f.bpmn": xml}, lane_role="starter")[1], "approve")
    assert len(found) == 1 and words in found[0].message, [str(p) for p in found]
    assert found[0].line == line_of(xml, 'id="approve"') and "side panel" in found[0].message
    chosen = _user_task(attrs, extensions + CHOSEN)
    problems = validate_files({"f.bpmn": chosen, "approve.schema.json": FORM}, lane_role="starter")[1]
    assert problems == [], [str(p) for p in problems]


def test_a_model_form_named_like_the_key_is_suggested(app_ctx):
    xml = _user_task(' camunda:formKey="camunda-forms:app:approve.form"')
    found = on(validate_files({"f.bpmn": xml, "approve.schema.json": FORM}, lane_role="starter")[1], "approve")
    assert len(found) == 1 and "The model has the form approve.schema.json." in found[0].message


def test_a_start_form_named_for_camunda_is_a_problem(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" camunda:formKey="embedded:app:forms/start.html" />\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "e"))
    found = on(validate_files({"f.bpmn": xml})[1], "s")
    assert len(found) == 1 and "start event's form" in found[0].message and found[0].line


# ---- 3. Zeebe's script tasks -------------------------------------------------------------------------------

def test_a_zeebe_feel_script_task_says_what_it_is_and_how_to_write_it_here(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="sum" name="Total"><bpmn:extensionElements>'
                  '<zeebe:script expression="=sum(items)" resultVariable="total" /></bpmn:extensionElements>'
                  '</bpmn:scriptTask>\n<bpmn:endEvent id="e" />\n' + flows("s", "sum", "e"))
    found = on(validate_files({"z.bpmn": xml})[1], "sum")
    assert len(found) == 1, [str(p) for p in found]
    assert "zeebe:script" in found[0].message and "'sum(items)'" in found[0].message
    assert "total = ..." in found[0].message and found[0].line == line_of(xml, 'id="sum"')


def test_a_script_task_done_by_a_zeebe_job_worker_is_named(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="js"><bpmn:extensionElements>'
                  '<zeebe:taskDefinition type="script" /></bpmn:extensionElements></bpmn:scriptTask>\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "js", "e"))
    found = on(validate_files({"z.bpmn": xml})[1], "js")
    assert len(found) == 1 and "job worker" in found[0].message and "'script'" in found[0].message


# ---- 4. Zeebe's correlation keys ---------------------------------------------------------------------------

MESSAGES = '<bpmn:message id="m_paid" name="paid"><bpmn:extensionElements>{sub}</bpmn:extensionElements></bpmn:message>'


def _paid(catch: str, key: str = 'correlationKey="=orderId"') -> str:
    """Two branches of one order: one throws "paid", the other waits for it (``catch``, correlated by ``key``)."""
    body = ('<bpmn:startEvent id="s" />\n<bpmn:parallelGateway id="split" />\n'
            '<bpmn:intermediateThrowEvent id="pay"><bpmn:messageEventDefinition messageRef="m_paid" />'
            '</bpmn:intermediateThrowEvent>\n'
            f'{catch}\n<bpmn:parallelGateway id="join" />\n<bpmn:endEvent id="e" />\n'
            + flows("s", "split", "pay", "join", "e") + "\n" + flows("split", "wait", "join"))
    xml = diagram(body)
    sub = f'<zeebe:subscription {key} />' if key else ""
    return xml.replace("</bpmn:process>", "</bpmn:process>\n" + MESSAGES.format(sub=sub))


CATCH = ('<bpmn:intermediateCatchEvent id="wait" name="Paid"><bpmn:messageEventDefinition messageRef="m_paid" />'
         '</bpmn:intermediateCatchEvent>')
RECEIVE = '<bpmn:receiveTask id="wait" name="Paid" messageRef="m_paid" />'


@pytest.mark.parametrize("catch", [CATCH, RECEIVE])
def test_a_message_catch_with_a_zeebe_correlation_key_is_a_problem(app_ctx, catch):
    """The engine has no correlation keys: the catch took any "paid" message sent in the instance (another order's
    too), and nothing publishes one from outside as Zeebe's clients do."""
    xml = _paid(catch)
    problems = validate_files({"c.bpmn": xml})[1]
    found = [p for p in problems if "correlation key" in p.message]
    assert [(p.element_id, p.line) for p in found] == [("wait", line_of(xml, 'id="wait"'))], [str(p) for p in problems]
    assert "'=orderId'" in found[0].message
    assert validate_files({"c.bpmn": _paid(catch, key="")})[1] == [], "without a key it runs as drawn"


# ---- Flowable, Activiti, jBPM ------------------------------------------------------------------------------

OTHERS = ' xmlns:flowable="http://flowable.org/bpmn" xmlns:activiti="http://activiti.org/bpmn" ' \
         'xmlns:drools="http://www.jboss.org/drools"'


@pytest.mark.parametrize("attrs", [' flowable:formKey="inspection-report"', ' activiti:formKey="approve.form"'])
def test_a_flowable_or_activiti_form_key_is_a_problem_as_camundas_is(app_ctx, attrs):
    xml = _user_task(attrs).replace(' id="defs"', OTHERS + ' id="defs"')
    found = on(validate_files({"f.bpmn": xml}, lane_role="starter")[1], "approve")
    assert len(found) == 1 and "formKey" in found[0].message, [str(p) for p in found]


def test_a_flowable_multi_instance_collection_is_named_for_flowable(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:userTask id="each"><bpmn:multiInstanceLoopCharacteristics '
                  'flowable:collection="schools" flowable:elementVariable="school" /></bpmn:userTask>\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "each", "e")).replace(' id="defs"', OTHERS + ' id="defs"')
    found = on(validate_files({"f.bpmn": xml}, lane_role="starter")[1], "each")
    assert len(found) == 1 and "written for Flowable" in found[0].message, [str(p) for p in found]


def test_a_jbpm_on_entry_script_is_a_problem_on_its_step(app_ctx):
    """jBPM runs Java before the step opens (drools:onEntry-script): skipped here without a word, the names it set
    were missing."""
    xml = _user_task("", '<drools:onEntry-script scriptFormat="http://www.java.com/java"><drools:script>'
                         'kcontext.setVariable("amount", 1500);</drools:script></drools:onEntry-script>')
    found = on(validate_files({"j.bpmn": xml.replace(' id="defs"', OTHERS + ' id="defs"')}, lane_role="starter")[1],
               "approve")
    assert len(found) == 1 and "jBPM" in found[0].message and "onEntry-script" in found[0].message


def test_a_script_named_python_by_its_url_runs_as_a_condition_named_so_does(app_ctx):
    """jBPM writes scriptFormat="http://www.python.org/" for a Python script: refused as "written in
    http://www.python.org/", while a condition in the same language was accepted."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="calc" scriptFormat="http://www.python.org/">'
                  '<bpmn:script>amount = 1500</bpmn:script></bpmn:scriptTask>\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "calc", "e"))
    assert validate_files({"py.bpmn": xml})[1] == []


def _calling(mapping: str) -> str:
    """A Camunda 7 process setting ``amount`` and calling ``pay`` with ``mapping``; ``pay`` reads ``total``."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="defs" targetNamespace="http://x">\n'
            '<bpmn:process id="main" isExecutable="true"><bpmn:startEvent id="s" />'
            '<bpmn:scriptTask id="set"><bpmn:script>amount = 1500</bpmn:script></bpmn:scriptTask>'
            f'<bpmn:callActivity id="call" name="Pay" calledElement="pay"><bpmn:extensionElements>{mapping}'
            '</bpmn:extensionElements></bpmn:callActivity><bpmn:endEvent id="e" />' + flows("s", "set", "call", "e")
            + '</bpmn:process>\n<bpmn:process id="pay" isExecutable="true"><bpmn:startEvent id="ps" />'
            '<bpmn:scriptTask id="book"><bpmn:script>booked = total</bpmn:script></bpmn:scriptTask>'
            '<bpmn:endEvent id="pe" />' + flows("ps", "book", "pe") + '</bpmn:process>\n</bpmn:definitions>\n')


def test_a_camunda_call_activity_renaming_data_is_a_problem(app_ctx):
    """The engine passes the data under the same names: ``total`` was never there, and *book* failed when it ran
    (the unset name was only a notice: a model may be started with data of its own)."""
    xml = _calling('<camunda:in source="amount" target="total" /><camunda:out variables="all" />')
    found = on(validate_files({"c.bpmn": xml}, process_id="main")[1], "call")
    assert len(found) == 1 and "amount" in found[0].message and "total" in found[0].message, [str(p) for p in found]
    assert found[0].line == line_of(xml, 'id="call"')
    same = _calling('<camunda:in variables="all" /><camunda:in source="total" target="total" />')
    assert on(validate_files({"c.bpmn": same}, process_id="main")[1], "call") == []


@pytest.mark.parametrize(("attrs", "extensions", "named"), [
    (' camunda:decisionRef="grade" camunda:resultVariable="result"', "", "camunda:decisionRef 'grade'"),
    ("", '<zeebe:calledDecision decisionId="grade" resultVariable="result" />', "zeebe:calledDecision 'grade'")])
def test_a_business_rule_task_naming_its_decision_for_camunda_says_so(app_ctx, attrs, extensions, named):
    """"names no decision table" was all the owner read of a decision the tool had named."""
    xml = diagram(f'<bpmn:startEvent id="s" />\n<bpmn:businessRuleTask id="rt"{attrs}><bpmn:extensionElements>'
                  f'{extensions}</bpmn:extensionElements></bpmn:businessRuleTask>\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "rt", "e"))
    found = on(validate_files({"d.bpmn": xml})[1], "rt")
    assert len(found) == 1 and named in found[0].message and "side panel" in found[0].message, [str(p) for p in found]


def test_a_camunda_script_kept_in_a_deployment_file_is_named(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="ext" scriptFormat="python" '
                  'camunda:resource="deployment://calc.py" />\n<bpmn:endEvent id="e" />\n' + flows("s", "ext", "e"))
    found = on(validate_files({"r.bpmn": xml})[1], "ext")
    assert len(found) == 1 and "'deployment://calc.py'" in found[0].message, [str(p) for p in found]
