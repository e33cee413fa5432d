"""Verify contingent: every line of an act against NEDB and against other schools' acts.

Set-based: one registry call for all the act's IINs and one query for competing claims, whatever the
number of lines. Rules are applied in a fixed order and the first failing rule names the exclusion.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.acts.models import Act, ActLine, StudentNorm
from app.acts.rules import level_for_grade
from app.extensions import db
from app.registry.adapter import Enrollment, StudentRegistry, student_registry
from app.registry.identifiers import is_valid_iin

_CHUNK = 900


def month_bounds(period: date) -> tuple[date, date]:
    return period.replace(day=1), period.replace(day=monthrange(period.year, period.month)[1])


def academic_year(period: date) -> str:
    start = period.year if period.month >= 9 else period.year - 1
    return f"{start}/{start + 1}"


@dataclass
class VerificationSummary:
    total: int
    accepted: int
    excluded: int
    amount_tiyn: int
    withheld_tiyn: int
    by_rule: dict[str, int]


def _claimed_elsewhere(act: Act, iins: list[str]) -> set[str]:
    claimed: set[str] = set()
    for i in range(0, len(iins), _CHUNK):
        chunk = iins[i : i + _CHUNK]
        claimed.update(db.session.scalars(
            select(ActLine.iin).join(Act, Act.id == ActLine.act_id).where(
                ActLine.period == act.period, ActLine.iin.in_(chunk), ActLine.school_id != act.school_id,
                ActLine.outcome == "accepted", Act.status.in_(("verified", "accepted", "paid")),
            )
        ))
    return claimed


def _registry_rule(enrollments: list[Enrollment], school_bin: str, start: date, end: date) -> str | None:
    if not enrollments:
        return "not_in_nedb"
    here = [e for e in enrollments if e.school_bin == school_bin]
    if any(e.active_during(start, end) for e in here):
        return None
    if any(e.active_during(start, end) for e in enrollments if e.school_bin != school_bin):
        return "other_school"
    if any(e.withdrawn_on is not None and e.withdrawn_on <= start for e in here):
        return "withdrawn"
    return "not_registered"


def norms_for(period: date) -> dict[str, int]:
    rows = db.session.scalars(select(StudentNorm).where(StudentNorm.academic_year == academic_year(period)))
    return {n.level: n.monthly_tiyn for n in rows}


def verify_act(act: Act, registry: StudentRegistry | None = None) -> VerificationSummary:
    registry = registry or student_registry()
    start, end = month_bounds(act.period)
    lines = list(act.lines)
    valid_iins = sorted({ln.iin for ln in lines if is_valid_iin(ln.iin)})
    enrollments = registry.enrollments_for(valid_iins)
    claimed = _claimed_elsewhere(act, valid_iins)
    norms = norms_for(act.period)
    seen: set[str] = set()
    by_rule: dict[str, int] = {}
    accepted = amount = withheld = 0
    for line in lines:
        norm = norms.get(level_for_grade(line.grade), 0)
        if not is_valid_iin(line.iin):
            rule = "iin_checksum"
        elif line.iin in seen:
            rule = "duplicate_line"
        else:
            rule = _registry_rule(enrollments.get(line.iin, []), act.school.bin, start, end)
            if rule is None and line.iin in claimed:
                rule = "double_claim"
        seen.add(line.iin)
        line.rule_code = rule
        if rule is None:
            line.outcome, line.amount_tiyn = "accepted", norm
            accepted += 1
            amount += norm
        else:
            line.outcome, line.amount_tiyn = "excluded", 0
            withheld += norm
            by_rule[rule] = by_rule.get(rule, 0) + 1
    act.total_lines = len(lines)
    act.accepted_lines = accepted
    act.amount_tiyn = amount
    act.withheld_tiyn = withheld
    return VerificationSummary(len(lines), accepted, len(lines) - accepted, amount, withheld, by_rule)
