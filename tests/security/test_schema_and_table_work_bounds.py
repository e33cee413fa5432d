"""Checks of what a process owner writes — a form's field default, a table's ``uniqueItems``, a decision table's
cells — finish in time linear in what they check, and reach nothing outside the form.

* A field's ``default`` was checked against the field by jsonschema's own validator: a ``pattern`` matched with
  Python's backtracking re (``^(a+)+$`` and 30 a's and a "!" held the worker for a minute), and a ``$ref`` fetched
  any URL. The live form preview runs that check on every keystroke, and an auditor (read-only) may use it.
* ``uniqueItems`` compared every pair of rows (objects cannot be sorted): an act of 4,000 lines took 38 s to
  check, on every submit of the task.
* Two regexes of the decision-table check backtracked polynomially on a crafted cell: 10 s for a FEEL-range-like
  cell of 1,600 characters, 18 s for 20,000 ``?`` and a quote.

Each check runs in a thread, so a regression fails here instead of hanging the suite.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from app.engine.forms import form_shape_problems, validate
from app.engine.specs import validate_files
from tests.modeler.factory import NORM_RULE_TASK, chain_model, user_task

SECONDS = 20


def _within(seconds: float, work):
    """``work()``'s answer, or fail if it does not finish in ``seconds``."""
    answers: list = []
    errors: list = []

    def run():
        try:
            answers.append(work())
        except Exception as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    # A regex holds the GIL for as long as it runs: the join then returns only when it ends, so the time is checked too.
    assert not worker.is_alive() and time.monotonic() - started < seconds, f"the check did not finish in {seconds} s"
    assert not errors, errors
    return answers[0]



def _form(field: dict) -> dict:
    return {"type": "object", "properties": {"note": field}}


# --- a field's default ------------------------------------------------------------------------------------------


@pytest.fixture
def python_re_calls(monkeypatch):
    """Every match jsonschema's own keywords (``pattern``, ``patternProperties``) would make with Python's re: the
    forms' validator matches with RE2, and a default under ``patternProperties`` is not checked at all."""
    import jsonschema._keywords

    calls: list[tuple] = []

    class Recorder:
        def search(self, pattern, text, *args, **kwargs):
            calls.append((pattern, text))
            return None

    monkeypatch.setattr(jsonschema._keywords, "re", Recorder())
    return calls


def test_a_default_is_checked_against_its_pattern_by_re2(app, python_re_calls):
    """``^(a+)+$`` against 40 a's and a "!": 2⁴⁰ ways for Python's re, at once for RE2."""
    form = _form({"type": "string", "pattern": "^(a+)+$", "default": "a" * 40 + "!"})
    with app.test_request_context():
        problems = _within(SECONDS, lambda: form_shape_problems(form, {}))
    assert python_re_calls == []
    assert any("default of field note" in message for _part, message in problems), problems
    good = _form({"type": "string", "pattern": "^(a+)+$", "default": "a" * 40})
    with app.test_request_context():
        assert form_shape_problems(good, {}) == []


def test_a_default_object_is_not_matched_against_pattern_properties(app, python_re_calls):
    """``patternProperties`` is refused (jsonschema matches its keys with Python's re): its default is not checked."""
    form = _form({"type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}},
                  "default": {"a" * 40 + "!": 1}})
    with app.test_request_context():
        problems = _within(SECONDS, lambda: form_shape_problems(form, {}))
    assert python_re_calls == []
    assert any("patternProperties is not supported" in message for _part, message in problems), problems


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_a_reference_in_a_default_field_is_not_fetched(app, listener, tmp_path, scheme):
    port, hits = listener
    target = tmp_path / "other.json"
    target.write_text('{"type": "integer"}')
    ref = f"http://127.0.0.1:{port}/ssrf.json" if scheme == "http" else target.as_uri()
    form = _form({"$ref": ref, "default": "text"})
    with app.test_request_context():
        problems = _within(SECONDS, lambda: form_shape_problems(form, {}))
    assert hits == []
    assert any("points outside the form" in message for _part, message in problems)
    # Read, the file would have made the default "not a valid answer" (it is not an integer).
    assert not any("default of field" in message for _part, message in problems), problems


def test_the_preview_of_an_auditor_sends_no_request_for_a_default(world, browser, listener):
    port, hits = listener
    schema = _form({"type": "string", "default": "x", "allOf": [{"$ref": f"http://127.0.0.1:{port}/a.json"}]})
    response = browser("auditor").post("/modeler/forms/preview", {"schema": json.dumps(schema), "uischema": "{}"})
    assert response.status_code == 200
    assert hits == []


# --- uniqueItems ------------------------------------------------------------------------------------------------

