"""The reconciliation's "adjusted, unsettled": registry corrections of a month's decided lines that no act is to
settle — every tenge of the month explained, also what is owed after its last act.

A correction of a decided month is settled on the organisation's next act (``adjusted`` of that act's month). Two
kinds are settled on none, and were seen only on the contract's page and its year-end report:

* every correction of an organisation with **no act to come** — no act of it still open (awaiting submission, under
  review or returned) and no contract of it not closed whose term reaches the month after its latest decided one: a
  pupil found withdrawn after May's payment is owed back, a top-up owed to the school;
* a top-up of a **closed academic year** (:attr:`app.acts.adjustments.Unsettled.carried`): the next act is of a
  later year and does not pay it, whatever comes — nor, from 1 September, the top-up of a line excluded in a month
  before NEDB's academic year, whose grade cannot be checked any more (``grade_unchecked``), whatever the next act.

Each is booked to the month and region of the act it corrects. Not part of ``payable`` (no act pays or deducts it):
beside it. Beside it too, also booked to the month they correct:

* **time-barred** — claw-backs of a month before the ``CLAWBACK_LOOKBACK_YEARS`` look-back of the organisation's
  next act (:attr:`app.acts.adjustments.Unsettled.time_barred`): not claimed back by the rule, money that will not
  come back (negative);
* **settled outside the acts** — carried top-ups paid by a payment order out of their year's budget, and those
  **written off** as not owed (:class:`app.acts.models.OutsideSettlement`): no longer unsettled.

So what a month's decided lines earn now is accepted + what later acts settled for them + unsettled + time-barred +
paid outside the acts + written off.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from app.acts.adjustments import next_month, registry_year_start
from app.acts.models import Act, OutsideSettlement
from app.acts.verification import academic_year
from app.extensions import db

DECIDED = ("accepted", "paid")
_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


def unsettled_by_region(period: date, where: list, instrument) -> tuple[dict[int, int], dict[int, int]]:
    """Per region, what the month's corrections that no act is to settle come to, and the month's time-barred
    claw-backs (``where``: the reconciliation's conditions on the month's acts — month, instrument, the user's scope
    and region)."""
    from app.contracts.models import Contract

    if instrument.unsettled_in_month is None:
        return {}, {}
    organisations = sorted(db.session.scalars(select(Act.school_id).distinct()
                                              .where(*where, Act.status.in_(DECIDED))))
    latest: dict[int, date] = {}
    open_acts: dict[int, list[date]] = defaultdict(list)
    term_ends: dict[int, date] = {}
    for i in range(0, len(organisations), _CHUNK):
        chunk = organisations[i : i + _CHUNK]
        mine = (Act.school_id.in_(chunk), Act.instrument == instrument.code)
        latest.update(db.session.execute(select(Act.school_id, func.max(Act.period))
                                         .where(*mine, Act.status.in_(DECIDED)).group_by(Act.school_id)).all())
        for organisation, opened in db.session.execute(select(Act.school_id, Act.period).distinct()
                                                       .where(*mine, Act.status.not_in(DECIDED))):
            open_acts[organisation].append(opened)
        term_ends.update(db.session.execute(
            select(Contract.school_id, func.max(Contract.period_end))
            .where(Contract.school_id.in_(chunk), Contract.instrument == instrument.code, Contract.status != "closed")
            .group_by(Contract.school_id)).all())
    year = academic_year(period)
    # A month before NEDB's academic year: a top-up of a line it excluded is carried even when an act of the same
    # year is to come (its grade cannot be checked any more, no act pays it — Unsettled.grade_unchecked).
    graded = period >= registry_year_start()
    probes, ended = [], set()
    for organisation in organisations:
        following = next_month(latest[organisation])
        # the next act, as app.acts.adjustments.next_act_probe: the first open one after the latest decided month
        upcoming = min((p for p in open_acts.get(organisation, ()) if p >= following), default=following)
        if organisation not in open_acts and not (organisation in term_ends and term_ends[organisation] >= following):
            ended.add(organisation)
        elif academic_year(upcoming) == year and graded:
            continue  # its next act settles every correction of the month
        probes.append(Act(school_id=organisation, period=upcoming))
    found: dict[int, int] = defaultdict(int)
    time_barred: dict[int, int] = defaultdict(int)
    for u in instrument.unsettled_in_month(probes, period, {p.school_id for p in probes} - ended):
        if u.time_barred:
            time_barred[u.original.region_id] += u.amount_tiyn
        elif u.original.school_id in ended or u.carried:
            found[u.original.region_id] += u.amount_tiyn
    return dict(found), dict(time_barred)


def settled_outside_by_region(where: list) -> dict[int, dict[str, int]]:
    """Per region, the month's carried top-ups settled outside the acts, by kind (paid, written off): ``where`` as
    :func:`unsettled_by_region`'s, on the acts they correct."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for region_id, kind, total in db.session.execute(
            select(Act.region_id, OutsideSettlement.kind, func.sum(OutsideSettlement.amount_tiyn))
            .join(Act, Act.id == OutsideSettlement.original_act_id)
            .where(*where).group_by(Act.region_id, OutsideSettlement.kind)):
        found[region_id][kind] = int(total or 0)
    return dict(found)


__all__ = ["settled_outside_by_region", "unsettled_by_region"]
