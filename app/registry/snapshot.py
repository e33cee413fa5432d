"""A complete register: an NEDB file that is the whole roll of the schools it covers.

An ordinary import only adds or updates rows: a row NEDB deleted as an error stayed in ``nedb_enrollment`` for ever —
a phantom pupil paid every month and never clawed back. Uploaded as a complete register (``snapshot``), the file also
says which rows are gone: every stored row of a covered school that the file does not list is taken out.

* Covered: the schools the file lists, and the schools the operator names (a school whose every row NEDB deleted is
  not in the file at all).
* Planned before a row is written (:func:`plan_removals`): a preview (``dry_run``) stops there and shows, row by row,
  what would be taken out; a plan that would take out more than ``NEDB_SNAPSHOT_MAX_REMOVED_SHARE`` of a school's
  rows — a file cut short — is refused, nothing written, unless the operator confirmed it.
* A school with a rejected row keeps its rows: the row the file could not read may be the very one a removal would
  take. A rejected row whose school cannot be read holds back every removal.
* Taken out in one transaction, after the file's last row is loaded (:func:`remove_absent`): each row kept in
  ``nedb_enrollment_removal`` as it was, with the import as its evidence, and one audit event with the counts. A run
  stopped before (Ctrl-C, its worker killed, the time limit) removed nothing; one stopped inside that transaction
  neither. Decided acts are never edited: the open acts of the students' schools are verified again (the import's
  re-verification) and a month already paid is clawed back on the school's next act (app.acts.adjustments prices
  the line on today's NEDB, where the row is gone).

The file's rows are compared by the hashes of their keys (iin, school, enrolment date), as the importer counts
repeated rows: millions of rows in tens of MB. A collision could only keep a row the file does not list — never take
out one it does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select

from app import clock
from app.extensions import db
from app.registry.identifiers import is_valid_bin
from app.registry.importers import (
    KINDS,
    MAX_REPORTED_ERRORS,
    RowError,
    _ident,
    file_columns,
    merged_iins,
    parsed_rows,
)
from app.registry.models import NedbEnrollment, NedbRemoval

_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit
#: rows deleted per statement of the removal's one transaction
REMOVE_CHUNK = 900


@dataclass(frozen=True)
class SnapshotOptions:
    """How a complete register was uploaded (kept in ``RegistryImport.options``)."""

    schools: tuple[str, ...] = ()  # BINs covered even when the file lists no row of theirs
    confirmed: bool = False  # the operator accepts removals past the share a school may lose unconfirmed
    dry_run: bool = False  # a preview: plan and report, write nothing

    @classmethod
    def of(cls, options: dict | None) -> SnapshotOptions | None:
        if not (options or {}).get("snapshot"):
            return None
        return cls(tuple(options.get("schools") or ()), bool(options.get("confirmed")), bool(options.get("dry_run")))

    def as_options(self) -> dict:
        return {"snapshot": True, "schools": list(self.schools), "confirmed": self.confirmed,
                "dry_run": self.dry_run}


def max_removed_share() -> float:
    """The share of a school's stored rows a complete register may take out without the operator's confirmation."""
    return float(current_app.config.get("NEDB_SNAPSHOT_MAX_REMOVED_SHARE", 0.2))


@dataclass
class FileKeys:
    """What a complete register lists: its rows' keys (hashed), its schools, and the schools its rejected rows keep."""

    keys: set[int] = field(default_factory=set)
    schools: set[str] = field(default_factory=set)
    held_back: set[str] = field(default_factory=set)  # schools with a rejected row
    unattributed: int = 0  # rejected rows whose school cannot be read: every removal is held back
    rows: int = 0
    rejected: int = 0


def key_hash(iin: str, school_bin: str, enrolled_on) -> int:
    return hash((iin, school_bin, enrolled_on))


def read_file_keys(path: Path, formulas: dict | None, layout) -> FileKeys:
    """Read the file through once, as the import will (merged IINs under their survivor, as it loads them)."""
    kind = KINDS["nedb"]
    mapping, _ignored, _written = file_columns(kind, path, layout)
    merged = merged_iins()
    found = FileKeys()
    for _line, row, record in parsed_rows(kind, path, formulas, layout, mapping):
        found.rows += 1
        if isinstance(record, RowError):
            found.rejected += 1
            try:
                found.held_back.add(_ident(row, "school_bin", is_valid_bin, "invalid_bin"))
            except RowError:
                found.unattributed += 1
            continue
        iin = merged.get(record["iin"], record["iin"])
        found.schools.add(record["school_bin"])
        found.keys.add(key_hash(iin, record["school_bin"], record["enrolled_on"]))
    return found


