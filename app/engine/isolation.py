"""Scripts and expressions of the models run in a separate process: a crash or a stuck C call ends that process,
not the web worker.

The guards of :mod:`app.engine.scripting` bound what a script can do step by step, but a few single C calls stay
out of their reach: hashing a tuple nested 300,000 deep overflows the C stack (SIGSEGV, the whole worker dies),
hashing 40,000 colliding integers or comparing large shared structures takes 25 s in one call that no step check
interrupts. So every evaluation and execution goes to a *sandbox process*:

* a plain ``python -c`` child (no fork of the web worker: no database connections, sockets or locks inherited; a
  minimal environment without the app's settings), which imports only the scripting module and answers requests
  on a pipe, one at a time;
* its address space is capped (``RLIMIT_AS``), so a script that outgrows memory fails there;
* the caller waits for the answer for the script's time limit and a grace period; past that, or when the child
  dies, the child is killed and the script fails with :class:`ScriptLimitExceeded` (an incident, as for any budget);
  the next request starts a new child;
* the answer comes back through an unpickler that builds only data types (a child taken over by a script could
  otherwise make the caller run code while reading its answer).

Task data goes to the child and comes back whole: after a successful script the caller's dict is replaced by the
child's; after a failure it is left exactly as it was. The errors keep their type, message and line, so an incident
reads as before. Children are kept in a small pool shared by the threads of a process; a process forked after the
pool was filled (gunicorn, Celery) starts its own.
"""

from __future__ import annotations

import builtins
import contextlib
import contextvars
import io
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from app import clock
from app.engine.scripting import (
    MAX_SCRIPT_MEMORY_MB,
    RestrictedTaskDataEnvironment,
    ScriptError,
    ScriptLimitExceeded,
    _compiled,
    _is_data,
)

#: seconds a child may run past the script's own time limit before it is killed (its budget fires at the limit;
#: only a single C call, or a child under heavy load, goes past it)
GRACE_SECONDS = 2.0
#: seconds a new child may take to import the scripting module and say it is ready
START_SECONDS = 60.0
#: the child's address space beyond what it has when ready: the script's own allowance and room for the answer
ADDRESS_SPACE_MB = MAX_SCRIPT_MEMORY_MB + 1024
MAX_IDLE = 4  # children kept waiting in a process
MAX_CALLS = 10_000  # a child answers this many requests, then a new one takes over (its peak memory starts anew)
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
_ROOT = Path(__file__).resolve().parents[2]  # the folder holding the app package


class ScriptFailed(ScriptError):
    """A script's error whose type cannot be rebuilt here (an exception class a script cannot name, or one with
    arguments that are not plain values): ``reason`` is the child's ``Type: message``, ``type_name`` the type."""

    def __init__(self, reason: str, line: int | None = None, type_name: str = "Exception"):
        super().__init__(reason, line)
        self.type_name = type_name


# --------------------------------------------------------------------------------------------------
# Messages: a 4-byte length, then a pickle. The child reads the caller's pickles as they are; the caller reads the
# child's only through _DataUnpickler.

_DATA_CLASSES: dict[tuple[str, str], Any] = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("decimal", "Decimal"): Decimal,
    ("app.engine.scripting", "_ScriptDecimal"): Decimal,  # a script's Decimal(...) comes back as a plain one
    ("datetime", "date"): date,
    ("datetime", "datetime"): datetime,
    ("datetime", "time"): day_time,
    ("datetime", "timedelta"): timedelta,
    ("datetime", "timezone"): timezone,
}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _DATA_CLASSES:
            return _DATA_CLASSES[(module, name)]
        if (module, name) == (__name__, "_zone"):
            return _zone
        raise pickle.UnpicklingError(f"the sandbox process sent a {module}.{name}, which is not data")


def _zone(key: str) -> Any:
    return ZoneInfo(key)


