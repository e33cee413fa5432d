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

* **to be settled on a later act** — corrections owed that an act is still to settle: the rest of a claw-back that did
  not fit on the next act (an act never goes negative), a correction waiting for an act not yet submitted or verified,
  or one on a returned act (settled anew when it is verified again). Claw-backs (negative) and top-ups apart. Gone from
  the month once an act settles them (its ``adjusted``, or ``adjusted under review``).

So what a month's decided lines earn now is accepted + what later acts settled for them + unsettled + time-barred +
to be settled on a later act + paid outside the acts + written off.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from app.acts.adjustments import next_month
from app.acts.models import Act, OutsideSettlement
from app.extensions import db

DECIDED = ("accepted", "paid")
_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


@dataclass
class MonthCorrections:
    """Per region, what the corrections of a month's decided lines not yet settled on an act come to, by what becomes
    of them (tiyn)."""

    unsettled: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # no act is to settle them
    time_barred: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # before the look-back
    #: owed and to be settled on a later act — claw-backs (negative) and top-ups (positive) apart
    later_clawback: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    later_top_up: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def corrections_by_region(period: date, where: list, instrument) -> MonthCorrections:
    """Per region, the corrections of the month's decided lines that no act has settled yet (``where``: the
    reconciliation's conditions on the month's acts — month, instrument, the user's scope and region): what
    :func:`app.acts.adjustments.unsettled_in_month` lists for each organisation's next act, booked to the month they
    correct — settled on none (unsettled), time-barred, or owed and to be settled on a later act (the rest of a
    claw-back that did not fit on the next act, or a correction waiting for an act not yet submitted or verified)."""
    from app.contracts.models import Contract

    found = MonthCorrections()
    if instrument.unsettled_in_month is None:
        return found
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
    probes, ended = [], set()
    for organisation in organisations:
        following = next_month(latest[organisation])
        # the next act, as app.acts.adjustments.next_act_probe: the first open one after the latest decided month
        upcoming = min((p for p in open_acts.get(organisation, ()) if p >= following), default=following)
        if organisation not in open_acts and not (organisation in term_ends and term_ends[organisation] >= following):
            ended.add(organisation)
        probes.append(Act(school_id=organisation, period=upcoming))
    # Every organisation's lines are priced, claw-backs too: what its next act is to settle is shown as well.
    for u in instrument.unsettled_in_month(probes, period, ()):
        region = u.original.region_id
        if u.time_barred:
            found.time_barred[region] += u.amount_tiyn
        elif u.original.school_id in ended or u.carried:
            found.unsettled[region] += u.amount_tiyn
        elif u.amount_tiyn < 0:
            found.later_clawback[region] += u.amount_tiyn
        else:
            found.later_top_up[region] += u.amount_tiyn
    return found


def settled_outside_by_region(where: list) -> dict[int, dict[str, int]]:
    """Per region, the month's carried top-ups settled outside the acts, by kind (paid, written off): ``where`` as
    :func:`corrections_by_region`'s, on the acts they correct."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for region_id, kind, total in db.session.execute(
            select(Act.region_id, OutsideSettlement.kind, func.sum(OutsideSettlement.amount_tiyn))
            .join(Act, Act.id == OutsideSettlement.original_act_id)
            .where(*where, OutsideSettlement.returned_on.is_(None))  # one the bank sent back was not paid
            .group_by(Act.region_id, OutsideSettlement.kind)):
        found[region_id][kind] = int(total or 0)
    return dict(found)


__all__ = ["MonthCorrections", "corrections_by_region", "settled_outside_by_region"]
