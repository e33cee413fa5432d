"""The public figures: rebuilt from the decided acts and payments, read by the portal's pages and downloads.

Only acts that the department has decided (accepted or paid) count: a submitted act may still change, and a
returned one was not funded. Money per month is the reconciliation's (:mod:`app.reports.reconciliation`): *accepted*
is what the month's own lines earn, *adjusted* the corrections of earlier months settled on the month's acts
(claw-backs negative; they belong to the month of the act that settles them), *paid* the payments of the month's
acts. A claw-back is shown as such, never as a lower accepted amount of either month.

Counts under :data:`SMALL_CELL` never leave this module as numbers (:func:`cell`), and neither does money tied to
such a count (it would give the count away: amount / norm).

Every figure belongs to one funding instrument (app.instruments): what the schools' order funds is children
taught, what the dormitories' funds is places occupied, and the two are never added up. Only money has a total
across instruments (:class:`Money`), published as such, and only when every instrument's part of it may be.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from statistics import median

from sqlalchemy import delete, func, insert, literal_column, select
from sqlalchemy.orm import selectinload

from app import clock
from app.acts.models import Act, ActLine
from app.acts.verification import academic_year
from app.contracts.models import Contract
from app.extensions import db
from app.instruments import Instrument, instruments
from app.orders.models import StateOrder
from app.payments.models import Payment
from app.people.models import Organisation, Region
from app.public.models import PublicSchoolMonth

SMALL_CELL = 5
DECIDED = ("accepted", "paid")
#: a school's withheld share stands out at this share or at twice its region's median, whichever is higher
STANDOUT_SHARE = 0.10


def refresh_public_figures(school_ids: set[int] | None = None) -> int:
    """Rebuild ``public_school_month`` from the acts, their lines and payments; returns the rows written.

    Three grouped statements read everything (850 schools × 12 months is a few thousand rows), then the table
    is replaced in the same transaction: a reader sees the old figures or the new ones, never a mix. With
    ``school_ids``, only those organisations' rows are rebuilt (the background pass's incremental refresh).
    Each row is one organisation's month under one instrument (``Act.instrument``)."""
    def only(query, column):
        return query if school_ids is None else query.where(column.in_(sorted(school_ids)))

    acts = db.session.execute(only(
        select(Act.instrument, Act.school_id, Act.region_id, Act.period, func.sum(Act.accepted_lines),
               func.sum(Act.total_lines), func.sum(Act.amount_tiyn - Act.adjustment_tiyn),
               func.sum(Act.adjustment_tiyn), func.sum(Act.withheld_tiyn))
        .where(Act.status.in_(DECIDED)), Act.school_id)
        .group_by(Act.instrument, Act.school_id, Act.region_id, Act.period)).all()
    paid = {(r[0], r[1], r[2]): int(r[3] or 0) for r in db.session.execute(only(
        select(Act.instrument, Act.school_id, Act.period, func.sum(Payment.amount_tiyn))
        .join(Payment, Payment.act_id == Act.id), Act.school_id).group_by(Act.instrument, Act.school_id, Act.period))}
    by_rule: dict[tuple[str, int, date], dict[str, int]] = defaultdict(dict)
    for kind, school_id, period, rule, n in db.session.execute(only(
            select(Act.instrument, Act.school_id, Act.period, ActLine.rule_code, func.count(ActLine.id))
            .join(ActLine, ActLine.act_id == Act.id)
            .where(Act.status.in_(DECIDED), ActLine.outcome == "excluded"), Act.school_id)
            .group_by(Act.instrument, Act.school_id, Act.period, ActLine.rule_code)):
        by_rule[(kind, school_id, period)][rule or "other"] = int(n)
    now = clock.now()
    rows = [{"instrument": kind, "academic_year": academic_year(period), "period": period, "region_id": region_id,
             "school_id": school_id, "children": int(children or 0), "claimed_lines": int(claimed or 0),
             "accepted_tiyn": int(accepted or 0), "adjusted_tiyn": int(adjusted or 0),
             "withheld_tiyn": int(withheld or 0), "paid_tiyn": paid.get((kind, school_id, period), 0),
             "withheld_by_rule": by_rule.get((kind, school_id, period), {}), "refreshed_at": now}
            for kind, school_id, region_id, period, children, claimed, accepted, adjusted, withheld in acts]
    db.session.execute(only(delete(PublicSchoolMonth), PublicSchoolMonth.school_id))
    if rows:
        db.session.execute(insert(PublicSchoolMonth), rows)
    return len(rows)


