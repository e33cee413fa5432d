"""RestrictedScriptEngine: real BPMN runs, sandbox escapes, service tasks, time limits."""

from __future__ import annotations

import decimal
import os
from datetime import datetime
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from app.engine.scripting import (
    RestrictedScriptEngine,
    RestrictedTaskDataEnvironment,
    ScriptLimitExceeded,
    ScriptProblem,
    ScriptRejected,
    check_script,
)
from app.engine.xml import parse_model_xml

PROCESS_ID = "scripted"

DEFAULT_SCRIPT = """\
def double(x):
    return x * 2
total = sum(double(a) for a in amounts)
label = "total=" + str(total)
fee = Decimal("0.10") * total
due = datetime(2024, 1, 31) + timedelta(days=len(amounts))
square = lambda v: v * v
biggest = max(amounts)
counts = {k: v for k, v in zip(["a", "b"], [1, 2])}
"""


def _bpmn(script: str = DEFAULT_SCRIPT, condition: str = "total > 100",
          params: dict[str, str] | None = None) -> str:
    """start -> script -> gateway -(condition)-> high -> service -> end ; default -> low -> end."""
    if params is None:
        params = {"amount": "total + 1", "who": "'school-' + str(school_id)"}
    param_xml = "\n".join(
        f'<spiffworkflow:parameter id="{name}" type="str" value={quoteattr(value)} />'
        for name, value in params.items()
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{PROCESS_ID}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:scriptTask id="compute" name="Compute">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" name="Big?" default="f_low">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_high</bpmn:outgoing>
      <bpmn:outgoing>f_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_high" sourceRef="gw" targetRef="high">
      <bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_low" sourceRef="gw" targetRef="low" />
    <bpmn:scriptTask id="high" name="High">
      <bpmn:incoming>f_high</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>route = "high"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="high" targetRef="verify" />
    <bpmn:serviceTask id="verify" name="Verify">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="acts/verify" resultVariable="verification">
          <spiffworkflow:parameters>
            {param_xml}
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f4" sourceRef="verify" targetRef="end_high" />
    <bpmn:endEvent id="end_high"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:scriptTask id="low" name="Low">
      <bpmn:incoming>f_low</bpmn:incoming>
      <bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>route = "low"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f5" sourceRef="low" targetRef="end_low" />
    <bpmn:endEvent id="end_low"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


class Recorder:
    """A service caller recording its calls."""

    def __init__(self, result='{"ok": true, "score": 7}'):
        self.calls: list[tuple[object, str, dict]] = []
        self.result = result

    def __call__(self, task, operation_name, params):
        self.calls.append((task, operation_name, params))
        return self.result


def _workflow(xml: str, engine, **data) -> BpmnWorkflow:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_xml(parse_model_xml(xml.encode("utf-8"), "scripted.bpmn"), filename="scripted.bpmn")
    wf = BpmnWorkflow(parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID),
                      script_engine=engine)
    start = wf.get_tasks(state=TaskState.READY)[0]
    start.data.update(data)
    return wf


def _final_data(wf: BpmnWorkflow) -> dict:
    return wf.get_tasks(spec_name="end_high")[0].data if wf.get_tasks(
        spec_name="end_high", state=TaskState.COMPLETED) else wf.get_tasks(spec_name="end_low")[0].data


def _run_expecting_failure(wf: BpmnWorkflow) -> WorkflowTaskException:
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    assert not wf.is_completed()
    assert wf.get_tasks(state=TaskState.ERROR), "the failing task must be in ERROR"
    return info.value


@pytest.fixture
def system_calls(monkeypatch):
    """Record (instead of run) os.system, so an escaped sandbox is visible but harmless."""
    calls: list[str] = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    return calls


# ------------------------------------------------------------------------------------------------
# A real workflow under the restricted engine


def test_script_task_gateway_and_service_task_run_under_restricted_engine():
    service = Recorder()
    wf = _workflow(_bpmn(), RestrictedScriptEngine(service_caller=service), amounts=[30, 40], school_id=5)
    wf.do_engine_steps()

    assert wf.is_completed()
    data = _final_data(wf)
    assert data["total"] == 140
    assert data["label"] == "total=140"
    assert data["fee"] == Decimal("14.00")
    assert data["due"].isoformat() == "2024-02-02T00:00:00"
    assert data["biggest"] == 40
    assert data["counts"] == {"a": 1, "b": 2}
    assert data["route"] == "high"
    # functions and lambdas defined by the script never reach task data
    assert "double" not in data and "square" not in data
    assert not any(callable(v) for v in data.values())
    assert not any(k.startswith("_") for k in data)
    # the service caller got evaluated parameter values as a plain dict
    assert len(service.calls) == 1
    task, operation, params = service.calls[0]
    assert operation == "acts/verify"
    assert params == {"amount": 141, "who": "school-5"}
    assert task.task_spec.bpmn_id == "verify"
    assert data["verification"] == {"ok": True, "score": 7}


def test_gateway_default_branch():
    service = Recorder()
    wf = _workflow(_bpmn(), RestrictedScriptEngine(service_caller=service), amounts=[1, 2], school_id=5)
    wf.do_engine_steps()
    assert wf.is_completed()
    data = wf.get_tasks(spec_name="end_low")[0].data
    assert data["total"] == 6
    assert data["route"] == "low"
    assert service.calls == []


# ------------------------------------------------------------------------------------------------
# Escapes: rejected statically (check_script) and when the workflow runs

