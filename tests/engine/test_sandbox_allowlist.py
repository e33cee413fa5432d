"""The script sandbox's builtins are an exact allow-list, and no way out is reachable from them.

Issue 17: adding ``getattr`` to the allowed builtins let every test pass while
``g=getattr; g(g(g((),'__class__'),'__base__'),'__subclasses__')()`` listed every class of the
interpreter. These tests pin the allowed names and walk everything a script can reach.
"""

from __future__ import annotations

import builtins
import types
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from RestrictedPython.Guards import safer_getattr_raise
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from app.engine import scripting
from app.engine.scripting import (
    ALLOWED_BUILTIN_NAMES,
    SAFE_BUILTINS,
    RestrictedScriptEngine,
    RestrictedTaskDataEnvironment,
    ScriptRejected,
    check_script,
)

#: Written out here, independently of the module: a change to the sandbox's builtins must change this test.
PINNED_NAMES = {
    "bool", "int", "float", "str", "dict", "list", "set", "frozenset", "tuple", "Decimal",
    "date", "datetime", "timedelta", "timezone",
    "abs", "all", "any", "callable", "chr", "divmod", "enumerate", "filter", "isinstance", "len", "map",
    "max", "min", "ord", "range", "repr", "reversed", "round", "sorted", "sum", "zip",
    "math",
    "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NameError", "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration",
    "TypeError", "ValueError", "ZeroDivisionError",
}

#: Callables that open the sandbox: attribute access by string, introspection, code execution, imports, files.
FORBIDDEN_NAMES = [
    "getattr", "setattr", "delattr", "hasattr", "type", "vars", "dir", "open", "eval", "exec", "compile",
    "globals", "locals", "__import__", "breakpoint", "input", "object", "super", "memoryview", "id",
]
FORBIDDEN = [getattr(builtins, name) for name in FORBIDDEN_NAMES]

ESCAPE = "g=getattr; g(g(g((),'__class__'),'__base__'),'__subclasses__')()"


def test_the_allowed_builtins_are_exactly_the_pinned_names():
    assert set(SAFE_BUILTINS) == PINNED_NAMES
    assert ALLOWED_BUILTIN_NAMES == PINNED_NAMES
    # ... and that is all a script gets: the app's engine runs scripts in a sandbox process, whose environment is
    # built with its limits only (no extra builtins can be given to an isolated engine).
    from app.engine.isolation import IsolatedTaskDataEnvironment
    from app.engine.runtime import SCRIPT_ENGINE
    from app.engine.scripting import RestrictedTaskDataEnvironment

    assert isinstance(SCRIPT_ENGINE.environment, IsolatedTaskDataEnvironment)
    assert set(RestrictedTaskDataEnvironment(time_limit=1.0, max_steps=10).builtins) == PINNED_NAMES
    assert set(RestrictedScriptEngine(isolated=False).environment.builtins) == PINNED_NAMES
    with pytest.raises(ValueError, match="extra builtins"):
        RestrictedScriptEngine(extra_builtins={"helper": len})


def _is_forbidden(value) -> bool:
    return (any(value is bad for bad in FORBIDDEN)
            or isinstance(value, (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)))


def _samples() -> list:
    """Values scripts hold: task data (JSON-like, dates, Decimal) and what the builtins make."""
    return [
        0, 1.5, True, None, "text", [1], {"a": 1}, {1}, frozenset({1}), (1,), Decimal("1.5"),
        date(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=1), UTC,
        range(3), enumerate([1]), map(str, [1]), filter(None, [1]), zip([1], [2], strict=True), reversed([1]),
        iter([1]), {"a": 1}.items(), (i for i in [1]), lambda: 1, ValueError("x"),
    ]


def _reachable_attribute(obj, name: str):
    """What ``obj.name`` gives a script, or raises if the sandbox refuses it (compile time or run time)."""
    if name.startswith("_") or name in INSPECT_ATTRIBUTES:
        raise AttributeError(name)  # rejected by RestrictedPython's compiler
    return safer_getattr_raise(obj, name)


