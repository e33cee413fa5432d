"""Scripts run in a sandbox process (app.engine.isolation): what kills or stalls that process fails the script, not
the caller; data and errors come back as they were; the caller reads only data from it."""

from __future__ import annotations

import io
import os
import pickle
import signal
import socket
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.engine import isolation
from app.engine.isolation import IsolatedTaskDataEnvironment, SandboxPool, _DataUnpickler
from app.engine.scripting import ScriptLimitExceeded, ScriptRejected

NESTED_TUPLE_HASH = "t = ()\nfor i in range(300000):\n    t = (t,)\nseen = len({t})"
COLLIDING_HASHES = "s = set([k * (2**61 - 1) for k in range(40000)])"


@pytest.fixture
def pool():
    own = SandboxPool()
    yield own
    own.close()


def _env(pool, time_limit=5.0, max_steps=5_000_000):
    return IsolatedTaskDataEnvironment(time_limit=time_limit, max_steps=max_steps, pool=pool)


def test_a_script_that_crashes_the_interpreter_fails_and_the_next_one_runs(pool):
    env = _env(pool)
    context = {"kept": 1}
    # Python 3.11 hashes nested tuples recursively with no depth check: in this process it would be a SIGSEGV
    with pytest.raises(ScriptLimitExceeded, match="SIGSEGV"):
        env.execute(NESTED_TUPLE_HASH, context)
    assert context == {"kept": 1}
    assert env.evaluate("kept + 1", context) == 2
    assert pool.started == 2


def test_a_single_long_c_call_is_stopped_at_the_time_limit_and_a_grace(pool):
    env = _env(pool, time_limit=0.5)
    started = time.monotonic()
    with pytest.raises(ScriptLimitExceeded, match="went past the time limit"):
        env.execute(COLLIDING_HASHES, {})  # one C call of ~25 s: no step check runs inside it
    assert time.monotonic() - started < 0.5 + isolation.GRACE_SECONDS + 3
    assert env.evaluate("6 * 7", {}) == 42


def test_task_data_goes_there_and_back_with_its_types():
    almaty = ZoneInfo("Asia/Almaty")
    context = {
        "amount": Decimal("123456.78"), "day": date(2026, 9, 1), "at": datetime(2026, 9, 1, 8, 30, tzinfo=almaty),
        "utc": datetime(2026, 9, 1, tzinfo=UTC), "span": timedelta(days=3), "ids": {1, 2}, "frozen": frozenset({3}),
        "pair": (1, "a"), "lines": [{"iin": "010101500123", "days": 21, 4: None}], "flag": True, "ratio": 0.25,
    }
    own = SandboxPool()
    try:
        env = _env(own)
        copy = dict(context)
        env.execute("total = amount * 2\nnew_ids = ids | {3}\nnoon = at + timedelta(hours=4)", copy)
    finally:
        own.close()
    assert {key: copy[key] for key in context} == context
    assert type(copy["amount"]) is Decimal and type(copy["pair"]) is tuple and type(copy["frozen"]) is frozenset
    assert copy["total"] == Decimal("246913.56") and type(copy["total"]) is Decimal
    assert copy["new_ids"] == {1, 2, 3}
    assert copy["noon"] == datetime(2026, 9, 1, 12, 30, tzinfo=almaty) and copy["noon"].tzinfo == almaty


def test_a_failed_script_leaves_task_data_exactly_as_it_was(pool):
    context = {"lines": [1, 2], "n": 1}
    with pytest.raises(ZeroDivisionError):
        _env(pool).execute("lines.append(3)\nn = 5\nx = 1 / 0", context)
    assert context == {"lines": [1, 2], "n": 1}  # in this process, the append would have stayed


