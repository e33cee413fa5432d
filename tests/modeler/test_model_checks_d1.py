"""Process owner probe D1: models that published with no problem and then misbehaved (timers, names, decision
tables, gateways, uncaught errors, multi-instance, foreign expressions)."""

from __future__ import annotations

import pytest

from app.engine.specs import model_notices, validate_files
from tests.modeler.factory import chain_model, user_task


def _problems(files):
    return validate_files(files)[1]


def _on(found, element_id):
    return " | ".join(p.message for p in found if p.element_id == element_id)


def _timer(kind: str, value: str, event: str = "intermediateCatchEvent") -> str:
    return (f'<bpmn:{event} id="wait" name="Wait"><bpmn:timerEventDefinition>'
            f'<bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:{event}>')


@pytest.mark.parametrize("value", ['"R0/PT1H"', '"R2/PT1S"', '"R/PT1H"'])
def test_an_intermediate_timer_cannot_cycle(app_ctx, value):
    """"R0/PT1H" ended the instance as completed without its remaining steps; "R2/PT1S" opened the next step twice."""
    files = chain_model("trial", [("wait", "School accountant", _timer("timeCycle", value)),
                                  ("fill", "School accountant", user_task("fill", "Fill"))])
    found = _problems(files)
    assert "cannot have a cycle" in _on(found, "wait"), [str(p) for p in found]
    assert all(p.line for p in found if p.element_id == "wait")


def _boundary(value: str) -> dict[str, str]:
    boundary = (f'<bpmn:boundaryEvent id="tick" attachedToRef="fill" cancelActivity="false">'
                f'<bpmn:timerEventDefinition><bpmn:timeCycle>{value}</bpmn:timeCycle></bpmn:timerEventDefinition>'
                f'</bpmn:boundaryEvent><bpmn:endEvent id="tick_end" />')
    return chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill"))], extra_nodes=boundary,
                       extra_flows='<bpmn:sequenceFlow id="f_tick" sourceRef="tick" targetRef="tick_end" />')


def test_a_cycle_of_zero_repetitions_is_refused_anywhere(app_ctx):
    found = _problems(_boundary('"R0/PT1H"'))
    assert "repeats zero times" in _on(found, "tick"), [str(p) for p in found]
    assert not [p for p in _problems(_boundary('"R3/PT1H"')) if p.element_id == "tick"]


@pytest.mark.parametrize(("kind", "value"), [
    ("timeDuration", '"P99999999D"'), ("timeDuration", '"P10000Y"'), ("timeDuration", '"P99999999Y"'),
    ("timeDuration", '"P101Y"'), ("timeDate", '"9999-12-31T00:00:00+00:00"'), ("timeDate", '"P99999999D"')])
def test_a_timer_past_a_hundred_years_is_refused(app_ctx, kind, value):
    """"P99999999D" and "P10000Y" published and failed when reached with "date value out of range"."""
    files = chain_model("trial", [("wait", "School accountant", _timer(kind, value))])
    assert "years away" in _on(_problems(files), "wait")
    ok = chain_model("trial", [("wait", "School accountant", _timer(kind, '"P30D"'))])
    assert not [p for p in _problems(ok) if p.element_id == "wait"]


def test_a_cycle_faster_than_a_minute_is_a_notice(app_ctx):
    notices = [n for n in model_notices(_boundary('"R/PT1S"')) if "once a minute" in n.message]
    assert notices and notices[0].element_id == "tick" and notices[0].line
    assert not [n for n in model_notices(_boundary('"R/PT1M"')) if "once a minute" in n.message]
