"""The public figures: rebuilt from the decided acts and payments, read by the portal's pages and downloads.

Only acts that the department has decided (accepted or paid) count: a submitted act may still change, and a
returned one was not funded. Counts of children under :data:`SMALL_CELL` never leave this module as numbers
(:func:`cell`), and neither does money tied to such a count (it would give the count away: amount / norm).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from statistics import median

from sqlalchemy import delete, func, insert, literal_column, select
from sqlalchemy.orm import selectinload

from app import clock
from app.acts.models import Act, ActLine
from app.acts.verification import academic_year
from app.contracts.models import Contract
from app.extensions import db
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
    ``school_ids``, only those schools' rows are rebuilt (the background pass's incremental refresh)."""
    def only(query, column):
        return query if school_ids is None else query.where(column.in_(sorted(school_ids)))

    acts = db.session.execute(only(
        select(Act.school_id, Act.region_id, Act.period, func.sum(Act.accepted_lines), func.sum(Act.total_lines),
               func.sum(Act.amount_tiyn), func.sum(Act.withheld_tiyn))
        .where(Act.status.in_(DECIDED)), Act.school_id).group_by(Act.school_id, Act.region_id, Act.period)).all()
    paid = {(r[0], r[1]): int(r[2] or 0) for r in db.session.execute(only(
        select(Act.school_id, Act.period, func.sum(Payment.amount_tiyn)).join(Payment, Payment.act_id == Act.id),
        Act.school_id).group_by(Act.school_id, Act.period))}
    by_rule: dict[tuple[int, date], dict[str, int]] = defaultdict(dict)
    for school_id, period, rule, n in db.session.execute(only(
            select(Act.school_id, Act.period, ActLine.rule_code, func.count(ActLine.id))
            .join(ActLine, ActLine.act_id == Act.id)
            .where(Act.status.in_(DECIDED), ActLine.outcome == "excluded"), Act.school_id)
            .group_by(Act.school_id, Act.period, ActLine.rule_code)):
        by_rule[(school_id, period)][rule or "other"] = int(n)
    now = clock.now()
    rows = [{"academic_year": academic_year(period), "period": period, "region_id": region_id,
             "school_id": school_id, "children": int(children or 0), "claimed_lines": int(claimed or 0),
             "accepted_tiyn": int(accepted or 0), "withheld_tiyn": int(withheld or 0),
             "paid_tiyn": paid.get((school_id, period), 0), "withheld_by_rule": by_rule.get((school_id, period), {}),
             "refreshed_at": now}
            for school_id, region_id, period, children, claimed, accepted, withheld in acts]
    db.session.execute(only(delete(PublicSchoolMonth), PublicSchoolMonth.school_id))
    if rows:
        db.session.execute(insert(PublicSchoolMonth), rows)
    return len(rows)


def cell(count: int) -> int | None:
    """A count of children fit to publish: None (shown as "fewer than 5") for 1–4."""
    return None if 0 < count < SMALL_CELL else count


@dataclass
class Totals:
    """Sums over school-months (a month, a region, a school, the country), computed by the database."""

    children: int = 0
    accepted_tiyn: int = 0
    withheld_tiyn: int = 0
    paid_tiyn: int = 0
    schools: int = 0

    @property
    def small(self) -> bool:
        return 0 < self.children < SMALL_CELL

    @property
    def withheld_share(self) -> float:
        claimed = self.accepted_tiyn + self.withheld_tiyn
        return self.withheld_tiyn / claimed if claimed else 0.0

    def public(self) -> dict:
        """The figures as published: children and money suppressed together when the count is small."""
        small = self.small
        return {"children": cell(self.children), "accepted_tiyn": None if small else self.accepted_tiyn,
                "withheld_tiyn": None if small else self.withheld_tiyn, "paid_tiyn": None if small else self.paid_tiyn,
                "withheld_share": None if small else round(self.withheld_share, 4), "schools": self.schools}


_SUMS = (func.count(func.distinct(PublicSchoolMonth.school_id)), func.sum(PublicSchoolMonth.children),
         func.sum(PublicSchoolMonth.accepted_tiyn), func.sum(PublicSchoolMonth.withheld_tiyn),
         func.sum(PublicSchoolMonth.paid_tiyn))


def _grouped(key, year: str, region_id: int | None = None, school_id: int | None = None) -> dict:
    """One GROUP BY over the cached rows of a year (a region's, a school's): key -> Totals."""
    query = select(key, *_SUMS).where(PublicSchoolMonth.academic_year == year)
    if region_id is not None:
        query = query.where(PublicSchoolMonth.region_id == region_id)
    if school_id is not None:
        query = query.where(PublicSchoolMonth.school_id == school_id)
    return {row[0]: Totals(schools=int(row[1]), children=int(row[2] or 0), accepted_tiyn=int(row[3] or 0),
                           withheld_tiyn=int(row[4] or 0), paid_tiyn=int(row[5] or 0))
            for row in db.session.execute(query.group_by(key))}


def _total(year: str, region_id: int | None = None) -> Totals:
    return _grouped(literal_column("1"), year, region_id).get(1, Totals())


def years() -> list[str]:
    found = set(db.session.scalars(select(PublicSchoolMonth.academic_year).distinct()))
    found |= set(db.session.scalars(select(StateOrder.academic_year).distinct()))
    return sorted(found, reverse=True)


def by_month(year: str, region_id: int | None = None, school_id: int | None = None) -> list[tuple[date, Totals]]:
    return sorted(_grouped(PublicSchoolMonth.period, year, region_id, school_id).items())


def national(year: str) -> dict:
    regions = {r.id: r for r in db.session.scalars(select(Region))}
    return {"total": _total(year), "months": by_month(year), "regions": _grouped(PublicSchoolMonth.region_id, year),
            "region_rows": regions, "orders": _orders(year)}


def region(year: str, region_id: int) -> dict:
    schools = _grouped(PublicSchoolMonth.school_id, year, region_id)
    shares = [t.withheld_share for t in schools.values() if t.accepted_tiyn + t.withheld_tiyn]
    threshold = max(STANDOUT_SHARE, 2 * median(shares)) if shares else STANDOUT_SHARE
    return {"total": _total(year, region_id), "months": by_month(year, region_id), "schools": schools,
            "orgs": _organisations(schools),
            "standout": {sid for sid, t in schools.items() if not t.small and t.withheld_share >= threshold
                         and t.withheld_tiyn > 0},
            "threshold": threshold, "orders": _orders(year, region_id), "contracts": _contracts(year, region_id)}


def schools(year: str) -> dict:
    """Every school with figures in the year (the country-wide download)."""
    groups = _grouped(PublicSchoolMonth.school_id, year)
    return {"schools": groups, "orgs": _organisations(groups)}


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
    return {"months": by_month(year, school_id=school_id),
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
