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
    ("timeDuration", '"P101Y"'), ("timeDate", '"9999-12-31T00:00:00+00:00"')])
def test_a_timer_past_a_hundred_years_is_refused(app_ctx, kind, value):
    """"P99999999D" and "P10000Y" published and failed when reached with "date value out of range"."""
    files = chain_model("trial", [("wait", "School accountant", _timer(kind, value))])
    assert "years away" in _on(_problems(files), "wait")
    near = '"P30D"' if kind == "timeDuration" else '"2030-01-15T09:00:00+05:00"'
    ok = chain_model("trial", [("wait", "School accountant", _timer(kind, near))])
    assert not [p for p in _problems(ok) if p.element_id == "wait"]


@pytest.mark.parametrize(("kind", "value"), [
    ("timeDate", '"2150-06-01T09:00:00+05:00"'), ("timeDuration", '"P90Y"'),
    ("timeCycle", '"R3/2150-06-01T09:00:00+05:00/P1D"')])
def test_the_hundred_years_count_from_the_applications_clock(app_ctx, kind, value):
    """The check counted from the server's clock while the engine arms timers on the application's (a test's frozen
    day, the time-travel demo's): 60 years ahead of the application's 2090 was refused as past 2126, and 110 years
    ahead of its 1990 let through."""
    from datetime import UTC, datetime

    from app import clock

    if kind == "timeCycle":
        files, element = _boundary(value), "tick"
    else:
        files, element = chain_model("trial", [("wait", "School accountant", _timer(kind, value))]), "wait"
    with clock.FrozenClock(datetime(2090, 1, 1, tzinfo=UTC)):
        assert not [p for p in _problems(files) if p.element_id == element]
    if kind != "timeDuration":
        with clock.FrozenClock(datetime(1990, 1, 1, tzinfo=UTC)):
            assert "years away" in _on(_problems(files), element)


def test_a_cycle_faster_than_a_minute_is_a_notice(app_ctx):
    notices = [n for n in model_notices(_boundary('"R/PT1S"')) if "once a minute" in n.message]
    assert notices and notices[0].element_id == "tick" and notices[0].line
    assert not [n for n in model_notices(_boundary('"R/PT1M"')) if "once a minute" in n.message]


def test_a_likely_typo_in_a_condition_is_a_problem_and_an_unknown_name_a_notice(world):
    """monthly_act_v2_typo: ``decison == "accept"`` (did you mean 'decision'?) was a notice only; the published model
    then stopped acts in production."""
    gw = '<bpmn:exclusiveGateway id="gw" default="f_gw_end" />'
    flows = ('<bpmn:sequenceFlow id="f_typo" sourceRef="gw" targetRef="end">'
             '<bpmn:conditionExpression>decison == "accept"</bpmn:conditionExpression></bpmn:sequenceFlow>'
             '<bpmn:sequenceFlow id="f_unknown" sourceRef="gw" targetRef="end">'
             '<bpmn:conditionExpression>region_flag</bpmn:conditionExpression></bpmn:sequenceFlow>')
    files = chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill")),
                                  ("gw", "School accountant", gw)], extra_flows=flows)
    files["fill.schema.json"] = '{"type": "object", "properties": {"decision": {"type": "string"}}}'
    found = _problems(files)
    assert "did you mean 'decision'?" in _on(found, "f_typo"), [str(p) for p in found]
    assert not _on(found, "f_unknown")
    notices = [n for n in model_notices(files) if "no step of this model sets it" in n.message]
    assert [n.element_id for n in notices] == ["f_unknown"], [str(n) for n in notices]


def test_a_bare_word_in_a_text_output_cell_is_a_problem(world):
    from tests.modeler.factory import NORM_DMN, NORM_RULE_TASK

    files = chain_model("norms", [("decide", "School accountant", NORM_RULE_TASK)])
    files["norm.dmn"] = NORM_DMN.replace('typeRef="integer"', 'typeRef="string"').replace(
        "<text>100</text>", "<text>senior</text>")
    found = [p for p in _problems(files) if "senior" in p.message]
    assert [(p.filename, p.element_id) for p in found] == [("norm.dmn", "r1")], [str(p) for p in found]
    assert "without quotes" in found[0].message and found[0].line
    files["norm.dmn"] = files["norm.dmn"].replace("<text>senior</text>", '<text>"senior"</text>')
    assert not [p for p in _problems(files) if "senior" in p.message]