def test_errors_keep_their_type_message_line_and_name(pool):
    env = _env(pool)
    with pytest.raises(KeyError) as key_error:
        env.execute("a = 1\nb = {}['missing']", {})
    assert key_error.value.args == ("missing",) and key_error.value.script_line == 2
    with pytest.raises(NameError) as name_error:
        env.evaluate("undefined_total + 1", {})
    assert name_error.value.name == "undefined_total"
    with pytest.raises(ScriptLimitExceeded) as budget:
        _env(pool, max_steps=100).execute("x = 0\nwhile True:\n    x += 1", {})
    assert budget.value.line in (2, 3) and "budget of 100 steps" in budget.value.reason
    with pytest.raises(ScriptRejected) as rejected:  # refused here, before any process is asked
        env.execute("import os", {})
    assert rejected.value.line == 1


def test_a_script_leaving_a_function_in_a_list_fails_with_a_plain_reason(pool):
    context = {}
    with pytest.raises(TypeError, match="task data can hold only data"):
        _env(pool).execute("keep = [lambda: 1]", context)
    assert context == {}


def test_the_caller_reads_only_data_from_the_sandbox():
    for value in ([1, {"a": (Decimal("1"), date(2026, 1, 1))}], {frozenset({1})}, b"bytes"):
        assert _DataUnpickler(io.BytesIO(pickle.dumps(value))).load() == value
    for hostile in (os.system, eval, socket.socket):
        with pytest.raises(pickle.UnpicklingError, match="not data"):
            _DataUnpickler(io.BytesIO(pickle.dumps(hostile))).load()


def test_the_sandbox_gets_no_settings_and_no_open_connections(pool, monkeypatch):
    monkeypatch.setenv("TAPSYRYS_TEST_SECRET", "do-not-pass")
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    try:
        env = _env(pool)
        env.evaluate("1", {})
        (child,) = pool._idle
        environ = open(f"/proc/{child.process.pid}/environ", "rb").read()
        assert b"TAPSYRYS_TEST_SECRET" not in environ and b"DATABASE_URL" not in environ
        fds = os.listdir(f"/proc/{child.process.pid}/fd")
        links = [os.readlink(f"/proc/{child.process.pid}/fd/{fd}") for fd in fds]
        assert not [link for link in links if link.startswith("socket:")], links
    finally:
        listening.close()


def test_a_forked_process_starts_its_own_sandbox(pool):
    env = _env(pool)
    assert env.evaluate("1 + 1", {}) == 2
    (parent_child,) = pool._idle
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the forked test process
        code = 0
        try:
            ok = env.evaluate("20 + 1", {}) == 21 and all(c is not parent_child for c in pool._idle)
            code = 0 if ok else 1
        except BaseException:  # noqa: BLE001
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pool._idle == [parent_child] and parent_child.process.poll() is None
    assert env.evaluate("2 + 2", {}) == 4  # the parent's child still answers it, not the fork's


def test_a_child_left_running_by_its_worker_ends_itself_at_its_cpu_bound():
    """Ops probe: a worker killed mid-script left its sandbox child running a 25-second C call, then the next."""
    child = isolation._Child()
    try:
        assert child.ask(("execute", COLLIDING_HASHES, {}, {}, 0.5, None), wait=0.2) is None  # nobody waits on
        code = child.process.wait(timeout=0.5 + isolation.GRACE_SECONDS + 15)
        assert code == -signal.SIGXCPU
    finally:
        child.kill()


def test_a_worker_stopped_mid_script_takes_its_child_with_it(pool, monkeypatch):
    """A gunicorn timeout stops the worker with SystemExit while it waits on the child: the child is killed."""
    asked = []
    original = isolation._Child.ask

    def interrupted(self, request, wait):
        asked.append(self)
        original(self, request, 0.2)
        raise SystemExit(1)

    monkeypatch.setattr(isolation._Child, "ask", interrupted)
    with pytest.raises(SystemExit):
        _env(pool).execute(COLLIDING_HASHES, {})
    assert asked[0].process.poll() is not None and pool._idle == []


