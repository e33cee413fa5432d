"""Foreign BPMN/DMN models that imported "clean" and failed (or silently misbehaved) at run time: a tester's list.

Each problem is reported before publishing, on the element (id and line) it is about, in the user's language:
duplicate ids, hit policies the engine does not apply, DMN 1.4/1.5 files, compensation, chains of steps too long
for the engine's parser, unmatched links, conditions in another language, a data object no script sets. And the
notices stay quiet where the model is right (an event subprocess ends where it stops).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from app.engine.specs import implicit_end_notices, validate_files

BPMN_NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def diagram(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {BPMN_NS} id="defs" targetNamespace="http://x">\n'
            f'<bpmn:process id="p" name="Foreign" isExecutable="true">\n{body}\n</bpmn:process>\n'
            '</bpmn:definitions>\n')


def flows(*ids: str) -> str:
    return "\n".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />'
                     for a, b in zip(ids, ids[1:], strict=False))


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def on(problems, element_id: str):
    return [p for p in problems if p.element_id == element_id]


# ---- 1. duplicate ids ---------------------------------------------------------------------------------------

def test_an_id_used_twice_is_a_problem_with_both_lines(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n'
                  '<bpmn:scriptTask id="T" name="First"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:scriptTask id="T" name="Second"><bpmn:script>b = 2</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "T", "e"))
    _parsed, problems = validate_files({"dup.bpmn": xml})
    found = [p for p in on(problems, "T") if "twice" in p.message or "used" in p.message]
    first, second = line_of(xml, 'id="T" name="First"'), line_of(xml, 'id="T" name="Second"')
    assert len(found) == 1, [str(p) for p in problems]
    assert found[0].line == second and f"{first}" in found[0].message and f"{second}" in found[0].message


def test_a_duplicate_id_in_a_decision_table_is_a_problem(app_ctx):
    dmn = DMN13.replace('id="rule2"', 'id="rule1"').replace("HITPOLICY", "")
    _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})
    assert [p.filename for p in on(problems, "rule1") if "twice" in p.message] == ["d.dmn"]


# ---- 2. hit policies --------------------------------------------------------------------------------------

DMN13 = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="D" namespace="http://x">
  <decision id="grade" name="Grade">
    <decisionTable id="table" HITPOLICY>
      <input id="in1" label="Amount"><inputExpression id="ie1" typeRef="number"><text>amount</text></inputExpression>
      </input>
      <output id="out1" name="grade" typeRef="string" />
      <rule id="rule1"><inputEntry id="r1i"><text>&gt; 10</text></inputEntry>
        <outputEntry id="r1o"><text>"big"</text></outputEntry></rule>
      <rule id="rule2"><inputEntry id="r2i"><text>&gt; 1</text></inputEntry>
        <outputEntry id="r2o"><text>"small"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _rule_task_model() -> str:
    return diagram('<bpmn:startEvent id="s" />\n<bpmn:businessRuleTask id="rt" name="Grade it">'
                   '<bpmn:extensionElements><spiffworkflow:calledDecisionId>grade</spiffworkflow:calledDecisionId>'
                   '</bpmn:extensionElements></bpmn:businessRuleTask>\n<bpmn:endEvent id="e" />\n'
                   + flows("s", "rt", "e"))


@pytest.mark.parametrize("policy", ['hitPolicy="RULE ORDER"', 'hitPolicy="PRIORITY"', 'hitPolicy="OUTPUT ORDER"',
                                    'hitPolicy="COLLECT" aggregation="SUM"', 'hitPolicy="COLLECT" aggregation="COUNT"',
                                    'hitPolicy="COLLECT" aggregation="MAX"'])
def test_hit_policies_the_engine_does_not_apply_are_refused_the_others_kept(app_ctx, policy):
    """The engine returns the first matching rule for these (and ignores aggregation): a wrong result, no error.
    UNIQUE, FIRST, ANY and COLLECT (a list per output) it applies as DMN defines them."""
    dmn = DMN13.replace("HITPOLICY", policy)
    _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})
    found = on(problems, "table")
    assert len(found) == 1, [str(p) for p in problems]
    shown = policy.split('"')[1] if "aggregation" not in policy else policy.split('"')[3]
    assert found[0].filename == "d.dmn" and found[0].line == line_of(dmn, "<decisionTable")
    assert shown in found[0].message and "UNIQUE" in found[0].message and "Grade" in found[0].message
    for applied in ("", 'hitPolicy="UNIQUE"', 'hitPolicy="FIRST"', 'hitPolicy="COLLECT"', 'hitPolicy="ANY"'):
        _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": DMN13.replace("HITPOLICY", applied)})
        assert problems == [], applied


@pytest.mark.parametrize(("cell", "reason"), [('"gold","silver"', 'Write it as in ("gold","silver")'),
                                              ("10, 20", "lists values separated by commas"),
                                              ("not(18)", "FEEL's negation")])
def test_a_cell_written_as_feel_that_python_would_never_match_is_a_problem(app_ctx, cell, reason):
    """FEEL's list of values and negation are valid Python with another meaning: the cell never matched, and the
    table silently fell through to its last rule."""
    dmn = DMN13.replace("HITPOLICY", 'hitPolicy="FIRST"')
    dmn = dmn.replace("<text>&gt; 10</text>", f"<text>{escape(cell)}</text>")
    _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})
    found = on(problems, "rule1")
    assert len(found) == 1 and reason in found[0].message, [str(p) for p in problems]
    for fine in ('in ("gold", "silver")', "!= 18", "not in (1, 2)", "(10, 20)"):
        dmn = DMN13.replace("HITPOLICY", "").replace("<text>&gt; 10</text>", f"<text>{escape(fine)}</text>")
        assert on(validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})[1], "rule1") == [], fine


@pytest.mark.parametrize(("old", "cell", "python"), [("&gt; 10", "true", "True"), ("&gt; 10", "null", "None"),
                                                     ('"big"', "false", "False"), ("amount", "amount != null", "None")])
def test_feels_true_false_and_null_in_a_cell_are_a_problem_saying_what_to_write(app_ctx, old, cell, python):
    """A boolean column's ``true``/``false`` and ``null`` (as Camunda and Signavio write them) saved clean as input
    entries and failed when the table ran ("name 'true' is not defined"); as an output the notice said to quote it,
    a text where the column holds a boolean."""
    dmn = DMN13.replace("HITPOLICY", 'hitPolicy="FIRST"').replace(f"<text>{old}</text>", f"<text>{cell}</text>", 1)
    _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})
    found = [p for p in problems if cell.split()[-1] in p.message]
    assert len(found) == 1 and f"Write {python}" in found[0].message and found[0].line, [str(p) for p in problems]


# ---- 3. DMN 1.4 and 1.5 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("uri", ["https://www.omg.org/spec/DMN/20211108/MODEL/",
                                 "https://www.omg.org/spec/DMN/20230324/MODEL/"])
def test_dmn_1_4_and_1_5_tables_are_read_like_dmn_1_3(app_ctx, uri):
    dmn = DMN13.replace("https://www.omg.org/spec/DMN/20191111/MODEL/", uri).replace("HITPOLICY", 'hitPolicy="FIRST"')
    parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})
    assert problems == [], [str(p) for p in problems]
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.get_next_task().data["amount"] = 50
    workflow.do_engine_steps()
    assert workflow.is_completed() and workflow.data["grade"] == "big"


def test_an_unknown_dmn_version_is_one_problem_for_the_file(app_ctx):
    dmn = DMN13.replace("https://www.omg.org/spec/DMN/20191111/MODEL/", "https://www.omg.org/spec/DMN/20990101/MODEL/")
    _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn.replace("HITPOLICY", "")})
    in_file = [p for p in problems if p.filename == "d.dmn"]
    assert len(in_file) == 1 and "DMN" in in_file[0].message and "1.3" in in_file[0].message, [str(p) for p in problems]


# ---- 4. compensation ----------------------------------------------------------------------------------------

def test_compensation_events_are_a_clear_problem_on_their_element(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n'
                  '<bpmn:scriptTask id="pay" name="Pay"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:boundaryEvent id="undo" name="Undo" attachedToRef="pay">'
                  '<bpmn:compensateEventDefinition id="ced" /></bpmn:boundaryEvent>\n'
                  '<bpmn:scriptTask id="refund" name="Refund" isForCompensation="true">'
                  '<bpmn:script>a = 0</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:intermediateThrowEvent id="comp" name="Compensate">'
                  '<bpmn:compensateEventDefinition id="ced2" /></bpmn:intermediateThrowEvent>\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "pay", "comp", "e")
                  + '\n<bpmn:association id="a1" associationDirection="One" sourceRef="undo" targetRef="refund" />')
    _parsed, problems = validate_files({"c.bpmn": xml})
    for element_id, needle in (("undo", 'id="undo"'), ("comp", 'id="comp"')):
        found = on(problems, element_id)
        assert len(found) == 1 and "ompensation" in found[0].message, [str(p) for p in problems]
        assert found[0].line == line_of(xml, needle)
    assert not any("NotImplementedError" in p.message or "<bpmn:" in p.message for p in problems)


# ---- 5. a chain of steps too long for the parser ------------------------------------------------------------

def _chain_of(count: int) -> str:
    steps = [f"T{i}" for i in range(count)]
    body = '<bpmn:startEvent id="s" />\n' + "\n".join(
        f'<bpmn:scriptTask id="{t}"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>' for t in steps)
    return diagram(body + '\n<bpmn:endEvent id="e" />\n' + flows("s", *steps, "e"))


def test_a_very_long_chain_of_steps_is_one_clear_problem(app_ctx):
    """SpiffWorkflow's parser recursed once per step and blamed "T481 … RecursionError(…)" on an arbitrary step."""
    _parsed, problems = validate_files({"long.bpmn": _chain_of(2000)})
    assert len(problems) == 1, [str(p) for p in problems][:5]
    assert problems[0].element_id is None and "RecursionError" not in problems[0].message
    assert "steps in a row" in problems[0].message
    assert validate_files({"long.bpmn": _chain_of(150)})[1] == [], "150 steps in a row are fine"


