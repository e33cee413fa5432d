"""Restricted execution of BPMN scripts and expressions (SpiffWorkflow 3.2 + RestrictedPython 9).

SpiffWorkflow's default ``TaskDataEnvironment`` runs every script *and* every expression (gateway
conditions, timer expressions, service-task parameter values, DMN cells, message payloads and
correlations, multi-instance cardinalities) with plain ``exec``/``eval`` and full builtins. This module
replaces that environment so that all of them are compiled with RestrictedPython and run with guards.

Public API
----------
``RestrictedScriptEngine(service_caller=None, *, extra_builtins=None, time_limit=5.0,
max_steps=5_000_000, isolated=True)``
    A ``PythonScriptEngine`` whose environment runs a :class:`RestrictedTaskDataEnvironment` in a sandbox process
    (``isolated=False``: in this process, the only way to give scripts trusted ``extra_builtins``).
    ``call_service(task, operation_name, operation_params)`` delegates to
    ``service_caller(task, operation_name, params)`` where ``params`` is ``{name: evaluated value}``;
    the caller returns a JSON string (any other value is passed through ``json.dumps``). Exceptions
    from the caller propagate unchanged (SpiffWorkflow then puts the task in ERROR and re-raises).
``RestrictedTaskDataEnvironment`` - the environment itself (``evaluate`` / ``execute``).
``check_script(source, mode="exec") -> list[ScriptProblem]`` - static check for model validation.
``script_names(source, mode="exec") -> ScriptNames | None`` - the names it assigns, reads and calls, same parse.
``ScriptProblem(line, message)``, ``ScriptError`` -> ``ScriptRejected`` (compile time) and
``ScriptLimitExceeded`` (run time budget / oversized operation), all carrying ``line`` and ``reason``.

What is guarded
---------------
* Compilation: RestrictedPython's policy (no names/attributes starting with ``_``, no frame/code/
  generator introspection attributes, no ``exec``/``eval``) plus this module's additions: ``import``
  statements, class definitions, and calls of ``open``, ``compile``, ``getattr``/``setattr``/
  ``delattr``, ``globals``/``locals``/``vars``/``dir``, ``type``, ``super``, ``input``, ``breakpoint``
  ... are rejected *at compile time* with :class:`ScriptRejected`.
* Run time: ``_getattr_`` = ``safer_getattr_raise`` (no ``_`` attributes), no ``format``/``format_map`` on any
  object (refused at compile time as well), and through the script's ``str`` only the listed methods,
  ``_getitem_``, ``_getiter_`` (+ step accounting), ``_unpack_sequence_``/``_iter_unpack_sequence_``,
  ``_write_`` = ``full_write_guard`` (only dicts and lists are writable), ``_inplacevar_`` (whitelisted
  in-place operators), ``_print_`` = ``PrintCollector`` (``print`` goes nowhere), ``_apply_``.
* Builtins are a small explicit whitelist (see ``SAFE_BUILTINS``): no ``__import__``, ``open``,
  ``getattr``, ``type``, ``object``, ``id``, ``pow``, modules or ``string.Formatter``.
* Time limit: loops, comprehension items, function and lambda calls each cost one step; a script is
  stopped with :class:`ScriptLimitExceeded` after ``max_steps`` steps or ``time_limit`` seconds of
  wall-clock time. The step counter is injected into the AST (not ``sys.settrace``), so it works under
  debuggers/coverage, cannot be switched off by the script and keeps firing if the script catches
  the interruption with a bare ``except:``; the environment re-checks the budget after the script
  returns, so swallowing the interruption does not make the script succeed.
* Single-operation amplifiers: ``**``, ``*`` and ``<<`` (and their in-place forms) refuse integer
  results above ``MAX_INT_BITS`` bits and sequence repetition above ``MAX_SEQUENCE_LENGTH`` items;
  ``+`` and ``+=`` of sequences, ``str.ljust``/``rjust``/``center``/``zfill``/``expandtabs``/``replace``/
  ``join``, ``list.extend`` and an f-string's format spec (``f"{x:>999999999}"``) refuse results above
  ``MAX_SEQUENCE_LENGTH`` items; ``range`` is bounded; ``sum`` refuses sequence ``start`` values
  (quadratic concatenation).

How failures surface
--------------------
* ``RestrictedTaskDataEnvironment.evaluate/execute`` raise :class:`ScriptRejected` (compile time,
  ``line`` = line in the script), :class:`ScriptLimitExceeded` (budget), or the script's own runtime
  error unchanged: ``NameError`` (e.g. ``open``/``__import__`` are not defined - only reachable when a
  rejected name is not called, e.g. ``f = open``), ``AttributeError`` from ``safer_getattr_raise``,
  ``TypeError`` from the write guard, etc.
* Through the engine (i.e. whenever SpiffWorkflow runs a task) *every* failure of a script or
  expression is wrapped in ``SpiffWorkflow.bpmn.exceptions.WorkflowTaskException`` with
  ``line_number``/``error_line`` set where known, ``error_type`` = the original class name and
  ``__cause__`` = the original exception (``ScriptRejected``, ``NameError``, ...). The task is put
  in ERROR by SpiffWorkflow. Exceptions raised by ``service_caller`` are *not* wrapped.
* SpiffWorkflow calls ``environment.evaluate`` directly (unwrapped) for process-level conditions
  (``bpmn_process_spec``) and message correlation retrieval expressions.

Task data round trip
--------------------
Scripts see task data as globals (external context, e.g. data objects, below task data; guards
above). After a *successful* script, new or changed top-level names are written back to task data,
names the script deleted are removed, and values that are not data - functions, lambdas, classes,
modules, generators/iterators - are dropped (as is any name starting with ``_``). On failure task
data is left as it was, except for in-place mutation of mutable values (``lst.append(...)``).

Known limitations
-----------------
* Memory: no single operation makes a value above ``MAX_SEQUENCE_LENGTH`` items (doubling ``s = s + s``
  stops there); a container is not written out as text (``str``, ``repr``, f-strings, ``%``) past that size
  counted through its references; the task data a script leaves is bounded (``MAX_TASK_DATA_UNITS``, what is
  stored as JSON); and in total the process's peak memory may grow by ``MAX_SCRIPT_MEMORY_MB`` during one script
  (checked with the time, every ``_TIME_CHECK_EVERY`` steps). Not bounded: the *time* of a single C-level call
  over a value built within these limits — hashing or comparing a tuple of many references to one large tuple,
  sorting a long list (13.7 s was measured for ``{u: 1}`` with ``u`` 20,000 references to a 100,000-item tuple),
  nor the C stack of hashing a tuple nested 300,000 deep (a SIGSEGV). The app's engine therefore runs this
  environment in a sandbox process (:mod:`app.engine.isolation`) that is killed past the time limit.
* Lazy objects hidden inside returned containers (``[lambda: 1]``, ``{'g': (x for x in y)}``) are
  not removed; after the original deadline, running them raises :class:`ScriptLimitExceeded`.
* RestrictedPython only supports CPython.
"""

from __future__ import annotations

