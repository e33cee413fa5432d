"""The registry adapter interface and its default, table-backed implementation.

Verification asks the adapter for all enrolments of a set of IINs in one call (set-based, never one
query per act line). A deployment with a live NEDB service swaps in an HTTP adapter with the same
interface.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Protocol

from sqlalchemy import select

from app.database import in_sets
from app.extensions import db
from app.registry.models import NedbEnrollment

_CHUNK = 900  # stays under SQLite's bound-parameter limit


class EnrolledDays:
    """An enrolment's dates (``enrolled_on``, ``withdrawn_on``: the first day no longer a student there) — of a
    school in NEDB, or of a college or university in the student registry (app.dormitories.registry)."""

    enrolled_on: date
    withdrawn_on: date | None

    def active_during(self, start: date, end: date) -> bool:
        """Enrolled for at least one day of [start, end]: withdrawal on ``start`` means zero days, and so does a
        withdrawal on the day of enrolment (NEDB keeps such rows; they run on no day)."""
        return self.enrolled_on <= end and (self.withdrawn_on is None
                                            or self.withdrawn_on > max(start, self.enrolled_on))

    def overlaps(self, other: EnrolledDays) -> bool:
        """The two enrolments share a day."""
        return ((other.withdrawn_on is None or self.enrolled_on < other.withdrawn_on)
                and (self.withdrawn_on is None or other.enrolled_on < self.withdrawn_on)
                and self.runs() and other.runs())

    def runs(self) -> bool:
        return self.withdrawn_on is None or self.withdrawn_on > self.enrolled_on


@dataclass(frozen=True)
class Enrollment(EnrolledDays):
    iin: str
    full_name: str
    school_bin: str
    school_kind: str
    grade: int
    enrolled_on: date
    withdrawn_on: date | None


class StudentRegistry(Protocol):
    def enrollments_for(self, iins: Iterable[str]) -> dict[str, list[Enrollment]]: ...

    def enrollments_at_school(self, school_bin: str, start: date, end: date) -> list[Enrollment]: ...


def handed_over(enrolments: Sequence[Enrollment]) -> list[Enrollment]:
    """One student's enrolments as verification reads them (app.acts.verification._handed_over_sql): a row whose last
    day is the first day of the student's row at another school (left A on the 15th, entered B on the 15th, both
    recorded) ends the day before — the day of the move is paid once, to the school the child entered, and the two
    rows are no double enrolment. Only that exact shape; rows sharing more days are left as they are."""
    out = []
    for e in enrolments:
        last = None if e.withdrawn_on is None else e.withdrawn_on - timedelta(days=1)
        if last is not None and any(o.school_bin != e.school_bin and o.enrolled_on == last
                                    and o.enrolled_on > e.enrolled_on and o.runs() for o in enrolments):
            e = replace(e, withdrawn_on=last)
        out.append(e)
    return out


def _row(e: NedbEnrollment) -> Enrollment:
    return Enrollment(e.iin, e.full_name, e.school_bin, e.school_kind, e.grade, e.enrolled_on, e.withdrawn_on)


class TableEnrolments:
    """An enrolment registry read from its imported table: ``model`` has ``iin``, ``full_name``, ``enrolled_on``
    and the column ``school_column`` naming the school (or institution); ``record`` turns a row into the
    adapter's value. One implementation for NEDB and for the other instruments' student registries."""

    model: type = NedbEnrollment
    school_column = "school_bin"
    record = staticmethod(_row)

    def enrollments_for(self, iins: Iterable[str]) -> dict[str, list]:
        found: dict[str, list] = defaultdict(list)
        for chunk in in_sets(self.model.iin, sorted(set(iins))):
            for row in db.session.scalars(select(self.model).where(chunk)):
                found[row.iin].append(self.record(row))
        return found

    def enrollments_at_school(self, school_bin: str, start: date, end: date) -> list:
        rows = db.session.scalars(
            select(self.model).where(getattr(self.model, self.school_column) == school_bin,
                                     self.model.enrolled_on <= end)
            .order_by(self.model.full_name)
        )
        return [e for e in map(self.record, rows) if e.active_during(start, end)]


class TableStudentRegistry(TableEnrolments):
    """Reads the ``nedb_enrollment`` table filled by the import commands.

    ``table_name`` lets verification join the table directly in SQL instead of staging enrolments.
    """

    table_name = "nedb_enrollment"


def student_registry() -> StudentRegistry:
    """The configured adapter: the NEDB web service when ``NEDB_API_URL`` is set, else the tables."""
    import os

    from flask import current_app

    url = current_app.config.get("NEDB_API_URL") or os.environ.get("NEDB_API_URL")
    if url:
        from app.registry.http import HttpStudentRegistry

        return HttpStudentRegistry(url, timeout=float(current_app.config.get("NEDB_API_TIMEOUT", 30)))
    return TableStudentRegistry()
