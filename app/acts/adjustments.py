"""Adjustments: registry corrections of months already accepted or paid, settled on the school's next act.

An accepted act is final (DESIGN.md §3, "decided is final"). When NEDB later says that a student paid for in an
earlier month was not (or only partly) a student of the school then, the earlier act is left as it is; the
difference becomes an :class:`ActAdjustment` on the act being verified now — a claw-back (negative) or a top-up
(positive) — carrying the rule, the month it belongs to, the original act and line and the NEDB evidence. The
official sees it in that act's report and accepts it with the act; the payment pays the net.

Idempotent: the difference is always computed against what the original line earned *plus everything already
settled for it on other acts*, and the adjustments of the act being verified are recomputed (never added to),
so re-verification never claws back twice. A claw-back never makes an act's net negative: the part that does
not fit stays owed and is settled on a following act.

Generic over funding instruments: :func:`settle` does all of the above for any instrument given the decided lines
to look at again and the instrument's repricing of them (what each line earns on today's registry, the rule that
says so and the evidence); :func:`settle_adjustments` is the schools' (NEDB, the per-student norms), the
dormitories' lives in ``app.dormitories.adjustments``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, exists, func, insert, or_, select, update

from app import clock
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.rules import level_for_grade
from app.acts.terms import terms_for
from app.acts.verification import academic_year, enrolled_days, month_bounds, norms_for, prorated
from app.extensions import db
from app.people.models import Organisation
from app.registry.adapter import Enrollment, StudentRegistry, student_registry
from app.registry.models import NedbEnrollment

DECIDED = ("accepted", "paid")
#: Rule code of a correction of the days a student was enrolled (pay-by-days contracts); the other causes are
#: the contingent rules' codes (withdrawn, other_school, not_registered, not_in_nedb).
ENROLLED_DAYS = "enrolled_days"
_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit
#: Rule code of a reversal: the registry, corrected again, confirms a line an earlier adjustment clawed back.
NEDB_CORRECTED = "nedb_corrected"
#: Titles of the causes that are not contingent rules (those take their title from ``RULES``).
CAUSES = {
    ENROLLED_DAYS: _l("Days enrolled corrected"),
    NEDB_CORRECTED: _l("Registry corrected back"),
}


@dataclass(frozen=True)
class Correction:
    rule_code: str
    corrected_tiyn: int
    evidence: dict


def _year_start(period: date) -> date:
    return date(int(academic_year(period)[:4]), 9, 1)


def reprice(line: ActLine, original: Act, enrolments: list[Enrollment], school_bin: str,
            norm_tiyn: int, by_days: bool) -> Correction:
    """What ``line`` (accepted on ``original``) earns on today's registry data, and the rule that says so."""
    start, end = month_bounds(original.period)
    here = [e for e in enrolments if e.school_bin == school_bin and e.active_during(start, end)]
    evidence = {"nedb": [{"school_bin": e.school_bin, "grade": e.grade, "enrolled_on": e.enrolled_on.isoformat(),
                          "withdrawn_on": e.withdrawn_on.isoformat() if e.withdrawn_on else None}
                         for e in sorted(enrolments, key=lambda e: (e.enrolled_on, e.school_bin))]}
    if not here:
        # Same precedence as the contingent rules: registered elsewhere, withdrawn from here, or not at all.
        if not enrolments:
            code = "not_in_nedb"
        elif any(e.school_bin != school_bin and e.active_during(start, end) for e in enrolments):
            code = "other_school"
        elif any(e.school_bin == school_bin and e.withdrawn_on is not None and e.withdrawn_on <= start
                 for e in enrolments):
            code = "withdrawn"
        else:
            code = "not_registered"
        return Correction(code, 0, evidence)
    if by_days:
        days = sum(enrolled_days(e.enrolled_on, e.withdrawn_on, start, end) for e in here)
        evidence["days"] = min(days, end.day)
        return Correction(ENROLLED_DAYS, prorated(norm_tiyn, days, end.day), evidence)
    # Enrolled here during the month: the line earns what it earned when accepted (an earlier claw-back of
    # it is reversed if the registry has been corrected back).
    return Correction(NEDB_CORRECTED, line.amount_tiyn, evidence)


def decided_lines_query(acts: Sequence[Act]):
    """Accepted lines of these organisations' decided acts of earlier months of the same academic year: the lines
    a registry correction may price differently (an instrument may narrow the query further)."""
    school_ids = sorted({a.school_id for a in acts})
    latest = max(a.period for a in acts)
    earliest = min(_year_start(a.period) for a in acts)
    return (select(ActLine, Act).join(Act, Act.id == ActLine.act_id)
            .where(Act.school_id.in_(school_ids), Act.status.in_(DECIDED), Act.period >= earliest,
                   Act.period < latest, ActLine.outcome == "accepted"))


def _candidate_lines(acts: Sequence[Act], registry: StudentRegistry):
    """The schools' decided lines to look at again. With the NEDB table, lines of a student still enrolled at the
    school since before that month (the vast majority) are left out in SQL; lines already adjusted always come
    back (the registry may have been corrected again)."""
    query = decided_lines_query(acts)
    if getattr(registry, "table_name", None) == NedbEnrollment.__tablename__:
        still_enrolled = (select(NedbEnrollment.id).join(Organisation, Organisation.bin == NedbEnrollment.school_bin)
                          .where(Organisation.id == ActLine.school_id, NedbEnrollment.iin == ActLine.iin,
                                 NedbEnrollment.enrolled_on <= ActLine.period, NedbEnrollment.withdrawn_on.is_(None)))
        adjusted = select(ActAdjustment.id).where(ActAdjustment.original_line_id == ActLine.id)
        query = query.where(or_(~exists(still_enrolled), exists(adjusted)))
    return db.session.execute(query.order_by(Act.period, ActLine.line_no)).all()