import _strptime  # noqa: F401 - loaded before any script runs: see _preloaded_module
import ast
import builtins
import decimal
import functools
import json
import math
import operator
import re
import time
import traceback
import types
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.compile import syntax_error_template
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from app import clock
from app.clock import KZ
from app.engine.script_names import ScriptNames, names_in

__all__ = [
    "ALLOWED_BUILTIN_NAMES",
    "DEFAULT_MAX_STEPS",
    "DEFAULT_TIME_LIMIT",
    "FORBIDDEN_BUILTINS",
    "MAX_INT_BITS",
    "MAX_SEQUENCE_LENGTH",
    "MAX_MODEL_SCRIPT_CHARACTERS",
    "MAX_SOURCE_LENGTH",
    "SAFE_BUILTINS",
    "RestrictedScriptEngine",
    "RestrictedTaskDataEnvironment",
    "ScriptError",
    "ScriptLimitExceeded",
    "ScriptProblem",
    "ScriptRejected",
    "ServiceCaller",
    "check_script",
    "script_names",
]

#: Filename given to compiled scripts; SpiffWorkflow looks for it in tracebacks to find line numbers.
SCRIPT_FILENAME = "<string>"
DEFAULT_TIME_LIMIT = 5.0  # seconds of wall-clock time per script / expression
DEFAULT_MAX_STEPS = 5_000_000  # loop iterations + iterated items + calls per script / expression
MAX_SOURCE_LENGTH = 100_000  # characters
#: the scripts and conditions of one model together: the model check reads each several times (about 75 µs a
#: character), so 5 MB of them held a web worker for minutes when a process owner saved the model
MAX_MODEL_SCRIPT_CHARACTERS = MAX_SOURCE_LENGTH
MAX_INT_BITS = 100_000  # ~30,000 decimal digits
MAX_SEQUENCE_LENGTH = 1_000_000  # items (or characters) produced by one repetition / range()
#: largest power of ten a Decimal of a script may carry (either way): int() of 1E600000 is one C call of 15 s
#: that no step or time check interrupts, format(1E-99999999, 'f') a string of 100 MB
MAX_DECIMAL_EXPONENT = 30_000  # ~ MAX_INT_BITS as decimal digits
_TIME_CHECK_EVERY = 128  # steps between wall-clock (and memory) checks
MAX_SCRIPT_MEMORY_MB = 512  # the process's peak memory may grow this much during one script
#: a script's task data, as stored (see data_units): ≈ 16 MB of text at most. An act of 5,000 students is about 100,000
#: units; 60 MB of task data (under the former 2,000,000) grew a web worker to 1.3 GB while it was copied and saved.
MAX_TASK_DATA_UNITS = 500_000


def _peak_memory_kb() -> int:
    """The process's peak resident size in KiB: Linux's ``VmHWM`` of this address space. (``ru_maxrss`` is carried
    over a fork and an exec: a sandbox process started by a web worker that had peaked at 1.3 GB read that as its
    own peak, and a script could then grow by 1.3 GB before the budget saw any growth.)"""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

ServiceCaller = Callable[[Any, str, dict[str, Any]], Any]


# --------------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ScriptProblem:
    """One problem found by :func:`check_script`; ``line`` is 1-based within the script."""

    line: int | None
    message: str


class ScriptError(Exception):
    """Base class for this module's script failures; ``line`` is 1-based within the script or None."""

    def __init__(self, reason: str, line: int | None = None):
        self.reason = reason
        self.line = line
        super().__init__(f"line {line}: {reason}" if line is not None else reason)

    def __reduce__(self):
        return (self.__class__, (self.reason, self.line))


class ScriptRejected(ScriptError):
    """The script or expression was refused at compile time (syntax error or restricted construct).

    ``problems`` holds every problem found; ``line``/``reason`` are those of the first one.
    """

    def __init__(self, reason: str, line: int | None = None, problems: tuple[ScriptProblem, ...] = ()):
        super().__init__(reason, line)
        self.problems = tuple(problems) or (ScriptProblem(line, reason),)


class ScriptLimitExceeded(ScriptError):
    """The script ran out of its step/time budget or attempted an oversized operation."""


class _BudgetExceeded(BaseException):
    """Raised inside running restricted code; a BaseException so ``except Exception`` cannot catch it."""


# --------------------------------------------------------------------------------------------------
# Compilation policy

#: Builtins that must never be called from a script (most are not provided anyway; rejecting the call
#: at compile time gives model authors a clear message instead of a NameError at run time).
FORBIDDEN_CALLS = frozenset({
    "breakpoint", "compile", "delattr", "dir", "eval", "exec", "exit", "getattr", "globals",
    "hasattr", "help", "input", "locals", "memoryview", "object", "open", "quit", "setattr", "super",
    "type", "vars",
})

_BINOP_GUARDS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_",
                 ast.FloorDiv: "_floordiv_"}


def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(node, like)
    return node