def test_the_memory_budget_counts_from_the_childs_own_start_not_its_parents_peak():
    """Ops probe: ru_maxrss is carried over a fork and an exec, so a child of a worker that had peaked at 1.3 GB
    counted a script's growth from there (1.2 GB scripts passed the 512 MB budget)."""
    import subprocess
    import sys

    ballast = bytearray(400 * 1024 * 1024)  # this process's peak goes past 400 MB
    try:
        code = "from app.engine.scripting import _peak_memory_kb as p; print(p())"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=isolation._ROOT).stdout
    finally:
        del ballast
    assert int(out) < 300 * 1024, f"the child read {int(out) // 1024} MB as its own peak"


def test_the_scripts_of_one_step_share_a_time_budget(pool, monkeypatch):
    """Ops probe: a loop of 3-second scripts ran for 40 minutes of one request (each script within its own limit)."""
    monkeypatch.setattr(isolation, "STEP_SECONDS", 1.5)
    env = _env(pool, time_limit=5.0)
    slow = "x = 0\nwhile True:\n    x += 1"
    started = time.monotonic()
    with isolation.scripts_within(1.5):
        with pytest.raises(ScriptLimitExceeded, match="time limit"):
            env.execute(slow, {})  # given what is left of the step (1.5 s), not its own 5 s
        with pytest.raises(ScriptLimitExceeded, match="ran for more than 1.5 s in all"):
            env.evaluate("1 + 1", {})
    assert time.monotonic() - started < 1.5 + isolation.GRACE_SECONDS + 2
    assert env.evaluate("1 + 1", {}) == 2  # outside a step: each script its own limit


def test_the_sandboxes_are_counted_for_the_operators_metrics(pool):
    """Ops probe: /metrics said nothing of sandbox processes started, stopped at the time limit or crashed."""
    from app.observability import SANDBOXES

    def seen(event: str) -> float:
        return SANDBOXES.labels(event)._value.get()

    before = {event: seen(event) for event in ("started", "timeout", "died")}
    env = _env(pool, time_limit=0.5)
    with pytest.raises(ScriptLimitExceeded):
        env.execute(COLLIDING_HASHES, {})
    with pytest.raises(ScriptLimitExceeded):
        _env(pool).execute(NESTED_TUPLE_HASH, {})
    assert seen("timeout") == before["timeout"] + 1 and seen("died") == before["died"] + 1
    assert seen("started") == before["started"] + 2


@pytest.mark.parametrize(("reason", "line", "words"), [
    ("script stopped its sandbox process (it went past the time limit)", 3,
     "строка 3: скрипт остановлен: одна его операция шла дольше отведённого времени"),
    ("script stopped its sandbox process (it was stopped by SIGSEGV)", None,
     "скрипт остановлен: он вызвал сбой процесса, который выполняет скрипты"),
    ("script exceeded its time limit of 5 s", 2, "строка 2: скрипт работал дольше своего предела в 5 с"),
])
def test_a_budget_failure_is_told_in_the_readers_words(app, reason, line, words):
    """Ops probe: "Script: script stopped its sandbox process (it went past the time limit)" on a Russian page."""
    from flask_babel import force_locale

    from app.engine.runtime import _step_message

    cause = ScriptLimitExceeded(reason, line)
    err = RuntimeError(str(cause))  # the engine's wrapper, its cause the budget's failure
    err.__cause__ = cause
    with app.test_request_context(), force_locale("ru"):
        assert _step_message(err) == words


def test_dates_are_written_and_read_as_text_in_the_sandbox(pool):
    """The sandbox child runs the same environment: ``strftime`` no longer fails with ``'__import__'`` there."""
    from tests.engine.test_scripting import DATE_TEXT_RESULT, DATE_TEXT_SCRIPT

    context: dict = {}
    _env(pool).execute(DATE_TEXT_SCRIPT, context)
    assert context == DATE_TEXT_RESULT
    assert _env(pool).evaluate('date(2026, 9, 1).strftime("%d.%m.%Y")', {}) == "01.09.2026"
