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


def _counted(cardinality: str, seq: str = "false", before: str = "") -> str:
    return diagram('<bpmn:startEvent id="s" /><bpmn:scriptTask id="init"><bpmn:script>' + (before or "n = 1")
                   + '</bpmn:script></bpmn:scriptTask>\n<bpmn:scriptTask id="each" name="Per place">'
                   f'<bpmn:multiInstanceLoopCharacteristics isSequential="{seq}"><bpmn:loopCardinality>{cardinality}'
                   '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics><bpmn:script>done = True'
                   '</bpmn:script></bpmn:scriptTask>\n<bpmn:endEvent id="e" />\n' + flows("s", "init", "each", "e"))


@pytest.mark.parametrize("seq", ["true", "false"])
def test_a_number_of_instances_from_the_data_past_the_limit_fails_the_step_with_words(world, seq):
    """Probe: a parallel step with ``loopCardinality`` 10**9 made the engine build a task per instance — the worker
    grew past 11 GB and never answered. Now the step fails at once, in words, and nothing is built; a number that
    is not a whole number (a text from a form) says so instead of "'<' not supported between 'int' and 'str'"."""
    from app.engine import runtime
    from app.engine.errors import StepFailed
    from app.engine.publishing import publish_version
    from app.extensions import db
    from tests.helpers import user

    for before, words in (("n = 10 ** 9", "1000000000 instances"), ("n = 'abc'", "not a whole number")):
        version, _ = publish_version({"mi.bpmn": _counted("n", seq, before)})
        db.session.commit()
        with pytest.raises(StepFailed) as failed:
            runtime.start_instance(version.process_model.identifier, title="t", actor=user("owner"))
        db.session.rollback()
        assert "Per place" in str(failed.value) and words in str(failed.value), str(failed.value)


@pytest.mark.parametrize(("cardinality", "words"), [("10**9", "1000000000 instances"), ("5000", "5000 instances"),
                                                    ('"abc"', "not a whole number"), ("2.5", "not a whole number")])
def test_a_written_number_of_instances_past_the_limit_is_refused_at_publishing(app_ctx, cardinality, words):
    from app.engine.specs import validate_files

    problems = [p for p in validate_files({"mi.bpmn": _counted(cardinality)})[1] if p.element_id == "each"]
    assert len(problems) == 1 and words in problems[0].message and problems[0].line, [str(p) for p in problems]
    assert [p for p in validate_files({"mi.bpmn": _counted("3")})[1] if p.element_id == "each"] == []
    assert [p for p in validate_files({"mi.bpmn": _counted("n")})[1] if p.element_id == "each"] == []