class _DataPickler(pickle.Pickler):
    """The child's answers: a time zone of an aware date-time goes by its key (ZoneInfo's own pickle calls
    ``getattr``, which the caller's unpickler does not offer)."""

    def reducer_override(self, obj: Any) -> Any:  # called for every object of an answer: nothing imported here
        if isinstance(obj, ZoneInfo) and obj.key:
            return _zone, (obj.key,)
        return NotImplemented


#: why an answer holding something other than data fails its script (a function inside a list, a ``range``)
NOT_DATA = ("task data can hold only data (numbers, text, dates, and lists and dicts of them); the script left "
            "something else in it")


def _load_answer(payload: bytes) -> Any:
    """The child's answer, data only: an answer holding anything else is that script's error, not the sandbox's."""
    try:
        return _DataUnpickler(io.BytesIO(payload)).load()
    except pickle.UnpicklingError:
        return _error_answer(TypeError(NOT_DATA))


def _frame(value: Any, pickler: type[pickle.Pickler] = pickle.Pickler) -> bytes:
    buffer = io.BytesIO()
    pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    payload = buffer.getvalue()
    return len(payload).to_bytes(4, "big") + payload


def _read_exact(stream: io.BufferedReader, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


# --------------------------------------------------------------------------------------------------
# The child


def _error_answer(exc: BaseException) -> tuple:
    """("error", type name, arguments or None, ``Type: message``, script line, extra attributes)."""
    from app.engine.scripting import _describe, _script_line

    line = exc.line if isinstance(exc, ScriptError) else _script_line(exc.__traceback__)
    kind = type(exc)
    if isinstance(exc, ScriptError):
        return ("error", kind.__name__, (exc.reason,), _describe(exc), line, ())
    if isinstance(exc, MemoryError):
        return ("error", "ScriptLimitExceeded", (f"script used more than {MAX_SCRIPT_MEMORY_MB} MB of memory",),
                "", line, ())
    plain = all(isinstance(arg, str | int | float | bool | type(None)) for arg in exc.args)
    rebuildable = kind.__module__ == "builtins" and getattr(builtins, kind.__name__, None) is kind and plain
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    return ("error", kind.__name__, exc.args if rebuildable else None, _describe(exc), line,
            (("name", name),) if isinstance(name, str) else ())


def _cap_cpu(time_limit: float | None) -> None:
    """The child's own bound, for when nobody is waiting for it any more (its worker was killed mid-script: the child
    was left running a 25-second C call, then the next, for minutes): the kernel ends it once this request has used
    the script's time limit, the grace and a second more of CPU. Only the soft limit moves (an unprivileged process
    cannot raise a hard limit again)."""
    import resource

    if time_limit is None:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + time_limit + GRACE_SECONDS) + 2
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def serve() -> None:  # pragma: no cover - runs in the child process (exercised by tests/engine/test_isolation.py)
    """The child's loop: answer each request until the caller closes the pipe."""
    import resource

    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # print() of anything imported goes to stderr, never into an answer
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = size + ADDRESS_SPACE_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    env = RestrictedTaskDataEnvironment(time_limit=None, max_steps=None)  # each request sets its own limits
    answers.write(b"R")
    answers.flush()
    while True:
        header = _read_exact(requests, 4)
        if header is None:
            return
        payload = _read_exact(requests, int.from_bytes(header, "big"))
        if payload is None:
            return
        mode, source, context, external_context, time_limit, max_steps, *moment = pickle.loads(payload)  # noqa: S301
        # The caller's "now" (app.clock: frozen in tests and the time-travel demo): a script's date.today() and
        # datetime.now() read it (app.engine.scripting._ScriptDate), not this process's own clock. A request without
        # one (a caller of the six-item protocol) reads this process's.
        clock.set_clock(clock.FrozenClock(moment[0])) if moment else clock.reset_clock()
        _cap_cpu(time_limit)
        env.time_limit, env.max_steps = time_limit, max_steps
        try:
            if mode == "evaluate":
                answer: tuple = ("ok", env.evaluate(source, context, external_context))
            else:
                env.execute(source, context, external_context)
                answer = ("ok", context)
        except BaseException as exc:  # noqa: BLE001 - every failure of the script goes back as an answer
            answer = _error_answer(exc)
        try:
            message = _frame(answer, _DataPickler)
        except BaseException as exc:  # noqa: BLE001 - a function inside a list, nesting past the recursion limit
            problem: BaseException = TypeError(
                "task data is nested too deep to keep" if isinstance(exc, RecursionError) else NOT_DATA)
            if isinstance(exc, MemoryError):
                problem = exc
            message = _frame(_error_answer(problem), _DataPickler)
        answers.write(message)
        answers.flush()