# ---- 6. links without a partner ---------------------------------------------------------------------------

def _linked(thrown: str, caught: str) -> str:
    """start → link throw ``thrown`` … link catch ``caught`` → end."""
    return diagram('<bpmn:startEvent id="s" />\n'
                   '<bpmn:intermediateThrowEvent id="go" name="Go">'
                   f'<bpmn:linkEventDefinition id="l1" name="{thrown}" /></bpmn:intermediateThrowEvent>\n'
                   '<bpmn:intermediateCatchEvent id="land" name="Land">'
                   f'<bpmn:linkEventDefinition id="l2" name="{caught}" /></bpmn:intermediateCatchEvent>\n'
                   '<bpmn:endEvent id="e" />\n' + flows("s", "go") + "\n" + flows("land", "e"))


def test_a_link_throw_without_its_catch_is_a_problem_on_both_ends(app_ctx):
    xml = _linked("X", "Y")
    _parsed, problems = validate_files({"l.bpmn": xml})
    throw, catch = on(problems, "go"), on(problems, "land")
    assert len(throw) == 1 and "X" in throw[0].message and throw[0].line == line_of(xml, 'id="go"')
    assert len(catch) == 1 and "Y" in catch[0].message and catch[0].line == line_of(xml, 'id="land"')


def test_matching_links_are_fine(app_ctx):
    xml = _linked("X", "X")
    parsed, problems = validate_files({"l.bpmn": xml})
    assert problems == []
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)  # SpiffWorkflow 3.2 stopped at the throw
    workflow.do_engine_steps()
    assert workflow.is_completed() and {t.task_spec.name for t in workflow.get_tasks()} >= {"go", "land", "e"}


# ---- 7. conditions in another language, pinned on the flow ----------------------------------------------------

def _gateway(condition: str) -> str:
    return diagram('<bpmn:startEvent id="s" />\n<bpmn:exclusiveGateway id="g" name="Big?" default="small" />\n'
                   '<bpmn:endEvent id="e1" />\n<bpmn:endEvent id="e2" />\n' + flows("s", "g") + "\n"
                   f'<bpmn:sequenceFlow id="big" name="Big" sourceRef="g" targetRef="e1">{condition}'
                   '</bpmn:sequenceFlow>\n'
                   '<bpmn:sequenceFlow id="small" sourceRef="g" targetRef="e2" />')


@pytest.mark.parametrize(("condition", "language"), [
    ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">amount &gt; 100'
     '</bpmn:conditionExpression>', "javascript"),
    ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="juel">${amount &gt; 100}'
     '</bpmn:conditionExpression>', "juel"),
])
def test_a_condition_in_another_language_is_named_on_its_flow(app_ctx, condition, language):
    xml = _gateway(condition)
    _parsed, problems = validate_files({"g.bpmn": xml})
    assert on(problems, "g") == [], [str(p) for p in problems]
    found = on(problems, "big")
    assert len(found) == 1 and language in found[0].message and "Python" in found[0].message
    assert found[0].line == line_of(xml, 'id="big"') and found[0].name == "Big"
    python = condition.replace(f'language="{language}"', 'language="python"').replace("${", "").replace("}", "")
    assert validate_files({"g.bpmn": _gateway(python)})[1] == []


def test_a_juel_condition_without_language_is_pinned_on_its_flow(app_ctx):
    xml = _gateway('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${amount &gt; 100}'
                   '</bpmn:conditionExpression>')
    _parsed, problems = validate_files({"g.bpmn": xml})
    assert on(problems, "g") == [] and len(on(problems, "big")) == 1, [str(p) for p in problems]
    assert on(problems, "big")[0].line == line_of(xml, 'id="big"')


def test_problems_of_top_level_definitions_are_listed_once_each_on_its_element(app_ctx):
    """iGrafx writes reusable timer definitions at the top of the file: each was reported on <definitions>, without
    element or line, as the same sentence once per definition."""
    timers = '<bpmn:timerEventDefinition id="morning" />\n<bpmn:timerEventDefinition id="evening" />\n'
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:endEvent id="e" />\n' + flows("s", "e")).replace(
        "</bpmn:definitions>", timers + "</bpmn:definitions>")
    _parsed, problems = validate_files({"t.bpmn": xml})
    texts = [str(p) for p in problems]
    assert len(texts) == len(set(texts)), texts
    assert [(p.element_id, p.line) for p in problems] == [("morning", line_of(xml, 'id="morning"')),
                                                          ("evening", line_of(xml, 'id="evening"'))]


# ---- 8. event subprocesses end where they stop ----------------------------------------------------------------

def test_an_event_subprocess_is_not_a_step_that_nothing_follows(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:endEvent id="e" />\n' + flows("s", "e") + "\n"
                  '<bpmn:subProcess id="esp" name="On cancel" triggeredByEvent="true">'
                  '<bpmn:startEvent id="es"><bpmn:messageEventDefinition id="m" /></bpmn:startEvent>'
                  '<bpmn:endEvent id="ee" />' + flows("es", "ee") + '</bpmn:subProcess>')
    assert implicit_end_notices({"esp.bpmn": xml}) == []


# ---- 9. data objects a script task writes -------------------------------------------------------------------

def _data_object_model(script: str) -> str:
    return diagram('<bpmn:startEvent id="s" />\n'
                   f'<bpmn:scriptTask id="calc" name="Calc"><bpmn:dataOutputAssociation id="doa">'
                   f'<bpmn:targetRef>DOR_1</bpmn:targetRef></bpmn:dataOutputAssociation>'
                   f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>\n'
                   '<bpmn:dataObject id="DO_1" name="Total" />\n'
                   '<bpmn:dataObjectReference id="DOR_1" name="Total" dataObjectRef="DO_1" />\n'
                   '<bpmn:endEvent id="e" />\n' + flows("s", "calc", "e"))