def test_no_forbidden_callable_is_reachable_from_any_builtin_or_value():
    frontier = [*SAFE_BUILTINS.values(), *vars(SAFE_BUILTINS["math"]).values(), *_samples()]
    found = [f"builtin {name} -> {value!r}" for name, value in SAFE_BUILTINS.items() if _is_forbidden(value)]
    seen: set[int] = set()
    visited = 0
    for _depth in range(4):
        following = []
        for obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            visited += 1
            for name in dir(obj):
                try:
                    value = _reachable_attribute(obj, name)
                except Exception:  # noqa: S112 - refused by the sandbox: not reachable
                    continue
                if _is_forbidden(value):
                    found.append(f"{obj!r}.{name} -> {value!r}")
                following.append(value)
        frontier = following
    assert found == []
    assert visited > 500, "the walk must actually cover the builtins' attributes"


def test_the_walk_does_find_a_planted_forbidden_callable():
    """Control: the walk above is able to see a forbidden callable hidden one attribute deep."""
    hidden = types.SimpleNamespace(tool=getattr)
    assert _is_forbidden(_reachable_attribute(hidden, "tool"))


#: RestrictedPython's compiler refuses these names outright; the rest are simply not defined.
REJECTED_AT_COMPILE_TIME = {"__import__": "starts with", "breakpoint": "reserved name"}


@pytest.mark.parametrize("name", FORBIDDEN_NAMES)
def test_forbidden_names_are_not_defined_in_scripts(name):
    env = RestrictedTaskDataEnvironment()
    if name in REJECTED_AT_COMPILE_TIME:
        with pytest.raises(ScriptRejected, match=REJECTED_AT_COMPILE_TIME[name]):
            env.evaluate(name, {})
    else:
        with pytest.raises(NameError, match=f"^name '{name}' is not defined$"):
            env.evaluate(name, {})
        with pytest.raises(NameError, match=f"^name '{name}' is not defined$"):
            env.execute(f"alias = {name}", {})


@pytest.mark.parametrize("name", sorted(scripting.FORBIDDEN_CALLS))
def test_calling_a_forbidden_name_is_refused_before_running(name):
    problems = check_script(f"x = 1\nresult = {name}(x)")
    assert problems and problems[0].line == 2
    assert problems[0].message in (f'calling "{name}" is not allowed', f'"{name}" is a reserved name.')


def test_the_issue_escape_fails_with_getattr_undefined():
    env = RestrictedTaskDataEnvironment()
    context: dict = {}
    with pytest.raises(NameError, match="name 'getattr' is not defined"):
        env.execute(ESCAPE, context)
    assert context == {}
    with pytest.raises(NameError, match="name 'getattr' is not defined"):
        env.evaluate("[g(g((), '__class__'), '__base__') for g in [getattr]]", {})


@pytest.mark.parametrize("extra", [{"g": getattr}, {"fetch": open}, {"run": eval}, {"kind": type},
                                   {"_getattr_": len}, {"imp": __import__}])
def test_trusted_extra_builtins_cannot_expose_a_forbidden_callable(extra):
    with pytest.raises(ValueError, match="must not expose"):
        RestrictedTaskDataEnvironment(extra_builtins=extra)
    with pytest.raises(ValueError, match="must not expose"):
        RestrictedScriptEngine(extra_builtins=extra)


def test_harmless_extra_builtins_are_added():
    env = RestrictedTaskDataEnvironment(extra_builtins={"vat_rate": 12, "half": lambda x: x // 2})
    assert env.evaluate("half(vat_rate)", {}) == 6
    assert set(env.builtins) == PINNED_NAMES | {"vat_rate", "half"}


def test_widening_the_allow_list_is_refused_when_the_module_loads():
    """The import-time check: an edit adding a name (or a forbidden value under an allowed name) fails."""
    with pytest.raises(ValueError, match="must not expose getattr"):
        scripting._refuse_forbidden({**SAFE_BUILTINS, "getattr": getattr}, exact=True)
    with pytest.raises(ValueError, match="must not expose len"):
        scripting._refuse_forbidden({**SAFE_BUILTINS, "len": vars}, exact=True)
    with pytest.raises(ValueError, match="differ from the allow-list.*'pow'"):
        scripting._refuse_forbidden({**SAFE_BUILTINS, "pow": pow}, exact=True)
    with pytest.raises(ValueError, match="differ from the allow-list.*'zip'"):
        scripting._refuse_forbidden({k: v for k, v in SAFE_BUILTINS.items() if k != "zip"}, exact=True)
    scripting._refuse_forbidden(SAFE_BUILTINS, exact=True)