ATTACKS = {
    "import": "import os\nos.system('true')",
    "from_import": "from os import system\nsystem('true')",
    "open": "data = open('/etc/hostname').read()",
    "subclasses": "classes = ().__class__.__base__.__subclasses__()",
    "dunder_import": "__import__('os').system('true')",
    "getattr_globals": "g = getattr(double, '__globals__')",
    "private_attr": "x = amounts._private",
    "eval": "eval('1 + 1')",
    "exec": "exec('x = 1')",
    "compile": "c = compile('1', 'x', 'eval')",
    "frame_walk": "f = (i for i in [1]).gi_frame.f_back.f_globals",
    "format_escape": "s = '{0.__class__}'.format(1)",
    # str as scripts see it is not a subclass of str, so RestrictedPython's own check of "format" let this read
    # the app's SECRET_KEY through a function's globals
    "str_type_format": "s = str.format('{0.__globals__[traceback].sys.modules}', repr)",
    "str_type_format_map": "s = str.format_map('{x.__class__}', {'x': 1})",
    "format_by_map": "s = list(map(str.format, ['{0.__class__}'], [1]))",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_rejected_by_check_script_with_line_number(name):
    source = "x = 1\n" + ATTACKS[name]
    problems = check_script(source)
    assert problems, f"{name} should be rejected"
    assert all(isinstance(p, ScriptProblem) for p in problems)
    assert problems[0].line == 2
    assert not problems[0].message.startswith("Line")


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_fails_when_the_workflow_runs(name, system_calls):
    script = "x = 1\n" + ATTACKS[name] + "\nleaked = True"
    wf = _workflow(_bpmn(script=script), RestrictedScriptEngine(service_caller=Recorder()), amounts=[1])
    err = _run_expecting_failure(wf)
    failing = wf.get_tasks(state=TaskState.ERROR)[0]
    assert failing.task_spec.bpmn_id == "compute"
    assert "leaked" not in failing.data
    assert system_calls == []
    assert isinstance(err.__cause__, ScriptRejected)
    assert err.__cause__.line == 2
    assert err.line_number == 2
    assert err.error_type == "ScriptRejected"


def test_hostname_is_not_read_even_when_open_is_smuggled_in_without_a_call():
    with open("/etc/hostname") as fh:
        hostname = fh.read().strip()
    script = "f = open\nhost = f('/etc/hostname').read()"
    assert check_script(script) == []  # no call of the name "open" -> only caught at run time
    wf = _workflow(_bpmn(script=script), RestrictedScriptEngine(service_caller=Recorder()), amounts=[1])
    err = _run_expecting_failure(wf)
    assert isinstance(err.__cause__, NameError)
    assert err.line_number == 1
    failing = wf.get_tasks(state=TaskState.ERROR)[0]
    assert "host" not in failing.data
    assert hostname not in repr(failing.data)


def test_gateway_condition_cannot_import(system_calls):
    condition = "__import__('os').system('true')"
    wf = _workflow(_bpmn(condition=condition), RestrictedScriptEngine(service_caller=Recorder()),
                   amounts=[1])
    err = _run_expecting_failure(wf)
    assert isinstance(err.__cause__, ScriptRejected)
    assert "__import__" in err.__cause__.reason
    assert system_calls == []
    assert check_script(condition, mode="eval")


def test_control_default_engine_does_run_the_gateway_attack(system_calls):
    """Proves the attack above is real: the library's default engine executes it."""
    condition = "__import__('os').system('true') == 0"
    wf = _workflow(_bpmn(script="total = 1", condition=condition), PythonScriptEngine(), amounts=[1])
    try:
        wf.do_engine_steps()
    except Exception:  # noqa: S110 - the service task has no caller in the default engine
        pass
    assert system_calls == ["true"]


def test_runtime_guards(system_calls):
    env = RestrictedTaskDataEnvironment()
    from datetime import datetime

    with pytest.raises(TypeError, match="^attribute-less object"):  # write guard: only dicts and lists are writable
        env.execute("d.year = 1", {"d": datetime(2024, 1, 1)})
    with pytest.raises(NameError):
        env.execute("f = open\nf('/etc/hostname')", {})
    with pytest.raises(NameError):
        env.evaluate("type", {})
    with pytest.raises(ScriptRejected, match="use an f-string"):
        env.evaluate("'{0.__class__}'.format(1)", {})
    with pytest.raises(TypeError, match="^attribute-less object"):  # the shared math namespace is read-only
        env.execute("math.ceil = 1", {})
    with pytest.raises(ScriptRejected) as info:
        env.evaluate("(1).__class__", {})
    assert info.value.line == 1
    assert system_calls == []


def test_nothing_reached_through_a_builtin_type_formats_by_name_or_widens():
    """Every attribute of every type a script is given, read through the run-time guard: no ``format``/``format_map``
    (a format string walks attributes by name, past every other check) on any, and through ``str`` only the
    listed methods (``str.format`` came through the script's own ``str`` type, which is not a str subclass)."""
    from app.engine.scripting import _STR_TYPE_METHODS, SAFE_BUILTINS, _guarded_getattr

    for builtin_name, ob in SAFE_BUILTINS.items():
        for name in sorted({*dir(ob), *dir(str), "format", "format_map"}):
            if name.startswith("_"):
                continue
            try:
                _guarded_getattr(ob, name)
            except (AttributeError, NotImplementedError):
                continue
            assert name not in ("format", "format_map"), (builtin_name, name)
            if builtin_name == "str":
                assert name in _STR_TYPE_METHODS, name
    with pytest.raises(AttributeError, match="f-string"):
        _guarded_getattr("{0}", "format")
    with pytest.raises(AttributeError):
        _guarded_getattr(SAFE_BUILTINS["str"], "maketrans")
    assert _guarded_getattr(SAFE_BUILTINS["str"], "upper")("a") == "A"


# ------------------------------------------------------------------------------------------------
# Service tasks


def test_service_caller_exception_propagates_unchanged():
    class OperatorDown(RuntimeError):
        pass

    boom = OperatorDown("registry unavailable")

    def caller(task, operation_name, params):
        raise boom

    wf = _workflow(_bpmn(), RestrictedScriptEngine(service_caller=caller), amounts=[100, 100], school_id=1)
    with pytest.raises(OperatorDown) as info:
        wf.do_engine_steps()
    assert info.value is boom
    assert str(info.value) == "registry unavailable"
    assert [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.ERROR)] == ["verify"]


def test_service_parameter_expressions_are_restricted(system_calls):
    service = Recorder()
    params = {"amount": "__import__('os').system('true')"}
    wf = _workflow(_bpmn(params=params), RestrictedScriptEngine(service_caller=service),
                   amounts=[100, 100], school_id=1)
    err = _run_expecting_failure(wf)
    assert isinstance(err.__cause__, ScriptRejected)
    assert service.calls == [] and system_calls == []


def test_service_caller_returning_a_python_value_is_json_encoded():
    wf = _workflow(_bpmn(), RestrictedScriptEngine(service_caller=lambda t, o, p: {"echo": p}),
                   amounts=[100, 100], school_id=3)
    wf.do_engine_steps()
    assert _final_data(wf)["verification"] == {"echo": {"amount": 401, "who": "school-3"}}


def test_missing_service_caller_is_an_error():
    wf = _workflow(_bpmn(), RestrictedScriptEngine(), amounts=[100, 100], school_id=3)
    with pytest.raises(NotImplementedError):
        wf.do_engine_steps()


# ------------------------------------------------------------------------------------------------
# Time limits and oversized operations


@pytest.mark.parametrize("script", [
    "while True:\n    pass",
    "x = [i for i in range(1000000) for j in range(1000000)]",
    "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(60)",
    "f = lambda n: f(n - 1) + f(n - 1) if n else 1\nx = f(60)",
    # swallowing the interruption does not help: the loop in the handler is stopped as well ...
    "try:\n    while True:\n        pass\nexcept:\n    while True:\n        pass",
    # ... and finishing "normally" after catching it still fails the script
    "try:\n    while True:\n        pass\nexcept:\n    pass\nok = 1",
])
def test_runaway_scripts_are_stopped(script):
    # A step budget, not a stopwatch: the time limit (an hour here) can never be what stops them.
    env = RestrictedTaskDataEnvironment(time_limit=3600.0, max_steps=20_000)
    context = {}
    with pytest.raises(ScriptLimitExceeded, match="exceeded its budget of 20000 steps$"):
        env.execute(script, context)
    assert "ok" not in context


def test_wall_clock_limit(monkeypatch):
    """The time limit, on a fake clock that advances 10 ms per reading: deterministic on a loaded machine."""
    from app.engine import scripting

    readings = iter(range(10**9))
    monkeypatch.setattr(scripting.time, "monotonic", lambda: next(readings) / 100)
    env = RestrictedTaskDataEnvironment(time_limit=0.2, max_steps=None)
    with pytest.raises(ScriptLimitExceeded, match="exceeded its time limit of 0.2 s$") as info:
        env.execute("x = 0\nwhile True:\n    x = sorted(range(20))", {})
    assert info.value.line == 2
    # Checked every 128 steps: the deadline (20 readings) passes at the 21st check, not long after.
    assert next(readings) <= 25