def cell(count: int) -> int | None:
    """A count fit to publish: None (shown as "fewer than 5") for 1–4."""
    return None if 0 < count < SMALL_CELL else count


@dataclass
class Totals:
    """Sums over one instrument's organisation-months (a month, a region, an organisation, the country), computed
    by the database. ``funded``: the lines paid for — child-months (schools), place-months (dormitories);
    ``adjusted_tiyn``: the corrections of earlier months settled on these months' acts."""

    funded: int = 0
    accepted_tiyn: int = 0
    adjusted_tiyn: int = 0
    withheld_tiyn: int = 0
    paid_tiyn: int = 0
    organisations: int = 0

    @property
    def small(self) -> bool:
        return 0 < self.funded < SMALL_CELL

    @property
    def withheld_share(self) -> float:
        claimed = self.accepted_tiyn + self.withheld_tiyn
        return self.withheld_tiyn / claimed if claimed else 0.0

    def public(self) -> dict:
        """The figures as published: the count and the money suppressed together when the count is small."""
        small = self.small
        return {"funded": cell(self.funded), "accepted_tiyn": None if small else self.accepted_tiyn,
                "adjusted_tiyn": None if small else self.adjusted_tiyn,
                "withheld_tiyn": None if small else self.withheld_tiyn, "paid_tiyn": None if small else self.paid_tiyn,
                "withheld_share": None if small else round(self.withheld_share, 4),
                "organisations": self.organisations}


@dataclass
class Money:
    """Money across funding instruments (no count: children and places do not add up). Published only when every
    instrument's part is (a part hidden for its small count could be worked out from the total and the others)."""

    parts: list[Totals] = field(default_factory=list)

    def public(self) -> dict:
        hidden = any(part.small for part in self.parts)

        def total(name: str) -> int | None:
            return None if hidden else sum(getattr(part, name) for part in self.parts)

        accepted, withheld = total("accepted_tiyn"), total("withheld_tiyn")
        share = None if hidden else round(withheld / (accepted + withheld), 4) if accepted + withheld else 0.0
        return {"accepted_tiyn": accepted, "adjusted_tiyn": total("adjusted_tiyn"), "withheld_tiyn": withheld,
                "paid_tiyn": total("paid_tiyn"),
                "withheld_share": share}


@dataclass
class Section:
    """One instrument's figures on a page: its totals, its months, and its regions or organisations."""

    instrument: Instrument
    total: Totals
    months: list[tuple[date, Totals]]
    groups: dict[int, Totals] = field(default_factory=dict)  # region or organisation id → Totals
    standout: set[int] = field(default_factory=set)
    threshold: float = STANDOUT_SHARE

    @property
    def code(self) -> str:
        return self.instrument.code


_SUMS = (func.count(func.distinct(PublicSchoolMonth.school_id)), func.sum(PublicSchoolMonth.children),
         func.sum(PublicSchoolMonth.accepted_tiyn), func.sum(PublicSchoolMonth.withheld_tiyn),
         func.sum(PublicSchoolMonth.paid_tiyn), func.sum(PublicSchoolMonth.adjusted_tiyn))


def _grouped(key, year: str, region_id: int | None = None, school_id: int | None = None) -> dict[str, dict]:
    """One GROUP BY over the cached rows of a year (a region's, an organisation's): instrument → key → Totals."""
    query = select(PublicSchoolMonth.instrument, key, *_SUMS).where(PublicSchoolMonth.academic_year == year)
    if region_id is not None:
        query = query.where(PublicSchoolMonth.region_id == region_id)
    if school_id is not None:
        query = query.where(PublicSchoolMonth.school_id == school_id)
    found: dict[str, dict] = defaultdict(dict)
    for row in db.session.execute(query.group_by(PublicSchoolMonth.instrument, key)):
        found[row[0]][row[1]] = Totals(organisations=int(row[2]), funded=int(row[3] or 0),
                                       accepted_tiyn=int(row[4] or 0), withheld_tiyn=int(row[5] or 0),
                                       paid_tiyn=int(row[6] or 0), adjusted_tiyn=int(row[7] or 0))
    return found


def _ordered(codes) -> list[Instrument]:
    """The instruments with figures, in their registration order (the schools' first)."""
    return [i for i in instruments() if i.code in codes]