TABLE = {"type": "object", "properties": {"lines": {
    "type": "array", "uniqueItems": True,
    "items": {"type": "object", "properties": {"iin": {"type": "string"}, "days": {"type": "integer"}}}}}}


def test_unique_rows_of_a_big_table_are_checked_in_linear_time(app):
    rows = [{"iin": f"{n:012d}", "days": 20} for n in range(10_000)]
    with app.test_request_context():
        assert _within(SECONDS, lambda: validate(TABLE, {"lines": rows})) == {}
        repeated = rows + [{"days": 20, "iin": rows[5000]["iin"]}]  # the same row, its keys in another order
        assert list(_within(SECONDS, lambda: validate(TABLE, {"lines": repeated}))) == ["lines"]


@pytest.mark.parametrize(("items", "unique"), [
    ([1, 1.0], False), ([1, True], True), ([0, False], True), ([None, False], True), (["1", 1], True),
    ([[1, 2], [1, 2]], False), ([[1], [True]], True), ([{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}], False),
    ([{"a": 1}, {"a": 1, "b": None}], True)])
def test_unique_items_keeps_json_schema_equality(app, items, unique):
    schema = {"type": "object", "properties": {"values": {"type": "array", "uniqueItems": True}}}
    with app.test_request_context():
        assert (validate(schema, {"values": items}) == {}) is unique


# --- decision-table cells ---------------------------------------------------------------------------------------

_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_norm" name="Norms" namespace="x">
  <decision id="norm" name="Monthly norm">
    <decisionTable id="dt_norm" hitPolicy="FIRST">
      <input id="in_age" label="Age"><inputExpression id="ie_age" typeRef="integer"><text>age</text></inputExpression>
      </input>
      <output id="out_norm" label="Norm" name="norm" typeRef="integer" />
      <rule id="r1"><inputEntry id="r1a"><text>CELL</text></inputEntry>
        <outputEntry id="r1o"><text>1</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _table(cell: str) -> dict[str, str]:
    from xml.sax.saxutils import escape

    files = chain_model("norms", [("fill", "School accountant", user_task("fill", "Fill")),
                                  ("decide", "School accountant", NORM_RULE_TASK)])
    files["fill.schema.json"] = '{"type": "object", "properties": {"age": {"type": "integer"}}}'
    files["norm.dmn"] = _DMN.replace("CELL", escape(cell))
    return files


@pytest.mark.parametrize("cell", ["[a" + " " * 1000 + "..b" + " " * 1000 + "x",  # 35 s with Python's re
                                  "?" * 20_000 + "'"])  # 18 s
def test_a_crafted_decision_table_cell_is_checked_in_linear_time(world, cell):
    found = _within(8, lambda: validate_files(_table(cell))[1])
    assert any(p.element_id == "r1" for p in found), [str(p) for p in found]


@pytest.mark.parametrize(("cell", "words"), [("[18..65]", "FEEL ranges are not supported"),
                                             ("[18\u00a0..\u200965]", "FEEL ranges are not supported"),
                                             ("? > 'a?'", None), ("? in ('?', \"?\")", None)])
def test_decision_table_cells_read_as_before(world, cell, words):
    found = [p.message for p in validate_files(_table(cell))[1] if p.element_id == "r1"]
    assert (words in " | ".join(found)) if words else not found, found


class _Engine:
    """What ``DMNEngine.evaluate`` asks of the script engine, evaluated as the engine would for these cells."""

    def __init__(self):
        self.evaluated: list[str] = []

    def evaluate(self, task, expression, external_context=None):
        self.evaluated.append(expression)
        return True

    def validate(self, expression):
        compile(expression, "<cell>", "eval")


def test_a_cell_that_passes_the_checks_is_evaluated_in_linear_time(world):
    """``> 1 # ??…?'``: valid Python (the marks are a comment), so the model publishes; the library's regex then
    rescanned the cell for each mark at every evaluation (10 s at 10,000)."""
    from types import SimpleNamespace

    from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

    import app.engine.runtime  # noqa: F401 - installs the engine's decision-table behaviour

    cell = "> 1 # " + "?" * 20_000 + "'"
    assert not [p for p in validate_files(_table(cell))[1] if p.element_id == "r1"]
    engine = _Engine()
    task = SimpleNamespace(workflow=SimpleNamespace(script_engine=engine))
    table = DMNEngine.__new__(DMNEngine)
    assert _within(8, lambda: table.evaluate("age", cell, task)) is True
    assert engine.evaluated == ["age" + cell]
    engine.evaluated.clear()
    assert table.evaluate("age", "18 <= ? < 'a?' and ? != \"?\"", task) is True
    assert engine.evaluated == ["age", "18 <= dmninputexpr < 'a?' and dmninputexpr != \"?\""]
