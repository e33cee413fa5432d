"""Decision files of other tools (tests/data/bpmn_corpus): a DRD with no decision and a Trisotech file whose DMN
elements carry a prefix are said or run as their author meant, and an ANY table answers as DMN defines ANY."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine.specs import parse_files, validate_files
from tests.modeler.factory import NORM_RULE_TASK, chain_model

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bpmn_corpus"


def _with_decisions(name: str, text: str | None = None) -> dict[str, str]:
    files = chain_model("norms", [("decide", "School accountant", NORM_RULE_TASK)])
    files[name] = text if text is not None else (CORPUS / name).read_text(encoding="utf-8")
    return files


def _decided(files: dict[str, str], **data) -> dict:
    import app.engine.runtime  # noqa: F401 - installs the engine's decision patches

    parsed = parse_files(files)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    wf.get_tasks(state=TaskState.READY)[0].data.update(data)
    wf.do_engine_steps()
    return next(t for t in wf.tasks.values() if t.task_spec.bpmn_id == "decide").data


def test_a_decision_file_with_no_decision_is_said_on_its_own_line(app_ctx):
    """dmn-moddle's input-data.dmn holds only an input data element: the engine's parser said "list index out of
    range", of the process's diagram and without a line."""
    _parsed, problems = validate_files(_with_decisions("dmn-moddle-input-data.dmn"), lane_role="starter")
    shown = [str(p) for p in problems]
    assert any(p.filename == "dmn-moddle-input-data.dmn" and p.line == 2 and p.element_id == "Definitions_1"
               and "holds no decision" in p.message for p in problems), shown
    assert not any("list index" in s or "cannot run this element" in s for s in shown), shown


def test_a_trisotech_decision_file_with_prefixed_elements_runs(app_ctx):
    """Trisotech writes ``semantic:decision``…: the engine's parser said "Undefined namespace prefix"."""
    files = _with_decisions("tapsyrys-trisotech-semantic-prefix-norms.dmn")
    _parsed, problems = validate_files(files, lane_role="starter")
    assert problems == [], [str(p) for p in problems]
    assert _decided(files, level="basic")["norm"] == 120


_ANY_TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_norm" name="Norms" namespace="x">
  <decision id="norm" name="Monthly norm">
    <decisionTable id="dt_norm" hitPolicy="ANY">
      <input id="in_age" label="Age"><inputExpression id="ie_age" typeRef="integer"><text>age</text></inputExpression>
      </input>
      <output id="out_norm" label="Norm" name="norm" typeRef="integer" />
      <rule id="young"><inputEntry id="i1"><text>&lt; 18</text></inputEntry>
        <outputEntry id="o1"><text>1</text></outputEntry></rule>
      <rule id="child"><inputEntry id="i2"><text>&lt; 12</text></inputEntry>
        <outputEntry id="o2"><text>1</text></outputEntry></rule>
      <rule id="toddler"><inputEntry id="i3"><text>&lt; 3</text></inputEntry>
        <outputEntry id="o3"><text>3</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def test_an_any_table_whose_matching_rules_disagree_stops_naming_them(app_ctx):
    """DMN's ANY: several rules may match when they give the same output, else the table is wrong. SpiffWorkflow gave
    the first matching rule's output (1 for a two-year-old, where the third rule says 3)."""
    from app.engine.decisions import MatchingRulesDisagree

    files = _with_decisions("norm.dmn", _ANY_TABLE)
    assert _decided(files, age=10)["norm"] == 1, "two rules match and agree: their output"
    assert _decided(files, age=40)["norm"] is None, "no rule matches: null"
    with pytest.raises(MatchingRulesDisagree, match=r"ANY.*rows 1 \(young\), 2 \(child\), 3 \(toddler\)"):
        _decided(files, age=2)


def test_a_table_in_a_decision_without_a_name_of_its_own_is_named_by_its_decision(app_ctx):
    """dmn-moddle's context.dmn has PRIORITY tables inside a boxed context: the message said "The decision table
    None"."""
    table = _ANY_TABLE.replace('hitPolicy="ANY"', 'hitPolicy="PRIORITY"').replace(
        '<decisionTable id="dt_norm"', '<context><contextEntry><decisionTable').replace(
        "</decisionTable>", "</decisionTable></contextEntry></context>")
    _parsed, problems = validate_files(_with_decisions("norm.dmn", table), lane_role="starter")
    said = [p.message for p in problems if "PRIORITY" in p.message]
    assert said and "'Monthly norm'" in said[0] and "None" not in said[0], said


def test_a_flowable_decision_table_in_its_dmn_1_1_namespace_runs(app_ctx):
    """Flowable writes DMN 1.1 as ``http://www.omg.org/spec/DMN/20151101`` (without ``/dmn.xsd``): each of its
    elements was refused at import ("the element <{…}definitions> is not allowed here")."""
    from app.modeler.operations import refuse_foreign_content

    name = "flowable-dmn-multiple-conclusions.dmn"
    files = _with_decisions(name)
    refuse_foreign_content({name: files[name]}, ValueError)
    files = {n: t.replace(">norm<", ">decision<") for n, t in files.items()}
    _parsed, problems = validate_files(files, lane_role="starter")
    assert problems == [], [str(p) for p in problems]
    decided = _decided(files, input1=5)
    assert (decided["output1"], decided["output2"]) == ("test2", 2)


@pytest.mark.parametrize("namespace", ["http://www.omg.org/spec/DMN/20130901",
                                       "https://www.omg.org/spec/DMN/20990101/MODEL/"])
def test_a_dmn_version_the_engine_does_not_know_is_said_once_as_such(world, browser, namespace):
    """Flowable's DMN 1.0 drafts (``…/DMN/20130901``) were refused element by element, and a later version's file
    was said to hold an element that "could run a script in a browser"."""
    import io

    table = _ANY_TABLE.replace("https://www.omg.org/spec/DMN/20191111/MODEL/", namespace)
    response = browser("owner").post("/modeler/import", {"archive": (io.BytesIO(table.encode()), "norms.dmn")},
                                     content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "in a DMN version the engine does not know" in page and namespace in page
    assert "run a script" not in page and "is not allowed here" not in page
