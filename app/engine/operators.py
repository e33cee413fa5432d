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

from app.engine.errors import Said
from app.i18n import N_


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


class ServiceRefused(Said, LookupError):
    """A service operator refused what the model asked of it: another record than the one its instance is about,
    an operator that does not exist, parameters it does not take. It reaches the operator's staff as an incident
    (the step waits): ``str()`` is the English sentence (logs, the technical detail); the incident keeps its
    msgid and values and says them in the language of whoever reads it (:func:`app.engine.errors.said_text`)."""

    def __init__(self, msgid: str, **values):
        self.msgid, self.values = msgid, values
        super().__init__(msgid % values)


#: a service operator's refusal of a record its instance is not about, by the instance's subject kind
_NOT_THIS_SUBJECT = {
    "act": N_("Act %(number)s does not belong to this process instance"),
    "application": N_("Application %(number)s does not belong to this process instance"),
    "contract": N_("Contract %(number)s does not belong to this process instance"),
    "state_order": N_("State order %(number)s does not belong to this process instance"),
}


class ServiceParameters(ServiceRefused, TypeError):
    """The model gives an operator parameters it does not take, or of another type."""


class ServiceValue(ServiceRefused, ValueError):
    """A value the model gives a service step that it cannot take: a variable out of range, a decision table's row
    (a rate per place of zero, no rate for the region) — the process owner's to correct, the step waits."""


def instance_subject(ctx, model: type, subject_type: str, record_id: int):
    """The record ``record_id`` of ``model`` if the instance is about it — its kind as well as its id (a step added
    to the order's model with ``applications/expire`` had expired the application that shared the order's id) —;
    else :class:`ServiceRefused`."""
    from app.extensions import db

    record = db.session.get(model, record_id)
    if record is None or ctx.instance.subject_type != subject_type or ctx.instance.subject_id != record.id:
        raise ServiceRefused(_NOT_THIS_SUBJECT[subject_type], number=record_id)
    return record


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
        raise ServiceRefused(N_("The model calls a service operator that does not exist: %(operator)s"),
                             operator=op_id)
    unknown = set(params) - set(op.params)
    missing = set(op.params) - set(params)
    if unknown or missing:
        raise ServiceParameters(N_("The model calls the service operator %(operator)s with parameters it does not "
                                   "take (%(unknown)s) or without those it needs (%(missing)s)"), operator=op_id,
                                unknown=", ".join(sorted(unknown)) or "—", missing=", ".join(sorted(missing)) or "—")
    for name, expected in op.params.items():
        if not isinstance(params[name], expected):
            raise ServiceParameters(N_("The model gives the service operator %(operator)s a parameter %(name)s that "
                                       "is not of its type (%(type)s)"), operator=op_id, name=name,
                                    type=expected.__name__)
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


def longest_retry_delay() -> int:
    """The longest delay any retry policy gives (registered operators' and ``SERVICE_RETRY``'s), in seconds: an
    automatic retry is never scheduled further ahead than that from the moment it is scheduled."""
    configured = current_app.config.get("SERVICE_RETRY") or {} if has_app_context() else {}
    delays = [d for op in _OPERATORS.values() for d in op.retry.delays]
    delays += [int(d) for setting in configured.values() for d in (setting or {}).get("delays", ())]
    return max(delays, default=0)


def retry_policy_for_error(err: BaseException) -> RetryPolicy | None:
    """The retry policy that applies to a failed step: a service call's operator's, else none."""
    seen = err
    while seen is not None:
        op_id = getattr(seen, "service_operator", None)
        if op_id:
            return retry_policy(op_id)
        seen = seen.__cause__ or seen.__context__
    return None