def _tick_stmt(like: ast.AST) -> ast.Expr:
    stmt = ast.Expr(_call("_tick_", [], like))
    copy_locations(stmt, like)
    return stmt


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus: no imports/classes/dangerous calls; step accounting; op guards.

    The names injected here (``_tick_``, ``_pow_`` ...) start with ``_`` and are added *after* the
    parent checked the node, so scripts themselves still cannot reference them.
    """

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "import statements are not allowed")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "import statements are not allowed")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed")
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            self.error(node, f'calling "{node.func.id}" is not allowed')
        return super().visit_Call(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr in _REFUSED_ATTRIBUTES:  # the run-time guard refuses it too; here the author learns the line
            self.error(node, f'"{node.attr}" is not allowed: {_REFUSED_ATTRIBUTES[node.attr]}')
        return super().visit_Attribute(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """``f"{x:>999999999}"`` pads to the width its spec names: a spec goes through ``_format_``, which bounds
        it (the conversion, ``!r`` ``!s`` ``!a``, is applied there too). A field without a spec goes through it as
        well: ``f"{x}"`` writes a container out in one C call (:func:`_check_written_out`)."""
        node = super().visit_FormattedValue(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = _call("_format_", [node.value, ast.Constant(node.conversion), spec], node)
        return ast.copy_location(ast.FormattedValue(value=call, conversion=-1, format_spec=None), node)

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, _tick_stmt(node))
        return node

    def visit_For(self, node: ast.For) -> Any:
        node = super().visit_For(node)
        node.body.insert(0, _tick_stmt(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_stmt(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        # lambda args: body  ->  lambda args: (_tick_() or body)      (_tick_ returns None)
        new_body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_", [], node.body), node.body])
        copy_locations(new_body, node.body)
        node.body = new_body
        return node


_LINE_RE = re.compile(r"^Line ([0-9]+|None): (.*)$", re.DOTALL)


def _problem_from_rp(message: str) -> ScriptProblem:
    match = _LINE_RE.match(message)
    if not match:
        return ScriptProblem(None, message)
    line = None if match.group(1) == "None" else int(match.group(1))
    text = match.group(2).strip()
    if text.startswith("SyntaxError: "):
        text = "syntax error: " + text[len("SyntaxError: "):]
    return ScriptProblem(line, text)


def _normalise(source: str, mode: str) -> str:
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    if not isinstance(source, str):
        raise TypeError(f"script source must be str, not {type(source).__name__}")
    # eval() of a str strips surrounding whitespace; ast.parse does not (IndentationError).
    return source.strip() if mode == "eval" else source


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> tuple[types.CodeType | None, tuple[ScriptProblem, ...], ScriptNames | None]:
    """Compile ``source`` (already normalised); cached by (source, mode). Problems and names are immutable.

    The source is parsed once: the names the model checks ask about (:func:`script_names`) are read from the tree
    before the policy rewrites it in place for the sandbox (step counter, guards), and the tree is not kept."""
    if len(source) > MAX_SOURCE_LENGTH:
        return None, (ScriptProblem(None, f"script is longer than {MAX_SOURCE_LENGTH} characters"),), None
    if mode == "eval" and not source:
        return None, (ScriptProblem(None, "expression is empty"),), None
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    names = None
    try:
        try:
            tree = ast.parse(source, SCRIPT_FILENAME, mode)
        except SyntaxError as err:  # said as RestrictedPython says it when it parses the source itself
            return None, (_problem_from_rp(syntax_error_template.format(
                lineno=err.lineno, type=type(err).__name__, msg=err.msg,
                statement=err.text.strip() if err.text else None)),), None
        names = names_in(tree)
        result = compiler(tree, filename=SCRIPT_FILENAME, policy=_Policy)
    except SyntaxError as err:  # raised by compile() itself (e.g. 'return' outside function)
        return None, (ScriptProblem(err.lineno, f"syntax error: {err.msg}"),), names
    except (ValueError, TypeError) as err:  # e.g. NUL bytes in the source
        return None, (ScriptProblem(None, f"invalid source: {err}"),), names
    except (RecursionError, MemoryError):
        return None, (ScriptProblem(None, "script is too deeply nested"),), names
    if result.errors:
        problems = [_problem_from_rp(e) for e in result.errors]
        problems.sort(key=lambda p: p.line or 0)  # stable: keeps RestrictedPython's order per line
        return None, tuple(problems), names
    return result.code, (), names


def check_script(source: str, mode: str = "exec") -> list[ScriptProblem]:
    """Problems that would stop ``source`` from running (syntax errors, restricted constructs).

    ``mode`` is ``"exec"`` for script tasks / pre- and post-scripts and ``"eval"`` for expressions.
    An empty list means the source compiles; run-time errors (unknown names ...) are not detected.
    """
    try:
        source = _normalise(source, mode)
    except TypeError as err:
        return [ScriptProblem(None, str(err))]
    return list(_compile(source, mode)[1])


def script_names(source: str, mode: str = "exec") -> ScriptNames | None:
    """The names ``source`` assigns, binds, reads and calls (:class:`ScriptNames`), from the same cached parse as
    :func:`check_script`; None when it is not Python at all (a syntax error, too long: the script check says why).
    A source the sandbox refuses (an import, a name starting with "_") still has its names."""
    try:
        source = _normalise(source or "", mode)
    except TypeError:
        return None
    return _compile(source, mode)[2]


def _compiled(source: str, mode: str) -> types.CodeType:
    code, problems, _names = _compile(_normalise(source, mode), mode)
    if code is None:
        first = problems[0]
        raise ScriptRejected(first.message, first.line, problems)
    return code


# --------------------------------------------------------------------------------------------------
# Run-time guards


def _oversized(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(f"{what} would be too large")


def _check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _oversized(f"integer result (~{bits} bits, limit {MAX_INT_BITS})")


_SEQUENCES = (str, bytes, bytearray, list, tuple)


def _guarded_pow(a: Any, b: Any, /) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        _check_int_bits((abs(a).bit_length() - 1) * b)
    return a**b


def _guarded_mul(a: Any, b: Any, /) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        _check_int_bits(a.bit_length() + b.bit_length())
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        if len(a) * b > MAX_SEQUENCE_LENGTH:
            raise _oversized(f"repeated sequence ({len(a) * b} items, limit {MAX_SEQUENCE_LENGTH})")
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        return _guarded_mul(b, a)
    return a * b


def _check_length(length: int, what: str) -> None:
    if length > MAX_SEQUENCE_LENGTH:
        raise _oversized(f"{what} ({length} items, limit {MAX_SEQUENCE_LENGTH})")


def _guarded_add(a: Any, b: Any, /) -> Any:
    """``s = s + s`` doubles a string in one step: thirty of them are gigabytes."""
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_length(len(a) + len(b), "joined sequence")
    return a + b


def _guarded_iadd(a: Any, b: Any) -> Any:
    if isinstance(a, list):
        b = _bounded_items(a, b)  # l += filter(None, l) grew l inside one C call
    if isinstance(a, _SEQUENCES) and hasattr(b, "__len__"):
        _check_length(len(a) + len(b), "joined sequence")
    return operator.iadd(a, b)  # keeps list identity, like Python's own +=


def data_units(value: Any, limit: int) -> int:
    """The size of ``value`` as stored (JSON of the task data) and as ``str``/``repr`` write it out: one unit per
    item of every container, reached as often as it is referenced (``[t] * 1000`` holds ``t`` a thousand times),
    and a string's length in units of 32 characters. Stops as soon as ``limit`` is passed (then returns more than
    ``limit``), so the walk costs at most ``limit`` steps whatever the value."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        total += 1  # the item itself; a container's items count when they are reached
        if isinstance(item, str | bytes | bytearray):
            total += len(item) // 32
        elif isinstance(item, int):  # written out in decimal: 10 ** 4000 is 4,001 characters (≈ 106 bits per 32)
            total += item.bit_length() // 106
        elif isinstance(item, Decimal):
            total += len(item.as_tuple().digits) // 32 if item.is_finite() else 0
        elif isinstance(item, dict):
            if total + 2 * len(item) > limit:
                return total + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset | KeysView | ValuesView | ItemsView):
            if total + len(item) > limit:
                return total + len(item)
            stack.extend(item)
        elif isinstance(item, BaseException):  # written out through its arguments: ValueError([t] * 500)
            stack.extend(item.args)
        if total > limit:
            return total
    return total


#: The key the engine's storage marks its own values with (``{"typename": "Decimal", "value": …}``): a dict of task
#: data holding it came back from storage as that type — ``{"typename": "Decimal", "value": "1E-50000000"}`` passed
#: every bound, an unknown typename locked the instance up (every page a 500).
RESERVED_KEY = "typename"


_SURROGATE = re.compile("[\ud800-\udfff]")


#: Why a value cannot be kept in task data (the codes :func:`unstorable` returns), as scripts are told.
UNSTORABLE = {
    "reserved_key": f'a dict with the key "{RESERVED_KEY}" cannot be kept in task data: the engine\'s storage '
                    "reserves it; name the key otherwise",
    "surrogate": "a text with a lone surrogate character (U+D800–U+DFFF) cannot be kept in task data",
}