def test_a_script_that_does_not_set_the_data_object_it_writes_is_a_problem(app_ctx):
    xml = _data_object_model("total = 5")
    _parsed, problems = validate_files({"d.bpmn": xml})
    found = on(problems, "calc")
    assert len(found) == 1 and "DO_1" in found[0].message, [str(p) for p in problems]
    assert found[0].line == line_of(xml, 'id="calc"')
    parsed, problems = validate_files({"d.bpmn": _data_object_model("DO_1 = 5")})
    assert problems == [], [str(p) for p in problems]
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.do_engine_steps()
    assert workflow.is_completed() and workflow.data_objects["DO_1"] == 5


# ---- lanes inside lanes -----------------------------------------------------------------------------------------

def _nested_lanes(outer: str, inner: str) -> str:
    return diagram(
        f'<bpmn:laneSet id="ls"><bpmn:lane id="outer" name="{outer}"><bpmn:childLaneSet id="cls">'
        f'<bpmn:lane id="inner" name="{inner}"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>'
        '<bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef></bpmn:lane>'
        '</bpmn:childLaneSet></bpmn:lane></bpmn:laneSet>\n'
        '<bpmn:startEvent id="s" />\n<bpmn:userTask id="review" name="Review" />\n<bpmn:endEvent id="e" />\n'
        + flows("s", "review", "e"))


def test_a_lane_inside_a_role_lane_works_for_that_role(app_ctx):
    """"Reviewers" drawn inside "Department official": its tasks are the officials' (they were refused as "in a
    lane that names no role"); a lane that names a role itself keeps its own."""
    parsed, problems = validate_files({"m.bpmn": _nested_lanes("Department official", "Reviewers")})
    assert problems == [], [str(p) for p in problems]
    assert parsed.spec.task_specs["review"].lane == "Department official"
    parsed, problems = validate_files({"m.bpmn": _nested_lanes("Department official", "School accountant")})
    assert problems == [] and parsed.spec.task_specs["review"].lane == "School accountant"
    _parsed, problems = validate_files({"m.bpmn": _nested_lanes("Somebody", "Reviewers")})
    assert [p.element_id for p in problems if "names no role" in p.message] == ["review"]


@pytest.mark.parametrize("name", ["Department&#10;official", "department official", "  Department   official "])
def test_a_lane_name_wrapped_or_cased_otherwise_still_names_its_role(app_ctx, name):
    """bpmn.io keeps the line break typed into a narrow lane's name, Signavio and BIC write "&#10;" into names: a
    lane drawn as "Department↵official" was refused as naming no role, and its tasks went to nobody's inbox."""
    from app.engine.lanes import role_for_lane
    from app.people.roles import Role

    parsed, problems = validate_files({"m.bpmn": _nested_lanes("Somebody", name)})
    assert problems == [], [str(p) for p in problems]
    assert role_for_lane(parsed.spec.task_specs["review"].lane) == Role.DEPARTMENT_OFFICIAL.value
    assert role_for_lane("Department official ") == role_for_lane("DEPARTMENT OFFICIAL")
    assert role_for_lane("Department officials") is None


def test_a_model_the_engine_cannot_parse_still_names_its_scripts_and_lanes_in_the_same_pass(app_ctx):
    """A Camunda model: a JavaScript task and a Java delegate stop the engine's parser, so the per-task checks did
    not run — the owner fixed four problems, saved, and met five more (no lane, import, dunder access)."""
    from app.engine.specs import validate_files

    xml = CAMUNDA_MIX
    _parsed, problems = validate_files({"c.bpmn": xml})
    said = {(p.element_id, p.message.split(":")[0]) for p in problems}
    assert {"sc_js", "svc"} <= {p.element_id for p in problems}
    expected = {("ut1", "User task has no lane"), ("sc_import", "Script rejected"), ("sc_dunder", "Script rejected")}
    assert expected <= said
    assert sum(1 for p in problems if p.element_id == "sc_dunder") == 1


def test_a_model_without_layout_or_with_an_element_without_it_is_given_a_notice(app_ctx):
    from app.engine.specs import layout_notices
    from tests.modeler.factory import two_step

    assert layout_notices({"c.bpmn": CAMUNDA_MIX}) and len(layout_notices({"c.bpmn": CAMUNDA_MIX})) == 1
    files = two_step("laid_out")
    assert layout_notices(files) == []
    name = next(n for n in files if n.endswith(".bpmn"))
    first_edge = files[name].index("<bpmndi:BPMNEdge")
    files[name] = files[name][:first_edge] + files[name][files[name].index("</bpmndi:BPMNEdge>", first_edge) + 18:]
    notices = layout_notices(files)
    assert len(notices) == 1 and notices[0].element_id and "no layout" in notices[0].message


CAMUNDA_MIX = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="mix" name="Mix" isExecutable="true">
    <bpmn:startEvent id="s1" />
    <bpmn:userTask id="ut1" name="Review" camunda:assignee="${initiator}" />
    <bpmn:scriptTask id="sc_import" name="Import" scriptFormat="python"><bpmn:script>import os</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="sc_dunder" name="Dunder" scriptFormat="python"><bpmn:script>z = ().__class__</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="sc_js" name="JS" scriptFormat="javascript"><bpmn:script>var a = 1;</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:serviceTask id="svc" name="Java delegate" camunda:class="org.example.Delegate" />
    <bpmn:endEvent id="e1" />
    <bpmn:sequenceFlow id="f1" sourceRef="s1" targetRef="ut1" />
    <bpmn:sequenceFlow id="f2" sourceRef="ut1" targetRef="sc_import" />
    <bpmn:sequenceFlow id="f3" sourceRef="sc_import" targetRef="sc_dunder" />
    <bpmn:sequenceFlow id="f4" sourceRef="sc_dunder" targetRef="sc_js" />
    <bpmn:sequenceFlow id="f5" sourceRef="sc_js" targetRef="svc" />
    <bpmn:sequenceFlow id="f6" sourceRef="svc" targetRef="e1" />
  </bpmn:process>
</bpmn:definitions>"""


# ---- a second tester's list: flows, decisions that are not tables, messages nobody sends -------------------

def test_a_sequence_flow_to_an_element_that_does_not_exist_is_named_on_the_flow(app_ctx):
    """The engine said "When looking for a task spec, we found two items, perhaps a form has the same ID?"."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:endEvent id="e" />\n'
                  '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="missing" />\n'
                  '<bpmn:sequenceFlow id="g" sourceRef="s" />\n' + flows("s", "e"))
    _parsed, problems = validate_files({"broken.bpmn": xml})
    assert any("'missing'" in p.message and p.line == line_of(xml, 'id="f"') for p in on(problems, "f")), problems
    assert any("not connected at both ends" in p.message for p in on(problems, "g")), problems
    assert not any("perhaps a form" in p.message for p in problems)


def test_a_decision_that_is_not_a_table_and_a_second_decision_in_a_file_are_said_plainly(app_ctx):
    """A literal-expression decision gave "list index out of range" on the starter .bpmn; a second decision in a
    file was never read ("No DMN Diagram available with id ...")."""
    literal = DMN13.replace("HITPOLICY", "").replace(
        '</definitions>', '<decision id="discount" name="Discount"><literalExpression id="le">'
                          '<text>amount * 0.1</text></literalExpression></decision>\n</definitions>')
    _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": literal})
    found = on(problems, "discount")
    assert any("not a decision table" in p.message and "literalExpression" in p.message for p in found), problems
    assert any("2 decisions" in p.message and "own file" in p.message for p in found), problems
    assert all(p.filename == "d.dmn" for p in found)