#: Each refused before the operation runs (so without allocating its result), with the exact reason.
_INT = "integer result (~{} bits, limit 100000) would be too large"
_SEQ = "repeated sequence ({} items, limit 1000000) would be too large"
_SUM = "sum() of sequences is not allowed; build the list with a comprehension"
BOMBS = {
    "x = 10 ** 10 ** 10": (ScriptLimitExceeded, "line 1: " + _INT.format(30000000000)),
    "x = 'a' * 10 ** 10": (ScriptLimitExceeded, "line 1: " + _SEQ.format(10000000000)),
    "x = [0] * 10 ** 10": (ScriptLimitExceeded, "line 1: " + _SEQ.format(10000000000)),
    "x = 10 ** 10 * [0]": (ScriptLimitExceeded, "line 1: " + _SEQ.format(10000000000)),
    "x = [0]\nx *= 10 ** 10": (ScriptLimitExceeded, "line 2: " + _SEQ.format(10000000000)),
    "x = 1 << 10 ** 10": (ScriptLimitExceeded, "line 1: " + _INT.format(10000000001)),
    "x = 7\nx **= 10 ** 9": (ScriptLimitExceeded, "line 2: " + _INT.format(2000000000)),
    "x = 1\nx <<= 10 ** 9": (ScriptLimitExceeded, "line 2: " + _INT.format(1000000001)),
    "x = range(10 ** 12)": (ScriptLimitExceeded,
                            "line 1: range() of 1000000000000 items (limit 1000000) would be too large"),
    # One call or one operator that blows a small value up (a process owner's trial ran 14 doublings in the web
    # process; 24 would have taken it down).
    "s = 'a' * 1000\n" + "s = s + s\n" * 30: (ScriptLimitExceeded,
                                                 "line 11: joined sequence (1024000 items, limit 1000000) would be "
                                                 "too large"),
    "s = 'a' * 600000\ns += s": (ScriptLimitExceeded,
                                 "line 2: joined sequence (1200000 items, limit 1000000) would be too large"),
    "x = 'a'.ljust(10 ** 9)": (ScriptLimitExceeded, "line 1: ljust() result (1000000000 items, limit 1000000) would "
                                                    "be too large"),
    "x = 'a'.zfill(10 ** 9)": (ScriptLimitExceeded, "line 1: zfill() result (1000000000 items, limit 1000000) would "
                                                    "be too large"),
    "x = ('\t' * 1000).expandtabs(10 ** 6)": (ScriptLimitExceeded, "line 1: expandtabs() result (1000000000 items, "
                                                                   "limit 1000000) would be too large"),
    "s = 'a' * 1001\nx = s.replace('a', s)": (ScriptLimitExceeded, "line 2: replace() result (1002001 items, "
                                                                    "limit 1000000) would be too large"),
    "s = 'a' * 1000\nx = s.join([s] * 1001)": (ScriptLimitExceeded, "line 2: join() result (2001000 items, limit "
                                                                     "1000000) would be too large"),
    "x = f'{1:>999999999}'": (ScriptLimitExceeded, "line 1: formatted field (spec '>999999999', limit 1000000 "
                                                   "characters) would be too large"),
    # printf-style formats pad to the widths they name; Decimal's exponent makes int() and 'f' formats huge.
    "n = len('%300000000d' % 0)": (ScriptLimitExceeded, "line 1: formatted text (300000011 items, limit 1000000) "
                                                        "would be too large"),
    "x = '%.200000000f' % 1.0": (ScriptLimitExceeded, "line 1: formatted text (200000012 items, limit 1000000) "
                                                      "would be too large"),
    "x = b'%200000000d' % 0": (ScriptLimitExceeded, "line 1: formatted text (200000011 items, limit 1000000) "
                                                    "would be too large"),
    "x = '%*d' % (10 ** 8, 0)": (ScriptLimitExceeded, "line 1: a width or precision taken from the arguments (%*d) "
                                                      "is not allowed"),
    "x = '%600000d%600000d' % (1, 2)": (ScriptLimitExceeded, "line 1: formatted text (1200016 items, limit "
                                                             "1000000) would be too large"),
    "x = '%d'\nx %= 0\nx = '%900000d%900000d'\nx %= (1, 2)": (
        ScriptLimitExceeded, "line 4: formatted text (1800016 items, limit 1000000) would be too large"),
    "n = int(Decimal('1e600000')) > 0": (ScriptLimitExceeded, "line 1: Decimal with exponent 600000 (limit ±30000) "
                                                             "would be too large"),
    "x = f\"{Decimal('1e-100000000'):f}\"": (ScriptLimitExceeded, "line 1: Decimal with exponent -100000000 "
                                                                     "(limit ±30000) would be too large"),
    "x = Decimal((0, (1,), 600000))": (ScriptLimitExceeded, "line 1: Decimal with exponent 600000 (limit ±30000) "
                                                            "would be too large"),
    "n = int(Decimal('1e29999') * Decimal('1e29999'))": (
        decimal.Overflow, "[<class 'decimal.Overflow'>]"),
    "x = sum([[1]] * 1000, [])": (TypeError, _SUM),
    "x = sum(['a'], '')": (TypeError, _SUM),
}


@pytest.mark.parametrize(("source", "message"), [
    ("x = [0] * 600000\nx += x", "line 2: joined sequence (1200000 items, limit 1000000) would be too large"),
    ("x = [0] * 600000\nx.extend(x)", "line 2: extended list (1200000 items, limit 1000000) would be too large"),
    ("x = [0] * 600000\ny = x + x", "line 2: joined sequence (1200000 items, limit 1000000) would be too large"),
])
def test_doubling_a_list_is_refused_like_repeating_it(source, message):
    with pytest.raises(ScriptLimitExceeded) as info:
        RestrictedTaskDataEnvironment().execute(source, {})
    assert str(info.value) == message


@pytest.mark.parametrize(("source", "value"), [
    ("'a' + 'b'", "ab"), ("[1] + [2]", [1, 2]), ("(1,) + (2,)", (1, 2)), ("1 + 2", 3), ("1.5 + 1", 2.5),
    ("'ab'.ljust(5, '.')", "ab..."), ("'7'.zfill(3)", "007"), ("'a,b'.replace(',', ', ')", "a, b"),
    ("'-'.join(['a', 'b'])", "a-b"), ("'-'.join(x for x in 'ab')", "a-b"), ("f'{3.14159:.2f}'", "3.14"),
    ("f'{\"x\"!r:>5}'", "  'x'"), ("f'{12:>6}'", "    12"), ("'\t'.expandtabs(4)", "    "),
    ("'%5.1f|%-3s|%%|%(a)s' % {'a': 1} if False else '%5.1f|%-3s|%%' % (2.25, 'x')", "  2.2|x  |%"),
    ("7 % 3", 1), ("Decimal('1.10') + Decimal('2.205')", Decimal("3.305")), ("isinstance(Decimal(1), Decimal)", True),
    ("int(Decimal('1e300'))", 10 ** 300), ("b'%03d' % 7", b"007"),
])
def test_the_bounded_operations_still_give_their_ordinary_results(source, value):
    assert RestrictedTaskDataEnvironment().evaluate(source, {}) == value