def test_the_shipped_models_have_no_problems(world):
    from sqlalchemy import select

    from app.engine.models import ProcessModelVersion
    from app.extensions import db

    versions = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")).all()
    assert versions
    for version in versions:
        _parsed, found = validate_files(version.files, process_id=version.process_id, primary=version.primary_file,
                                        lane_role=version.lane_role)
        assert found == [], (version.process_model.identifier, [str(p) for p in found])


_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_norm" name="Norms" namespace="x">
  <decision id="norm" name="Monthly norm">
    <decisionTable id="dt_norm" hitPolicy="POLICY">
      <input id="in_age" label="Age"><inputExpression id="ie_age" typeRef="integer"><text>age</text></inputExpression>
      </input>
      <input id="in_kind" label="Kind">
        <inputExpression id="ie_kind" typeRef="string"><text>kind</text></inputExpression>
      </input>
      <output id="out_norm" label="Norm" name="norm" typeRef="integer" />
      RULES
    </decisionTable>
  </decision>
</definitions>
"""


def _table(policy: str, *rules: tuple[str, str]) -> dict[str, str]:
    from tests.modeler.factory import NORM_RULE_TASK

    files = chain_model("norms", [("fill", "School accountant", user_task("fill", "Fill")),
                                  ("decide", "School accountant", NORM_RULE_TASK)])
    files["fill.schema.json"] = ('{"type": "object", "properties": {"age": {"type": "integer"}, '
                                 '"kind": {"type": "string"}}}')
    from xml.sax.saxutils import escape

    cells = "".join(f'<rule id="r{n}"><inputEntry id="r{n}a"><text>{escape(age)}</text></inputEntry>'
                    f'<inputEntry id="r{n}k"><text>{kind}</text></inputEntry>'
                    f'<outputEntry id="r{n}o"><text>{n}</text></outputEntry></rule>'
                    for n, (age, kind) in enumerate(rules, 1))
    files["norm.dmn"] = _DMN.replace("POLICY", policy).replace("RULES", cells)
    return files


def _single_input(*cells: str) -> dict[str, str]:
    """A UNIQUE table of one input (``kind``), one rule per cell."""
    from xml.sax.saxutils import escape

    files = _table("UNIQUE", ("-", "-"))
    dmn = files["norm.dmn"]
    dmn = dmn[:dmn.index('<input id="in_age"')] + dmn[dmn.index('<input id="in_kind"'):]
    rules = "".join(f'<rule id="r{n}"><inputEntry id="r{n}k"><text>{escape(cell)}</text></inputEntry>'
                    f'<outputEntry id="r{n}o"><text>{n}</text></outputEntry></rule>' for n, cell in enumerate(cells, 1))
    files["norm.dmn"] = dmn[:dmn.index("<rule ")] + rules + dmn[dmn.index("</decisionTable>"):]
    return files


@pytest.mark.parametrize(("cell", "words"), [
    ("not (70)", "FEEL's negation"), ("not(70)", "FEEL's negation"),
    ("[18..65]", "FEEL ranges are not supported"), ("]0..100[", "FEEL ranges are not supported")])
def test_feel_negation_with_a_space_and_feel_ranges_are_named(world, cell, words):
    """``not (70)`` passed (only ``not(`` was caught); ``[18..65]`` said "invalid syntax. Perhaps you forgot a
    comma?"."""
    found = _problems(_table("FIRST", (cell, "-"), ("-", "-")))
    message = _on(found, "r1")
    assert words in message and "comma" not in message, [str(p) for p in found]


def test_overlapping_rules_of_a_unique_table_are_a_notice(world):
    """probe d_unique: ``>= 18`` and ``>= 65`` both matched a 70-year-old; the engine gave the first rule's output."""
    def overlaps(files):
        return [(n.element_id, n.line) for n in model_notices(files) if "can both match" in n.message]

    assert [e for e, _line in overlaps(_table("UNIQUE", (">= 18", '"a"'), (">= 65", '"a"')))] == ["r2"]
    assert overlaps(_table("UNIQUE", (">= 18", '"a"'), (">= 65", "-")))[0][1]
    assert overlaps(_table("UNIQUE", ("18 <= ? <= 65", '"a"'), ("65", '"a"')))
    assert not overlaps(_table("UNIQUE", ("< 18", '"a"'), (">= 18", "-")))
    assert not overlaps(_table("UNIQUE", (">= 18", '"a"'), (">= 65", '"b"')))
    assert not overlaps(_table("FIRST", (">= 18", '"a"'), (">= 65", '"a"')))


def test_a_unique_or_first_table_without_a_rule_for_every_case_is_a_notice(world):
    def uncovered(files):
        return [n.element_id for n in model_notices(files) if "matches every case" in n.message]

    assert uncovered(_table("UNIQUE", ("< 18", "-"), (">= 18", '"a"'))) == ["dt_norm"]
    assert uncovered(_table("FIRST", ("< 18", "-"))) == ["dt_norm"]
    assert uncovered(_table("FIRST", ("< 18", "-"), ("-", "-"))) == []
    assert uncovered(_table("COLLECT", ("< 18", "-"))) == []


@pytest.mark.parametrize("first, second", [("< 5", ">= 5"), ('!= "accept"', '== "accept"'), ("True", "False"),
                                           ("<= 4.5", "> 4.5"), ('in ("a", "b")', 'not in ("a", "b")')])
def test_a_one_input_table_of_complementary_ranges_gets_no_every_case_notice(world, first, second):
    """Probe of the notice: every UNIQUE table of ranges without a '-' rule read "no rule matches every case"."""
    notices = [n.element_id for n in model_notices(_single_input(first, second)) if "matches every case" in n.message]
    assert notices == []
    assert [n.element_id for n in model_notices(_single_input('"urban"', '"rural"'))
            if "matches every case" in n.message] == ["dt_norm"], "a column naming values keeps it"


def _gateway(*conditions: str, default: bool = False) -> dict[str, str]:
    gw = '<bpmn:exclusiveGateway id="gw" default="f_gw_end" />' if default else '<bpmn:exclusiveGateway id="gw" />'
    flows = "".join(f'<bpmn:sequenceFlow id="c{n}" sourceRef="gw" targetRef="end">'
                    f'<bpmn:conditionExpression>{c}</bpmn:conditionExpression></bpmn:sequenceFlow>'
                    for n, c in enumerate(conditions))
    files = chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill")),
                                  ("gw", "School accountant", gw)], extra_flows=flows)
    if not default:  # the chain's own flow out of the gateway gets a condition too
        files["trial.bpmn"] = files["trial.bpmn"].replace(
            '<bpmn:sequenceFlow id="f_gw_end" sourceRef="gw" targetRef="end" />',
            '<bpmn:sequenceFlow id="f_gw_end" sourceRef="gw" targetRef="end">'
            '<bpmn:conditionExpression>x == 3</bpmn:conditionExpression></bpmn:sequenceFlow>')
    files["fill.schema.json"] = '{"type": "object", "properties": {"x": {"type": "integer"}}}'
    return files


