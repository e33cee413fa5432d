"""Registry tables filled by import commands: the default (table-backed) adapter reads these.

Each table has a natural key with a unique constraint, so re-importing a file updates rows instead of
duplicating them (upsert on the natural key).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.jobs import BackgroundJobMixin


class NedbEnrollment(db.Model):
    """One enrolment of a student at a school in the national education database (NEDB / НОБД).

    A student has one row per school they attended; ``withdrawn_on`` is the first day they are no longer
    a student there (None while enrolled). State schools appear too, with ``school_kind='state'``.
    Natural key: (iin, school_bin, enrolled_on).
    """

    __tablename__ = "nedb_enrollment"
    __table_args__ = (
        # Every NEDB fact verification reads about a claimed IIN, in the index itself (no table look-up per
        # line; replaces the plain (iin) index, which it covers). Migration 0013_speed.
        Index("ix_nedb_enrollment_facts", "iin", "school_bin", "enrolled_on", "withdrawn_on", "grade", "full_name"),
        Index("ix_nedb_enrollment_school", "school_bin", "enrolled_on"),
        Index("uq_nedb_enrollment_natural", "iin", "school_bin", "enrolled_on", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    school_bin: Mapped[str] = mapped_column(String(12))
    school_kind: Mapped[str] = mapped_column(String(8), default="private")  # private | state
    grade: Mapped[int]
    enrolled_on: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)


LEVELS = ("primary", "basic", "secondary")


class Licence(db.Model):
    """An education licence of an organisation: which levels it covers and for which period.

    ``levels`` is a comma-separated subset of primary,basic,secondary. ``valid_until`` None: indefinite
    (Kazakh education licences are usually issued without an end date). Natural key: ``number``.
    """

    __tablename__ = "registry_licence"
    __table_args__ = (Index("ix_registry_licence_bin", "bin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    bin: Mapped[str] = mapped_column(String(12))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    levels: Mapped[str] = mapped_column(String(40))

    @property
    def level_set(self) -> frozenset[str]:
        return frozenset(x for x in self.levels.split(",") if x)


class BusinessRecord(db.Model):
    """The state business register's entry for an organisation (natural key: BIN)."""

    __tablename__ = "registry_business"
    id: Mapped[int] = mapped_column(primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # active | liquidated
    oked: Mapped[str] = mapped_column(String(16))  # main activity code, e.g. 85.31
    #: The day the organisation was liquidated (status "liquidated"): its days before are funded, from that day on none
    #: (app.registry.business.standing). NULL with status "liquidated": no date known — no month is funded.
    liquidated_on: Mapped[date | None] = mapped_column(Date)

    @property
    def is_education(self) -> bool:
        return self.oked.startswith("85")


IMPORT_KINDS = ("nedb", "licences", "business")


class RegistryImport(BackgroundJobMixin, db.Model):
    """One import of a registry file: progress while it runs, then the per-row error report."""

    __tablename__ = "registry_import"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # the longest: dormitory_documents (migration 0021)
    filename: Mapped[str] = mapped_column(String(255))
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    loaded_rows: Mapped[int] = mapped_column(default=0)
    rejected_rows: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)  # [{"line": n, "reason": "..."}], first 1000
    #: rows loaded that may correct an earlier row of the same student (app.registry.earlier_rows), first 1000
    notices: Mapped[list | None] = mapped_column(JSON, default=list)

    @property
    def percent(self) -> int:
        return self._progress(self.processed_rows, self.total_rows)