def test_extend_keeps_the_list_and_its_bound():
    data = {"x": [1]}
    RestrictedTaskDataEnvironment().execute("y = x\nx.extend([2, 3])\nx += [4]\nsame = y is x", data)
    assert data["x"] == [1, 2, 3, 4] and data["same"] is True


@pytest.mark.parametrize("source", sorted(BOMBS))
def test_single_operation_bombs_fail_fast(source):
    import tracemalloc

    error, message = BOMBS[source]
    env = RestrictedTaskDataEnvironment()
    tracemalloc.start()
    try:
        with pytest.raises(error) as info:
            env.execute(source, {})
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert type(info.value) is error
    assert str(info.value) == message
    assert peak < 2_000_000, "refused before the result was built (a size budget, not a stopwatch)"


@pytest.mark.parametrize("source, value", [
    ("2 ** 10", 1024), ("(-3) ** 3", -27), ("2 ** 0", 1), ("2 ** -1", 0.5), ("2.5 ** 2", 6.25),
    ("1 ** (10 ** 9)", 1), ("(-1) ** (10 ** 9 + 1)", -1), ("0 ** (10 ** 9)", 0),
    ("(2 ** 100000).bit_length()", 100001),  # exactly at the limit: allowed
    ("3 * 4", 12), ("'ab' * 3", "ababab"), ("3 * 'ab'", "ababab"), ("[1] * 3", [1, 1, 1]), ("2.5 * 2", 5.0),
    ("len('a' * 1000000)", 1000000), ("len(1000000 * [0])", 1000000),
    ("((2 ** 50000) * (2 ** 49990)).bit_length()", 99991),
    ("1 << 10", 1024), ("5 << 0", 5), ("0 << (10 ** 9)", 0), ("(1 << 99999).bit_length()", 100000),
    ("-1 << 3", -8), ("sum([1, 2], 10)", 13), ("sum([])", 0), ("sum([0.5, 0.25])", 0.75),
    ("list(range(2, 8, 3))", [2, 5]), ("len(range(1000000))", 1000000),
])
def test_operator_guards_compute_exactly_what_python_does_below_the_limits(source, value):
    result = RestrictedTaskDataEnvironment().evaluate(source, {})
    assert result == value and type(result) is type(value)


@pytest.mark.parametrize("source, bits", [
    ("2 ** 100001", 100001), ("(2 ** 50001) * (2 ** 50000)", 100003), ("1 << 100000", 100001),
    ("3 ** 100001", 100001),
])
def test_integer_results_just_over_the_limit_are_refused(source, bits):
    with pytest.raises(ScriptLimitExceeded, match=rf"^line 1: integer result \(~{bits} bits, limit 100000\)"):
        RestrictedTaskDataEnvironment().evaluate(source, {})


def test_in_place_operators_keep_python_semantics():
    context = {"items": [1, 2]}
    RestrictedTaskDataEnvironment().execute(
        "alias = items\nitems *= 2\na = 7\na -= 2\na *= 3\na /= 2\nb = 17\nb //= 5\nc = 17\nc %= 5\n"
        "d = 2\nd **= 5\ne = 1\ne <<= 4\nf = 64\nf >>= 2\ng = 6\ng |= 1\nh = 6\nh ^= 3\ni = 6\ni &= 3\n"
        "s = 'ab'\ns *= 2\nsame = alias is items",
        context,
    )
    assert context["items"] == [1, 2, 1, 2] and context["same"] is True, "list *= keeps the list's identity"
    assert {k: context[k] for k in "abcdefghis"} == {"a": 7.5, "b": 3, "c": 2, "d": 32, "e": 16, "f": 16, "g": 7,
                                                      "h": 5, "i": 2, "s": "abab"}


def test_steps_are_counted_exactly():
    """A loop costs one step per item (the guarded iterator) and one per pass through the body."""
    env = RestrictedTaskDataEnvironment(time_limit=None, max_steps=10)
    env.execute("for i in range(5):\n    continue", {})  # 5 items + 5 passes = 10 steps: within budget
    with pytest.raises(ScriptLimitExceeded, match="budget of 9 steps"):
        RestrictedTaskDataEnvironment(time_limit=None, max_steps=9).execute("for i in range(5):\n    continue", {})
    env.execute("n = 0\nwhile n < 10:\n    n += 1", {})  # 10 passes
    with pytest.raises(ScriptLimitExceeded, match="budget of 10 steps"):
        env.execute("n = 0\nwhile n < 11:\n    n += 1", {})
    env.execute("def f():\n    return 1\nx = [f() for _ in range(5)]", {})  # 5 calls + 5 items
    with pytest.raises(ScriptLimitExceeded, match="budget of 10 steps"):
        env.execute("f = lambda: 1\nx = [f() for _ in range(6)]", {})


def test_runaway_script_in_a_workflow_errors_the_task():
    engine = RestrictedScriptEngine(service_caller=Recorder(), max_steps=10_000)
    wf = _workflow(_bpmn(script="n = 0\nwhile True:\n    n += 1"), engine, amounts=[1])
    err = _run_expecting_failure(wf)
    assert isinstance(err.__cause__, ScriptLimitExceeded)
    assert err.line_number == 2, "the loop's line: its step counter stops it"
    assert str(err.__cause__) == "line 2: script exceeded its budget of 10000 steps"


# ------------------------------------------------------------------------------------------------
# check_script and the environment's data handling


def test_check_script_reports_syntax_errors_with_line_numbers():
    problems = check_script("a = 1\nb = 2\nc = (3 +\n")
    assert len(problems) == 1
    assert problems[0].line == 3
    assert "syntax" in problems[0].message.lower()
    assert check_script("a = 1\nb = [x * 2 for x in range(3)]") == []
    assert check_script("  total > 5  \n", mode="eval") == []
    assert check_script("x = 1", mode="eval")  # a statement is not an expression
    with pytest.raises(ValueError):
        check_script("1", mode="single")


def test_compiled_code_is_cached():
    from app.engine.scripting import _compile

    source = "cache_probe = 41 + 1"
    env = RestrictedTaskDataEnvironment()
    env.execute(source, {})
    hits = _compile.cache_info().hits
    env.execute(source, {})
    assert _compile.cache_info().hits == hits + 1


def test_task_data_round_trip():
    env = RestrictedTaskDataEnvironment()
    items = [1, 2]
    context = {"keep": "yes", "gone": 1, "items": items, "overwritten": 5}
    env.execute(
        "del gone\nitems.append(3)\nnew = len(items)\noverwritten = lambda: 1\n"
        "for _ in range(2):\n    pass\ngen = (i for i in items)\nz = zip(items, items)\nprint('x')",
        context,
        external_context={"lookup": {"a": 1}},
    )
    assert context == {"keep": "yes", "items": [1, 2, 3], "new": 3}
    assert context["items"] is items
    # external context is visible but not copied into task data; task data shadows builtins
    assert env.evaluate("lookup['a'] + len", {"len": 10}, {"lookup": {"a": 1}}) == 11


def test_failed_script_leaves_task_data_unchanged():
    env = RestrictedTaskDataEnvironment()
    context = {"a": 1}
    with pytest.raises(ZeroDivisionError):
        env.execute("b = 2\na = 3\nc = 1 / 0", context)
    assert context == {"a": 1}


