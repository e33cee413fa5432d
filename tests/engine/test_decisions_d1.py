"""Probe D1: a UNIQUE decision table with overlapping rules silently returned the first match."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from tests.modeler.factory import NORM_RULE_TASK, chain_model

_TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_norm" name="Norms" namespace="x">
  <decision id="norm" name="Monthly norm">
    <decisionTable id="dt_norm" hitPolicy="POLICY">
      <input id="in_age" label="Age"><inputExpression id="ie_age" typeRef="integer"><text>age</text></inputExpression>
      </input>
      <output id="out_norm" label="Norm" name="norm" typeRef="integer" />
      <rule id="young"><inputEntry id="i1"><text>&lt; 18</text></inputEntry>
        <outputEntry id="o1"><text>1</text></outputEntry></rule>
      <rule id="any"><inputEntry id="i2"><text>-</text></inputEntry>
        <outputEntry id="o2"><text>2</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _run(policy: str, age: int) -> dict:
    import app.engine.runtime  # noqa: F401 - installs the engine's hit policy
    from app.engine.specs import parse_files

    files = chain_model("norms", [("decide", "School accountant", NORM_RULE_TASK)])
    files["norm.dmn"] = _TABLE.replace("POLICY", policy)
    parsed = parse_files(files)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    wf.get_tasks(state=TaskState.READY)[0].data["age"] = age
    wf.do_engine_steps()
    return next(t for t in wf.tasks.values() if t.task_spec.bpmn_id == "decide").data


def test_a_unique_table_where_several_rules_match_fails_naming_them(app_ctx):
    from app.engine.decisions import SeveralUniqueRulesMatch

    with pytest.raises(SeveralUniqueRulesMatch, match=r"UNIQUE.*rows 1 \(young\), 2 \(any\)"):
        _run("UNIQUE", 10)
    assert _run("UNIQUE", 40)["norm"] == 2  # one rule matches: its output
    assert _run("FIRST", 10)["norm"] == 1  # FIRST: the first match, as before


@pytest.mark.parametrize(("policy", "empty"), [("UNIQUE", None), ("FIRST", None), ("COLLECT", [])])
def test_when_no_rule_matches_the_output_is_null_not_what_the_data_held(app_ctx, policy, empty):
    """SpiffWorkflow 3.2 gave no output when no rule matched: ``norm`` kept the value the data already held (the
    previous round's answer in a loop, or the start data's), or stayed unset and the next step failed with
    "'norm' is not defined". DMN says the output is null (an empty list for COLLECT)."""
    import app.engine.runtime  # noqa: F401 - installs the engine's decision patches
    from app.engine.specs import parse_files

    files = chain_model("norms", [("decide", "School accountant", NORM_RULE_TASK)])
    only_young = _TABLE.replace("POLICY", policy)
    only_young = (only_young[:only_young.index('      <rule id="any">')]
                  + "    </decisionTable>\n  </decision>\n</definitions>\n")
    files["norm.dmn"] = only_young
    parsed = parse_files(files)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    wf.get_tasks(state=TaskState.READY)[0].data.update(age=40, norm=99)
    wf.do_engine_steps()
    decided = next(t for t in wf.tasks.values() if t.task_spec.bpmn_id == "decide").data
    assert "norm" in decided and decided["norm"] == empty


@pytest.mark.parametrize("policy", ["UNIQUE", "FIRST", "COLLECT"])
def test_an_empty_output_cell_is_null(app_ctx, policy):
    """A rule whose output cell is left empty gave ``""`` (a text in an integer column): DMN says null."""
    import app.engine.runtime  # noqa: F401 - installs the engine's decision patches
    from app.engine.specs import parse_files

    files = chain_model("norms", [("decide", "School accountant", NORM_RULE_TASK)])
    table = _TABLE.replace("POLICY", policy).replace('<outputEntry id="o1"><text>1</text></outputEntry>',
                                                     '<outputEntry id="o1"><text></text></outputEntry>')
    table = table[:table.index('      <rule id="any">')] + "    </decisionTable>\n  </decision>\n</definitions>\n"
    files["norm.dmn"] = table
    parsed = parse_files(files)
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    wf.get_tasks(state=TaskState.READY)[0].data.update(age=10)
    wf.do_engine_steps()
    decided = next(t for t in wf.tasks.values() if t.task_spec.bpmn_id == "decide").data
    assert decided["norm"] == ([None] if policy == "COLLECT" else None)
