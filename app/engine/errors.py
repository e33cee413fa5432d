"""Errors the engine raises; each carries a message a person can act on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from app.i18n import N_


class Said:
    """An error whose words are a catalogue's msgid and its values (``msgid``, ``values``), so that where it is kept
    to be read later — an incident, the instance's error — it is read in the reader's language, not in the language
    of the request or background pass it happened in (:func:`stored_words`, :func:`said_text`)."""

    msgid: str | None = None
    values: dict | None = None


#: the mark of a stored message kept as a msgid and its values (never the start of an exception's words)
_SAID = "said:"


@dataclass(frozen=True)
class Spoken:
    """A value of a kept message that its reader reads in their own language's form: a month (қараша 2026, ноябрь
    2026), a day, an amount in tiyn. Kept as the value itself; formatted where the message is said — a month kept
    formatted by the background pass was "November 2026" on a Kazakh page."""

    kind: str  # "month", "day" or "tenge"
    value: str | int

    @classmethod
    def month(cls, value) -> Spoken:
        return cls("month", value.isoformat())

    @classmethod
    def day(cls, value) -> Spoken:
        return cls("day", value.isoformat())

    @classmethod
    def tenge(cls, tiyn: int) -> Spoken:
        return cls("tenge", int(tiyn))

    def __str__(self) -> str:
        from datetime import date

        from app.i18n import format_day, format_month, format_tenge

        if self.kind == "tenge":
            return format_tenge(int(self.value))
        day = date.fromisoformat(str(self.value))
        return format_month(day) if self.kind == "month" else format_day(day)


def _kept(values: dict) -> dict:
    """The values as kept in JSON: a :class:`Spoken` one as its kind and value."""
    return {name: {"spoken": value.kind, "value": value.value} if isinstance(value, Spoken) else value
            for name, value in values.items()}


def said_values(values: dict) -> dict:
    """The values as the current reader reads them: a :class:`Spoken` one (or one kept as such) in their language's
    form, the others as they are."""
    said = {}
    for name, value in values.items():
        if isinstance(value, dict) and set(value) == {"spoken", "value"}:
            value = Spoken(value["spoken"], value["value"])
        said[name] = str(value) if isinstance(value, Spoken) else value
    return said


def stored_words(err: BaseException) -> str:
    """What an incident keeps of ``err``: the msgid and values of the nearest :class:`Said` error behind it (a
    service operator's refusal wrapped by the engine), else its words as they are."""
    seen, depth = err, 0
    while seen is not None and depth < 20:
        if isinstance(seen, Said) and seen.msgid:
            return _SAID + json.dumps({"msgid": seen.msgid, "values": _kept(seen.values or {})}, ensure_ascii=False,
                                      sort_keys=True, default=str)
        seen, depth = seen.__cause__ or seen.__context__, depth + 1
    return str(err) or type(err).__name__


def said_text(message: str | None) -> str:
    """A stored message (:func:`stored_words`) as the reader reads it: in their language if it was kept as a msgid,
    else as it was written."""
    if not message or not message.startswith(_SAID):
        return message or ""
    from flask_babel import gettext

    try:
        kept = json.loads(message[len(_SAID):])
        msgid, values = kept["msgid"], kept["values"]  # a variable: the extractor takes no literal for a msgid here
        return gettext(msgid, **said_values(values))
    except (ValueError, KeyError, TypeError, AttributeError):
        return message


class EngineError(Exception):
    """Base class; ``str(err)`` is safe to show to the user."""


class ModelNotPublished(Said, LookupError, EngineError):
    """No version of the process model is published: a new installation before ``flask load-models`` (the demo world
    publishes its own). Said to whoever started the process — a page had answered 500 — in their language; met by a
    service step that starts another process (the contract's, the year-end report's), it is an incident kept as its
    words, read in the language of whoever reads it."""

    def __init__(self, identifier: str):
        from flask_babel import gettext

        self.msgid = N_("No published version of process model “%(model)s”: an administrator publishes the shipped "
                        "models with “flask load-models”.")
        self.values = {"model": identifier}
        super().__init__(gettext(self.msgid, **self.values))


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


class DomainRefused(Said, EngineError):
    """A task handler refused the submission for a business reason (e.g. a payment date too far ahead)."""

    @classmethod
    def said(cls, msgid: str, **values) -> DomainRefused:
        """A refusal in the current language that is also read in its reader's when it is kept (a service task's
        refusal reaches the operator's staff as an incident): ``msgid`` marked with ``N_``; a month, a day or an
        amount among ``values`` given as :class:`Spoken`, so that each reader reads it in their language's form."""
        from flask_babel import gettext

        err = cls(gettext(msgid, **said_values(values)))
        err.msgid, err.values = msgid, values
        return err


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