# --------------------------------------------------------------------------------------------------
# The caller's side


def _count(event: str) -> None:
    """The metric of the app that runs the engine (``tapsyrys_script_sandboxes_total``), if it has one."""
    try:
        from app.observability import SANDBOXES
    except ImportError:  # pragma: no cover - the engine used without the app
        return
    SANDBOXES.labels(event).inc()


class _Child:
    """One sandbox process and its pipes."""

    def __init__(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(_ROOT), "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]);"
             "from app.engine.isolation import serve; serve()", str(_ROOT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(_ROOT), close_fds=True,
            start_new_session=True)
        self.calls = 0
        self.overran = False
        self.pid = os.getpid()
        _count("started")
        if self._read(1, time.monotonic() + START_SECONDS) != b"R":
            self.kill()
            raise ScriptLimitExceeded("the sandbox process for scripts did not start")

    def _read(self, size: int, deadline: float | None) -> bytes | None:
        """``size`` bytes of the child's answer, or None when it died or the deadline passed."""
        fd = self.process.stdout.fileno()
        poller = select.poll()  # not select(): a busy worker's descriptors may be numbered past 1024
        poller.register(fd, select.POLLIN)
        chunks, got = [], 0
        while got < size:
            wait = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if not poller.poll(wait):
                self.overran = True
                return None
            chunk = os.read(fd, min(size - got, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def ask(self, request: tuple, wait: float | None) -> tuple | None:
        """The child's answer to ``request``, or None when it died or went past ``wait`` seconds."""
        self.calls += 1
        self.process.stdin.write(_frame(request))
        self.process.stdin.flush()
        deadline = None if wait is None else time.monotonic() + wait
        header = self._read(4, deadline)
        if header is None:
            return None
        size = int.from_bytes(header, "big")
        if size > MAX_MESSAGE_BYTES:
            return None
        payload = self._read(size, deadline)
        return None if payload is None else _load_answer(payload)

    def how_it_ended(self) -> str:
        if self.overran:
            return "it went past the time limit"
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            try:
                return f"it was stopped by {signal.Signals(-code).name}"
            except ValueError:
                return f"it was stopped by signal {-code}"
        return "it stopped"

    def kill(self) -> None:
        try:
            self.process.kill()
        except OSError:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class SandboxPool:
    """Children shared by the threads of one process; each request has a child to itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self.started = 0  # children started in this process (tests read it)
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        """A forked process does not share its parent's children (their pipes would cross)."""
        self._idle = []
        self._lock = threading.Lock()

    def _take(self) -> _Child:
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.pid == os.getpid() and child.process.poll() is None:
                    return child
            self.started += 1
        return _Child()

    def _give_back(self, child: _Child) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE and child.calls < MAX_CALLS:
                self._idle.append(child)
                return
        child.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()

    def run(self, request: tuple, time_limit: float | None) -> Any:
        wait = None if time_limit is None else time_limit + GRACE_SECONDS
        child = self._take()
        try:
            try:
                answer = child.ask(request, wait)
            except (BrokenPipeError, OSError):  # it died between two requests: the script has not run, try a new one
                child.kill()
                child = self._take()
                answer = child.ask(request, wait)
        except BaseException:  # the worker is being stopped mid-script (a timeout's SystemExit): the child goes too
            child.kill()
            raise
        if answer is None:
            ended = child.how_it_ended()
            _count("timeout" if child.overran else "died")
            child.kill()
            raise ScriptLimitExceeded(f"script stopped its sandbox process ({ended})")
        if answer[0] == "ok":
            self._give_back(child)
            return answer[1]
        if answer[1] == "ScriptLimitExceeded":
            _count("retired")
            child.kill()  # a fresh child for the next script: its peak memory and heap start anew
        else:
            self._give_back(child)
        raise _rebuilt(answer)


def _rebuilt(answer: tuple) -> BaseException:
    """The script's exception as the caller raises it: the same type where it can be rebuilt from its arguments
    (this module's script errors, Python's built-in exceptions), else a :class:`ScriptFailed` with the child's
    text; the script line in ``script_line`` (and a NameError's ``name``)."""
    from app.engine import scripting

    _kind, type_name, args, described, line, extra = answer
    cls = getattr(scripting, type_name, None)
    if isinstance(cls, type) and issubclass(cls, ScriptError) and cls is not ScriptFailed:
        return cls(args[0], line)
    cls = getattr(builtins, type_name, None)
    exc: BaseException | None = None
    if args is not None and isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(*args)
        except Exception:  # noqa: BLE001 - a constructor that wants other arguments: described instead
            exc = None
    if exc is None:
        exc = ScriptFailed(described, line, type_name)
    exc.script_line = line  # type: ignore[attr-defined]
    for attribute, value in extra:
        setattr(exc, attribute, value)
    return exc


POOL = SandboxPool()

#: seconds of scripts and expressions one step of an instance may run in all (a person's click, a timer, a retry):
#: each script has its own limit, but a loop of 3-second scripts ran for 40 minutes of one request (the web worker's
#: timeout killed it first, with a 500) or of one background pass
STEP_SECONDS = 20.0
_step_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("script_step_deadline", default=None)


@contextlib.contextmanager
def scripts_within(seconds: float = STEP_SECONDS):
    """Every script and expression run inside shares ``seconds`` of time: the last one gets what is left, and one
    asked for after that fails as over its budget (nothing of the step is saved; an incident names it)."""
    token = _step_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _step_deadline.reset(token)


def _time_left(time_limit: float | None) -> float | None:
    deadline = _step_deadline.get()
    if deadline is None:
        return time_limit
    left = deadline - time.monotonic()
    if left <= 0:
        raise ScriptLimitExceeded(f"the scripts of this step ran for more than {STEP_SECONDS:g} s in all (a loop of "
                                  "scripts?); nothing of the step was saved")
    return left if time_limit is None else min(time_limit, left)


def _data_only(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a script is given of task data: its data values (a function or module kept there by older versions
    is not passed; the script's write-back drops such values anyway)."""
    return {key: value for key, value in (values or {}).items() if _is_data(value)}


class IsolatedTaskDataEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's script environment, running every script and expression in a sandbox process with the
    guards of :class:`~app.engine.scripting.RestrictedTaskDataEnvironment` (same limits, same errors)."""

    def __init__(self, *, time_limit: float | None, max_steps: int | None, pool: SandboxPool | None = None):
        super().__init__({})
        self.time_limit = time_limit
        self.max_steps = max_steps
        self.pool = pool or POOL

    def _request(self, mode: str, source: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None) -> Any:
        _compiled(source, mode == "evaluate" and "eval" or "exec")  # a refusal is raised here, with its problems
        time_limit = _time_left(self.time_limit)
        request = (mode, source, _data_only(context), _data_only(external_context), time_limit, self.max_steps,
                   clock.now())
        return self.pool.run(request, time_limit)

    def evaluate(self, expression, context, external_context=None):
        return self._request("evaluate", expression, context, external_context)

    def execute(self, script, context, external_context=None):
        new_context = self._request("execute", script, context, external_context)
        context.clear()
        context.update(new_context)
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service calls go through RestrictedScriptEngine.call_service")