def test_a_step_waiting_for_a_message_nothing_sends_is_refused_and_a_sent_one_is_not(app_ctx):
    """The engine cannot receive a message from outside an instance: published, the instance waited there for good
    (it was a notice). After an event-based gateway it stays a notice (tests/data/bpmn_corpus, event-based gateway)."""
    from app.engine.specs import unsent_message_notices

    def model(throw: bool) -> str:
        sender = ('<bpmn:intermediateThrowEvent id="tell" name="Tell"><bpmn:messageEventDefinition messageRef="m1" />'
                  '</bpmn:intermediateThrowEvent>\n') if throw else ""
        return diagram(f'<bpmn:startEvent id="s" />\n{sender}<bpmn:intermediateCatchEvent id="wait" name="Reply">'
                       '<bpmn:messageEventDefinition messageRef="m1" /></bpmn:intermediateCatchEvent>\n'
                       '<bpmn:endEvent id="e" />\n' + (flows("s", "tell", "wait", "e") if throw else
                                                          flows("s", "wait", "e"))
                       ).replace('<bpmn:process id=', '<bpmn:message id="m1" name="reply" /><bpmn:process id=')

    problems = validate_files({"m.bpmn": model(throw=False)})[1]
    assert [(p.element_id, "'reply'" in p.message) for p in problems] == [("wait", True)], [str(p) for p in problems]
    assert problems[0].line == line_of(model(throw=False), 'id="wait"')
    assert unsent_message_notices({"m.bpmn": model(throw=False)}) == [], "said once, as a problem"
    assert validate_files({"m.bpmn": model(throw=True)})[1] == []


def test_a_step_waiting_for_a_signal_nothing_throws_is_refused_and_a_thrown_one_is_not(app_ctx):
    """Signals, like messages, come only from inside the model (the engine broadcasts none from outside): published,
    every instance reaching the catch waited there for good. On a boundary event it stays a notice."""
    from app.engine.specs import unsent_message_notices

    def model(throw: bool, catch: str = "wait") -> str:
        sender = ('<bpmn:intermediateThrowEvent id="tell" name="Tell"><bpmn:signalEventDefinition signalRef="s1" />'
                  '</bpmn:intermediateThrowEvent>\n') if throw else ""
        return diagram(f'<bpmn:startEvent id="s" />\n{sender}<bpmn:intermediateCatchEvent id="{catch}" name="Go">'
                       '<bpmn:signalEventDefinition signalRef="s1" /></bpmn:intermediateCatchEvent>\n'
                       '<bpmn:endEvent id="e" />\n' + (flows("s", "tell", catch, "e") if throw else
                                                          flows("s", catch, "e"))
                       ).replace('<bpmn:process id=', '<bpmn:signal id="s1" name="go" /><bpmn:process id=')

    problems = validate_files({"m.bpmn": model(throw=False)})[1]
    assert [(p.element_id, "'go'" in p.message, "signal" in p.message) for p in problems] == [
        ("wait", True, True)], [str(p) for p in problems]
    assert problems[0].line == line_of(model(throw=False), 'id="wait"')
    assert unsent_message_notices({"m.bpmn": model(throw=False)}) == [], "said once, as a problem"
    assert validate_files({"m.bpmn": model(throw=True)})[1] == []

    boundary = diagram('<bpmn:startEvent id="s" /><bpmn:userTask id="work" name="Work" />\n'
                       '<bpmn:boundaryEvent id="stop" attachedToRef="work">'
                       '<bpmn:signalEventDefinition signalRef="s1" /></bpmn:boundaryEvent>\n'
                       '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />'
                       + flows("s", "work", "e") + flows("stop", "e2")).replace(
        '<bpmn:process id=', '<bpmn:signal id="s1" name="go" /><bpmn:process id=')
    assert on(validate_files({"m.bpmn": boundary})[1], "stop") == []
    assert [n.element_id for n in unsent_message_notices({"m.bpmn": boundary})] == ["stop"]


def _event_gateway_model(*events: str, send: str = "") -> str:
    """start → [send] → event-based gateway 'First reply' → each of ``events`` → its own end."""
    catches = {
        "message": '<bpmn:intermediateCatchEvent id="message"><bpmn:messageEventDefinition messageRef="m1" />'
                   '</bpmn:intermediateCatchEvent>',
        "signal": '<bpmn:intermediateCatchEvent id="signal"><bpmn:signalEventDefinition signalRef="s1" />'
                  '</bpmn:intermediateCatchEvent>',
        "timer": '<bpmn:intermediateCatchEvent id="timer"><bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"'
                 '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>',
        "receive": '<bpmn:receiveTask id="receive" messageRef="m1" />'}
    senders = {"message": '<bpmn:intermediateThrowEvent id="send"><bpmn:messageEventDefinition messageRef="m1" />'
                          '</bpmn:intermediateThrowEvent>',
               "signal": '<bpmn:intermediateThrowEvent id="send"><bpmn:signalEventDefinition signalRef="s1" />'
                         '</bpmn:intermediateThrowEvent>'}
    body = '<bpmn:startEvent id="s" />\n' + (senders[send] + "\n" if send else "")
    body += '<bpmn:eventBasedGateway id="g" name="First reply" />\n'
    body += "".join(f'{catches[e]}<bpmn:endEvent id="end_{e}" />\n' for e in events)
    body += flows("s", *(["send"] if send else []), "g") + "".join(flows("g", e, f"end_{e}") for e in events)
    return diagram(body).replace('<bpmn:process id=', '<bpmn:message id="m1" name="reply" />'
                                                      '<bpmn:signal id="s1" name="go" /><bpmn:process id=')


@pytest.mark.parametrize("events", [("message", "signal"), ("signal",), ("receive", "signal")])
def test_an_event_based_gateway_whose_events_nothing_sends_is_refused_on_the_gateway(app_ctx, events):
    """Every instance reaching the gateway waited for good: none of its events can come. Said once, on the gateway
    with its line (its events get no notice of their own)."""
    from app.engine.specs import unsent_message_notices

    xml = _event_gateway_model(*events)
    problems = validate_files({"m.bpmn": xml})[1]
    assert [p.element_id for p in problems] == ["g"], [str(p) for p in problems]
    assert problems[0].line == line_of(xml, 'id="g"') and "nothing in this model sends" in problems[0].message
    assert unsent_message_notices({"m.bpmn": xml}) == []


@pytest.mark.parametrize(("events", "send", "noticed"), [
    (("message", "signal", "timer"), "", ["message", "signal"]),
    (("message", "signal"), "signal", ["message"]),
    (("message", "signal"), "message", ["signal"]),
])
def test_an_event_based_gateway_with_a_timer_or_a_sent_event_is_published_with_notices(app_ctx, events, send,
                                                                                         noticed):
    from app.engine.specs import unsent_message_notices

    xml = _event_gateway_model(*events, send=send)
    assert validate_files({"m.bpmn": xml})[1] == []
    assert [n.element_id for n in unsent_message_notices({"m.bpmn": xml})] == noticed


@pytest.mark.parametrize(("cell", "reason"), [
    ('matches(?, "^s.*")', "matches() is not a function cells can call"),
    ('>= date("2024-01-01")', "date() takes numbers here"),
    ('string_length(?) > 3', "string_length() is not a function"),
])
def test_a_cell_calling_feels_functions_is_refused_before_it_runs(app_ctx, cell, reason):
    """Passed the check and failed when the table ran: "name 'matches' is not defined", "'str' object cannot be
    interpreted as an integer"."""
    dmn = DMN13.replace("HITPOLICY", "").replace("<text>&gt; 10</text>", f"<text>{escape(cell)}</text>")
    _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})
    assert any(reason in p.message for p in on(problems, "rule1")), problems


def test_cells_calling_the_builtins_and_lambdas_are_fine(app_ctx):
    for cell in ("&gt;= date(2024, 1, 1)", "len(?) &gt; 3", "in (1, 2)", "max(?, 1) == 2"):
        dmn = DMN13.replace("HITPOLICY", "").replace("<text>&gt; 10</text>", f"<text>{cell}</text>")
        _parsed, problems = validate_files({"m.bpmn": _rule_task_model(), "d.dmn": dmn})
        assert on(problems, "rule1") == [], (cell, problems)