def unstorable(value: Any, limit: int = MAX_TASK_DATA_UNITS) -> str | None:
    """Why ``value`` cannot be kept in task data (a key of :data:`UNSTORABLE`), or None (at most ``limit`` items
    walked): a dict with :data:`RESERVED_KEY` anywhere inside, or a text with a lone surrogate (``chr(0xD800)`` was
    saved, then every view of the instance failed to write it out as UTF-8). Scripts, forms, the API, start data
    and the cockpit's variable edits all ask this."""
    stack, seen = [value], 0
    while stack and seen <= limit:
        item = stack.pop()
        seen += 1
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return "surrogate"
        elif isinstance(item, dict):
            if RESERVED_KEY in item:
                return "reserved_key"
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return None


def _refuse_unstorable(value: Any) -> None:
    reason = unstorable(value)
    if reason:
        raise TypeError(UNSTORABLE[reason])


def _check_written_out(value: Any, what: str) -> None:
    """A container written out as text in one C call (``str(x)``, ``f"{x}"``, ``"%s" % (x,)``): a list of a
    thousand references to one list of a million items is small to build and a terabyte once written."""
    if isinstance(value, dict | list | tuple | set | frozenset | KeysView | ValuesView | ItemsView | BaseException) \
            and data_units(value, MAX_SEQUENCE_LENGTH) > MAX_SEQUENCE_LENGTH:
        raise _oversized(f"{what} of a value with more than {MAX_SEQUENCE_LENGTH} items written out")


#: What ``str.<name>`` offers a script through the type: methods whose result is no larger than their input and
#: that read nothing but their arguments. Not ``format``/``format_map`` (a format field walks attributes and keys
#: by name, ``"{0.__globals__[…]}"``, where neither the compile-time ``_`` check nor ``_getattr_`` sees them),
#: not the widening ones (:data:`_SIZED_METHODS`), nothing added by a later Python unless it is listed here.
_STR_TYPE_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii", "isdecimal",
    "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
})

#: Attribute names refused on every object, with why: string formatting that resolves names inside the format
#: string, and a type's ``mro()`` (``Decimal.mro()[1]`` was the unbounded ``decimal.Decimal``; ``[-1]`` is ``object``).
_REFUSED_ATTRIBUTES = {"format": "use an f-string", "format_map": "use an f-string",
                       "mro": "types are not inspected in scripts"}


class _StrType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, str)

    def __getattr__(cls, name: str) -> Any:  # str.upper, str.strip … as functions; only those listed
        if name in _STR_TYPE_METHODS:
            return getattr(str, name)
        if name in _SIZED_METHODS:
            raise AttributeError(f"str.{name} is not available: call it on a value, e.g. x.{name}(...)")
        raise AttributeError(f"str.{name} is not available to scripts")

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, str)


