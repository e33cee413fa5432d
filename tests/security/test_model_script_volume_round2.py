"""A model's scripts are checked in time bounded for the whole model, not only per script.

Each script may hold 100,000 characters (app/engine/scripting.py MAX_SOURCE_LENGTH), and the model check reads each
one several times (the sandbox's compile, the data names, the unset names, SpiffWorkflow's parse): five such scripts
of ``a += 1`` lines — a 500 kB diagram — held a web worker for 38 s when a process owner saved it (64 s for
f-strings), and an upload may hold 5 MB of them (minutes). The scripts and conditions of a model now hold
MAX_MODEL_SCRIPT_CHARACTERS together, and a model past it is refused at once, with the reason and what to do.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from app.engine.scripting import MAX_MODEL_SCRIPT_CHARACTERS, MAX_SOURCE_LENGTH
from app.engine.specs import validate_files

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _scripts_in_a_row(scripts: list[str]) -> str:
    steps = "".join(f'<bpmn:scriptTask id="s{i}"><bpmn:script>{escape(text)}</bpmn:script></bpmn:scriptTask>'
                    f'<bpmn:sequenceFlow id="f{i}" sourceRef="s{i}" targetRef="s{i + 1}"/>'
                    for i, text in enumerate(scripts))
    return (f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t"><bpmn:process id="p" '
            f'isExecutable="true"><bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f_start" sourceRef="start" '
            f'targetRef="s0"/>{steps}<bpmn:endEvent id="s{len(scripts)}"/></bpmn:process></bpmn:definitions>')


def test_a_model_whose_scripts_hold_too_much_is_refused_with_the_reason(app):
    each = MAX_SOURCE_LENGTH // 2  # every script within its own limit
    count = MAX_MODEL_SCRIPT_CHARACTERS // each + 1
    scripts = [f"v{i} = 1\n" + "a += 1\n" * ((each - 10) // 7) for i in range(count)]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        parsed, problems = validate_files({"big.bpmn": _scripts_in_a_row(scripts)})
    assert parsed is None
    assert any("scripts and conditions hold" in p.message for p in problems), [p.message[:80] for p in problems]


def test_a_model_with_a_few_small_scripts_is_not_refused_for_their_size(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        _parsed, problems = validate_files({"small.bpmn": _scripts_in_a_row(["a = 1", "b = a + 1"])})
    assert not any("scripts and conditions hold" in p.message for p in problems)
