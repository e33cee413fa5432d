"""Contingent rules: each has a code (stored on the act line) and a reason shown in kk/ru/en.

``RULES`` is ordered by precedence: a line excluded by several rules carries the first one's code.
School-level rules (the organisation itself may not be funded) come first and exclude every line.

Every outcome is a function of the act's own lines, the registries and the act's terms — never of which
act was verified first, nor of whether the pass ran per act or month-wide (see ``verification.py``).
Identity checks (``REVIEW_CHECKS``) never exclude by themselves: they mark a line *needs review* for the
department official, whose decision (``app.acts.review``) either keeps it or excludes it (``review_excluded``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Rule:
    code: str
    title: object  # lazy string
    reason: object  # lazy string
    school_level: bool = False


RULES: dict[str, Rule] = {r.code: r for r in (
    # No record, no payment: a school the registries do not know is not funded (the evidence is missing,
    # not merely failing).
    Rule("no_business_record", _l("Not in the business register"),
         _l("The school's BIN has no record in the state business register."), school_level=True),
    Rule("no_licence", _l("No licence record"),
         _l("The licence registry has no education licence of this school."), school_level=True),
    Rule("non_education_org", _l("Not an education organisation"),
         _l("In the business register the school's BIN is liquidated or its main activity is not education "
            "(OKED 85)."), school_level=True),
    Rule("liquidated", _l("School liquidated"),
         _l("In the business register the school was liquidated before this month began (or on its first day). A "
            "school liquidated within the month is paid only the days before its liquidation."), school_level=True),
    Rule("licence_expired", _l("Licence not valid"),
         _l("No education licence covering the student's level was valid on any day the student was at the school "
            "this month. A licence that starts or ends within the month pays only the days it covers."),
         school_level=True),
    Rule("iin_checksum", _l("Invalid IIN"),
         _l("The IIN is not 12 digits with a correct check digit.")),
    Rule("duplicate_line", _l("Duplicate line"),
         _l("The same student appears more than once in this act; only one copy counts — the one whose grade "
            "matches NEDB, whatever its place in the act.")),
    Rule("not_in_nedb", _l("Not in NEDB"),
         _l("No student with this IIN is registered in the national education database.")),
    Rule("other_school", _l("Registered at another school"),
         _l("In NEDB the student studies at another school during this month.")),
    Rule("withdrawn", _l("Withdrawn"),
         _l("The student was withdrawn from this school before the month began.")),
    Rule("not_registered", _l("Not registered for the month"),
         _l("The student is not registered at this school for any day of this month.")),
    # A transfer recorded on one day at both schools (A's row runs through the 15th, B's starts on the 15th) is no
    # double enrolment: the day of the move is paid once, to the school the child entered — as a same-day transfer
    # (withdrawn from A on the 16th, enrolled at B on the 16th) pays the 16th to B. Two shared days or more, or a row
    # of that one day only, are (app.acts.verification._handed_over_sql, app.registry.adapter.handed_over).
    Rule("double_enrolment", _l("Enrolled at two schools"),
         _l("In NEDB the student is enrolled at this school and, on the same days, at another school "
            "(for example a state-funded school).")),
    # double_claim: no longer decided (a claim by two schools is settled by NEDB: each school is paid the days
    # the student was its own — other_school / double_enrolment otherwise). Kept so that lines verified
    # before 0011_rules still show their reason.
    Rule("double_claim", _l("Claimed by another school"),
         _l("Another school's act already claims this student for the same month.")),
    Rule("grade_mismatch", _l("Grade differs from NEDB"),
         _l("The grade in the act is not the grade the student is registered in at this school in NEDB.")),
    Rule("level_not_covered", _l("Level not covered"),
         _l("The student's level (primary 1–4, basic 5–9, secondary 10–11) is not covered by the school's "
            "contract or licence.")),
    Rule("over_contracted_places", _l("Over the contracted places"),
         _l("On some day of the month more students of a level (primary, basic or secondary) are at the school, "
            "by NEDB's dates, than the places the contract gives that level; the places go to the students "
            "enrolled there longest, and those enrolled most recently are not paid.")),
    Rule("over_capacity", _l("Over design capacity"),
         _l("On some day of the month more students are at the school, by NEDB's dates, than its design "
            "capacity; the places go to the students enrolled there longest, and those enrolled most recently "
            "are not paid.")),
    Rule("review_excluded", _l("Excluded after review"),
         _l("The department official reviewed the student's identity against NEDB and excluded the line.")),
)}

#: Identity checks: a line that passes every rule but fails one of these *needs review* (``act_line.review_codes``,
#: comma-separated, in this order). The act cannot be accepted until the official decides each such line.
REVIEW_CHECKS: dict[str, tuple[object, object]] = {
    "name": (_l("Name differs from NEDB"),
             _l("The name in the act is not the name in NEDB, even after ignoring case, spaces and "
                "Cyrillic/Kazakh letter variants.")),
    "age": (_l("Age implausible for the grade"),
            _l("The birth date in the IIN makes the student too young or too old for the claimed grade.")),
    # (the Russian of the earlier "More days claimed than enrolled" ended mid-phrase: "…, чем зачислен")
    "days": (_l("More days attended claimed than days enrolled in NEDB"),
             _l("The act claims more days attended than the student was enrolled at this school in the month "
                "according to NEDB. Payment follows NEDB's days.")),
}

#: Age on 1 September of the academic year, relative to the grade: a first-grader is normally 6 (grade + 5).
#: One year early or two years late (late start, a repeated year) is still plausible.
AGE_OVER_GRADE_MIN, AGE_OVER_GRADE_MAX = 4, 7

SCHOOL_LEVEL_RULES = tuple(code for code, r in RULES.items() if r.school_level)

LEVEL_GRADES = {"primary": range(1, 5), "basic": range(5, 10), "secondary": range(10, 12)}
#: The grades the state order funds (DESIGN.md §2). NEDB also keeps the pre-school class (0) and grade 12: their rows
#: count as enrolments (another school's claim, a grade the line does not have), never as a line or a place.
FUNDED_GRADES = frozenset(range(1, 12))


def level_for_grade(grade: int) -> str:
    """Primary 1–4, basic 5–9, general secondary 10–11 (DESIGN.md §2)."""
    if grade <= 4:
        return "primary"
    if grade <= 9:
        return "basic"
    return "secondary"


def grades_for_levels(levels) -> frozenset[int]:
    return frozenset(g for level in levels for g in LEVEL_GRADES.get(level, ()))


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_plausible(born: date | None, grade: int, academic_year_start: int) -> bool:
    """Whether a child born on ``born`` may sit in ``grade`` in the academic year starting on 1 September."""
    if born is None:
        return False
    age = age_on(born, date(academic_year_start, 9, 1))
    return grade + AGE_OVER_GRADE_MIN <= age <= grade + AGE_OVER_GRADE_MAX


# Kazakh letters and their Russian-keyboard stand-ins, ё, and Latin letters that look Cyrillic (typed on the
# wrong layout): names that differ only by these are the same name. Every dash joining a double surname is a space:
# a word processor's en dash or non-breaking hyphen ("Иванова–Петрова") made the name differ from NEDB's.
_LETTER_VARIANTS = str.maketrans({
    "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е", "й": "и",
    "a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "i": "и", "k": "к", "m": "м", "o": "о", "p": "р", "t": "т",
    "x": "х", "y": "у", "-": " ", "‐": " ", "‑": " ", "‒": " ", "–": " ", "—": " ", "―": " ", "−": " ", ".": " ",
})


def normalise_name(name: str | None) -> str:
    """Case, spaces and Cyrillic/Kazakh letter variants do not make two names different."""
    import unicodedata

    folded = unicodedata.normalize("NFC", name or "").casefold().translate(_LETTER_VARIANTS)
    return " ".join(folded.split())