class _ScriptStr(metaclass=_StrType):
    """``str`` as scripts see it: ``str(x)`` refuses a container too large to write out (:func:`_check_written_out`)
    and ``isinstance(x, str)`` holds for every string. Its methods are reached through values (``"x".zfill(3)``);
    through the type they are not offered (an unbound ``str.zfill('1', 10**9)`` escaped the bound)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> str:  # type: ignore[misc]
        if args:
            _check_written_out(args[0], "str()")
        return str(*args, **kwargs)


def _guarded_repr(value: Any, /) -> str:
    _check_written_out(value, "repr()")
    return repr(value)


_FORMAT_WIDTH = re.compile(r"[0-9]+")
_CONVERSIONS: dict[int, Callable[[Any], str]] = {115: str, 114: repr, 97: ascii}


def _guarded_format(value: Any, conversion: int, spec: str, /) -> str:
    """An f-string field with a format spec: no width or precision above MAX_SEQUENCE_LENGTH."""
    if any(int(n) > MAX_SEQUENCE_LENGTH for n in _FORMAT_WIDTH.findall(spec)):
        raise _oversized(f"formatted field (spec {spec[:40]!r}, limit {MAX_SEQUENCE_LENGTH} characters)")
    _check_written_out(value, "formatted field")
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    return format(value, spec)


#: a printf-style conversion: its width and precision (``*``: taken from the arguments)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|[0-9]+)?(?:\.(\*|[0-9]*))?[hlL]?.", re.DOTALL)


#: Division is quadratic in the operands' size: 8,000,000 bits by 4,000,000 took 30 s in one call.
MAX_DIVISION_BITS = 10 * MAX_INT_BITS


def _check_int_operands(a: Any, b: Any) -> None:
    """Division of integers far past MAX_INT_BITS (built by int(text, 16), which no operator sees) takes tens of
    seconds in one call: refused above MAX_DIVISION_BITS."""
    for value in (a, b):
        if isinstance(value, int) and value.bit_length() > MAX_DIVISION_BITS:
            raise _oversized(f"division of a {value.bit_length()}-bit integer (limit {MAX_DIVISION_BITS} bits)")


def _guarded_floordiv(a: Any, b: Any, /) -> Any:
    _check_int_operands(a, b)
    return a // b


def _guarded_divmod(a: Any, b: Any, /) -> Any:
    _check_int_operands(a, b)
    return divmod(a, b)


def _guarded_round(number: Any, ndigits: Any = None) -> Any:
    """``round(1, -10**7)`` computes 10**10000000 inside one call (18 s): the digits are bounded like an integer."""
    if isinstance(ndigits, int) and abs(ndigits) > MAX_INT_BITS // 3:
        raise _oversized(f"round() to {ndigits} digits (limit ±{MAX_INT_BITS // 3})")
    return round(number) if ndigits is None else round(number, ndigits)


def _guarded_mod(a: Any, b: Any, /) -> Any:
    """``"%300000000d" % 0`` pads to the width its conversion names: the widths and precisions of a printf-style
    format are bounded together, as one result (a width taken from the arguments, ``%*d``, is refused)."""
    if isinstance(a, str | bytes | bytearray):
        text = a if isinstance(a, str) else bytes(a).decode("latin-1")
        size = len(text)
        for width, precision in _PERCENT_SPEC.findall(text):
            if "*" in (width, precision):
                raise ScriptLimitExceeded("a width or precision taken from the arguments (%*d) is not allowed")
            size += int(width or 0) + int(precision or 0)
        _check_length(size, "formatted text")
        for arg in (b if isinstance(b, tuple) else b.values() if isinstance(b, dict) else (b,)):
            _check_written_out(arg, "formatted text")
    _check_int_operands(a, b)
    return a % b


class _DecimalType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Decimal)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, Decimal)


class _ScriptDecimal(Decimal, metaclass=_DecimalType):
    """``Decimal`` as scripts see it: a plain :class:`decimal.Decimal`, refused beyond ±MAX_DECIMAL_EXPONENT (the
    arithmetic is bounded by the script's decimal context, see :meth:`RestrictedTaskDataEnvironment._run`);
    ``isinstance(x, Decimal)`` holds for every Decimal."""

    def __new__(cls, value: Any = "0", context: Any = None) -> Decimal:  # type: ignore[misc]
        found = Decimal(value, context)
        if found.is_snan():  # a signalling NaN raised out of the engine's save, not the script
            raise ValueError("a signalling NaN is not a value scripts can keep")
        # a zero's exponent too: 0E-1000000000 written out with "f" is a billion zeros
        exponent = found.adjusted() if found else found.as_tuple().exponent if found.is_finite() else 0
        if abs(exponent) > MAX_DECIMAL_EXPONENT:
            raise _oversized(f"Decimal with exponent {exponent} (limit ±{MAX_DECIMAL_EXPONENT})")
        return found


class _DateType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, date)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, date)


class _ScriptDate(date, metaclass=_DateType):
    """``date`` as scripts see it: a plain :class:`datetime.date` (``isinstance(x, date)`` holds for every date), whose
    ``today()`` is the application's — Kazakhstan's day on :mod:`app.clock`. The library's read the server's calendar
    (UTC in a deployment): from 00:00 to 05:00 in Astana a script's ``date.today()`` said yesterday — on the 1st, the
    month before — and it ignored the clock tests and the time-travel demo set."""

    def __new__(cls, *args: Any, **kwargs: Any) -> date:  # type: ignore[misc]
        return date(*args, **kwargs)

    @classmethod
    def today(cls) -> date:  # type: ignore[override]
        return clock.today()


class _DatetimeType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, datetime)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, datetime)


class _ScriptDatetime(datetime, metaclass=_DatetimeType):
    """``datetime`` as scripts see it: a plain :class:`datetime.datetime` whose ``now()`` is the application's moment
    (:func:`app.clock.now`). Without a zone it is Kazakhstan's wall time, as a naive time in a timer is read
    (:func:`timer_value`): the library's naive ``now()`` was the server's (UTC), so a timer ``datetime.now() +
    timedelta(hours=24)`` fell due 19 hours later, read as Astana's time, and a script's month at 00:30 on the 1st was
    the month before. ``now(tz)`` is the same moment in ``tz``; ``utcnow()`` the naive UTC time."""

    def __new__(cls, *args: Any, **kwargs: Any) -> datetime:  # type: ignore[misc]
        return datetime(*args, **kwargs)

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        moment = clock.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone(KZ).replace(tzinfo=None)

    @classmethod
    def today(cls) -> datetime:  # type: ignore[override]
        return cls.now()

    @classmethod
    def utcnow(cls) -> datetime:  # type: ignore[override]
        return clock.now().astimezone(UTC).replace(tzinfo=None)


def _width_bound(method: str, position: int = 0) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def bind(bound: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            width = args[position] if len(args) > position else kwargs.get(
                "width", kwargs.get("tabsize", kwargs.get("length", 0)))
            if isinstance(width, int):
                subject = getattr(bound, "__self__", "")
                size = width if method != "expandtabs" else len(subject) * max(width, 1)
                _check_length(size, f"{method}() result")
            return bound(*args, **kwargs)
        return call
    return bind


def _bounded_replace(bound: Callable[..., Any]) -> Callable[..., Any]:
    def call(old: Any, new: Any, count: int = -1, /) -> Any:
        subject = bound.__self__
        if isinstance(old, str | bytes) and isinstance(new, str | bytes) and len(new) > len(old):
            hits = subject.count(old) if old else len(subject) + 1
            if isinstance(count, int) and count >= 0:
                hits = min(hits, count)
            _check_length(len(subject) + hits * (len(new) - len(old)), "replace() result")
        return bound(old, new, count)
    return call


def _bounded_join(bound: Callable[..., Any]) -> Callable[..., Any]:
    def call(iterable: Any, /) -> Any:
        parts = list(iterable)
        separator = bound.__self__
        _check_length(sum(len(p) for p in parts if hasattr(p, "__len__")) + len(separator) * max(len(parts) - 1, 0),
                      "join() result")
        return bound(parts)
    return call


def _bounded_items(target: Any, iterable: Any) -> Any:
    """``iterable`` as a sized value: an iterator over the list being extended (``l.extend(map(abs, l))``) fed it for
    ever inside one C call; read into a list first, at most one item past the bound."""
    if hasattr(iterable, "__len__"):
        return iterable
    room = max(MAX_SEQUENCE_LENGTH - len(target), 0)
    items = []
    for item in iterable:
        items.append(item)
        if len(items) > room:
            break
    return items


def _bounded_extend(bound: Callable[..., Any]) -> Callable[..., Any]:
    def call(iterable: Any, /) -> Any:
        iterable = _bounded_items(bound.__self__, iterable)
        _check_length(len(bound.__self__) + len(iterable), "extended list")
        return bound(iterable)
    return call


def _bounded_growth(bound: Callable[..., Any]) -> Callable[..., Any]:
    """``any(map(l.append, l))``: a C loop reading the list it appends to, for ever (3 GB in 20 s, no step
    counted). Each append or insert checks the list's length first."""
    def call(*args: Any) -> Any:
        _check_length(len(bound.__self__) + 1, "grown list")
        return bound(*args)
    return call


#: The codecs ``str.encode`` and ``bytes.decode`` may name: some others (punycode) take quadratic time.
_CODECS = frozenset({"utf-8", "utf8", "utf_8", "ascii", "latin-1", "latin1", "latin_1", "iso-8859-1", "utf-16",
                     "utf-32", "cp1251", "windows-1251", "koi8-r"})


def _bounded_codec(bound: Callable[..., Any]) -> Callable[..., Any]:
    def call(encoding: str = "utf-8", errors: str = "strict") -> Any:
        if not isinstance(encoding, str) or encoding.lower() not in _CODECS:
            raise ValueError(f"the codec {encoding!r} is not available to scripts")
        return bound(encoding, errors)
    return call


def _bounded_translate(bound: Callable[..., Any]) -> Callable[..., Any]:
    def call(table: Any, /) -> Any:
        """Each character may become its table entry: ``s.translate({120: "y" * 100})`` is a hundred times ``s``."""
        values = table.values() if isinstance(table, dict) else table if isinstance(table, list | tuple) else ()
        longest = max((len(v) for v in values if isinstance(v, str | bytes)), default=1)
        _check_length(len(bound.__self__) * max(longest, 1), "translate() result")
        return bound(table)
    return call


#: methods whose result can be far larger than their inputs, and the bound each is given
_SIZED_METHODS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "ljust": _width_bound("ljust"), "rjust": _width_bound("rjust"), "center": _width_bound("center"),
    "zfill": _width_bound("zfill"), "expandtabs": _width_bound("expandtabs"), "replace": _bounded_replace,
    "join": _bounded_join, "extend": _bounded_extend, "translate": _bounded_translate,
    "to_bytes": _width_bound("to_bytes"), "append": _bounded_growth, "insert": _bounded_growth,
    "encode": _bounded_codec, "decode": _bounded_codec,
}


#: Methods not offered through the type: the sized ones (no value to bound them by), and int.from_bytes (an integer
#: far past MAX_INT_BITS from one call).
_NOT_THROUGH_THE_TYPE = frozenset({*_SIZED_METHODS, "from_bytes"})