# ---- ad hoc subprocesses and conditional events (what SpiffWorkflow 3.2 runs otherwise than BPMN says) ----------

def test_an_ad_hoc_subprocess_is_one_problem_on_it_not_unreachable_steps(app_ctx):
    """Parallel ad hoc subprocesses passed the ordering check and were then refused as "cannot be reached from a
    start event" on every step inside and after it; run, SpiffWorkflow 3.2 opens every step inside at once, waits
    for all of them, and fails at once without a completion condition (eval() of None)."""
    xml = diagram('<bpmn:startEvent id="s" />\n'
                  '<bpmn:adHocSubProcess id="adhoc" name="Як керек">\n'
                  '<bpmn:userTask id="a1" name="Call" /><bpmn:userTask id="a2" name="Write" />\n'
                  '</bpmn:adHocSubProcess>\n<bpmn:userTask id="after" name="After" />\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "adhoc", "after", "e"))
    _parsed, problems = validate_files({"a.bpmn": xml})
    assert not [p for p in problems if "reached" in p.message], [str(p) for p in problems]
    found = on(problems, "adhoc")
    assert len(found) == 1 and "Ad hoc" in found[0].message and found[0].line == line_of(xml, 'id="adhoc"')


_CONDITION = ('<bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">flag == 1'
              '</bpmn:condition></bpmn:conditionalEventDefinition>')


@pytest.mark.parametrize("where", ["boundary", "event subprocess", "process start"])
def test_a_conditional_boundary_or_start_event_is_a_problem(app_ctx, where):
    """Run with SpiffWorkflow 3.2: a non-interrupting conditional boundary event on a subprocess, and a conditional
    event subprocess, never started when a script inside set ``flag = 1`` — the condition is checked once, when the
    step (or process) begins — and the instance completed without the handler BPMN runs."""
    steps = ('<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="init"><bpmn:script>flag = 0</bpmn:script>'
             '</bpmn:scriptTask>\n')
    inner = ('<bpmn:startEvent id="ss" /><bpmn:scriptTask id="setflag"><bpmn:script>flag = 1</bpmn:script>'
             '</bpmn:scriptTask><bpmn:userTask id="wait" /><bpmn:endEvent id="se" />'
             + flows("ss", "setflag", "wait", "se"))
    handler = '<bpmn:userTask id="on_cond" /><bpmn:endEvent id="he" />'
    if where == "boundary":
        body = (steps + f'<bpmn:subProcess id="sub">{inner}</bpmn:subProcess>\n<bpmn:endEvent id="e" />\n'
                f'<bpmn:boundaryEvent id="cond" attachedToRef="sub" cancelActivity="false">{_CONDITION}'
                f'</bpmn:boundaryEvent>\n{handler}\n' + flows("s", "init", "sub", "e") + flows("cond", "on_cond", "he"))
    elif where == "event subprocess":
        body = (steps + '<bpmn:scriptTask id="setflag"><bpmn:script>flag = 1</bpmn:script></bpmn:scriptTask>'
                '<bpmn:userTask id="wait" /><bpmn:endEvent id="e" />\n' + flows("s", "init", "setflag", "wait", "e")
                + f'\n<bpmn:subProcess id="evs" triggeredByEvent="true"><bpmn:startEvent id="cond" '
                f'isInterrupting="false">{_CONDITION}</bpmn:startEvent>{handler}{flows("cond", "on_cond", "he")}'
                '</bpmn:subProcess>')
    else:
        body = (f'<bpmn:startEvent id="cond">{_CONDITION}</bpmn:startEvent>\n<bpmn:userTask id="wait" />'
                '<bpmn:endEvent id="e" />\n' + flows("cond", "wait", "e"))
    xml = diagram(body)
    _parsed, problems = validate_files({"c.bpmn": xml})
    found = on(problems, "cond")
    assert len(found) == 1 and "checked only once" in found[0].message, [str(p) for p in problems]
    assert found[0].line == line_of(xml, 'id="cond"')


# ---- references the engine's parser failed on with its own error (MIWG files of ADONIS, BIC Cloud Design) --------

def test_an_event_naming_a_message_signal_or_error_the_file_lacks_is_named_on_the_event(app_ctx):
    """SpiffWorkflow looks a message/signal/error/escalation up in the event's own file; missing, its parser failed
    reporting it ("TypeError(NodeParser.raise_validation_exception() got an unexpected keyword argument 'node')");
    a boundary event without a trigger was "NotImplementedError('Unsupported Catch Event: %r', b'<bpmn:…')"."""
    xml = diagram('<bpmn:startEvent id="s" /><bpmn:parallelGateway id="pg" />\n'
                  '<bpmn:intermediateCatchEvent id="catch"><bpmn:messageEventDefinition messageRef="nope" />'
                  '</bpmn:intermediateCatchEvent>\n'
                  '<bpmn:intermediateThrowEvent id="sig"><bpmn:signalEventDefinition signalRef="" />'
                  '</bpmn:intermediateThrowEvent>\n'
                  '<bpmn:receiveTask id="recv" messageRef="gone" />\n'
                  '<bpmn:scriptTask id="work"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:boundaryEvent id="bare" attachedToRef="work" />\n'
                  '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" /><bpmn:endEvent id="e4" />'
                  + flows("s", "pg") + flows("pg", "catch", "e1") + flows("pg", "sig", "e2") + flows("pg", "recv")
                  + flows("recv", "work", "e3") + flows("bare", "e4"))
    _parsed, problems = validate_files({"r.bpmn": xml})
    shown = [str(p) for p in problems]
    assert not any("TypeError" in p or "NotImplementedError" in p or "b'<" in p for p in shown), shown
    for element_id, needle in (("catch", "message 'nope'"), ("sig", "signal ''"), ("recv", "message 'gone'"),
                               ("bare", "has no trigger")):
        found = on(problems, element_id)
        assert len(found) == 1 and needle in found[0].message, shown
        assert found[0].line == line_of(xml, f'id="{element_id}"')


def test_a_loop_without_condition_and_a_dangling_data_association_are_said_plainly(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n'
                  '<bpmn:scriptTask id="again"><bpmn:standardLoopCharacteristics /><bpmn:script>a = 1</bpmn:script>'
                  '</bpmn:scriptTask>\n<bpmn:endEvent id="e" />\n' + flows("s", "again", "e"))
    _parsed, problems = validate_files({"l.bpmn": xml})
    found = on(problems, "again")
    assert found and "neither a loop condition nor a maximum" in found[0].message, [str(p) for p in problems]
    xml = diagram('<bpmn:startEvent id="s" />\n'
                  '<bpmn:scriptTask id="write"><bpmn:dataOutputAssociation id="doa"><bpmn:targetRef>nowhere'
                  '</bpmn:targetRef></bpmn:dataOutputAssociation><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "write", "e"))
    _parsed, problems = validate_files({"d.bpmn": xml})
    assert any("data association" in p.message and p.line for p in problems), [str(p) for p in problems]


def test_a_signal_end_event_is_a_problem_and_a_signal_throw_is_not(app_ctx):
    """Run with SpiffWorkflow 3.2: a signal end event ended its branch without sending the signal (its parser reads
    no signal on an end event), and the signal boundary event on the other branch's step never fired."""
    def model(sender: str) -> str:
        return diagram('<bpmn:startEvent id="s" /><bpmn:parallelGateway id="pg" />\n'
                       '<bpmn:userTask id="wait" /><bpmn:boundaryEvent id="stop" attachedToRef="wait">'
                       '<bpmn:signalEventDefinition signalRef="sig" /></bpmn:boundaryEvent>\n'
                       f'{sender}\n<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" />'
                       + flows("s", "pg", "wait", "e1") + flows("pg", "send") + flows("stop", "e3")).replace(
            "<bpmn:process ", '<bpmn:signal id="sig" name="Stop" />\n<bpmn:process ', 1)

    xml = model('<bpmn:endEvent id="send"><bpmn:signalEventDefinition signalRef="sig" /></bpmn:endEvent>')
    _parsed, problems = validate_files({"s.bpmn": xml})
    found = on(problems, "send")
    assert len(found) == 1 and "signal end event" in found[0].message, [str(p) for p in problems]
    assert found[0].line == line_of(xml, 'id="send"')
    xml = model('<bpmn:intermediateThrowEvent id="send"><bpmn:signalEventDefinition signalRef="sig" />'
                '</bpmn:intermediateThrowEvent>') + ""
    xml = xml.replace('<bpmn:endEvent id="e3" />', '<bpmn:endEvent id="e3" /><bpmn:endEvent id="e4" />'
                      + flows("send", "e4"))
    assert on(validate_files({"s.bpmn": xml})[1], "send") == []


def test_a_condition_on_a_flow_out_of_a_step_or_event_is_a_problem(app_ctx):
    """Run with SpiffWorkflow 3.2: two conditional flows out of a start event were both taken (``a == 1`` and
    ``a == 2``), and bpmn-js's properties example ran through its "FOO > BAR?" flow: the engine evaluates
    conditions only on flows out of exclusive and inclusive gateways."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="one"><bpmn:script>x = 1</bpmn:script>'
                  '</bpmn:scriptTask><bpmn:scriptTask id="two"><bpmn:script>x = 2</bpmn:script></bpmn:scriptTask>'
                  '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />\n'
                  '<bpmn:sequenceFlow id="c1" sourceRef="s" targetRef="one"><bpmn:conditionExpression '
                  'xsi:type="bpmn:tFormalExpression">a == 1</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
                  '<bpmn:sequenceFlow id="c2" sourceRef="s" targetRef="two"><bpmn:conditionExpression '
                  'xsi:type="bpmn:tFormalExpression">a == 2</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
                  + flows("one", "e1") + flows("two", "e2"))
    _parsed, problems = validate_files({"c.bpmn": xml})
    for flow in ("c1", "c2"):
        found = on(problems, flow)
        assert len(found) == 1 and "does not evaluate it" in found[0].message, [str(p) for p in problems]
        assert found[0].line == line_of(xml, f'id="{flow}"')


def test_a_call_activity_that_leads_back_to_its_own_process_is_a_problem(app_ctx):
    """Starting an instance of a process whose call activity calls itself (or calls one that calls it back) held
    the worker: still running after 150 s, SpiffWorkflow starting the called process again and again."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:callActivity id="again" calledElement="p" />\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "again", "e"))
    found = on(validate_files({"self.bpmn": xml})[1], "again")
    assert len(found) == 1 and "leads back" in found[0].message and found[0].line == line_of(xml, 'id="again"')
    other = diagram('<bpmn:startEvent id="s2" />\n<bpmn:callActivity id="back" calledElement="p" />\n'
                    '<bpmn:endEvent id="e2" />\n' + flows("s2", "back", "e2")).replace('id="p"', 'id="q"')
    main = xml.replace('calledElement="p"', 'calledElement="q"')
    problems = validate_files({"main.bpmn": main, "other.bpmn": other})[1]
    looping = {p.element_id for p in problems if "leads back" in p.message}
    assert looping == {"again", "back"}, [str(p) for p in problems]
    once = other.replace('calledElement="p"', 'calledElement="r"').replace(
        "</bpmn:definitions>", '<bpmn:process id="r" isExecutable="true"><bpmn:startEvent id="s3" />'
        '<bpmn:endEvent id="e3" />' + flows("s3", "e3") + "</bpmn:process>\n</bpmn:definitions>")
    assert not [p for p in validate_files({"main.bpmn": main, "other.bpmn": once})[1] if "leads back" in p.message]


@pytest.mark.parametrize("target", ["s", "ghost"])
def test_a_boundary_event_not_on_a_step_is_a_problem(app_ctx, target):
    """On a start event it published, and every instance failed as it started ("Split at s.BoundaryEventSplit was
    not reached"); on an id that does not exist it was said to be unreachable."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:scriptTask id="t"><bpmn:script>a = 1</bpmn:script>'
                  f'</bpmn:scriptTask>\n<bpmn:boundaryEvent id="b" attachedToRef="{target}">'
                  '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>'
                  '</bpmn:timerEventDefinition></bpmn:boundaryEvent>\n'
                  '<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />\n' + flows("s", "t", "e") + flows("b", "e2"))
    found = [p for p in on(validate_files({"b.bpmn": xml})[1], "b") if "attached to" in p.message]
    assert len(found) == 1 and repr(target) in found[0].message and found[0].line == line_of(xml, 'id="b"')


# ---- what the engine's parser said in its own words -------------------------------------------------------------

def test_an_event_based_gateway_leading_to_a_task_is_named_on_the_gateway(app_ctx):
    """An event-based gateway followed by a user task (drawn by hand in bpmn.io) was refused with the parser's
    "AttributeError("'UserTask' object has no attribute 'event_definition'")"."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:eventBasedGateway id="g" name="First to come" />\n'
                  '<bpmn:userTask id="u" name="Review" />\n<bpmn:intermediateCatchEvent id="t">'
                  '<bpmn:timerEventDefinition><bpmn:timeDuration>"P5D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
                  '</bpmn:intermediateCatchEvent>\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "g", "u", "e") + "\n" + flows("g", "t", "e"))
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    shown = [str(p) for p in problems]
    assert len(problems) == 1, shown
    assert problems[0].element_id == "g" and problems[0].line == line_of(xml, 'id="g"'), shown
    assert "'Review'" in problems[0].message and "catch event" in problems[0].message, shown
    assert not any("AttributeError" in s or "event_definition" in s for s in shown), shown


def test_a_layout_coordinate_that_is_not_a_number_is_named_on_its_shape(app_ctx):
    """The parser read every shape's x and y as numbers: "could not convert string to float: 'abc'", on no
    element and no line."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:endEvent id="e" />\n' + flows("s", "e")).replace(
        "</bpmn:definitions>",
        '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="D"><bpmndi:BPMNPlane id="P" bpmnElement="p">\n'
        '<bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="1,5" y="abc" width="36" height="36" />'
        '</bpmndi:BPMNShape>\n</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>')
    _parsed, problems = validate_files({"m.bpmn": xml})
    shown = [str(p) for p in problems]
    assert len(problems) == 1, shown
    assert problems[0].element_id == "s_di" and problems[0].line == line_of(xml, 'id="s_di"'), shown
    assert "'1,5'" in problems[0].message and "must be a number" in problems[0].message, shown
    assert not any("could not convert" in s for s in shown), shown


def _with_io(spec: str) -> str:
    return diagram('<bpmn:startEvent id="s" />\n<bpmn:userTask id="u" name="Create">'
                   f'<bpmn:ioSpecification>{spec}</bpmn:ioSpecification></bpmn:userTask>\n<bpmn:endEvent id="e" />\n'
                   + flows("s", "u", "e"))


def test_a_data_input_or_output_drawn_on_a_step_is_named_when_it_is_missing(world):
    """bpmn-moddle's data-input-association sample (a user task with an ioSpecification, as Camunda 7 and Activiti
    write them) published and then failed with SpiffWorkflow's "Create: Missing data ouput." — which name, and
    what it means, unsaid. An output nothing sets is now refused on the step (app.engine.data_names)."""
    from sqlalchemy import select

    from app.engine import runtime
    from app.engine.errors import StepFailed
    from app.engine.models import HumanTask
    from app.engine.publishing import publish_draft
    from app.extensions import db
    from app.modeler.operations import import_zip
    from app.processes.trials import start_trial
    from tests.helpers import user

    owner = user("owner")
    outputs = ('<bpmn:dataOutput id="approved" name="approved" /><bpmn:inputSet id="i1" /><bpmn:outputSet id="o1">'
               '<bpmn:dataOutputRefs>approved</bpmn:dataOutputRefs></bpmn:outputSet>')
    inputs = ('<bpmn:dataInput id="amount" name="amount" /><bpmn:inputSet id="i1"><bpmn:dataInputRefs>amount'
              '</bpmn:dataInputRefs></bpmn:inputSet><bpmn:outputSet id="o1" />')
    # a data output nothing sets (the step has no form) is refused now, before anyone does the step's work
    _draft, problems = import_zip(_with_io(outputs).encode(), owner, filename="io.bpmn", lane_role="starter")
    assert [(p.element_id, "'approved'" in p.message and "data output" in p.message) for p in problems] == [
        ("u", True)], [str(p) for p in problems]
    # a data input may come with the start data: when it does not, the step's failure names it
    for spec, words in ((inputs, "a data input"),):
        draft, problems = import_zip(_with_io(spec).encode(), owner, filename="io.bpmn", lane_role="starter")
        assert problems == [], [str(p) for p in problems]
        version = publish_draft(draft, owner)
        db.session.commit()
        with pytest.raises(StepFailed) as failed:
            instance = start_trial(version.process_model, owner)
            db.session.commit()
            task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
            runtime.complete_task(task.id, owner, data={})
        db.session.rollback()
        message = str(failed.value)
        assert message.startswith("Create: ") and words in message and "Missing data" not in message, message
        assert "'amount'" in message, message


def test_a_second_process_of_a_file_that_nothing_runs_gets_a_notice(app_ctx):
    """A file with two processes and no collaboration (Bizagi and Signavio export one per pool, some tools drop the
    pools): the model ran the first, and the second was kept and never ran, with nothing said. Pools in one
    collaboration run together, and a process a call activity calls runs when called: neither gets the notice."""
    from app.engine.specs import model_notices

    second = ('<bpmn:process id="p2" name="Payment" isExecutable="true"><bpmn:startEvent id="s2" />'
              '<bpmn:endEvent id="e2" />' + flows("s2", "e2") + '</bpmn:process>\n')
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:endEvent id="e" />\n' + flows("s", "e")).replace(
        "</bpmn:definitions>", second + "</bpmn:definitions>")
    said = [n for n in model_notices({"m.bpmn": xml}) if n.element_id == "p2"]
    assert len(said) == 1 and said[0].line == line_of(xml, 'id="p2"') and "never runs" in said[0].message, said
    assert "'p'" in said[0].message, said[0].message
    assert not [n for n in model_notices({"m.bpmn": xml}, process_id="p2") if n.element_id == "p2"]
    pools = xml.replace('<bpmn:process id="p"', '<bpmn:collaboration id="c"><bpmn:participant id="A" processRef="p" />'
                        '<bpmn:participant id="B" processRef="p2" /></bpmn:collaboration>\n<bpmn:process id="p"', 1)
    assert not [n for n in model_notices({"m.bpmn": pools}) if n.element_id in ("p", "p2")]
    called = xml.replace('<bpmn:endEvent id="e" />', '<bpmn:callActivity id="c" calledElement="p2" />'
                         '<bpmn:endEvent id="e" />')
    called = called.replace('sourceRef="s" targetRef="e"', 'sourceRef="s" targetRef="c"')
    called = called.replace("</bpmn:process>\n<bpmn:process", flows("c", "e") + "</bpmn:process>\n<bpmn:process", 1)
    assert not [n for n in model_notices({"m.bpmn": called}) if n.element_id == "p2"]


@pytest.mark.parametrize("literal, python", [("true", "True"), ("false", "False"), ("null", "None")])
def test_a_condition_written_with_another_languages_true_false_or_null_is_a_problem(app_ctx, literal, python):
    """Signavio, Bizagi and ADONIS exports write ``true`` / ``approved == false``: read as Python names nothing sets,
    it was only a notice, and the published model failed at the gateway on the first instance."""
    xml = _gateway(f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">approved == {literal}'
                   '</bpmn:conditionExpression>')
    _parsed, problems = validate_files({"m.bpmn": xml})
    found = [p for p in problems if literal in p.message and python in p.message]
    assert found and found[0].element_id == "big", [str(p) for p in problems]
    assert found[0].line == line_of(xml, 'id="big"')


_LOOP = ('<bpmn:scriptTask id="t" name="Count"><bpmn:standardLoopCharacteristics><bpmn:loopCondition '
         'xsi:type="bpmn:tFormalExpression">{}</bpmn:loopCondition></bpmn:standardLoopCharacteristics>'
         '<bpmn:script>count = 3</bpmn:script></bpmn:scriptTask>')
_EACH = ('<bpmn:scriptTask id="t" name="Each"><bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3'
         '</bpmn:loopCardinality><bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{}'
         '</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics><bpmn:script>count = 3</bpmn:script>'
         '</bpmn:scriptTask>')


@pytest.mark.parametrize("step", [_LOOP, _EACH], ids=["loop", "multi-instance"])
@pytest.mark.parametrize(("condition", "words"), [
    ("${count &gt;= 3}", "JUEL"), ("=count &gt;= 3", "FEEL"), ("count &gt;=", "syntax"), ("done == true", "True")])
def test_a_loop_or_completion_condition_the_engine_cannot_evaluate_is_a_problem_on_its_step(app_ctx, step, condition,
                                                                                             words):
    """Camunda's ``${nrOfCompletedInstances >= 1}`` and Zeebe's ``=done`` published with no problem and failed when
    the engine first evaluated them as Python, after the step had run."""
    xml = diagram('<bpmn:startEvent id="s" />\n' + step.format(condition) + '\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "t", "e"))
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    found = [p for p in on(problems, "t") if words in p.message]
    assert found and found[0].line == line_of(xml, 'id="t"'), [str(p) for p in problems]


def test_a_python_loop_condition_is_fine(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n' + _LOOP.format("count &gt;= 3") + '\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "t", "e"))
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    assert problems == [], [str(p) for p in problems]


@pytest.mark.parametrize(("implementation", "tool"), [
    ('camunda:class="org.example.SendLetter"', "Camunda 7"),
    ('camunda:type="external" camunda:topic="letters"', "Camunda 7"),
    ('><bpmn:extensionElements><zeebe:taskDefinition type="send-letter" /></bpmn:extensionElements', "Zeebe"),
])
def test_a_send_task_implemented_for_another_engine_is_a_problem(app_ctx, implementation, tool):
    """A Camunda send task is a service task by another name: the engine passed it without sending anything."""
    namespaces = ('xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
                  'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" ')
    task = (f'<bpmn:sendTask id="t" name="Send letter" {implementation}></bpmn:sendTask>' if tool != "Zeebe"
            else f'<bpmn:sendTask id="t" name="Send letter"{implementation}></bpmn:sendTask>')
    xml = diagram('<bpmn:startEvent id="s" />\n' + task + '\n<bpmn:endEvent id="e" />\n' + flows("s", "t", "e"))
    xml = xml.replace("<bpmn:definitions ", f"<bpmn:definitions {namespaces}", 1)
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    found = [p for p in on(problems, "t") if tool in p.message and "without sending" in p.message]
    assert found and found[0].line == line_of(xml, 'id="t"'), [str(p) for p in problems]


def test_a_drawn_send_task_without_an_implementation_is_not_this_problem(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:sendTask id="t" name="Send letter" />\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "t", "e"))
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    assert not [p for p in problems if "without sending" in p.message]


def test_a_camunda_script_with_a_result_variable_or_the_execution_object_is_a_problem(app_ctx):
    """Camunda 7 scripts give their value to ``camunda:resultVariable`` and read ``execution.getVariable``: the
    model published with notices only and the step after them failed ("'doubled' is not defined")."""
    xml = diagram('<bpmn:startEvent id="s" />\n'
                  '<bpmn:scriptTask id="t1" name="Double" scriptFormat="python" camunda:resultVariable="doubled">'
                  '<bpmn:script>2 * 21</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:scriptTask id="t2" name="Read" scriptFormat="python">'
                  '<bpmn:script>total = execution.getVariable("doubled")</bpmn:script></bpmn:scriptTask>\n'
                  '<bpmn:endEvent id="e" />\n' + flows("s", "t1", "t2", "e"))
    xml = xml.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ', 1)
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    shown = [str(p) for p in problems]
    assert any("resultVariable" in p.message and "doubled =" in p.message and p.line == line_of(xml, 'id="t1"')
               for p in on(problems, "t1")), shown
    assert any("execution" in p.message and p.line == line_of(xml, 'id="t2"') for p in on(problems, "t2")), shown


def test_zeebe_execution_listeners_are_one_problem_on_their_step(app_ctx):
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:userTask id="t" name="Check"><bpmn:extensionElements>'
                  '<zeebe:executionListeners><zeebe:executionListener eventType="start" type="audit" />'
                  '<zeebe:executionListener eventType="end" type="notify" /></zeebe:executionListeners>'
                  '</bpmn:extensionElements></bpmn:userTask>\n<bpmn:endEvent id="e" />\n' + flows("s", "t", "e"))
    xml = xml.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" ', 1)
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    found = [p for p in on(problems, "t") if "listener" in p.message]
    assert len(found) == 1 and "Zeebe" in found[0].message and found[0].line == line_of(xml, 'id="t"'), [
        str(p) for p in problems]


def test_a_subprocess_without_an_end_event_is_refused_in_the_owners_words(app_ctx):
    """Camunda Modeler's test diagram: a subprocess whose last step leads nowhere. The engine's English ("A
    SubWorkflow Must contain an End event") reached the owner as it was, in every language; now the sentence is
    ours (translated), on the subprocess and its line. A transaction is a subprocess too."""
    body = ('<bpmn:startEvent id="s" />\n<bpmn:subProcess id="sp" name="Check the lines">'
            '<bpmn:startEvent id="sp_s" /><bpmn:task id="sp_t" />' + flows("sp_s", "sp_t") + '</bpmn:subProcess>\n'
            '<bpmn:transaction id="tx">\n<bpmn:startEvent id="tx_s" /><bpmn:task id="tx_t" />' + flows("tx_s", "tx_t")
            + '</bpmn:transaction>\n<bpmn:endEvent id="e" />\n' + flows("s", "sp", "tx", "e"))
    text = diagram(body)
    _parsed, problems = validate_files({"m.bpmn": text})
    shown = [str(p) for p in problems]
    for element_id, needle in (("sp", '<bpmn:subProcess id="sp"'), ("tx", '<bpmn:transaction id="tx"')):
        found = on(problems, element_id)
        assert found and found[0].line == line_of(text, needle), shown
        assert "has no end event inside it" in found[0].message, shown
    assert not any("SubWorkflow" in s for s in shown), shown


def test_two_plain_start_events_are_refused_where_the_second_would_never_run(app_ctx):
    """ARIS and Signavio draw a plain start event per way in. SpiffWorkflow starts every instance at the first one
    drawn: the steps after the second never ran, and the instance completed as if they were not needed. Refused on
    the second start event with its line; two plain starts leading into the same step run as drawn and stay."""
    text = diagram('<bpmn:startEvent id="portal" name="Uploaded" />\n<bpmn:startEvent id="paper" />\n'
                   '<bpmn:userTask id="check" />\n<bpmn:userTask id="scan" />\n<bpmn:endEvent id="e1" />\n'
                   '<bpmn:endEvent id="e2" />\n' + flows("portal", "check", "e1") + flows("paper", "scan", "e2"))
    _parsed, problems = validate_files({"m.bpmn": text}, lane_role="starter")
    shown = [str(p) for p in problems]
    found = on(problems, "paper")
    assert found and found[0].line == line_of(text, '<bpmn:startEvent id="paper"'), shown
    assert "at the first one drawn, 'Uploaded'" in found[0].message, shown
    assert not on(problems, "portal"), shown
    same = diagram('<bpmn:startEvent id="portal" />\n<bpmn:startEvent id="paper" />\n<bpmn:userTask id="check" />\n'
                   '<bpmn:endEvent id="e1" />\n' + flows("portal", "check", "e1") + flows("paper", "check"))
    assert validate_files({"m.bpmn": same}, lane_role="starter")[1] == []


def test_sequence_flows_without_ids_are_said_on_their_lines_not_as_a_missing_end_event(app_ctx):
    """Flowable's and Activiti's test models leave the flows' ids out: the engine's parser kept one flow of the
    process and the owner was told "The process has no end event", which has one."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:userTask id="t" name="Check the act" />\n'
                  '<bpmn:endEvent id="e" />\n<bpmn:sequenceFlow sourceRef="s" targetRef="t" />\n'
                  '<bpmn:sequenceFlow sourceRef="t" targetRef="e" />')
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    assert [(p.line, "has no id" in p.message) for p in problems] == [
        (line_of(xml, 'sourceRef="s"'), True), (line_of(xml, 'sourceRef="t"'), True)], [str(p) for p in problems]


def test_a_boundary_event_on_an_event_subprocess_is_said_on_its_line_in_the_owners_words(app_ctx):
    """Flowable's EventSubProcessWithBoundaryEventsTest shape: refused in the engine's words, without a line
    ("'BoundaryEventSplit' object has no attribute 'spec'")."""
    xml = diagram('<bpmn:startEvent id="s" />\n<bpmn:userTask id="t" />\n<bpmn:endEvent id="e" />\n'
                  + flows("s", "t", "e")
                  + '\n<bpmn:subProcess id="help" triggeredByEvent="true">\n'
                  '<bpmn:startEvent id="hs" isInterrupting="false"><bpmn:timerEventDefinition><bpmn:timeDuration>'
                  '"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>\n'
                  '<bpmn:userTask id="ht" />\n<bpmn:endEvent id="he" />\n' + flows("hs", "ht", "he")
                  + '\n</bpmn:subProcess>\n<bpmn:boundaryEvent id="b" attachedToRef="help"><bpmn:timerEventDefinition>'
                  '<bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>\n'
                  '<bpmn:endEvent id="be" />\n' + flows("b", "be"))
    _parsed, problems = validate_files({"m.bpmn": xml}, lane_role="starter")
    assert [(p.element_id, p.line) for p in problems] == [("b", line_of(xml, 'id="b"'))], [str(p) for p in problems]
    assert "attached to the event subprocess 'help'" in problems[0].message


# ---- service tasks implemented for another engine (foreign-model probe 3) ---------------------------------------

def test_a_service_task_of_another_engine_names_the_engine_and_what_it_calls(app_ctx):
    """Camunda 7's external worker and delegate, Flowable's Java class: each service task says which engine it was
    drawn for and what it stood for, once; a bare service task keeps the general advice."""
    xml = diagram(
        '<bpmn:startEvent id="s" />\n'
        '<bpmn:serviceTask id="ext" name="Check BIN" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'camunda:type="external" camunda:topic="bin-check" />\n'
        '<bpmn:serviceTask id="del" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'camunda:delegateExpression="${payAct}" />\n'
        '<bpmn:serviceTask id="java" xmlns:flowable="http://flowable.org/bpmn" flowable:class="kz.edu.Pay" />\n'
        '<bpmn:serviceTask id="bare" />\n'
        '<bpmn:endEvent id="e" />\n' + flows("s", "ext", "del", "java", "bare", "e"))
    _parsed, problems = validate_files({"m.bpmn": xml})
    said = {element_id: [p.message for p in on(problems, element_id)] for element_id in ("ext", "del", "java", "bare")}
    assert said["ext"] == ["This service task is implemented for Camunda 7 (topic 'bin-check'), which the engine "
                           "cannot call: choose a service operator in the side panel that does the same work, or do it "
                           "in a script task."], said
    assert len(said["del"]) == 1 and "Camunda 7 (delegateExpression '${payAct}')" in said["del"][0], said
    assert len(said["java"]) == 1 and "Flowable (class 'kz.edu.Pay')" in said["java"][0], said
    assert len(said["bare"]) == 1 and "it may be written for another engine" in said["bare"][0], said
    assert all(p.line for element_id in said for p in on(problems, element_id))
