"""Contingent rules: each has a code (stored on the act line) and a reason shown in kk/ru/en.

``RULES`` is ordered by precedence: a line excluded by several rules carries the first one's code.
School-level rules (the organisation itself may not be funded) come first and exclude every line.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Rule:
    code: str
    title: object  # lazy string
    reason: object  # lazy string
    school_level: bool = False


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("non_education_org", _l("Not an education organisation"),
         _l("In the business register the school's BIN is liquidated or its main activity is not education "
            "(OKED 85)."), school_level=True),
    Rule("licence_expired", _l("Licence not valid"),
         _l("The school has no education licence valid for the whole month."), school_level=True),
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
    Rule("double_enrolment", _l("Enrolled at two schools"),
         _l("In NEDB the student is enrolled at this school and, on the same days, at another school "
            "(for example a state-funded school).")),
    Rule("double_claim", _l("Claimed by another school"),
         _l("Another school's act already claims this student for the same month.")),
    Rule("grade_mismatch", _l("Grade differs from NEDB"),
         _l("The grade in the act is not the grade the student is registered in at this school in NEDB.")),
    Rule("level_not_covered", _l("Level not covered"),
         _l("The student's level (primary 1–4, basic 5–9, secondary 10–11) is not covered by the school's "
            "contract or licence.")),
    Rule("over_capacity", _l("Over design capacity"),
         _l("The act lists more students than the school's design capacity; lines beyond it are not paid.")),
)}

SCHOOL_LEVEL_RULES = tuple(code for code, r in RULES.items() if r.school_level)

LEVEL_GRADES = {"primary": range(1, 5), "basic": range(5, 10), "secondary": range(10, 12)}


def level_for_grade(grade: int) -> str:
    """Primary 1–4, basic 5–9, general secondary 10–11 (DESIGN.md §2)."""
    if grade <= 4:
        return "primary"
    if grade <= 9:
        return "basic"
    return "secondary"


def grades_for_levels(levels) -> frozenset[int]:
    return frozenset(g for level in levels for g in LEVEL_GRADES.get(level, ()))