def _school_repricing(registry: StudentRegistry) -> Callable[[list], dict[int, Correction]]:
    """The schools' repricing: today's NEDB enrolments at the school, the contract's norms (by days or not)."""

    def reprice_all(rows: list) -> dict[int, Correction]:
        enrolments = registry.enrollments_for({ln.iin for ln, _ in rows}) if rows else {}
        pricing: dict[int, tuple[dict[str, int], bool]] = {}
        found: dict[int, Correction] = {}
        for line, original in rows:
            if original.id not in pricing:
                terms = terms_for(original)
                norms = dict(terms.norms_tiyn) if terms.norms_tiyn else norms_for(original.period)
                pricing[original.id] = (norms, terms.prorate_by_days)
            norms, by_days = pricing[original.id]
            found[line.id] = reprice(line, original, enrolments.get(line.iin, []), original.school.bin,
                                     norms.get(level_for_grade(line.grade), 0), by_days)
        return found

    return reprice_all


def settle_adjustments(acts: Sequence[Act], registry: StudentRegistry | None = None) -> dict[int, list[dict]]:
    """The schools' settlement: decided lines priced again on today's NEDB (see :func:`settle`)."""
    if not acts:
        return {}
    registry = registry or student_registry()
    return settle(acts, _candidate_lines(acts, registry), _school_repricing(registry))


def settle(acts: Sequence[Act], rows: list, reprice_all: Callable[[list], dict[int, Correction]]
           ) -> dict[int, list[dict]]:
    """Recompute the adjustments settled on ``acts`` (each claimed for verification by the caller, whose lines
    and totals were just verified) and add them to each act's amount. ``rows`` are the decided (line, act) pairs
    to look at again, ``reprice_all(rows)`` the instrument's correction of each ({line id: Correction}). Returns,
    per act, what was settled (for the audit event)."""
    if not acts:
        return {}
    ids = [a.id for a in acts]
    db.session.execute(delete(ActAdjustment).where(ActAdjustment.act_id.in_(ids)))
    line_ids = [ln.id for ln, _ in rows]
    settled_elsewhere: dict[int, int] = {}
    for i in range(0, len(line_ids), _CHUNK):  # what earlier acts already settled for these lines
        settled_elsewhere.update(db.session.execute(
            select(ActAdjustment.original_line_id, func.sum(ActAdjustment.amount_tiyn))
            .where(ActAdjustment.original_line_id.in_(line_ids[i : i + _CHUNK]))
            .group_by(ActAdjustment.original_line_id)).all())
    corrections = reprice_all(rows)
    rows_by_school: dict[int, list] = defaultdict(list)
    for line, original in rows:
        rows_by_school[original.school_id].append((line, original))
    # Just verified: ``amount_tiyn`` is what the act's own lines earn.
    line_amounts = dict(db.session.execute(select(Act.id, Act.amount_tiyn).where(Act.id.in_(ids))).all())
    by_act: dict[int, list[dict]] = defaultdict(list)
    inserts: list[dict] = []
    now = clock.now()
    for act in acts:
        available = int(line_amounts.get(act.id) or 0)
        candidates = []
        for line, original in rows_by_school.get(act.school_id, []):
            if not (_year_start(act.period) <= original.period < act.period):
                continue
            found = corrections[line.id]
            owed = found.corrected_tiyn - line.amount_tiyn - int(settled_elsewhere.get(line.id, 0) or 0)
            if owed:
                candidates.append((line, original, found, owed))
        # Top-ups first, then claw-backs as far as the act's net stays non-negative (the rest stays owed).
        candidates.sort(key=lambda c: (c[3] < 0, c[1].period, c[0].line_no))
        for line, original, found, owed in candidates:
            amount = owed if owed > 0 else max(owed, -available)
            if not amount:
                continue
            available += amount
            row = {"act_id": act.id, "original_act_id": original.id, "original_line_id": line.id,
                   "period": original.period, "iin": line.iin, "full_name": line.full_name,
                   "rule_code": found.rule_code, "original_amount_tiyn": line.amount_tiyn,
                   "corrected_amount_tiyn": found.corrected_tiyn, "amount_tiyn": amount, "evidence": found.evidence,
                   "created_at": now}
            inserts.append(row)
            by_act[act.id].append({"original_act": original.number, "line": line.line_no,
                                   "month": f"{original.period:%Y-%m}", "rule": found.rule_code, "amount_tiyn": amount})
    if inserts:
        db.session.execute(insert(ActAdjustment), inserts)
    totals = {a.id: sum(x["amount_tiyn"] for x in by_act.get(a.id, [])) for a in acts}
    table = Act.__table__
    db.session.connection().execute(
        update(table).where(table.c.id == bindparam("b_id"))
        .values(adjustment_tiyn=bindparam("b_adj"), amount_tiyn=table.c.amount_tiyn + bindparam("b_adj")),
        [{"b_id": a, "b_adj": t} for a, t in totals.items()])
    for act in acts:
        db.session.expire(act, ["amount_tiyn", "adjustment_tiyn", "adjustments"])
    return dict(by_act)


def cause_title(code: str):
    """The title of an adjustment's cause: a rule of any instrument, or a correction that is not a rule."""
    from app.instruments import all_rules

    rules = all_rules()
    return rules[code].title if code in rules else CAUSES.get(code, code)


def adjustments_of(act: Act) -> list[ActAdjustment]:
    return list(db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == act.id)
                                   .order_by(ActAdjustment.period, ActAdjustment.id)))


__all__ = ["CAUSES", "ENROLLED_DAYS", "NEDB_CORRECTED", "Correction", "adjustments_of", "cause_title",
           "decided_lines_query", "reprice", "settle", "settle_adjustments"]
