"""Who counts a student where in the public figures: an organisation's month counts its distinct students, a region's
and the country's month each student once (the rule: :mod:`app.public.figures`). Each organisation-month keeps, beside
its own count, how many of its students no organisation of a lower id had that month in the region and in the
country: those add up over any set of organisations to its distinct students.

A student is a child, not an IIN: NEDB may merge two IINs of one child (app.registry.merges), and a line under the
retired IIN counts as the surviving IIN's child — a child moved from one school to another within the month, listed
under each of its two IINs, is one child in the region's and the country's month."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, select, union
from sqlalchemy.orm import aliased

from app.acts.models import Act, ActLine
from app.extensions import db
from app.registry.models import NedbIinMerge

#: the acts whose lines count, as app.public.figures.DECIDED (which imports this module)
DECIDED = ("accepted", "paid")


def students_by_month(school_ids: set[int] | None) -> dict[tuple[str, int, date], tuple[int, int, int]]:
    """Per organisation-month of an instrument (those of ``school_ids``; None: all): its distinct students, and of them
    those it counts for its region's and the country's month — the students no organisation of a lower id counts
    that month in the region, in the country (:mod:`app.public.figures` gives the rule). One statement: the accepted
    lines of decided acts — with ``school_ids``, only those of the students these organisations had in a month — as
    distinct (organisation, student) pairs, each marked by window functions."""
    merge = aliased(NedbIinMerge)
    child = _child(ActLine, merge)
    pairs = (select(Act.instrument, Act.region_id, Act.school_id, Act.period, child.label("iin"))
             .select_from(ActLine).join(Act, Act.id == ActLine.act_id)
             .outerjoin(merge, merge.retired_iin == ActLine.iin)
             .where(Act.status.in_(DECIDED), ActLine.outcome == "accepted"))
    if school_ids is not None:
        theirs = _iins_of_their_children(school_ids)
        pairs = pairs.join(theirs, and_(theirs.c.iin == ActLine.iin, theirs.c.period == ActLine.period))
    p = pairs.group_by(Act.instrument, Act.region_id, Act.school_id, Act.period, child).subquery()

    def first_in(*scope):
        return case((func.min(p.c.school_id).over(partition_by=(p.c.instrument, p.c.period, *scope, p.c.iin))
                     == p.c.school_id, 1), else_=0)

    marked = select(p.c.instrument, p.c.school_id, p.c.period, first_in(p.c.region_id).label("in_region"),
                    first_in().label("in_country")).subquery()
    query = (select(marked.c.instrument, marked.c.school_id, marked.c.period, func.count(),
                    func.sum(marked.c.in_region), func.sum(marked.c.in_country))
             .group_by(marked.c.instrument, marked.c.school_id, marked.c.period))
    if school_ids is not None:
        query = query.where(marked.c.school_id.in_(sorted(school_ids)))
    return {(kind, school_id, period): (int(n), int(in_region or 0), int(in_country or 0))
            for kind, school_id, period, n, in_region, in_country in db.session.execute(query)}


def _child(line, merge):
    """The child of an act line (``line``, an ActLine or an alias of it) as SQL: the surviving IIN where ``merge`` (an
    alias of NedbIinMerge outer-joined on the line's IIN as its ``retired_iin``) found one, else the line's IIN."""
    return func.coalesce(merge.surviving_iin, line.iin)


def _iins_of_their_children(school_ids: set[int]):
    """(iin, period) of every IIN of the children these organisations' accepted lines had in a month: the children's
    own (surviving) IINs and the IINs NEDB retired into them — what other lines are looked up by, on their index."""
    mine, merge, retired = aliased(ActLine), aliased(NedbIinMerge), aliased(NedbIinMerge)
    children = (select(_child(mine, merge).label("iin"), mine.period).distinct()
                .outerjoin(merge, merge.retired_iin == mine.iin)
                .where(mine.school_id.in_(sorted(school_ids)), mine.outcome == "accepted").subquery())
    return union(select(children.c.iin, children.c.period),
                 select(retired.retired_iin, children.c.period)
                 .join(retired, retired.surviving_iin == children.c.iin)).subquery()


def sharing_students(school_ids: set[int]) -> set[int]:
    """The organisations that had a student of these organisations' in the same month (the same child, under either
    of its IINs when NEDB merged two): whether they or these count the student for the region's and the country's
    month depends on both, so their rows are rebuilt with them."""
    theirs = _iins_of_their_children(school_ids)
    return set(db.session.scalars(
        select(ActLine.school_id).distinct()
        .join(theirs, and_(ActLine.iin == theirs.c.iin, ActLine.period == theirs.c.period))
        .where(ActLine.school_id.not_in(sorted(school_ids)), ActLine.outcome == "accepted")))
