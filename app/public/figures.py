"""The public figures: rebuilt from the decided acts and payments, read by the portal's pages and downloads.

Only acts that the department has decided (accepted or paid) count: a submitted act may still change, and a
returned one was not funded. Money per month is the reconciliation's (:mod:`app.reports.reconciliation`): *accepted*
is what the month's own lines earn, *adjusted* the corrections of earlier months settled on the month's acts
(claw-backs negative; they belong to the month of the act that settles them), *paid* the payments of the month's
acts. A claw-back is shown as such, never as a lower accepted amount of either month.

Counts under :data:`SMALL_CELL` never leave this module as numbers (:func:`cell`), and neither does money tied to
such a count (it would give the count away: amount / norm). Nor can they be worked out by subtraction: every
published figure is a cell of a group whose total is published too (a region's organisations, an organisation's
months, a region's months, the country's regions and months, a region-month's organisations), and
:func:`suppression` — the one function that decides what is hidden, read by every page, download and OCDS file —
hides a second cell wherever a group would otherwise have exactly one hidden (complementary suppression).

Every figure belongs to one funding instrument (app.instruments): what the schools' order funds is children
taught, what the dormitories' funds is places occupied, and the two are never added up. Only money has a total
across instruments (:class:`Money`), published as such, and only when every instrument's part of it may be.

**Counts are of students, money is of lines.** A month's count is its distinct students (IINs of accepted lines of
decided acts), while its money is the sum of its lines: a dormitory student who moved rooms within the month has a
line per room, each paid its own days, and is one student placed; a child transferred from one school to another
within the month has a line in each school's act, each paid, and is one child taught. The rule, per figure:

* an organisation's month counts its own distinct students, so a transferred child counts at each of the two
  schools (each taught them that month);
* a region's month and the country's month count each student once, whichever of their organisations had them —
  a child transferred between schools of two regions counts in each region and once in the country;
* a figure over several months (an organisation's, a region's, the country's year) is the sum of its months'
  counts: child-months (place-months), a student counted once in each month they were paid for.

So a region's (the country's) month can be less than the sum of its organisations' months. Suppression keeps its
equations (a total beside its cells) all the same: a hidden cell is then not the total minus the others either.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from statistics import median

from flask import g
from sqlalchemy import and_, delete, func, insert, literal_column, select
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
from app.public.students import sharing_students, students_by_month

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

    if school_ids is not None:
        school_ids = set(school_ids) | sharing_students(school_ids)
    students = students_by_month(school_ids)
    acts = db.session.execute(only(
        select(Act.instrument, Act.school_id, Act.region_id, Act.period,
               func.sum(Act.total_lines), func.sum(Act.amount_tiyn - Act.adjustment_tiyn),
               func.sum(Act.adjustment_tiyn), func.sum(Act.withheld_tiyn))
        .where(Act.status.in_(DECIDED)), Act.school_id)
        .group_by(Act.instrument, Act.school_id, Act.region_id, Act.period)).all()
    paid = {(r[0], r[1], r[2]): int(r[3] or 0) for r in db.session.execute(only(
        select(Act.instrument, Act.school_id, Act.period, func.sum(Payment.amount_tiyn))
        .join(Payment, and_(Payment.act_id == Act.id, Payment.returned_on.is_(None))),  # returned: not paid
        Act.school_id).group_by(Act.instrument, Act.school_id, Act.period))}
    by_rule: dict[tuple[str, int, date], dict[str, int]] = defaultdict(dict)
    for kind, school_id, period, rule, n in db.session.execute(only(
            select(Act.instrument, Act.school_id, Act.period, ActLine.rule_code, func.count(ActLine.id))
            .join(ActLine, ActLine.act_id == Act.id)
            .where(Act.status.in_(DECIDED), ActLine.outcome == "excluded"), Act.school_id)
            .group_by(Act.instrument, Act.school_id, Act.period, ActLine.rule_code)):
        by_rule[(kind, school_id, period)][rule or "other"] = int(n)
    now = clock.now()
    rows = [{"instrument": kind, "academic_year": academic_year(period), "period": period, "region_id": region_id,
             "school_id": school_id, **dict(zip(("children", "region_children", "country_children"),
                                                students.get((kind, school_id, period), (0, 0, 0)), strict=True)),
             "claimed_lines": int(claimed or 0),
             "accepted_tiyn": int(accepted or 0), "adjusted_tiyn": int(adjusted or 0),
             "withheld_tiyn": int(withheld or 0), "paid_tiyn": paid.get((kind, school_id, period), 0),
             "withheld_by_rule": by_rule.get((kind, school_id, period), {}), "refreshed_at": now}
            for kind, school_id, region_id, period, claimed, accepted, adjusted, withheld in acts]
    db.session.execute(only(delete(PublicSchoolMonth), PublicSchoolMonth.school_id))
    if rows:
        db.session.execute(insert(PublicSchoolMonth), rows)
    forget_suppression()
    return len(rows)


def cell(count: int) -> int | None:
    """A count fit to publish: None (shown as "fewer than 5") for 1–4."""
    return None if 0 < count < SMALL_CELL else count


@dataclass
class Totals:
    """Sums over one instrument's organisation-months (a month, a region, an organisation, the country), computed
    by the database. ``funded``: the students paid for, each once in each month — over a month the students, over
    several the child-months (schools), place-months (dormitories) — by the module's rule of counting;
    ``adjusted_tiyn``: the corrections of earlier months settled on these months' acts."""

    funded: int = 0
    accepted_tiyn: int = 0
    adjusted_tiyn: int = 0
    withheld_tiyn: int = 0
    paid_tiyn: int = 0
    organisations: int = 0
    #: hidden to protect another, small cell of a group whose total is published (see :func:`suppression`)
    suppressed: bool = False

    @property
    def small(self) -> bool:
        return 0 < self.funded < SMALL_CELL

    @property
    def hidden(self) -> bool:
        """Whether the count, and the money tied to it, are withheld from publication."""
        return self.small or self.suppressed

    @property
    def withheld_share(self) -> float:
        claimed = self.accepted_tiyn + self.withheld_tiyn
        return self.withheld_tiyn / claimed if claimed else 0.0

    def public(self) -> dict:
        """The figures as published: the count and the money suppressed together when the count is small."""
        small = self.hidden
        return {"funded": None if small else self.funded, "accepted_tiyn": None if small else self.accepted_tiyn,
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
        hidden = any(part.hidden for part in self.parts)

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


# -- what is hidden -------------------------------------------------------------------------------------------------
#: the keys of :func:`suppression`'s hidden set, per instrument code ``i``: ("cell", i, organisation, month),
#: ("org", i, organisation) for its year, ("region_month", i, region, month), ("region", i, region) for its year,
#: ("month", i, month) for the country, ("country", i)
Key = tuple


def suppression(year: str) -> frozenset[Key]:
    """Every figure of the year withheld from publication (the count and its money together), for every instrument.

    Primary: a count under :data:`SMALL_CELL`. Complementary: the portal publishes each figure beside the totals it
    adds up to, so each such equation (total = its cells) must leave either nothing or at least two figures
    unknown — with exactly one, total minus the others gives it away. Where an equation has exactly one hidden,
    the smallest figure still shown among its cells is hidden too (the total itself when it has one cell; the
    smallest cell when a hidden total is the sum of cells all shown); non-zero counts before zero ones, ties by
    key, so the same figures always give the same pattern. Hiding is repeated until every equation holds, across
    the linked tables (an organisation hidden in its region's table hides one of its months, which may hide
    another organisation's month in that region-month…). Read by every page, download and OCDS file: they all
    publish the same hidden figures. Computed from ``public_school_month`` (a few thousand rows a year) and kept
    in the process until the year's rows change (one aggregate query per request tells), or the figures are
    rebuilt here (:func:`forget_suppression`)."""
    memo = g.setdefault("public_suppression", {})
    if year not in memo:
        row = db.session.execute(select(func.count(), func.max(PublicSchoolMonth.id),
                                        func.max(PublicSchoolMonth.refreshed_at), func.sum(PublicSchoolMonth.children))
                                 .where(PublicSchoolMonth.academic_year == year)).one()
        stamp = (_generation, *row)
        kept = _KEPT.get(year)
        if kept is None or kept[0] != stamp:
            kept = _KEPT[year] = (stamp, _suppress(_equations(year)))
        memo[year] = kept[1]
    return memo[year]


#: year → (what its rows looked like, the hidden figures): the pattern outlives a request in each process
_KEPT: dict[str, tuple[tuple, frozenset]] = {}
_generation = 0


def forget_suppression() -> None:
    global _generation
    _generation += 1
    g.pop("public_suppression", None)
    g.pop("public_cells", None)


def cell_hidden(instrument: str, school_id: int, period: date) -> bool | None:
    """Whether an organisation's month is withheld; None when the figures do not have that month (not yet built)."""
    year = academic_year(period)
    key = ("cell", instrument, school_id, period)
    if key in suppression(year):
        return True
    known = g.setdefault("public_cells", {})
    if year not in known:
        known[year] = {("cell", kind, sid, p) for kind, sid, p in db.session.execute(
            select(PublicSchoolMonth.instrument, PublicSchoolMonth.school_id, PublicSchoolMonth.period)
            .where(PublicSchoolMonth.academic_year == year))}
    return False if key in known[year] else None


def _equations(year: str) -> tuple[dict[Key, int], list[tuple[Key, list[Key]]]]:
    """The year's published figures (counts) and the equations between them: (total, its cells)."""
    values: dict[Key, int] = defaultdict(int)
    groups: dict[Key, set[Key]] = defaultdict(set)
    for kind, school_id, region_id, period, children, in_region, in_country in db.session.execute(
            select(PublicSchoolMonth.instrument, PublicSchoolMonth.school_id, PublicSchoolMonth.region_id,
                   PublicSchoolMonth.period, PublicSchoolMonth.children, PublicSchoolMonth.region_children,
                   PublicSchoolMonth.country_children)
            .where(PublicSchoolMonth.academic_year == year)):
        base = ("cell", kind, school_id, period)
        org, region_month = ("org", kind, school_id), ("region_month", kind, region_id, period)
        region, month, country = ("region", kind, region_id), ("month", kind, period), ("country", kind)
        values[base] += children
        values[org] += children
        for key in (region_month, region):
            values[key] += in_region
        for key in (month, country):
            values[key] += in_country
        groups[org].add(base)  # an organisation's months (its page) add up to its year (its region's table)
        groups[region_month].add(base)  # a region-month's organisations
        groups[("region/orgs", kind, region_id)].add(org)  # a region's organisations add up to its year
        groups[("region/months", kind, region_id)].add(region_month)  # a region's months, the same total
        groups[month].add(region_month)  # a month's regions add up to the country's month
        groups[("country/regions", kind)].add(region)  # the regions add up to the country's year
        groups[("country/months", kind)].add(month)  # so do the country's months
    equations = []
    for total, parts in groups.items():
        if total[0] in ("region/orgs", "region/months"):
            total = ("region", *total[1:])
        elif total[0] in ("country/regions", "country/months"):
            total = ("country", total[1])
        equations.append((total, sorted(parts, key=_order)))
    equations.sort(key=lambda e: _order(e[0]))
    return dict(values), equations


def _order(key: Key) -> tuple:
    return tuple(str(part) if not isinstance(part, int) else f"{part:012d}" for part in key)


def _suppress(found: tuple[dict[Key, int], list[tuple[Key, list[Key]]]]) -> frozenset[Key]:
    values, equations = found
    hidden = {key for key, n in values.items() if 0 < n < SMALL_CELL}

    def smallest(candidates: list[Key]) -> Key:
        return min(candidates, key=lambda k: (values[k] == 0, values[k], _order(k)))

    changed = True
    while changed:
        changed = False
        for total, parts in equations:
            unknown = (total in hidden) + sum(part in hidden for part in parts)
            if unknown != 1:
                continue
            shown = [part for part in parts if part not in hidden]
            hidden.add(smallest(shown) if shown else total)
            changed = True
    return frozenset(hidden)


def _sums(key, region_id: int | None, school_id: int | None) -> tuple:
    """The columns a figure grouped by ``key`` adds up: money always the lines'; the count the one of its scope
    (an organisation's own students, a region's, the country's — the module's rule of counting)."""
    if school_id is not None or key is PublicSchoolMonth.school_id:
        funded = PublicSchoolMonth.children
    elif region_id is not None or key is PublicSchoolMonth.region_id:
        funded = PublicSchoolMonth.region_children
    else:
        funded = PublicSchoolMonth.country_children
    return (func.count(func.distinct(PublicSchoolMonth.school_id)), func.sum(funded),
            func.sum(PublicSchoolMonth.accepted_tiyn), func.sum(PublicSchoolMonth.withheld_tiyn),
            func.sum(PublicSchoolMonth.paid_tiyn), func.sum(PublicSchoolMonth.adjusted_tiyn))


def _grouped(key, year: str, region_id: int | None = None, school_id: int | None = None) -> dict[str, dict]:
    """One GROUP BY over the cached rows of a year (a region's, an organisation's): instrument → key → Totals, each
    marked as :func:`suppression` decides."""
    query = (select(PublicSchoolMonth.instrument, key, *_sums(key, region_id, school_id))
             .where(PublicSchoolMonth.academic_year == year))
    if region_id is not None:
        query = query.where(PublicSchoolMonth.region_id == region_id)
    if school_id is not None:
        query = query.where(PublicSchoolMonth.school_id == school_id)
    found: dict[str, dict] = defaultdict(dict)
    for row in db.session.execute(query.group_by(PublicSchoolMonth.instrument, key)):
        found[row[0]][row[1]] = Totals(organisations=int(row[2]), funded=int(row[3] or 0),
                                       accepted_tiyn=int(row[4] or 0), withheld_tiyn=int(row[5] or 0),
                                       paid_tiyn=int(row[6] or 0), adjusted_tiyn=int(row[7] or 0))
    hidden = suppression(year)
    for kind, by_key in found.items():
        for value, totals in by_key.items():
            totals.suppressed = _key(kind, key, value, region_id, school_id) in hidden
    return found


def _key(kind: str, key, value, region_id: int | None, school_id: int | None) -> Key:
    """The :func:`suppression` key of a figure grouped by ``key`` (within a region's or an organisation's rows)."""
    if key is PublicSchoolMonth.period:
        if school_id is not None:
            return ("cell", kind, school_id, value)
        return ("region_month", kind, region_id, value) if region_id is not None else ("month", kind, value)
    if key is PublicSchoolMonth.school_id:
        return ("org", kind, value)
    if key is PublicSchoolMonth.region_id:
        return ("region", kind, value)
    if school_id is not None:  # the year's total of an organisation, a region, the country
        return ("org", kind, school_id)
    return ("region", kind, region_id) if region_id is not None else ("country", kind)


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
        section.standout = {sid for sid, t in section.groups.items() if not t.hidden
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
