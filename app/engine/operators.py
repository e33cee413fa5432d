"""Service-task operators: ``spiffworkflow:serviceTaskOperator id="acts/verify"`` → a Python function.

Operators are registered by domain packages; models naming an unknown operator or wrong parameters are
rejected when the model is validated, not when a citizen reaches the task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Operator:
    id: str
    func: Callable[..., dict]
    params: dict[str, type]  # name -> expected python type
    description: str = ""


_OPERATORS: dict[str, Operator] = {}


def operator(op_id: str, params: dict[str, type] | None = None, description: str = ""):
    """Register ``func(ctx, **params) -> dict`` as a service operator."""

    def decorate(func: Callable[..., dict]) -> Callable[..., dict]:
        _OPERATORS[op_id] = Operator(op_id, func, params or {}, description or (func.__doc__ or "").strip())
        return func

    return decorate


def get_operator(op_id: str) -> Operator | None:
    return _OPERATORS.get(op_id)


def all_operators() -> dict[str, Operator]:
    return dict(_OPERATORS)


def call_operator(op_id: str, ctx: Any, params: dict[str, Any]) -> dict:
    op = _OPERATORS.get(op_id)
    if op is None:
        raise LookupError(f"Unknown service operator {op_id!r}")
    unknown = set(params) - set(op.params)
    missing = set(op.params) - set(params)
    if unknown or missing:
        raise TypeError(f"Operator {op_id}: unknown parameters {sorted(unknown)}, missing {sorted(missing)}")
    for name, expected in op.params.items():
        if not isinstance(params[name], expected):
            raise TypeError(f"Operator {op_id}: parameter {name} must be {expected.__name__}")
    return op.func(ctx, **params)