def test_a_gateway_without_a_default_whose_conditions_can_all_be_false_is_a_notice(world):
    """probe xor_allfalse / or_allfalse: x = 5 with conditions x > 10 and x < 0 stopped the instance."""
    def said(files):
        return [n for n in model_notices(files) if "no default flow" in n.message]

    files = _gateway("x &gt; 10", "x &lt; 0")
    assert "f_gw_end" in files["trial.bpmn"] and 'x == 3' in files["trial.bpmn"]
    assert [(n.element_id, bool(n.line)) for n in said(files)] == [("gw", True)]
    assert not said(_gateway("x &gt; 10", default=True))
    assert not said(_gateway("x &gt; 10", "x &lt;= 10"))
    assert not said(_gateway("x == 1", "not (x == 1)"))


def test_a_gateway_default_that_is_not_one_of_its_flows_is_a_problem(world):
    """A default naming a flow that does not leave the gateway (a deleted flow, another gateway's) published: the
    gateway then had no default, and an instance where no condition held stopped with an incident."""
    files = _gateway("x &gt; 10", "x &lt; 0")
    files["trial.bpmn"] = files["trial.bpmn"].replace('<bpmn:exclusiveGateway id="gw" />',
                                                      '<bpmn:exclusiveGateway id="gw" default="f_fill_gw" />')
    found = _problems(files)
    assert "default flow 'f_fill_gw' is not one of the flows leaving it" in _on(found, "gw"), [str(p) for p in found]
    assert all(p.line for p in found if p.element_id == "gw")
    assert not _on(_problems(_gateway("x &gt; 10", default=True)), "gw")