def _sections(year: str, region_id: int | None = None, school_id: int | None = None, groups=None) -> list[Section]:
    totals = {code: t[1] for code, t in _grouped(literal_column("1"), year, region_id, school_id).items()}
    months = _grouped(PublicSchoolMonth.period, year, region_id, school_id)
    grouped = _grouped(groups, year, region_id, school_id) if groups is not None else {}
    return [Section(i, totals[i.code], sorted(months.get(i.code, {}).items()), grouped.get(i.code, {}))
            for i in _ordered(totals)]


def years() -> list[str]:
    found = set(db.session.scalars(select(PublicSchoolMonth.academic_year).distinct()))
    found |= set(db.session.scalars(select(StateOrder.academic_year).distinct()))
    return sorted(found, reverse=True)


def by_month(year: str, region_id: int | None = None,
             school_id: int | None = None) -> list[tuple[Instrument, date, Totals]]:
    """Every instrument's months, the schools' first (the months download: one GROUP BY)."""
    months = _grouped(PublicSchoolMonth.period, year, region_id, school_id)
    return [(i, period, totals) for i in _ordered(months) for period, totals in sorted(months[i.code].items())]


def national(year: str) -> dict:
    regions = {r.id: r for r in db.session.scalars(select(Region))}
    sections = _sections(year, groups=PublicSchoolMonth.region_id)
    return {"sections": sections, "total": Money([s.total for s in sections]), "region_rows": regions,
            "orders": _orders(year)}


def region(year: str, region_id: int) -> dict:
    sections = _sections(year, region_id, groups=PublicSchoolMonth.school_id)
    for section in sections:  # a standout among its own instrument's organisations
        shares = [t.withheld_share for t in section.groups.values() if t.accepted_tiyn + t.withheld_tiyn]
        section.threshold = max(STANDOUT_SHARE, 2 * median(shares)) if shares else STANDOUT_SHARE
        section.standout = {sid for sid, t in section.groups.items() if not t.small
                            and t.withheld_share >= section.threshold and t.withheld_tiyn > 0}
    return {"sections": sections, "total": Money([s.total for s in sections]),
            "orgs": _organisations({sid for s in sections for sid in s.groups}),
            "orders": _orders(year, region_id), "contracts": _contracts(year, region_id)}


def schools(year: str) -> dict:
    """Every funded organisation with figures in the year, per instrument (the country-wide download)."""
    groups = _grouped(PublicSchoolMonth.school_id, year)
    sections = [Section(i, Totals(), [], groups[i.code]) for i in _ordered(groups)]
    return {"sections": sections, "orgs": _organisations({sid for s in sections for sid in s.groups})}


def _organisations(ids) -> dict[int, Organisation]:
    found = db.session.scalars(select(Organisation).where(Organisation.id.in_(list(ids) or [0]))
                               .options(selectinload(Organisation.region)))
    return {o.id: o for o in found}


def school(year: str, school_id: int) -> dict:
    rules: dict[str, int] = defaultdict(int)
    for by_rule in db.session.scalars(select(PublicSchoolMonth.withheld_by_rule).where(
            PublicSchoolMonth.academic_year == year, PublicSchoolMonth.school_id == school_id)):
        for code, n in (by_rule or {}).items():
            rules[code] += n
    return {"sections": _sections(year, school_id=school_id),
            "rules": {code: cell(n) for code, n in sorted(rules.items())},
            "contracts": _contracts(year, school_id=school_id)}


def _orders(year: str, region_id: int | None = None) -> list[StateOrder]:
    query = (select(StateOrder).where(StateOrder.academic_year == year)
             .options(selectinload(StateOrder.norms), selectinload(StateOrder.region)))
    if region_id is not None:
        query = query.where(StateOrder.region_id == region_id)
    return list(db.session.scalars(query.order_by(StateOrder.number)))


def _contracts(year: str, region_id: int | None = None, school_id: int | None = None) -> list[Contract]:
    query = (select(Contract).join(StateOrder, StateOrder.id == Contract.order_id)
             .where(StateOrder.academic_year == year, Contract.status.in_(("active", "closed")))
             .options(selectinload(Contract.school)))
    if region_id is not None:
        query = query.where(Contract.region_id == region_id)
    if school_id is not None:
        query = query.where(Contract.school_id == school_id)
    return list(db.session.scalars(query.order_by(Contract.number)))
