"""Timers written the way other engines write them: a bare ISO 8601 value is read as that value.

Camunda 7 and 8, Flowable, Activiti, jBPM, Signavio and bpmn.io write a timer's body as the ISO 8601 text itself
(``PT5M``, ``P1D``, ``R3/PT10M``, ``2026-12-01T10:00:00Z``); SpiffWorkflow 3.2 evaluates the body as a Python expression
and needs the quotes (``"PT5M"``). Read as Python, a bare value is never what its author meant: ``PT5M`` a name no
step sets, ``R3/PT10M`` a division of two names, ``2026-12-10`` a subtraction (the number 2004, a date in 1970), so
there is nothing to choose between — the text is read as the literal it is, and checked as such (an ISO value, no
cycle of zero rounds, an offset on a date, within the horizon: :func:`app.engine.specs.timer_value_problems`).

Why the engine reads it, and the import does not rewrite the file to the quoted form: the stored diagram stays
what its tool wrote, byte for byte — exported back, Camunda's or Flowable's modeler reads it as before (a quoted
``"PT5M"`` is an error there); the version diff shows only the owner's own changes; and one rule covers every way a
diagram arrives (a file or a zip on the import page, a save in the editor, the API, the shell's import-model), where
a rewrite at one door would leave the others refusing. The engine parses a copy of the tree
(:func:`app.engine.model_lint.engine_copy`), which carries the quoted form; the quoted form keeps working, and so do
Python expressions (``timedelta(days=2)``, a variable holding an ISO value). Other engines' expression languages —
JUEL ``${duration}``, FEEL ``=duration("PT5M")`` — are not guessed at: they are refused on their event with what to
write instead (:func:`app.engine.model_lint.timer_language_problems`).
"""

from __future__ import annotations

import json
import re

#: The elements of a timer definition whose text the engine evaluates.
TIMER_VALUES = ("timeDate", "timeDuration", "timeCycle")

#: An ISO 8601 duration, cycle or date written without quotes: ``P5D``, ``PT1H30M``, ``R3/PT1H``, ``R/P1D``,
#: ``R/2026-01-01T09:00:00+05:00/P1D``, ``2026-12-01``, ``2026-12-01T10:00:00Z``. A shape, not a validation: what
#: matches is read as a literal, and a literal that is not a real ISO value (month 13) is refused as that.
_BARE_ISO = re.compile(r"R[0-9]*/\S+|PT?[0-9][0-9YMWDTHS.,]*(/\S+)?|[0-9]{4}-[0-9]{2}-[0-9]{2}(T\S*)?(/\S+)?")

#: A cron expression (Camunda 7's and Zeebe's timeCycle also take Quartz/Spring cron: ``0 0/5 * * * ?``).
_CRON = re.compile(r"(?:[0-9*?/,LW#A-Za-z-]+\s+){4,6}[0-9*?/,LW#A-Za-z-]+")
_CRON_FIELD = re.compile(r"[0-9*?/,LW#-]+|[A-Za-z]{3}(?:-[A-Za-z]{3})?")

#: An ISO value inside another engine's expression: FEEL's ``duration("PT5M")``, ``date and time("...")``,
#: JUEL's ``${'PT5M'}``.
_QUOTED_ISO = re.compile(r"""["']([^"']+)["']""")


def bare_iso(text: str | None) -> str | None:
    """The ISO 8601 value a timer's body is, when it is written bare (without quotes); None otherwise."""
    stripped = (text or "").strip()
    return stripped if _BARE_ISO.fullmatch(stripped) else None


def engine_text(text: str | None) -> str | None:
    """A timer's body as the engine evaluates it: a bare ISO value quoted, anything else as written."""
    literal = bare_iso(text)
    return json.dumps(literal) if literal is not None else text


def is_cron(text: str | None) -> bool:
    """Whether a timer's body is a cron expression (five to seven fields: ``0 0/5 * * * ?``, ``0 9 * * MON-FRI``)."""
    stripped = (text or "").strip()
    return bool(_CRON.fullmatch(stripped)) and all(_CRON_FIELD.fullmatch(f) for f in stripped.split())


def iso_inside(text: str | None) -> str | None:
    """The ISO value another engine's expression wraps (``=duration("PT5M")`` → ``PT5M``), when it holds one
    quoted value and nothing it computes with it; None otherwise."""
    found = _QUOTED_ISO.findall(text or "")
    if len(found) != 1 or bare_iso(found[0]) is None:
        return None
    rest = _QUOTED_ISO.sub("", text or "")
    # only a wrapper around the value: =duration("PT5M"), =date and time("..."), ${'PT5M'}, ="PT5M"
    return found[0] if re.fullmatch(r"\s*(=|[$#]\{)?\s*[A-Za-z ]*\(?\s*\)?\s*\}?\s*", rest) else None


def quote_bare_timers(tree) -> None:
    """In the engine's copy of a diagram, each timer written as a bare ISO value is given its quotes."""
    for value in tree.iter(*(f"{{*}}{tag}" for tag in TIMER_VALUES)):
        parent = value.getparent()
        if parent is None or not isinstance(parent.tag, str) or not parent.tag.endswith("timerEventDefinition"):
            continue
        if bare_iso(value.text) is not None:
            value.text = engine_text(value.text)