def _thrower(kind: str, caught: str | None = None) -> dict[str, str]:
    ref = "errorRef" if kind == "error" else "escalationRef"
    sub = (f'<bpmn:subProcess id="sub" name="Inner"><bpmn:startEvent id="is" />'
           f'<bpmn:endEvent id="boom" name="Boom"><bpmn:{kind}EventDefinition {ref}="E1" /></bpmn:endEvent>'
           f'<bpmn:sequenceFlow id="if1" sourceRef="is" targetRef="boom" /></bpmn:subProcess>')
    files = chain_model("trial", [("sub", "School accountant", sub),
                                  ("fill", "School accountant", user_task("fill", "Fill"))])
    element = "error" if kind == "error" else "escalation"
    files["trial.bpmn"] = files["trial.bpmn"].replace(
        "<bpmn:process ", f'<bpmn:{element} id="E1" name="Boom" /><bpmn:process ', 1)
    if caught is not None:
        catch_ref = f' {ref}="{caught}"' if caught else ""
        files["trial.bpmn"] = files["trial.bpmn"].replace(
            '<bpmn:endEvent id="end" />',
            f'<bpmn:endEvent id="end" /><bpmn:boundaryEvent id="catch" attachedToRef="sub">'
            f'<bpmn:{kind}EventDefinition{catch_ref} /></bpmn:boundaryEvent><bpmn:endEvent id="caught_end" />'
            f'<bpmn:sequenceFlow id="f_caught" sourceRef="catch" targetRef="caught_end" />')
    return files


def test_an_error_end_event_nothing_catches_is_a_problem(world):
    """probe errors_esc: the error end event 'Boom' inside a subprocess ended it as if it had succeeded."""
    said = _on(_problems(_thrower("error")), "boom")
    assert "Nothing catches the error 'Boom'" in said
    assert "event subprocess" not in said, "an error event subprocess is refused (it starts with the process)"
    assert not _on(_problems(_thrower("error", caught="E1")), "boom")
    assert not _on(_problems(_thrower("error", caught="")), "boom")  # a boundary event without a ref catches all


def test_an_escalation_nothing_catches_is_a_notice(world):
    said = [n for n in model_notices(_thrower("escalation")) if "Nothing catches the escalation" in n.message]
    assert [n.element_id for n in said] == ["boom"]
    assert "event subprocess" not in said[0].message, "an escalation event subprocess is refused too"
    assert not _on(_problems(_thrower("escalation")), "boom")
    assert not [n for n in model_notices(_thrower("escalation", caught="E1")) if "Nothing catches" in n.message]


def _multi(loop: str, script: str = "items = ['a', 'b']") -> dict[str, str]:
    task = f'<bpmn:userTask id="each" name="Per item">{loop}</bpmn:userTask>'
    prep = f'<bpmn:scriptTask id="prep" name="Items"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
    return chain_model("trial", [("prep", "School accountant", prep), ("each", "School accountant", task)])


def test_a_multi_instance_collection_no_step_sets_is_said(world):
    """probe mi_card: a loop input ``itemz`` nothing set published silently and failed at start with English
    "Missing data input for multiinstance task"."""
    loop = ('<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopDataInputRef>{}'
            '</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" /></bpmn:multiInstanceLoopCharacteristics>')
    assert "'itemz' is read here" in _on(_problems(_multi(loop.format("itemz"))), "each")
    assert [n.element_id for n in model_notices(_multi(loop.format("reviewers")))
            if "'reviewers' is read here" in n.message] == ["each"]
    assert not _on(_problems(_multi(loop.format("items"))), "each")
    assert not [n for n in model_notices(_multi(loop.format("items"))) if "is read here" in n.message]


