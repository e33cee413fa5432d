"""Who counts a student where in the public figures: an organisation's month counts its distinct students, a region's
and the country's month each student once (the rule: :mod:`app.public.figures`). Each organisation-month keeps, beside
its own count, how many of its students no organisation of a lower id had that month in the region and in the
country: those add up over any set of organisations to its distinct students."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from app.acts.models import Act, ActLine
from app.extensions import db

#: the acts whose lines count, as app.public.figures.DECIDED (which imports this module)
DECIDED = ("accepted", "paid")


def students_by_month(school_ids: set[int] | None) -> dict[tuple[str, int, date], tuple[int, int, int]]:
    """Per organisation-month of an instrument (those of ``school_ids``; None: all): its distinct students, and of them
    those it counts for its region's and the country's month — the students no organisation of a lower id counts
    that month in the region, in the country (:mod:`app.public.figures` gives the rule). One statement: the accepted
    lines of decided acts — with ``school_ids``, only those of the students these organisations had in a month — as
    distinct (organisation, student) pairs, each marked by window functions."""
    pairs = (select(Act.instrument, Act.region_id, Act.school_id, Act.period, ActLine.iin)
             .select_from(ActLine).join(Act, Act.id == ActLine.act_id)
             .where(Act.status.in_(DECIDED), ActLine.outcome == "accepted"))
    if school_ids is not None:
        theirs = (select(ActLine.iin, ActLine.period).distinct()
                  .where(ActLine.school_id.in_(sorted(school_ids)), ActLine.outcome == "accepted").subquery())
        pairs = pairs.join(theirs, and_(theirs.c.iin == ActLine.iin, theirs.c.period == ActLine.period))
    p = pairs.group_by(Act.instrument, Act.region_id, Act.school_id, Act.period, ActLine.iin).subquery()

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


def sharing_students(school_ids: set[int]) -> set[int]:
    """The organisations that had a student of these organisations' in the same month: whether they or these count
    the student for the region's and the country's month depends on both, so their rows are rebuilt with them."""
    other = aliased(ActLine)
    return set(db.session.scalars(
        select(other.school_id).distinct().select_from(ActLine)
        .join(other, and_(other.iin == ActLine.iin, other.period == ActLine.period,
                          other.school_id != ActLine.school_id))
        .where(ActLine.school_id.in_(sorted(school_ids)), ActLine.outcome == "accepted",
               other.outcome == "accepted")))