def test_expression_may_not_return_functions_or_iterators():
    env = RestrictedTaskDataEnvironment()
    with pytest.raises(TypeError, match="^expression produced a function, not a value"):
        env.evaluate("lambda: 1", {})
    with pytest.raises(TypeError, match="^expression produced a map, not a value"):
        env.evaluate("map(str, [1])", {})
    assert env.evaluate("list(map(str, [1]))", {}) == ["1"]


# ------------------------------------------------------------------------------------------------
# Exact messages and values (what a model author reads; what a mutation of the sandbox would change)


@pytest.mark.parametrize("source, problems", [
    ("import os", [(1, "import statements are not allowed")]),
    ("x = 1\nfrom os import path", [(2, "import statements are not allowed")]),
    ("class A:\n    pass", [(1, "class definitions are not allowed")]),
    ("x = (1 +", [(1, "syntax error: '(' was never closed at statement: 'x = (1 +'")]),
    ("return 1", [(1, "syntax error: 'return' outside function")]),
    ("x = getattr\ny = vars(x)", [(2, 'calling "vars" is not allowed')]),
    (5, [(None, "script source must be str, not int")]),
    ("x = 1\n" * 20_000, [(None, "script is longer than 100000 characters")]),
])
def test_check_script_names_each_problem_exactly(source, problems):
    assert [(p.line, p.message) for p in check_script(source)] == problems


def test_restricted_python_messages_are_read_into_problems():
    from app.engine.scripting import _problem_from_rp

    assert _problem_from_rp("Line 3: SyntaxError: bad at x") == ScriptProblem(3, "syntax error: bad at x")
    assert _problem_from_rp("Line 12: \"_x\" is an invalid name") == ScriptProblem(12, '"_x" is an invalid name')
    assert _problem_from_rp("Line None: odd") == ScriptProblem(None, "odd")
    assert _problem_from_rp("weird") == ScriptProblem(None, "weird")


def test_script_rejected_carries_its_problems():
    assert ScriptRejected("bad", 3).problems == (ScriptProblem(3, "bad"),)
    both = (ScriptProblem(1, "a"), ScriptProblem(2, "b"))
    rejected = ScriptRejected("a", 1, both)
    assert (rejected.problems, rejected.reason, rejected.line, str(rejected)) == (both, "a", 1, "line 1: a")
    assert str(ScriptRejected("no line")) == "no line"
    with pytest.raises(ScriptRejected) as info:
        RestrictedTaskDataEnvironment().execute("import os\nimport sys", {})
    assert [(p.line, p.message) for p in info.value.problems] == [
        (1, "import statements are not allowed"), (2, "import statements are not allowed")]


def test_in_place_operators_outside_the_list_are_refused():
    from app.engine.scripting import _guarded_inplacevar

    with pytest.raises(TypeError, match="^operator @= is not allowed$"):
        RestrictedTaskDataEnvironment().execute("a = [1]\na @= 2", {})
    assert _guarded_inplacevar("+=", 1, 2) == 3


def test_repetition_up_to_the_limit_is_allowed_in_place_too():
    context: dict = {}
    RestrictedTaskDataEnvironment().execute("x = [0] * 1000\nx *= 1000\nn = len(x)\ndel x", context)  # not kept
    assert context["n"] == 1_000_000
    with pytest.raises(ScriptLimitExceeded, match=r"repeated sequence \(1001000 items"):
        RestrictedTaskDataEnvironment().execute("x = [0] * 1001\nx *= 1000", {})


def test_shifting_a_large_task_value_by_zero_is_not_refused():
    big = 2**100_001
    assert RestrictedTaskDataEnvironment().evaluate("big << 0", {"big": big}) == big


@pytest.mark.parametrize("source, kind", [("lambda: 1", "function"), ("map(str, [1])", "map"),
                                          ("(i for i in [1])", "generator"), ("len", "builtin_function_or_method")])
def test_expressions_returning_a_non_value_say_what_they_produced(source, kind):
    with pytest.raises(TypeError) as info:
        RestrictedTaskDataEnvironment().evaluate(source, {})
    assert str(info.value) == (f"expression produced a {kind}, not a value"
                               " (wrap iterators in list(...); functions cannot be returned)")


def test_expressions_have_the_same_step_and_time_budget_as_scripts(monkeypatch):
    with pytest.raises(ScriptLimitExceeded, match="^line 1: script exceeded its budget of 100 steps$"):
        RestrictedTaskDataEnvironment(max_steps=100).evaluate("[x for x in range(1000)]", {})
    from app.engine import scripting

    readings = iter(range(10**9))
    monkeypatch.setattr(scripting.time, "monotonic", lambda: next(readings) / 100)
    with pytest.raises(ScriptLimitExceeded, match="^line 1: script exceeded its time limit of 0.2 s$"):
        RestrictedTaskDataEnvironment(time_limit=0.2, max_steps=None).evaluate("[x for x in range(100000)]", {})


def _task_with(**data):
    """A real (READY start) task of a workflow, holding ``data``."""
    wf = _workflow(_bpmn(), RestrictedScriptEngine())
    task = wf.get_tasks(state=TaskState.READY)[0]
    task.data = dict(data)
    return task


def test_engine_evaluate_passes_the_external_context_and_reports_the_line():
    engine = RestrictedScriptEngine()
    assert engine.evaluate(_task_with(a=2), "a + lookup['b']", {"lookup": {"b": 3}}) == 5
    with pytest.raises(WorkflowTaskException) as info:
        engine.evaluate(_task_with(a=0), "1 / a")
    err = info.value
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert err.line_number == 1 and err.error_type == "ZeroDivisionError"
    assert str(err).startswith("Error evaluating expression '1 / a': ZeroDivisionError: division by zero")
    with pytest.raises(WorkflowTaskException) as info:
        engine.evaluate(_task_with(), "import_me(")
    assert info.value.line_number == 1 and isinstance(info.value.__cause__, ScriptRejected)


def test_engine_execute_reports_the_failing_line_and_its_text():
    engine = RestrictedScriptEngine()
    task = _task_with(a=0)
    with pytest.raises(WorkflowTaskException) as info:
        engine.execute(task, "b = 1\nc = 2 / a\nd = 3")
    err = info.value
    assert (err.line_number, err.error_line, err.error_type) == (2, "c = 2 / a", "ZeroDivisionError")
    assert str(err).startswith("ZeroDivisionError: division by zero")
    assert task.data == {"a": 0}
    assert engine.execute(task, "b = a + lookup", {"lookup": 4}) is True
    assert task.data == {"a": 0, "b": 4}


def test_call_service_passes_plain_values_and_encodes_results():
    seen = []

    def caller(task, operation_name, params):
        seen.append((operation_name, params))
        return {"ok": True}

    engine = RestrictedScriptEngine(service_caller=caller)
    result = engine.call_service(None, "acts/verify", {"a": {"value": 1, "type": "int"}, "b": "value-like text",
                                                       "c": {"type": "str"}})
    assert result == '{"ok": true}'
    assert seen == [("acts/verify", {"a": 1, "b": "value-like text", "c": {"type": "str"}})]
    assert RestrictedScriptEngine(service_caller=lambda *a: b"raw").call_service(None, "x", None) == b"raw"
    with pytest.raises(NotImplementedError, match="^no service caller configured for operation 'acts/verify'$"):
        RestrictedScriptEngine().call_service(None, "acts/verify", {})


