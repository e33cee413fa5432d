"""Contingent rules: each has a code (stored on the act line) and a reason shown in kk/ru/en."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Rule:
    code: str
    title: object  # lazy string
    reason: object  # lazy string


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("iin_checksum", _l("Invalid IIN"),
         _l("The IIN is not 12 digits with a correct check digit.")),
    Rule("duplicate_line", _l("Duplicate line"),
         _l("The same student appears more than once in this act; only the first line counts.")),
    Rule("not_in_nedb", _l("Not in NEDB"),
         _l("No student with this IIN is registered in the national education database.")),
    Rule("other_school", _l("Registered at another school"),
         _l("In NEDB the student studies at another school during this month.")),
    Rule("withdrawn", _l("Withdrawn"),
         _l("The student was withdrawn from this school before the month began.")),
    Rule("not_registered", _l("Not registered for the month"),
         _l("The student is not registered at this school for any day of this month.")),
    Rule("double_claim", _l("Claimed by another school"),
         _l("Another school's act already claims this student for the same month.")),
)}


def level_for_grade(grade: int) -> str:
    """Primary 1–4, basic 5–9, general secondary 10–11 (DESIGN.md §2)."""
    if grade <= 4:
        return "primary"
    if grade <= 9:
        return "basic"
    return "secondary"
