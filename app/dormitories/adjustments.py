"""Adjustments of decided months for the dormitory-places instrument: the generic settlement
(:func:`app.acts.adjustments.settle`) with the dormitories' repricing.

A place accepted on an act that is already accepted or paid is priced again on today's student registry: the days
the student was enrolled full-time at the named institution among the days the place was occupied, at the
contract's rate per place, pro rata by days. A student found withdrawn (or never enrolled there, or not full-time)
for a month already paid becomes a claw-back on the dormitory's next act with that rule, the month and the
registry's evidence; a correction back reverses it. A decided line is never priced above the days it was paid
(the dormitory's documents and beds decided those, and they are not what a student registry correction changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from app.acts.adjustments import ENROLLED_DAYS, NEDB_CORRECTED, Correction, decided_lines_query, settle
from app.acts.models import Act, ActLine
from app.acts.verification import month_bounds
from app.contracts.models import ContractAct
from app.dormitories.models import DormitoryTerms, DormPlaceLine
from app.dormitories.registry import StudentRegistry, student_registry
from app.dormitories.verification import occupied_days
from app.extensions import db


def _evidence(records) -> dict:
    return {"registry": [{"institution_bin": r.institution_bin, "study_form": r.study_form,
                          "enrolled_on": r.enrolled_on.isoformat(),
                          "withdrawn_on": r.withdrawn_on.isoformat() if r.withdrawn_on else None}
                         for r in sorted(records, key=lambda r: (r.enrolled_on, r.institution_bin))]}


def reprice_place(line: ActLine, original: Act, place: DormPlaceLine, records: list, rate_tiyn: int) -> Correction:
    """What an accepted place earns on today's registry, and the rule (in the rules' precedence) that says so."""
    start, end = month_bounds(original.period)
    first, last = occupied_days(place.moved_in, place.moved_out, start, end)
    evidence = _evidence(records)
    at_institution = [r for r in records if r.institution_bin == place.institution_bin and r.active_during(first, last)]
    full_time = [r for r in at_institution if r.study_form == "full_time"]
    if not records:
        return Correction("student_not_found", 0, evidence)
    if not at_institution:
        return Correction("not_enrolled", 0, evidence)
    if not full_time:
        return Correction("not_full_time", 0, evidence)
    days: set = set()
    for r in full_time:
        until = last if r.withdrawn_on is None else min(last, r.withdrawn_on - timedelta(days=1))
        since = max(first, r.enrolled_on)
        days |= {since + timedelta(days=i) for i in range((until - since).days + 1)}
    paid = min(len(days), line.paid_days if line.paid_days is not None else line.days_attended)
    evidence["days"] = paid
    if paid < (line.paid_days if line.paid_days is not None else line.days_attended):
        return Correction(ENROLLED_DAYS, rate_tiyn * paid // end.day, evidence)
    return Correction(NEDB_CORRECTED, line.amount_tiyn, evidence)


def _repricing(registry: StudentRegistry):
    def reprice_all(rows: list) -> dict[int, Correction]:
        if not rows:
            return {}
        line_ids = [ln.id for ln, _ in rows]
        places = {p.line_id: p for p in db.session.scalars(select(DormPlaceLine)
                                                           .where(DormPlaceLine.line_id.in_(line_ids)))}
        rates = dict(db.session.execute(
            select(ContractAct.act_id, DormitoryTerms.place_rate_tiyn)
            .join(DormitoryTerms, DormitoryTerms.contract_id == ContractAct.contract_id)
            .where(ContractAct.act_id.in_({a.id for _, a in rows}))).all())
        records = registry.enrollments_for({ln.iin for ln, _ in rows})
        return {line.id: reprice_place(line, original, places[line.id], records.get(line.iin, []),
                                       int(rates.get(original.id) or 0))
                for line, original in rows}

    return reprice_all


def settle_dormitory_adjustments(acts: Sequence[Act], registry: StudentRegistry | None = None) -> dict:
    """Recompute the adjustments of decided months settled on ``acts`` (just verified) and add them to their
    amounts; returns, per act, what was settled (for the audit event)."""
    if not acts:
        return {}
    rows = db.session.execute(decided_lines_query(acts).order_by(Act.period, ActLine.line_no)).all()
    return settle(acts, rows, _repricing(registry or student_registry()))