def test_a_loop_body_that_continues_at_once_still_costs_a_step_per_pass():
    script = "n = []\nwhile len(n) < 4:\n    if n.append(1) is None:\n        continue"
    RestrictedTaskDataEnvironment(max_steps=4).execute(script, {})
    with pytest.raises(ScriptLimitExceeded, match="budget of 3 steps"):
        RestrictedTaskDataEnvironment(max_steps=3).execute(script, {})


def test_results_above_the_limit_are_refused_even_from_large_task_values():
    big = 2**100_001
    env = RestrictedTaskDataEnvironment()
    for source in ("big ** 1", "big << 1", "big * 1"):
        with pytest.raises(ScriptLimitExceeded, match="integer result"):
            env.evaluate(source, {"big": big})
    assert env.evaluate("big ** 0", {"big": big}) == 1
    assert env.evaluate("big // big", {"big": big}) == 1


def test_task_data_under_a_guard_name_does_not_stop_the_write_back():
    context = {"_tick_": "kept as it was", "gone": 1, "kept": 2}
    RestrictedTaskDataEnvironment().execute("del gone\nnew = kept + 1", context)
    assert context == {"_tick_": "kept as it was", "kept": 2, "new": 3}


def test_the_engine_passes_its_limits_to_the_environment():
    engine = RestrictedScriptEngine(time_limit=0.5, max_steps=77, extra_builtins={"vat": 12}, isolated=False)
    assert (engine.environment.time_limit, engine.environment.max_steps) == (0.5, 77)
    assert engine.environment.builtins["vat"] == 12
    default = RestrictedScriptEngine()
    assert (default.environment.time_limit, default.environment.max_steps) == (5.0, 5_000_000)


def test_a_workflow_error_raised_inside_an_expression_gets_a_note():
    from SpiffWorkflow.exceptions import WorkflowException

    def fail():
        raise WorkflowException("registry said no")

    with pytest.raises(WorkflowException) as info:
        RestrictedScriptEngine(isolated=False).evaluate(_task_with(), "fail()", {"fail": fail})
    assert "Error evaluating expression 'fail()'" in info.value.notes


@pytest.mark.parametrize("script, line, error_line, message", [
    ("raise ValueError()", 1, "raise ValueError()", "ValueError"),
    ("x = 1\ny = 2\nz = y / 0", 3, "z = y / 0", "ZeroDivisionError: division by zero"),
    ("x = 1\n" * 20_000, None, "", "ScriptRejected: script is longer than 100000 characters"),
])
def test_execute_errors_name_the_line_and_its_text(script, line, error_line, message):
    with pytest.raises(WorkflowTaskException) as info:
        RestrictedScriptEngine().execute(_task_with(), script)
    err = info.value
    assert (err.line_number, err.error_line, err.args[0]) == (line, error_line, message)


def test_the_step_budget_is_exact_to_one_step():
    """max_steps=10 allows 10 steps and refuses the 11th (5 loop items + 5 passes + 1 call = 11)."""
    script = "def f():\n    return 1\nfor i in range(5):\n    continue\n"
    RestrictedTaskDataEnvironment(time_limit=None, max_steps=10).execute(script, {})
    with pytest.raises(ScriptLimitExceeded, match="budget of 10 steps"):
        RestrictedTaskDataEnvironment(time_limit=None, max_steps=10).execute(script + "x = f()", {})


def test_the_deadline_itself_is_still_in_time(monkeypatch):
    """Fake clock: 10 ms per reading, limit 0.2 s. Checks read the clock every 128 steps; the check that
    reads exactly 0.2 s carries on, the next one (0.21 s) stops the script."""
    from app.engine import scripting

    readings = iter(range(10**9))
    monkeypatch.setattr(scripting.time, "monotonic", lambda: next(readings) / 100)
    with pytest.raises(ScriptLimitExceeded, match="time limit of 0.2 s"):
        RestrictedTaskDataEnvironment(time_limit=0.2, max_steps=None).execute("while True:\n    pass", {})
    assert next(readings) == 22, "readings 0 (start) .. 21 (the check that stopped it)"


def test_when_time_and_steps_run_out_at_the_same_check_the_time_is_named(monkeypatch):
    from app.engine import scripting

    readings = iter(range(10**9))
    monkeypatch.setattr(scripting.time, "monotonic", lambda: next(readings) / 100)
    env = RestrictedTaskDataEnvironment(time_limit=0.001, max_steps=128)
    with pytest.raises(ScriptLimitExceeded, match="time limit of 0.001 s"):
        env.execute("while True:\n    pass", {})


def test_a_script_cannot_catch_its_own_interruption():
    log: list = []
    with pytest.raises(ScriptLimitExceeded, match="budget of 50 steps"):
        RestrictedTaskDataEnvironment(max_steps=50).execute(
            "try:\n    while True:\n        pass\nexcept Exception:\n    log.append('caught')", {"log": log})
    assert log == [], "the interruption is not an Exception the script's handler could see"


def test_code_left_behind_by_an_interrupted_script_stays_interrupted():
    box: list = []
    with pytest.raises(ScriptLimitExceeded):
        RestrictedTaskDataEnvironment(max_steps=50).execute(
            "box.append(lambda: 1)\ntry:\n    while True:\n        pass\nexcept:\n    pass", {"box": box})
    with pytest.raises(ScriptLimitExceeded) as info:
        box[0]()
    assert type(info.value) is ScriptLimitExceeded and str(info.value) == "script exceeded its budget of 50 steps"


def test_an_expression_error_raised_outside_the_script_has_no_line():
    with pytest.raises(WorkflowTaskException) as info:
        RestrictedScriptEngine().evaluate(_task_with(), "lambda: 1")
    assert info.value.line_number is None and isinstance(info.value.__cause__, TypeError)


def test_scripts_keep_their_indentation_and_modes_are_checked():
    assert [(p.line, p.message) for p in check_script("  x = 1")] == [
        (1, "IndentationError: unexpected indent at statement: 'x = 1'")]
    with pytest.raises(ValueError, match="^mode must be 'exec' or 'eval', not 'single'$"):
        check_script("1", mode="single")


def test_every_forbidden_extra_builtin_is_named():
    with pytest.raises(ValueError, match="^builtins must not expose g, run$"):
        RestrictedTaskDataEnvironment(extra_builtins={"run": eval, "g": getattr, "ok": 1})


def test_the_clock_is_read_every_128_steps(monkeypatch):
    """21 readings after the start pass the 0.2 s deadline: 21 × 128 steps, the last one interrupted."""
    from app.engine import scripting

    readings = iter(range(10**9))
    monkeypatch.setattr(scripting.time, "monotonic", lambda: next(readings) / 100)
    box: list = []
    with pytest.raises(ScriptLimitExceeded, match="time limit"):
        RestrictedTaskDataEnvironment(time_limit=0.2, max_steps=None).execute("while True:\n    box.append(1)",
                                                                              {"box": box})
    assert len(box) == 21 * 128 - 1


@pytest.mark.parametrize("max_steps, loop_items, over", [(128, 64, False), (200, 100, False), (200, 100, True)])
def test_budgets_around_the_clock_check_interval_are_exact(max_steps, loop_items, over):
    """Budgets at and beyond the 128-step check interval: the budget's own steps run, one more does not."""
    script = f"def f():\n    return 1\nfor i in range({loop_items}):\n    continue\n" + ("x = f()" if over else "")
    env = RestrictedTaskDataEnvironment(time_limit=None, max_steps=max_steps)
    if over:
        with pytest.raises(ScriptLimitExceeded, match=f"budget of {max_steps} steps"):
            env.execute(script, {})
    else:
        env.execute(script, {})


