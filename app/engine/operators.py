"""Service-task operators: ``spiffworkflow:serviceTaskOperator id="acts/verify"`` → a Python function.

Operators are registered by domain packages; models naming an unknown operator or wrong parameters are
rejected when the model is validated, not when a citizen reaches the task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context


@dataclass(frozen=True)
class RetryPolicy:
    """How often and after how long a failing service call is retried by the background pass before its
    incident waits for an operator. ``attempts`` counts every call, the first included; ``delays`` are the
    seconds before the 2nd, 3rd, ... call (the last delay repeats)."""

    attempts: int = 1
    delays: tuple[int, ...] = ()

    def delay_after(self, failed_attempts: int) -> int | None:
        """Seconds until the next automatic attempt, or None when no attempt is left."""
        if failed_attempts >= self.attempts:
            return None
        if not self.delays:
            return 0
        return int(self.delays[min(failed_attempts, len(self.delays)) - 1])


#: no automatic retry: the first failure is an incident for an operator
NO_RETRY = RetryPolicy()


@dataclass(frozen=True)
class Operator:
    id: str
    func: Callable[..., dict]
    params: dict[str, type]  # name -> expected python type
    #: what it does, for process owners in the modeler's side panel: a lazy string read in the reader's language
    #: (``str(op.description)``), else the function's docstring in English
    description: object = ""
    retry: RetryPolicy = NO_RETRY


_OPERATORS: dict[str, Operator] = {}


def operator(op_id: str, params: dict[str, type] | None = None, description: object = None, *,
             retry_attempts: int = 1, retry_delays: Sequence[int] = ()):
    """Register ``func(ctx, **params) -> dict`` as a service operator. ``description``: what it does for a process
    owner, a lazy string (``_l``; it is not read here, before any request has a language). ``retry_attempts``/
    ``retry_delays``: its default :class:`RetryPolicy` (the setting ``SERVICE_RETRY`` overrides it per operator)."""

    def decorate(func: Callable[..., dict]) -> Callable[..., dict]:
        told = description if description is not None else (func.__doc__ or "").strip()
        _OPERATORS[op_id] = Operator(op_id, func, params or {}, told,
                                     RetryPolicy(max(1, retry_attempts), tuple(retry_delays)))
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
    try:
        return op.func(ctx, **params)
    except Exception as err:
        # tagged, not wrapped: the error surfaces unchanged; an incident finds its operator's retry policy
        with suppress(AttributeError):  # an exception type without a __dict__ keeps the default (no retry)
            err.service_operator = op_id
        raise


def retry_policy(op_id: str) -> RetryPolicy:
    """The operator's retry policy: the setting ``SERVICE_RETRY = {"acts/verify": {"attempts": 4, "delays":
    [60, 300, 1800]}, "*": {...}}`` (per operator, ``*`` for all others) over the one it was registered with."""
    op = _OPERATORS.get(op_id)
    configured = current_app.config.get("SERVICE_RETRY") or {} if has_app_context() else {}
    setting = configured.get(op_id) or configured.get("*")
    if setting:
        return RetryPolicy(max(1, int(setting.get("attempts", 1))), tuple(int(d) for d in setting.get("delays", ())))
    return op.retry if op is not None else NO_RETRY


def retry_policy_for_error(err: BaseException) -> RetryPolicy | None:
    """The retry policy that applies to a failed step: a service call's operator's, else none."""
    seen = err
    while seen is not None:
        op_id = getattr(seen, "service_operator", None)
        if op_id:
            return retry_policy(op_id)
        seen = seen.__cause__ or seen.__context__
    return None