@pytest.mark.parametrize(("loop", "tool"), [
    ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item" />',
     "Camunda"),
    ('<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics '
     'inputCollection="=items" inputElement="item" /></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>',
     "Zeebe")])
def test_camunda_and_zeebe_multi_instance_say_what_to_write_instead(app, loop, tool):
    files = _multi(loop)
    files["trial.bpmn"] = files["trial.bpmn"].replace(
        "<bpmn:definitions ", '<bpmn:definitions xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" ', 1)
    with app.app_context():
        found = _problems(files)
    message = _on(found, "each")
    assert f"written for {tool}" in message and "loopDataInputRef" in message, [str(p) for p in found]
    assert "multiinstance task must specify" not in message


def test_an_exclusive_split_met_by_a_parallel_join_is_refused_naming_both(world):
    """probe xor_and_deadlock: the join waited for the branch never taken (a notice before; refused now, on the
    join — app.engine.gateway_matching)."""
    def files(join_kind: str, split_kind: str = "exclusiveGateway") -> dict[str, str]:
        split = f'<bpmn:{split_kind} id="x" name="Which?" default="fb" />'
        nodes = (f'<bpmn:userTask id="a" name="A" /><bpmn:userTask id="b" name="B" />'
                 f'<bpmn:{join_kind} id="j" name="Join" />')
        flows = ('<bpmn:sequenceFlow id="fa" sourceRef="x" targetRef="a">'
                 '<bpmn:conditionExpression>comment == "a"</bpmn:conditionExpression></bpmn:sequenceFlow>'
                 '<bpmn:sequenceFlow id="fb" sourceRef="x" targetRef="b" />'
                 '<bpmn:sequenceFlow id="fa2" sourceRef="a" targetRef="j" />'
                 '<bpmn:sequenceFlow id="fb2" sourceRef="b" targetRef="j" />')
        model = chain_model("trial", [("fill", "School accountant", user_task("fill", "Fill")),
                                      ("x", "School accountant", split), ("j", "School accountant", "")],
                            extra_nodes=nodes, extra_flows=flows)
        model["trial.bpmn"] = model["trial.bpmn"].replace(
            '<bpmn:sequenceFlow id="f_x_j" sourceRef="x" targetRef="j" />', "")
        return model

    def said(model):
        return [p for p in _problems(model) if "wait here for good" in p.message]

    model = files("parallelGateway")
    assert 'id="f_x_j"' not in model["trial.bpmn"], model["trial.bpmn"]
    (problem,) = said(model)
    assert problem.element_id == "j" and problem.line and "'Which?'" in problem.message, str(problem)
    assert not [n for n in model_notices(model) if "meet again" in n.message], "said once, as a problem"
    assert not said(files("exclusiveGateway"))
    assert not said(files("parallelGateway", split_kind="parallelGateway"))


def test_the_shipped_models_have_none_of_these_notices(world):
    from sqlalchemy import select

    from app.engine.models import ProcessModelVersion
    from app.extensions import db

    words = ("meet again", "no default flow", "Nothing catches", "matches every case", "can both match",
             "once a minute", "is read here")
    for version in db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")):
        found = [str(n) for n in model_notices(version.files) if any(w in n.message for w in words)]
        assert found == [], (version.process_model.identifier, found)


@pytest.mark.parametrize(("value", "words"), [
    ("${reminderDelay}", "written in JUEL (${...}): write it without ${ } (reminderDelay)"),
    ('=duration("PT5M")', 'written in FEEL (=duration("PT5M")): write the value itself, PT5M.'),
    ("=reminderDelay", "written in FEEL (Zeebe's =...): write the ISO 8601 value itself (PT5M)")])
def test_a_juel_or_feel_timer_gets_its_own_hint(app_ctx, value, words):
    """probe timers.bpmn: "Expression rejected: syntax error: the line cannot be read as Python"."""
    files = chain_model("trial", [("wait", "School accountant", _timer("timeDuration", value))])
    message = _on(_problems(files), "wait")
    assert words in message and "cannot be read as Python" not in message, message