def test_calls_with_unpacked_arguments_pass_them_all():
    env = RestrictedTaskDataEnvironment()
    assert env.evaluate("max(*[3, 9], *[4])", {}) == 9
    assert env.evaluate("dict(**{'a': 1}, b=2)", {}) == {"a": 1, "b": 2}
    assert env.evaluate("sorted(*[[3, 1, 2]], **{'reverse': True})", {}) == [3, 2, 1]


def test_the_environment_itself_refuses_service_calls():
    with pytest.raises(NotImplementedError, match="^service calls go through RestrictedScriptEngine.call_service$"):
        RestrictedTaskDataEnvironment().call_service({}, operation_name="x")


# ---- methods reached through the type, values written out, task data and memory in total ----------------------

@pytest.mark.parametrize("source", [
    "x = str.zfill('1', 5 * 10**7)", "x = str.ljust('a', 10**7)", "x = str.center('', 10**7, 'z')",
    "x = str.join('', ['a' * 10**6] * 20)", "x = str.replace('a' * 10**6, 'a', 'bbbbbbbbbb')",
    "l = [0] * 10**6\nlist.extend(l, l)",
])
def test_the_widening_methods_are_not_offered_through_the_type(source):
    """``s.zfill(10**9)`` was bounded, ``str.zfill(s, 10**9)`` was not: the unbound method escaped the guard."""
    with pytest.raises(AttributeError, match="is not available: call it on a value"):
        RestrictedTaskDataEnvironment().execute(source, {})


@pytest.mark.parametrize(("source", "value"), [
    ("str.upper('abc')", "ABC"), ("list(map(str.strip, [' a ', 'b ']))", ["a", "b"]), ("isinstance('a', str)", True),
    ("str(12)", "12"), ("str([1, 2])", "[1, 2]"), ("repr('a')", "'a'"), ("'%s' % ([1],)", "[1]"),
])
def test_str_as_a_function_and_a_type_still_works(source, value):
    assert RestrictedTaskDataEnvironment().evaluate(source, {}) == value


@pytest.mark.parametrize("source", [
    "y = [[0] * 10**6] * 50\nx = str(y)", "y = [[0] * 10**6] * 50\nx = repr(y)",
    "y = [[0] * 10**6] * 50\nx = f'{y}'", "y = [[0] * 10**6] * 50\nx = '%s' % (y,)",
])
def test_a_container_too_large_to_write_out_is_refused_before_it_is_written(source):
    """Fifty references to one list of a million items are cheap to build; written out they are 150 MB in one
    C call (a thousand of them, 3 GB) that the time limit cannot interrupt."""
    with pytest.raises(ScriptLimitExceeded, match="written out"):
        RestrictedTaskDataEnvironment().execute(source, {})


def test_task_data_too_large_to_store_fails_the_script_and_changes_nothing():
    """``u`` holds 50,000 references to one 100,000-item tuple: 5·10⁹ items once stored as JSON (the server grew
    to 8 GB writing it)."""
    data = {"kept": 1}
    with pytest.raises(ScriptLimitExceeded, match="task data the script leaves is too large"):
        RestrictedTaskDataEnvironment().execute("t = (0,) * 10**5\nu = (t,) * (5 * 10**4)\nkept = 2", data)
    assert data == {"kept": 1}
    with pytest.raises(ScriptLimitExceeded, match="too large"):
        RestrictedTaskDataEnvironment().execute("x = 'a' * 10**6\ny = [x] * 100", {})
    RestrictedTaskDataEnvironment().execute("t = (0,) * 10**5\nu = [t] * 4\ndel t", data)
    assert len(data["u"]) == 4


def test_memory_kept_by_a_loop_is_bounded_in_total(monkeypatch):
    """Each tuple is within the bound; twenty thousand of them are 16 GB. The script stops once the process's
    peak memory has grown by the limit (set low here)."""
    from app.engine import scripting

    monkeypatch.setattr(scripting, "MAX_SCRIPT_MEMORY_MB", 48)
    with pytest.raises(ScriptLimitExceeded, match="more than 48 MB of memory"):
        RestrictedTaskDataEnvironment().execute("x = [(i,) * 10**5 for i in range(20000)]", {})


# ------------------------------------------------------------------------------------------------
# A third tester's list: single calls past the bounds, types handed out, values smuggled into storage

@pytest.mark.parametrize("script", [
    "x = ('x' * 1000000).translate({120: 'y' * 100})",  # a hundred times the text in one call
    "x = ('x' * 1000000).translate(['y' * 100] * 200)",
    "t = list(range(100000))\nd = {1: [t] * 500}\ns = str(d.values())",  # a dict view written out
    "t = list(range(100000))\ns = str(ValueError([t] * 500))",  # an exception written out through its arguments
    "t = list(range(100000))\ns = f'{KeyError([t] * 500)!r}'",
    "b = (0).to_bytes(300000000, 'big')",
    "b = (0).to_bytes(length=300000000, byteorder='big')",
])
def test_a_single_call_past_the_bounds_is_refused(script):
    with pytest.raises(ScriptLimitExceeded):
        RestrictedTaskDataEnvironment().execute(script, {})


@pytest.mark.parametrize("script", ["l = [1]\nl.extend(map(abs, l))", "l = [1]\nl += filter(None, l)",
                                    "l = [1]\nl.extend(enumerate(l))"])
def test_extending_a_list_by_an_iterator_over_itself_ends(script):
    """The iterator fed the list it extended, inside one C call, until the machine ran out of memory."""
    data = {}
    RestrictedTaskDataEnvironment().execute(script, data)
    assert len(data["l"]) == 2


def test_an_iterator_longer_than_the_bound_is_refused_as_it_is_read():
    with pytest.raises(ScriptLimitExceeded):
        RestrictedTaskDataEnvironment().execute("l = [0] * 999000\nl.extend(map(abs, range(2000)))", {})


@pytest.mark.parametrize("source", ["D = Decimal.mro()[1]", "o = int.mro()[-1]", "m = str.mro"])
def test_a_types_mro_is_not_offered(source):
    """``Decimal.mro()[1]`` handed out the unbounded decimal.Decimal (a 1 GB string from one f-string)."""
    assert any("mro" in p.message for p in check_script(source))
    with pytest.raises(ScriptRejected):
        RestrictedTaskDataEnvironment().execute(source, {})


def test_time_spent_inside_one_call_counts_when_the_script_returns():
    """A script of a few steps whose one call outlasted the limit succeeded: time was read only on steps."""
    env = RestrictedTaskDataEnvironment(time_limit=0.000001)
    data = {}
    with pytest.raises(ScriptLimitExceeded, match="time limit"):
        env.execute("x = sorted(range(200000), reverse=True)", data)
    assert "x" not in data, "nothing is written back"


def test_values_that_are_not_data_are_not_kept():
    data = {}
    RestrictedTaskDataEnvironment().execute(
        "e = ValueError(1)\nm = math\nv = {1: 2}.values()\nr = range(3)\nz = timezone.utc\nc = [1]\nk = int", data)
    assert data == {"c": [1]}


