"""An element whose id is a name SpiffWorkflow gives its own start and end of every process ("Start", "End",
"<process>.EndJoin") took their place in the spec and was dropped. Probe (a bpmn.io diagram with readable ids): a user
task "End" published without a problem, and every instance ended as the token reached it — *Check the licence* never
opened and the diagram's end event was never reached; an end event "End" or a start event "Start" was refused as "The
process has no end event", which is not what is wrong."""

from __future__ import annotations

import pytest

from app.engine.specs import validate_files
from tests.engine.test_foreign_model_problems import diagram, flows, line_of, on


def _checks(task_id: str = "check", start: str = "s", end: str = "e") -> str:
    return diagram(f'<bpmn:startEvent id="{start}" />\n'
                   f'<bpmn:userTask id="{task_id}" name="Check the licence" />\n'
                   f'<bpmn:endEvent id="{end}" name="Checked" />\n' + flows(start, task_id, end))


@pytest.mark.parametrize(("ids", "element"), [({"task_id": "End"}, "End"), ({"task_id": "Start"}, "Start"),
                                              ({"end": "End"}, "End"), ({"start": "Start"}, "Start"),
                                              ({"task_id": "p.EndJoin"}, "p.EndJoin")])
def test_an_element_with_the_engines_own_start_or_end_name_is_refused_on_its_line(app_ctx, ids, element):
    xml = _checks(**ids)
    _parsed, problems = validate_files({"ids.bpmn": xml}, lane_role="starter")
    found = on(problems, element)
    assert len(found) == 1 and "another id" in found[0].message, [str(p) for p in problems]
    assert found[0].line == line_of(xml, f'id="{element}"')
    assert not any("no end event" in p.message for p in problems), "not the engine's misleading words"


def test_other_ids_and_a_flow_named_end_are_fine(app_ctx):
    xml = _checks().replace('id="f_check_e"', 'id="End"')
    assert validate_files({"ids.bpmn": xml}, lane_role="starter")[1] == []
    assert validate_files({"ids.bpmn": _checks("Root", "Begin", "Finish")}, lane_role="starter")[1] == []
