"""Errors the engine raises; each carries a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field


class EngineError(Exception):
    """Base class; ``str(err)`` is safe to show to the user."""


class TaskNotAvailable(EngineError):
    """The task does not exist for this user, or is no longer open."""


class ConflictError(EngineError):
    """Someone else changed the instance first; nothing of this attempt was saved."""


class StepFailed(EngineError):
    """An automatic step (service or script task) failed; the instance stays at its last saved state."""


class FormInvalid(EngineError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("The form has errors")
        self.errors = errors


class DomainRefused(EngineError):
    """A task handler refused the submission for a business reason (e.g. a payment date too far ahead)."""


class LineRefused(DomainRefused):
    """A refusal of one field of one line of a table (a move-out date before the move-in date): the page marks that
    field (``field``, the column's name) on that line, as it marks a field the form's schema refuses."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


class DomainConflict(DomainRefused):
    """Refused because the object is no longer in the state the request was made for: the act was paid meanwhile,
    or its amount changed. The request lost a race or repeats a step already done — HTTP 409, where a refusal of
    what the person entered is 422."""


@dataclass
class ModelProblem:
    filename: str
    message: str
    element_id: str | None = None
    line: int | None = None
    name: str | None = None  # the element's name as drawn, when it has one
    detail: str | None = None  # the technical words of the message, for the expert (a data path: lines.*.grade)

    def __str__(self) -> str:
        where = self.filename + (f":{self.line}" if self.line else "")
        label = f"{self.element_id} «{self.name}»" if self.element_id and self.name else self.element_id
        elem = f" [{label}]" if label else ""
        return f"{where}{elem}: {self.message}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ModelInvalid(EngineError):
    problems: list[ModelProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(str(p) for p in self.problems)