def _guarded_getattr(ob: Any, name: str, *default: Any) -> Any:
    """RestrictedPython's ``safer_getattr_raise``, and the methods of strings and lists that can blow a small
    value up in one call (``s.ljust(10**9)``, ``s.replace('a', s)``, ``lst.extend(lst)``) bounded like ``*``."""
    if name in _REFUSED_ATTRIBUTES:
        # str.format reached through the script's ``str`` (not a subclass of str, so RestrictedPython's own check
        # of ``format`` missed it) read ``{0.__globals__[…].config[SECRET_KEY]}``: refused on every object.
        raise AttributeError(f"{name}() is not available to scripts: {_REFUSED_ATTRIBUTES[name]}")
    if name in _NOT_THROUGH_THE_TYPE and ob in (str, bytes, bytearray, list, int):
        # Reached through the type (``str.zfill('1', 10**9)``) the method is unbound: no value to bound it by.
        raise AttributeError(f"{ob.__name__}.{name} is not available: call it on a value, e.g. x.{name}(...)")
    found = safer_getattr_raise(ob, name, *default)
    if name in _SIZED_METHODS and isinstance(ob, str | bytes | bytearray | list | int):
        return _SIZED_METHODS[name](found)
    return found


def _guarded_lshift(a: Any, b: Any, /) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _check_int_bits(a.bit_length() + b)
    return a << b


def _guarded_imul(a: Any, b: Any) -> Any:
    if isinstance(a, list) and isinstance(b, int):
        if len(a) * b > MAX_SEQUENCE_LENGTH:
            raise _oversized(f"repeated sequence ({len(a) * b} items, limit {MAX_SEQUENCE_LENGTH})")
        return operator.imul(a, b)  # keeps list identity, like Python's own *=
    return _guarded_mul(a, b)


_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": _guarded_iadd,
    "-=": operator.isub,
    "*=": _guarded_imul,
    "/=": operator.itruediv,
    "//=": _guarded_floordiv,
    "%=": _guarded_mod,
    "**=": _guarded_pow,
    "<<=": _guarded_lshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
}


def _guarded_inplacevar(op: str, x: Any, y: Any) -> Any:
    fn = _INPLACE_OPS.get(op)
    if fn is None:
        raise TypeError(f"operator {op} is not allowed")
    return fn(x, y)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _guarded_getitem(ob: Any, index: Any) -> Any:
    return ob[index]


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_SEQUENCE_LENGTH:
        raise _oversized(f"range() of {len(r)} items (limit {MAX_SEQUENCE_LENGTH})")
    return r


def _safe_sum(iterable: Any, /, start: Any = 0) -> Any:
    if isinstance(start, _SEQUENCES):
        raise TypeError("sum() of sequences is not allowed; build the list with a comprehension")
    return sum(iterable, start)


_MATH = types.SimpleNamespace(**{
    name: getattr(math, name)
    for name in ("ceil", "floor", "trunc", "sqrt", "fabs", "isclose", "isfinite", "isinf", "isnan",
                 "log", "log10", "log2", "exp", "fsum", "pi", "e", "inf", "nan")
})

#: The builtins visible to scripts and expressions (task data shadows them, like normal Python).
SAFE_BUILTINS: Mapping[str, Any] = types.MappingProxyType({
    # types / constructors
    "bool": bool, "int": int, "float": float, "str": _ScriptStr, "dict": dict, "list": list, "set": set,
    "frozenset": frozenset, "tuple": tuple, "Decimal": _ScriptDecimal,
    "date": _ScriptDate, "datetime": _ScriptDatetime, "timedelta": timedelta, "timezone": timezone,
    # functions
    "abs": abs, "all": all, "any": any, "callable": callable, "chr": chr, "divmod": _guarded_divmod,
    "enumerate": enumerate, "filter": filter, "isinstance": isinstance, "len": len, "map": map,
    "max": max, "min": min, "ord": ord, "range": _bounded_range, "repr": _guarded_repr, "reversed": reversed,
    "round": _guarded_round, "sorted": sorted, "sum": _safe_sum, "zip": zip,
    "math": _MATH,
    # exceptions scripts may raise or catch (BaseException-only classes deliberately absent)
    "ArithmeticError": ArithmeticError, "AssertionError": AssertionError,
    "AttributeError": AttributeError, "Exception": Exception, "IndexError": IndexError,
    "KeyError": KeyError, "LookupError": LookupError, "NameError": NameError,
    "NotImplementedError": NotImplementedError, "OverflowError": OverflowError,
    "RuntimeError": RuntimeError, "StopIteration": StopIteration, "TypeError": TypeError,
    "ValueError": ValueError, "ZeroDivisionError": ZeroDivisionError,
})

#: The exact names of :data:`SAFE_BUILTINS`. Adding a builtin is a security decision: it is made here,
#: on purpose, and the test that pins this set changes with it.
ALLOWED_BUILTIN_NAMES = frozenset({
    "bool", "int", "float", "str", "dict", "list", "set", "frozenset", "tuple", "Decimal",
    "date", "datetime", "timedelta", "timezone",
    "abs", "all", "any", "callable", "chr", "divmod", "enumerate", "filter", "isinstance", "len", "map",
    "max", "min", "ord", "range", "repr", "reversed", "round", "sorted", "sum", "zip",
    "math",
    "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NameError", "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration",
    "TypeError", "ValueError", "ZeroDivisionError",
})

#: Interpreter callables that open the sandbox (attribute access by string, introspection, code
#: execution, imports, files). None of them may be a builtin of a script under any name.
FORBIDDEN_BUILTINS: tuple[Any, ...] = tuple(
    value for value in (getattr(builtins, name, None) for name in (
        "__import__", "breakpoint", "compile", "delattr", "dir", "eval", "exec", "exit", "getattr",
        "globals", "hasattr", "help", "input", "locals", "memoryview", "object", "open", "quit", "setattr",
        "super", "type", "vars", "id",
    )) if value is not None
)


#: The modules CPython's own date code imports while a script calls it: ``date.strftime``, ``timetuple`` and
#: ``date.today`` import ``time``, ``datetime.strptime`` imports ``_strptime`` (Modules/_datetimemodule.c, through
#: PyImport_Import, which looks ``__import__`` up in the builtins of the calling frame — the script's).
C_LEVEL_IMPORTS = frozenset({"time", "_strptime"})


def _preloaded_module(name: Any, globals: Any = None, locals: Any = None, fromlist: Any = (),  # noqa: A002
                      level: int = 0) -> None:
    """The scripts' ``__import__``, for CPython's date code only: without one, ``date(2020, 1, 1).strftime("%Y")``
    failed with the incident ``'__import__'``. It imports nothing: the modules of :data:`C_LEVEL_IMPORTS` are
    loaded with this module, PyImport_Import calls ``__import__`` for its side effect only and then takes the
    module from ``sys.modules``. It answers None, so a script that reached it would get no module; any other
    name is refused. Scripts cannot name it (RestrictedPython refuses names starting with ``_``, and ``import``
    statements are refused at compile time)."""
    if not (isinstance(name, str) and name in C_LEVEL_IMPORTS and not level):
        raise ImportError(f"scripts cannot import {name!r}")