@dataclass
class SchoolPlan:
    stored: int = 0
    removed: int = 0
    held_back: bool = False

    @property
    def share(self) -> float:
        return self.removed / self.stored if self.stored else 0.0


@dataclass
class RemovalPlan:
    """The stored rows a complete register takes out, per school and row by row."""

    schools: dict[str, SchoolPlan] = field(default_factory=dict)
    rows: list = field(default_factory=list)  # nedb_enrollment rows to take out (not the held-back schools')
    held_rows: int = 0  # rows absent from the file kept because of a rejected row
    blocked: bool = False  # a rejected row's school could not be read: nothing is taken out

    @property
    def removed(self) -> int:
        return len(self.rows)

    def over_share(self, share: float) -> list[str]:
        """The schools that would lose more than ``share`` of their rows (a file cut short)."""
        return sorted(b for b, p in self.schools.items() if p.removed and p.share > share)

    def report(self, options: SnapshotOptions, share: float) -> dict:
        """Kept in the job's checkpoint for its page and the command line: per school, and the rows (the first
        ones)."""
        listed = sorted(self.rows, key=lambda r: (r.school_bin, r.full_name, r.iin, r.enrolled_on))
        return {
            "dry_run": options.dry_run, "confirmed": options.confirmed, "max_share": share,
            "covered": len(self.schools), "removed": self.removed, "held_rows": self.held_rows,
            "blocked": self.blocked, "over_share": self.over_share(share),
            "schools": [{"bin": b, "stored": p.stored, "removed": p.removed, "held_back": p.held_back}
                        for b, p in sorted(self.schools.items()) if p.removed or p.held_back],
            "rows": [{"iin": r.iin, "full_name": r.full_name, "school_bin": r.school_bin, "grade": r.grade,
                      "enrolled_on": r.enrolled_on.isoformat(),
                      "withdrawn_on": r.withdrawn_on.isoformat() if r.withdrawn_on else None}
                     for r in listed[:MAX_REPORTED_ERRORS]],
        }


def plan_removals(found: FileKeys, options: SnapshotOptions) -> RemovalPlan:
    """The stored rows of the covered schools that the file does not list, as the database holds them now."""
    plan = RemovalPlan(blocked=found.unattributed > 0)
    covered = sorted(found.schools | set(options.schools))
    for i in range(0, len(covered), _CHUNK):
        chunk = covered[i : i + _CHUNK]
        # plain rows, not ORM objects: a region's roll is hundreds of thousands of them
        table = NedbEnrollment.__table__
        for row in db.session.execute(select(table).where(table.c.school_bin.in_(chunk)).order_by(table.c.id)):
            school = plan.schools.setdefault(row.school_bin, SchoolPlan())
            school.stored += 1
            if key_hash(row.iin, row.school_bin, row.enrolled_on) in found.keys:
                continue
            if plan.blocked or row.school_bin in found.held_back:
                school.held_back = True
                plan.held_rows += 1
                continue
            school.removed += 1
            plan.rows.append(row)
    for school_bin in covered:
        plan.schools.setdefault(school_bin, SchoolPlan())
    return plan


@dataclass
class Removed:
    rows: int
    by_school: dict[str, int]
    iins: set[str]


def remove_absent(import_id: int, plan: RemovalPlan) -> Removed:
    """Take out the plan's rows in the caller's transaction (the caller commits it whole or not at all): each kept in
    ``nedb_enrollment_removal`` with the import, then deleted."""
    now = clock.now()
    rows = plan.rows
    for i in range(0, len(rows), REMOVE_CHUNK):
        chunk = rows[i : i + REMOVE_CHUNK]
        db.session.add_all(NedbRemoval(import_id=import_id, reason="snapshot", removed_at=now, enrollment_id=r.id,
                                       iin=r.iin, full_name=r.full_name, school_bin=r.school_bin,
                                       school_kind=r.school_kind, grade=r.grade, enrolled_on=r.enrolled_on,
                                       withdrawn_on=r.withdrawn_on) for r in chunk)
        db.session.flush()
        db.session.execute(delete(NedbEnrollment).where(NedbEnrollment.id.in_([r.id for r in chunk]))
                           .execution_options(synchronize_session=False))
    return Removed(len(rows), dict(Counter(r.school_bin for r in rows)), {r.iin for r in rows})


def covered_schools(text: str | None) -> tuple[tuple[str, ...], list[str]]:
    """The BINs an operator typed (spaces, commas, semicolons or new lines between them): the valid ones, and the
    ones that are not a BIN (said back to them; nothing is imported then)."""
    import re

    words = [w for w in re.split(r"[\s,;]+", text or "") if w]
    return tuple(dict.fromkeys(w for w in words if is_valid_bin(w))), [w for w in words if not is_valid_bin(w)]
