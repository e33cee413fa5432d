"""Data objects and a step's declared data (ioSpecification) the way SpiffWorkflow 3.2 runs them: a model that
would fail when it runs is refused on the step and its line (app.engine.data_names).

Probes, each published clean before: a script listed the schools into a data object, a multi-instance step
connected to it visited them, and the next script's ``len(schools)`` failed ("'schools' is not defined"); a jBPM user
task (TaskName filled by an assignment) failed every instance as it was reached ("Missing data input")."""

from __future__ import annotations

import pytest

from app.engine.specs import validate_files
from tests.engine.test_foreign_model_problems import diagram, flows, line_of, on

VISITS = ('<bpmn:dataObject id="schools" name="Schools to visit" />\n'
          '<bpmn:dataObjectReference id="schools_ref" dataObjectRef="schools" />\n'
          '<bpmn:startEvent id="s" />\n'
          '<bpmn:scriptTask id="list"><bpmn:dataOutputAssociation id="out"><bpmn:targetRef>schools_ref</bpmn:targetRef>'
          '</bpmn:dataOutputAssociation><bpmn:script>schools = ["Bilim", "Orken"]\nn = len(schools)</bpmn:script>'
          '</bpmn:scriptTask>\n'
          '<bpmn:scriptTask id="tally" name="Count the visits">READ<bpmn:script>visited = len(schools)</bpmn:script>'
          '</bpmn:scriptTask>\n'
          '<bpmn:exclusiveGateway id="g" default="f_none" />\n'
          '<bpmn:sequenceFlow id="f_many" sourceRef="g" targetRef="e">'
          '<bpmn:conditionExpression>CONDITION</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
          '<bpmn:sequenceFlow id="f_none" sourceRef="g" targetRef="e" />\n'
          '<bpmn:endEvent id="e" />\n' + flows("s", "list", "tally", "g"))
READ = '<bpmn:dataInputAssociation id="in"><bpmn:sourceRef>schools_ref</bpmn:sourceRef></bpmn:dataInputAssociation>'


def test_a_script_reading_a_written_data_object_without_an_association_is_refused(app_ctx):
    xml = diagram(VISITS.replace("READ", "").replace("CONDITION", "visited &gt; 1"))
    found = [p for p in validate_files({"d.bpmn": xml})[1] if "data object" in p.message]
    assert [(p.element_id, p.line) for p in found] == [("tally", line_of(xml, 'id="tally"'))], [str(p) for p in found]
    assert "'schools'" in found[0].message and "data input association" in found[0].message


def test_a_condition_reading_a_written_data_object_is_refused_and_a_connected_step_is_fine(app_ctx):
    xml = diagram(VISITS.replace("READ", READ).replace("CONDITION", "len(schools) &gt; 1"))
    found = [p for p in validate_files({"d.bpmn": xml})[1] if "data object" in p.message]
    assert [p.element_id for p in found] == ["f_many"], [str(p) for p in found]
    fine = diagram(VISITS.replace("READ", READ).replace("CONDITION", "visited &gt; 1"))
    assert validate_files({"d.bpmn": fine})[1] == [], "the writer reads its own value, the reader is connected"


def test_a_name_also_set_by_another_step_is_not_a_data_object_read(app_ctx):
    xml = diagram(VISITS.replace("READ", "").replace("CONDITION", "visited &gt; 1").replace(
        '<bpmn:script>visited = len(schools)', '<bpmn:script>schools = []\nvisited = len(schools)'))
    assert not [p for p in validate_files({"d.bpmn": xml})[1] if "data object" in p.message]


JBPM_TASK = ('<bpmn:userTask id="rev" name="Review act"><bpmn:ioSpecification>'
             '<bpmn:dataInput id="rev_TaskNameInputX" name="TaskName" /><bpmn:inputSet><bpmn:dataInputRefs>'
             'rev_TaskNameInputX</bpmn:dataInputRefs></bpmn:inputSet></bpmn:ioSpecification>'
             '<bpmn:dataInputAssociation><bpmn:targetRef>rev_TaskNameInputX</bpmn:targetRef><bpmn:assignment>'
             '<bpmn:from xsi:type="bpmn:tFormalExpression">Task</bpmn:from><bpmn:to xsi:type="bpmn:tFormalExpression">'
             'rev_TaskNameInputX</bpmn:to></bpmn:assignment></bpmn:dataInputAssociation></bpmn:userTask>')


@pytest.mark.parametrize("before", ["", '<bpmn:scriptTask id="set"><bpmn:script>rev_TaskNameInputX = "Task"'
                                        '</bpmn:script></bpmn:scriptTask>'])
def test_a_jbpm_data_input_filled_by_an_assignment_is_refused_unless_a_step_sets_it(app_ctx, before):
    steps = ("s", "set", "rev", "e") if before else ("s", "rev", "e")
    xml = diagram('<bpmn:startEvent id="s" />\n' + before + JBPM_TASK + '\n<bpmn:endEvent id="e" />\n' + flows(*steps))
    found = on(validate_files({"j.bpmn": xml}, lane_role="starter")[1], "rev")
    if before:
        assert found == [], [str(p) for p in found]
    else:
        assert len(found) == 1 and "assignment" in found[0].message and "'rev_TaskNameInputX'" in found[0].message
        assert found[0].line == line_of(xml, 'id="rev"')