def _refuse_forbidden(names: Mapping[str, Any], *, exact: bool) -> None:
    """Refuse a builtins mapping that exposes a forbidden callable (by any name) or, if ``exact``, any
    name outside :data:`ALLOWED_BUILTIN_NAMES`."""
    exposed = sorted(name for name, value in names.items()
                     if name.startswith("_") or any(value is bad for bad in FORBIDDEN_BUILTINS))
    if exposed:
        raise ValueError(f"builtins must not expose {', '.join(exposed)}")
    if exact and set(names) != ALLOWED_BUILTIN_NAMES:
        raise ValueError(f"builtins differ from the allow-list: {sorted(set(names) ^ ALLOWED_BUILTIN_NAMES)}")


# Checked when the module is imported, so an edit of SAFE_BUILTINS that widens the sandbox cannot ship.
_refuse_forbidden(SAFE_BUILTINS, exact=True)

_STATIC_GUARDS: dict[str, Any] = {
    "_getattr_": _guarded_getattr,
    "_getitem_": _guarded_getitem,
    "_write_": full_write_guard,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_inplacevar_": _guarded_inplacevar,
    "_print_": PrintCollector,
    "_apply_": _apply,
    "_pow_": _guarded_pow,
    "_mul_": _guarded_mul,
    "_lshift_": _guarded_lshift,
    "_add_": _guarded_add,
    "_mod_": _guarded_mod,
    "_floordiv_": _guarded_floordiv,
    "_format_": _guarded_format,
}
_RESERVED = frozenset({*_STATIC_GUARDS, "_getiter_", "_tick_", "__builtins__"})


class _Budget:
    """Step and wall-clock budget of one ``evaluate``/``execute`` call."""

    __slots__ = ("active", "deadline", "expired", "max_steps", "memory_from", "next_check", "steps", "time_limit",
                 "too_much_memory")

    def __init__(self, time_limit: float | None, max_steps: int | None):
        self.time_limit = time_limit
        self.max_steps = max_steps
        self.memory_from = _peak_memory_kb()
        self.too_much_memory = False
        self.deadline = None if time_limit is None else time.monotonic() + time_limit
        self.steps = 0
        self.next_check = _TIME_CHECK_EVERY if max_steps is None else min(_TIME_CHECK_EVERY, max_steps + 1)
        self.expired = False
        self.active = True

    def reason(self) -> str:
        if self.too_much_memory:
            return f"script used more than {MAX_SCRIPT_MEMORY_MB} MB of memory"
        if self.max_steps is not None and self.steps > self.max_steps:
            return f"script exceeded its budget of {self.max_steps} steps"
        return f"script exceeded its time limit of {self.time_limit:g} s"

    def tick(self) -> None:
        self.steps += 1
        if self.steps >= self.next_check:
            self._check()

    def _check(self) -> None:
        if not self.expired:
            over_steps = self.max_steps is not None and self.steps > self.max_steps
            over_time = self.deadline is not None and time.monotonic() > self.deadline
            # Memory in total: each operation is bounded, but a loop can keep many bounded values (a comprehension
            # of 20,000 tuples of 100,000 items is 16 GB). The process's peak resident size, read every
            # _TIME_CHECK_EVERY steps, may grow by MAX_SCRIPT_MEMORY_MB during one script.
            self.too_much_memory = _peak_memory_kb() - self.memory_from > MAX_SCRIPT_MEMORY_MB * 1024
            self.expired = over_steps or over_time or self.too_much_memory
        if self.expired:
            self.next_check = 0  # every further step raises again
            if self.active:
                raise _BudgetExceeded(self.reason())
            raise ScriptLimitExceeded(self.reason())
        self.next_check = self.steps + _TIME_CHECK_EVERY
        if self.max_steps is not None:
            self.next_check = min(self.next_check, self.max_steps + 1)

    def final_check(self) -> None:
        """Time and memory once more when the script has returned (the steps were counted as they went)."""
        if not self.expired:
            self.too_much_memory = _peak_memory_kb() - self.memory_from > MAX_SCRIPT_MEMORY_MB * 1024
            self.expired = self.too_much_memory or (self.deadline is not None and time.monotonic() > self.deadline)
        if self.expired:
            raise _BudgetExceeded(self.reason())

    def getiter(self, ob: Any) -> Iterator[Any]:
        tick = self.tick
        for item in ob:
            tick()
            yield item


def _script_line(tb: types.TracebackType | None) -> int | None:
    line = None
    for frame in traceback.extract_tb(tb):
        if frame.filename == SCRIPT_FILENAME:
            line = frame.lineno
    return line


#: What task data may hold: JSON's values and the types the engine's storage knows (Decimal, dates, durations).
_DATA_TYPES = (type(None), bool, int, float, str, Decimal, date, timedelta, list, tuple, dict, set, frozenset)


def _is_data(value: Any) -> bool:
    """False for values that must not end up in task data: functions, classes, modules and iterators, and the
    other objects a script can hold — an exception, a dict view, ``math``, a time zone, a range, bytes (they were
    kept, then failed when the instance was saved, or counted as one item whatever they held)."""
    return isinstance(value, _DATA_TYPES) and not isinstance(value, type)


# --------------------------------------------------------------------------------------------------
# Environment and engine