@pytest.mark.parametrize("script", ["sm = {'typename': 'Decimal', 'value': '1E-50000000'}",
                                    "b = [{'x': {'typename': 'nope'}}]"])
def test_a_dict_with_the_storages_reserved_key_is_not_kept(script):
    """Stored as JSON, it came back from storage as that type (a Decimal past every bound), or locked the instance
    up when the type was unknown."""
    data = {"keep": 1}
    with pytest.raises(TypeError, match="typename"):
        RestrictedTaskDataEnvironment().execute(script, data)
    assert data == {"keep": 1}
    with pytest.raises(TypeError, match="typename"):
        RestrictedTaskDataEnvironment().evaluate("{'typename': 'timedelta', 'days': 10 ** 10}", {})


def test_a_stored_dict_naming_an_unknown_type_loads_as_a_dict():
    from app.engine.serialization import _registry

    assert _registry.restore({"a": {"typename": "nope", "v": [{"typename": "Decimal", "value": "1.5"}]}}) == {
        "a": {"typename": "nope", "v": [Decimal("1.5")]}}


# A fourth tester's list: C loops fed by the list they grow, one-call arithmetic, codecs, values storage rejects

@pytest.mark.parametrize("script", [
    "l = [1]\nx = any(map(l.append, l))",  # 3 GB in 20 s, no step counted
    "l = [1]\nx = list(filter(l.append, l))",
    "l = [1]\nx = sorted(map(lambda v: l.insert(0, v), l))",
    "x = round(1, -10 ** 7)",  # 10**10000000 inside round()
    "x = int('f' * 300000, 16) // int('e' * 150000, 16)",  # quadratic division of 1,200,000 bits
    "x = divmod(int('f' * 300000, 16), 7)",
    "x = int('f' * 300000, 16) % 7",
    "d = Decimal('0E-1000000000')",  # a zero's exponent: a billion zeros written out
])
def test_a_single_call_that_would_run_for_ever_or_take_gigabytes_is_refused(script):
    with pytest.raises(ScriptLimitExceeded):
        RestrictedTaskDataEnvironment().execute(script, {})


@pytest.mark.parametrize(("script", "error"), [
    ("x = ('-' + '9' * 500000).encode('ascii').decode('punycode')", ValueError),  # quadratic codec
    ("x = 'a'.encode('rot13')", ValueError),
    ("d = Decimal('sNaN')", ValueError),  # raised out of the engine's save
    ("x = chr(0xD800)", TypeError),  # every view of the instance then failed to write it out
    ("x = {'k': ['ok', chr(0xDFFF)]}", TypeError),
    ("b = int.from_bytes(b'x', 'big')", AttributeError),
])
def test_values_and_codecs_that_storage_or_time_cannot_bear_are_refused(script, error):
    data = {}
    with pytest.raises(error):
        RestrictedTaskDataEnvironment().execute(script, data)
    assert data == {}


def test_the_ordinary_uses_of_those_operations_still_work():
    data = {}
    RestrictedTaskDataEnvironment().execute(
        "l = [1]\nl.append(2)\nl.insert(0, 0)\nr = round(1234.5678, 2)\nq, m = divmod(17, 5)\nf = 17 // 5\n"
        "t = 'абв'.encode('utf-8').decode('utf-8')\nz = Decimal('0.00')\nh = round(12345, -2)", data)
    assert data == {"l": [0, 1, 2], "r": 1234.57, "q": 3, "m": 2, "f": 3, "t": "абв", "z": Decimal("0.00"),
                    "h": 12300}


def test_large_integers_count_as_the_text_they_are_stored_as():
    """Ops probe: 100,000 references to a 4,000-digit integer counted as 100,000 items (within the task data bound)
    and were 400 MB of JSON: the save outlived the web worker's timeout."""
    with pytest.raises(ScriptLimitExceeded, match="task data the script leaves is too large"):
        RestrictedTaskDataEnvironment().execute("b = 10 ** 4000\nx = [b] * 100000", {})
    with pytest.raises(ScriptLimitExceeded, match="task data the script leaves is too large"):
        RestrictedTaskDataEnvironment().execute("b = Decimal('1' * 4000)\nx = [b] * 100000", {})
    context = {}
    RestrictedTaskDataEnvironment().execute("x = [10 ** 30] * 1000", context)
    assert len(context["x"]) == 1000


def test_task_data_of_a_large_act_fits_and_tens_of_megabytes_do_not():
    """Ops probe: 60 MB of task data (within the bound then) grew a web worker to 1.3 GB while it was saved. The
    bound is now about 16 MB of text; an act of 5,000 students stays far within it."""
    context = {"lines": [{"iin": f"{i:012d}", "full_name": f"Оқушы Тестов {i}", "grade": 1 + i % 11,
                          "days_attended": 20} for i in range(5000)]}
    RestrictedTaskDataEnvironment().execute("count = len(lines)", context)
    assert context["count"] == 5000
    with pytest.raises(ScriptLimitExceeded, match="too large"):
        RestrictedTaskDataEnvironment().execute('x = ["a" * 1000000 for i in range(20)]', {})


DATE_TEXT_SCRIPT = ('year = date(2020, 1, 1).strftime("%Y")\n'
                    'stamp = datetime(2020, 1, 1, tzinfo=timezone.utc).strftime("%d.%m.%Y %H:%M %z %Z")\n'
                    'parsed = datetime.strptime("03.02.2020", "%d.%m.%Y")\n'
                    'day_of_year = date(2020, 2, 3).timetuple().tm_yday\n'
                    'today_is_a_date = isinstance(date.today(), date)\n')
DATE_TEXT_RESULT = {"year": "2020", "stamp": "01.01.2020 00:00 +0000 UTC", "parsed": datetime(2020, 2, 3),
                    "day_of_year": 34, "today_is_a_date": True}


def test_dates_are_written_and_read_as_text_by_scripts():
    """Found by a security probe: ``date(2020,1,1).strftime("%Y")`` failed with the incident ``'__import__'``
    (CPython's date code imports ``time`` through the calling frame's builtins, which have no ``__import__``)."""
    context: dict = {}
    RestrictedTaskDataEnvironment().execute(DATE_TEXT_SCRIPT, context)
    assert context == DATE_TEXT_RESULT


@pytest.mark.parametrize("name", ["os", "sys", "subprocess", "builtins", "importlib", "time.os", "time "])
def test_the_import_cpython_date_code_makes_gives_nothing_else(name):
    """The scripts' ``__import__`` serves CPython's date code only: it refuses every other module, gives no module
    even for ``time`` (the interpreter takes it from ``sys.modules``), and scripts cannot name it."""
    from app.engine.scripting import _preloaded_module

    with pytest.raises(ImportError, match="scripts cannot import"):
        _preloaded_module(name)
    with pytest.raises(ImportError, match="scripts cannot import"):
        _preloaded_module("time", level=1)
    assert _preloaded_module("time") is None and _preloaded_module("_strptime") is None
    env = RestrictedTaskDataEnvironment()
    with pytest.raises(ScriptRejected):
        env.evaluate(f"__import__({name!r})", {})
    with pytest.raises(ScriptRejected):
        env.execute(f"import {name.split('.')[0].strip()}", {})
    assert "__import__" not in env.builtins