def test_a_feel_condition_gets_its_own_hint(app_ctx):
    """probe zeebe_order: ``=ok = true`` said only "cannot be read as Python"."""
    gw = '<bpmn:exclusiveGateway id="gw" default="f_gw_end" />'
    files = chain_model("trial", [("gw", "School accountant", gw)], extra_flows=(
        '<bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="end">'
        '<bpmn:conditionExpression>=ok = true</bpmn:conditionExpression></bpmn:sequenceFlow>'))
    message = _on(_problems(files), "f_yes")
    assert "written in FEEL" in message and "cannot be read as Python" not in message, message


def test_an_unreachable_element_is_said_in_the_same_round_as_the_engines_problems(app_ctx):
    """probe zeebe_order: with a service task the engine refused, the orphan was said only a round later."""
    files = chain_model("trial", [("svc", "School accountant", '<bpmn:serviceTask id="svc" name="Call" />')])
    files["trial.bpmn"] = files["trial.bpmn"].replace(
        '<bpmn:endEvent id="end" />', '<bpmn:endEvent id="end" />' + user_task("orphan", "Nobody gets here"))
    found = _problems(files)
    assert _on(found, "svc") and "cannot be reached" in _on(found, "orphan"), [str(p) for p in found]


def test_a_conditional_catch_event_is_a_problem(app_ctx):
    """probe conditional.bpmn: "wait until x > 3" published; SpiffWorkflow checks the condition once, when the token
    arrives, on the step's own data — it waited for good, even after another branch set x = 5."""
    event = ('<bpmn:intermediateCatchEvent id="until" name="Until x &gt; 3"><bpmn:conditionalEventDefinition>'
             '<bpmn:condition xsi:type="bpmn:tFormalExpression">x &gt; 3</bpmn:condition>'
             '</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>')
    files = chain_model("trial", [("until", "School accountant", event)])
    files["trial.bpmn"] = files["trial.bpmn"].replace(
        "<bpmn:definitions ", '<bpmn:definitions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ', 1)
    assert "checked only once" in _on(_problems(files), "until")


def test_a_duration_in_a_date_timer_is_refused(app_ctx):
    """Found while fixing the probe: a date timer ("timeDate") holding "P30D" was accepted and failed when reached
    ("'<' not supported between instances of 'dict' and 'datetime.datetime'")."""
    files = chain_model("trial", [("wait", "School accountant", _timer("timeDate", '"P30D"'))])
    assert "is a duration, but this timer waits for a date" in _on(_problems(files), "wait")


def test_the_notices_of_a_form_nested_past_the_recursion_limit_do_not_fail(app_ctx):
    """The names check read every form with json.loads and caught ValueError only: a form nested past Python's
    recursion limit raised RecursionError out of the editor's notices (and, once typos became problems, out of
    validation: tests/engine/test_deep_loops.py)."""
    from tests.modeler.factory import two_step

    files = two_step()
    files["fill.schema.json"] = "[" * 100_000 + "]" * 100_000
    assert isinstance(model_notices(files), list)


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_a_gateway_no_condition_of_which_holds_refuses_the_step_in_words(world, kind):
    """The notice above was read and the model published: *Fill* with x = 5 was refused with SpiffWorkflow's English
    "No conditions satisfied for gw." (or "No conditions satisfied on gateway", no name at all). The person is told
    which gateway, that none of its conditions holds and that it has no default flow; nothing is saved, the task
    stays open."""
    from sqlalchemy import select

    from app.engine import runtime
    from app.engine.errors import StepFailed
    from app.engine.models import HumanTask
    from app.engine.publishing import publish_version
    from app.extensions import db
    from app.processes.trials import start_trial
    from tests.helpers import user

    files = _gateway("x &gt; 10", "x &lt; 0")
    files["trial.bpmn"] = files["trial.bpmn"].replace('<bpmn:exclusiveGateway id="gw" />',
                                                      f'<bpmn:{kind} id="gw" name="Which way?" />')
    version, _ = publish_version(files)
    db.session.commit()
    owner = user("owner")
    instance = start_trial(version.process_model, owner)
    db.session.commit()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
    with pytest.raises(StepFailed) as failed:
        runtime.complete_task(task.id, owner, data={"x": 5})
    db.session.rollback()
    message = str(failed.value)
    assert message.startswith("Which way?: ") and "none of the conditions" in message and "default" in message, message
    assert "No conditions satisfied" not in message
    assert db.session.get(HumanTask, task.id).status == "open"
