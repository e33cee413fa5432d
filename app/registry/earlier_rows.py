"""Notices of rows that may correct an earlier one: an enrolment import never removes a row.

An enrolment's natural key holds the school and the enrolment date (``(iin, school_bin, enrolled_on)``), so NEDB's
correction of either arrives as a second row beside the first, and verification counts the days of both: the
corrected date left the earlier month paid in full, and a child re-registered from school A to school B had B's line
excluded as a double enrolment. Which of two overlapping rows is the wrong one only the operator knows (a child can
truly be at two schools — that is what ``double_enrolment`` catches), so the import changes nothing it was not given:
it loads the row and says, per row, that the same student has another stored row, not in this file, sharing a day
with it. The operator voids the earlier row by importing it again with ``withdrawn_on`` equal to its ``enrolled_on``
(a row that runs on no day: :meth:`EnrolledDays.runs`) — an ordinary import, audited like any other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.registry.adapter import EnrolledDays, handed_over
from app.registry.models import NedbEnrollment

_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit

NOTICES = {
    "overlaps_earlier": _l("the same student has another row, not in this file, that shares days with this one "
                           "(school %(school)s, enrolled %(enrolled)s, withdrawn %(withdrawn)s); both rows count. "
                           "If this row corrects it, void the earlier row: import it again with withdrawn_on equal "
                           "to its enrolled_on"),
}


def notice_text(notice: dict) -> str:
    from app.registry.importers import ROW_NOTES

    if notice["code"] in ROW_NOTES:
        return str(ROW_NOTES[notice["code"]])
    if notice["code"] == "repeated_in_file":
        if notice.get("earlier_line"):
            return str(REPEATED_AT) % {"line": notice["earlier_line"]}
        return str(REPEATED)
    return str(NOTICES[notice["code"]]) % {"school": notice["school"], "enrolled": notice["enrolled_on"],
                                           "withdrawn": notice["withdrawn_on"] or "—"}


REPEATED_AT = _l("this row has the same key as line %(line)s of this file (the same record twice); this later row "
                 "was loaded in its place — check which one is right")
REPEATED = _l("this row has the same key as an earlier row of this file (the same record twice); this later row was "
              "loaded in its place — check which one is right")


@dataclass(frozen=True)
class _Days(EnrolledDays):
    enrolled_on: date
    withdrawn_on: date | None


@dataclass(frozen=True)
class _Enrollment(EnrolledDays):
    iin: str
    school_bin: str
    enrolled_on: date
    withdrawn_on: date | None


class EarlierRows:
    """Collects the notices of one import, batch by batch. Call :meth:`check` after each batch is written (the dates
    compared are the stored ones: a column the file lacks keeps its stored value) and :meth:`notices` at the end.

    Rows of the file seen in later batches are no "earlier row": the keys of the file are kept (as 64-bit hashes, a
    million rows in tens of MB — a collision could only drop a notice, never change a row) and a stored row is named
    only if the whole file did not bring it."""

    def __init__(self, key: tuple[str, ...], model: type, in_file: set[int] | None = None):
        self.key, self.model = key, model  # key: (iin, school column, enrolled_on)
        # the hashes of the file's keys, kept by the caller (the import's own repeated-row check shares them)
        self._in_file: set[int] = set() if in_file is None else in_file
        self._keeps = in_file is None
        self._found: list[tuple[tuple, dict]] = []

    def check(self, batch: list[tuple[int, dict]]) -> None:
        lines = {tuple(record[k] for k in self.key): line for line, record in batch}
        if self._keeps:
            self._in_file.update(hash(k) for k in lines)
        columns = [getattr(self.model, c) for c in (*self.key, "withdrawn_on")]
        iins = sorted({k[0] for k in lines})
        for i in range(0, len(iins), _CHUNK):
            by_student: dict[str, list[tuple]] = defaultdict(list)
            # Core rows, not ORM objects: the batch was just written by an INSERT the session's objects never saw.
            for row in db.session.execute(select(*columns).where(columns[0].in_(iins[i:i + _CHUNK]))):
                by_student[row[0]].append(tuple(row))
            for rows in by_student.values():
                self._compare(rows, lines)

    def _compare(self, rows: list[tuple], lines: dict[tuple, int]) -> None:
        brought = [r for r in rows if r[:3] in lines]
        for other in (r for r in rows if r[:3] not in lines):
            for row in brought:
                if _Days(row[2], row[3]).overlaps(_Days(other[2], other[3])) and not self._handed_over(row, other):
                    self._found.append((other[:3], {
                        "line": lines[row[:3]], "code": "overlaps_earlier", "iin": row[0], "school": other[1],
                        "enrolled_on": other[2].isoformat(),
                        "withdrawn_on": other[3].isoformat() if other[3] else ""}))

    def _handed_over(self, row: tuple, other: tuple) -> bool:
        """The two NEDB rows are a transfer recorded on one day at both schools (one row's last day is the other's first
        day at another school): verification pays that day to the new school and the rows are no double enrolment
        (app.registry.adapter.handed_over), so neither corrects the other — named, the operator was told to void the
        old school's row, and its whole enrolment went unpaid. NEDB's rows only: the other registries' verification
        reads overlapping rows as they are."""
        if self.model is not NedbEnrollment or row[1] == other[1]:
            return False
        pair = [_Enrollment(*row), _Enrollment(*other)]
        return [e.withdrawn_on for e in handed_over(pair)] != [e.withdrawn_on for e in pair]

    def notices(self) -> list[dict]:
        """Per line of the file, in file order: the stored rows the file did not bring that share a day with it."""
        return sorted((n for key, n in self._found if hash(key) not in self._in_file), key=lambda n: n["line"])