class RestrictedTaskDataEnvironment(TaskDataEnvironment):
    """Drop-in replacement for SpiffWorkflow's ``TaskDataEnvironment`` running RestrictedPython code.

    ``extra_builtins`` are *trusted* values added to the builtins (task data shadows them); they must
    not expose interpreter internals (modules, frames, unrestricted callables that run code...); a
    mapping with a ``_`` name or one of :data:`FORBIDDEN_BUILTINS` under any name is refused (ValueError).
    """

    def __init__(
        self,
        extra_builtins: Mapping[str, Any] | None = None,
        *,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        max_steps: int | None = DEFAULT_MAX_STEPS,
    ):
        super().__init__({})
        _refuse_forbidden(extra_builtins or {}, exact=False)
        self.builtins: dict[str, Any] = {**SAFE_BUILTINS, **(extra_builtins or {})}
        # What the interpreter reads from a script's frame: the names above, and the import CPython's date code
        # makes (no script can name ``__import__``).
        self._frame_builtins: dict[str, Any] = {**self.builtins, "__import__": _preloaded_module}
        self.time_limit = time_limit
        self.max_steps = max_steps

    # -- helpers -------------------------------------------------------------------------------------

    def _globals(self, context: Mapping[str, Any], external_context: Mapping[str, Any] | None,
                 budget: _Budget) -> dict[str, Any]:
        globs: dict[str, Any] = {}
        if external_context:
            globs.update(external_context)
        globs.update(context)
        globs.update(_STATIC_GUARDS)
        globs["_getiter_"] = budget.getiter
        globs["_tick_"] = budget.tick
        globs["__builtins__"] = self._frame_builtins
        return globs

    def _run(self, code: types.CodeType, globs: dict[str, Any], budget: _Budget) -> Any:
        try:
            with decimal.localcontext() as bounded:  # Decimal results past ±MAX_DECIMAL_EXPONENT overflow
                bounded.Emax, bounded.Emin = MAX_DECIMAL_EXPONENT, -MAX_DECIMAL_EXPONENT
                result = eval(code, globs)  # noqa: S307 - code was compiled by RestrictedPython with guards
                # Time and memory spent inside one C call (int() of a huge Decimal, a translate) pass no step: the
                # budget is read once more at the end, and a script over it fails — nothing is written back.
                budget.final_check()
        except _BudgetExceeded as exc:
            raise ScriptLimitExceeded(str(exc), _script_line(exc.__traceback__)) from None
        except ScriptLimitExceeded as exc:  # raised by an operator guard: add the script line
            if exc.line is not None:
                raise
            raise ScriptLimitExceeded(exc.reason, _script_line(exc.__traceback__)) from None
        finally:
            budget.active = False
        if budget.expired:  # the script caught the interruption and carried on
            raise ScriptLimitExceeded(budget.reason())
        return result

    # -- BasePythonScriptEngineEnvironment API -----------------------------------------------------------

    def evaluate(self, expression, context, external_context=None):
        code = _compiled(expression, "eval")
        budget = _Budget(self.time_limit, self.max_steps)
        result = self._run(code, self._globals(context, external_context, budget), budget)
        _refuse_unstorable(result)  # a decision table's output, a message's payload: stored as task data
        if not (_is_data(result) or isinstance(result, bytes)):  # an expression's bytes are compared, not stored
            raise TypeError(
                f"expression produced a {type(result).__name__}, not a value"
                " (wrap iterators in list(...); functions cannot be returned)"
            )
        return result

    def execute(self, script, context, external_context=None):
        code = _compiled(script, "exec")
        budget = _Budget(self.time_limit, self.max_steps)
        external_context = external_context or {}
        globs = self._globals(context, external_context, budget)
        self._run(code, globs, budget)
        self._check_data_size(globs, external_context)
        self._write_back(context, globs, external_context)
        return True

    @staticmethod
    def _check_data_size(globs: dict, external_context: Mapping[str, Any]) -> None:
        """The task data a script leaves is stored with the instance as JSON: ``u = (t,) * 50_000`` of a 100,000-item
        ``t`` is small to build and 5·10⁹ items once written (the server grew to 8 GB writing it). Over
        MAX_TASK_DATA_UNITS the script fails (nothing is written back) — an incident, not a dead worker."""
        left = MAX_TASK_DATA_UNITS
        for key, value in globs.items():
            if key in _RESERVED or key.startswith("_") or key in external_context or not _is_data(value):
                continue
            left -= data_units(value, left)
            _refuse_unstorable(value)
            if left < 0:
                raise ScriptLimitExceeded(f"the task data the script leaves is too large (more than "
                                          f"{MAX_TASK_DATA_UNITS} items; a text counts one per 32 characters)")

    def _write_back(self, context: dict, globs: dict, external_context: Mapping[str, Any]) -> None:
        for key in list(context):
            if key in _RESERVED:
                continue  # shadowed by a guard during the run; scripts cannot assign "_" names
            if key not in globs or not _is_data(globs[key]):
                del context[key]
        for key, value in globs.items():
            if key in _RESERVED or (key in external_context and key not in context):
                continue
            if key.startswith("_") and key not in context:
                continue  # RestrictedPython temporaries (_print, _tmp0 ...)
            if _is_data(value):
                context[key] = value

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service calls go through RestrictedScriptEngine.call_service")


class RestrictedScriptEngine(PythonScriptEngine):
    """``PythonScriptEngine`` running all scripts and expressions under RestrictedPython.

    ``service_caller(task, operation_name, params)`` handles service tasks: ``params`` is a plain
    ``{name: value}`` dict of the already evaluated parameter expressions; it should return a JSON
    string (other values are ``json.dumps``-ed). Its exceptions propagate with their original type.
    """

    def __init__(
        self,
        service_caller: ServiceCaller | None = None,
        *,
        extra_builtins: Mapping[str, Any] | None = None,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        max_steps: int | None = DEFAULT_MAX_STEPS,
        isolated: bool = True,
    ):
        _refuse_forbidden(extra_builtins or {}, exact=False)
        if isolated and extra_builtins:
            raise ValueError("extra builtins are only given to scripts run in this process (isolated=False)")
        if isolated:  # in a sandbox process: see app.engine.isolation
            from app.engine.isolation import IsolatedTaskDataEnvironment

            environment: TaskDataEnvironment = IsolatedTaskDataEnvironment(time_limit=time_limit, max_steps=max_steps)
        else:
            environment = RestrictedTaskDataEnvironment(extra_builtins, time_limit=time_limit, max_steps=max_steps)
        super().__init__(environment=environment)
        self.service_caller = service_caller

    def evaluate(self, task, expression, external_context=None):
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
            return timer_value(task, expression, value)
        except SpiffWorkflowException as se:
            se.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise _task_error(f"Error evaluating expression '{expression}': {_describe(err)}", task, err) from err

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except SpiffWorkflowException as se:
            raise se
        except Exception as err:
            raise _task_error(_describe(err), task, err, script) from err

    def call_service(self, task, operation_name, operation_params):
        """Called by SpiffWorkflow's ``ServiceTask`` with ``operation_params={name: {'value', 'type'}}``."""
        if self.service_caller is None:
            raise NotImplementedError(f"no service caller configured for operation {operation_name!r}")
        params = {
            name: (param["value"] if isinstance(param, Mapping) and "value" in param else param)
            for name, param in (operation_params or {}).items()
        }
        result = self.service_caller(task, operation_name, params)
        if not isinstance(result, (str, bytes, bytearray)):
            result = json.dumps(result)
        return result


def timer_value(task, expression, value):
    """SpiffArena writes timers as Python (``timedelta(days=5)``, ``datetime(...)``); SpiffWorkflow 3.2's timer
    definitions only read ISO 8601 strings. The value of a timer's own expression becomes one: a timedelta an
    ISO duration (``PT432000S``), a datetime or date an ISO date-time. A naive one is Kazakhstan's time, as a date
    written without an offset is read (:func:`app.engine.timers._get_datetime`): ``date(2026, 3, 15)`` is the start of
    that day in Astana, not 05:00 there. Other expressions are left alone."""
    definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
    if getattr(definition, "expression", None) != expression:
        return value
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return f"PT{int(seconds) if seconds == int(seconds) else seconds}S"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=KZ)).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=KZ).isoformat()
    return value


def _line_of(err: BaseException) -> int | None:
    """The script line of a failure: a ScriptError carries it, an error from a sandbox process has it in
    ``script_line``, an error of this process in its traceback."""
    if isinstance(err, ScriptError):
        return err.line
    if hasattr(err, "script_line"):
        return err.script_line
    return _script_line(err.__traceback__)


def _task_error(message: str, task: Any, err: Exception, script: Any = None) -> WorkflowTaskException:
    line = _line_of(err)
    error_line = ""
    if line and isinstance(script, str):
        lines = script.splitlines()
        error_line = lines[line - 1] if 0 < line <= len(lines) else ""
    wrapped = WorkflowTaskException(message, task=task, exception=err, line_number=line, error_line=error_line)
    if hasattr(err, "type_name"):  # a sandbox's error of a type not rebuilt here (isolation.ScriptFailed)
        wrapped.error_type = err.type_name
    return wrapped


def _describe(err: BaseException) -> str:
    if hasattr(err, "type_name"):  # isolation.ScriptFailed: the child's own "Type: message"
        return err.reason
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
