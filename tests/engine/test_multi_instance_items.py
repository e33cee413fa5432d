"""A multi-instance step's input data item belongs to one instance (SpiffWorkflow 3.2 merged it back into the step,
and a sequential multi-instance step failed at its second instance: "Multiinstance input item item already
exists")."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from tests.engine.test_foreign_model_problems import diagram, flows

_LOOP = ('<bpmn:multiInstanceLoopCharacteristics isSequential="{seq}"><bpmn:loopDataInputRef>schools'
         '</bpmn:loopDataInputRef><bpmn:inputDataItem id="school" /></bpmn:multiInstanceLoopCharacteristics>')


def _model(seq: str, kind: str) -> str:
    loop = _LOOP.format(seq=seq)
    if kind == "subprocess":
        step = (f'<bpmn:subProcess id="each">{loop}<bpmn:startEvent id="ss" /><bpmn:scriptTask id="note">'
                '<bpmn:script>last = school</bpmn:script></bpmn:scriptTask><bpmn:endEvent id="se" />'
                + flows("ss", "note", "se") + '</bpmn:subProcess>')
    else:
        step = f'<bpmn:scriptTask id="each">{loop}<bpmn:script>last = school</bpmn:script></bpmn:scriptTask>'
    return diagram('<bpmn:startEvent id="s" /><bpmn:scriptTask id="init"><bpmn:script>schools = ["Bilim", "Nur", '
                   '"Alatau"]</bpmn:script></bpmn:scriptTask>\n' + step + '\n<bpmn:endEvent id="e" />\n'
                   + flows("s", "init", "each", "e"))


@pytest.mark.parametrize("kind", ["task", "subprocess"])
@pytest.mark.parametrize("seq", ["true", "false"])
def test_every_instance_runs_and_the_item_stays_in_its_instance(app_ctx, seq, kind):
    import app.engine.runtime  # noqa: F401 - installs the engine's patches
    from app.engine.specs import parse_files

    parsed = parse_files({"mi.bpmn": _model(seq, kind)})
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    wf.do_engine_steps()
    assert wf.is_completed()
    data = wf.last_task.data
    assert data["last"] == "Alatau" and data["schools"] == ["Bilim", "Nur", "Alatau"]
    assert "school" not in data, "the input data item is each instance's own"


@pytest.mark.parametrize("output", ['<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>',
                                    '<bpmn:outputDataItem id="result" />'])
def test_an_output_collection_without_its_item_or_the_reverse_is_a_problem(app_ctx, output):
    """Run with SpiffWorkflow 3.2: ``loopDataOutputRef`` without ``outputDataItem`` left ``results`` empty (each
    instance's data was merged into the process instead, the last one winning), with no error."""
    from app.engine.specs import validate_files

    xml = _model("false", "task").replace("</bpmn:multiInstanceLoopCharacteristics>",
                                          output + "</bpmn:multiInstanceLoopCharacteristics>")
    problems = [p for p in validate_files({"mi.bpmn": xml})[1] if p.element_id == "each"]
    assert len(problems) == 1 and "output collection" in problems[0].message and problems[0].line
    both = _model("false", "task").replace(
        "</bpmn:multiInstanceLoopCharacteristics>", '<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>'
        '<bpmn:outputDataItem id="result" /></bpmn:multiInstanceLoopCharacteristics>')
    assert [p for p in validate_files({"mi.bpmn": both})[1] if p.element_id == "each"] == []
