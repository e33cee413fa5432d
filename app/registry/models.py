"""Registry tables filled by import commands: the default (table-backed) adapter reads these.

Each table has a natural key with a unique constraint, so re-importing a file updates rows instead of
duplicating them (upsert on the natural key).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, String
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
    (Kazakh education licences are usually issued without an end date). Natural key: ``number``. A licence file's
    ``status`` is read and checked against these dates, not stored (app.registry.importers.parse_licence).
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


class NedbIinMerge(db.Model):
    """NEDB merged two IINs of one child: ``retired_iin`` is no longer the child's, ``surviving_iin`` is. Imported
    from NEDB's merge list (``flask import-nedb-merges``, kind ``nedb_merges``). Chains are kept flat: a merge into
    an IIN later retired itself points at the last survivor (app.registry.merges).

    Verification judges a line claiming the retired IIN as the surviving child (app.acts.verification, tmp_vmerge):
    two lines of the child across the two IINs in one act are a ``duplicate_line``, at two schools on common days a
    ``double_enrolment`` on both. Without it the school holding the surviving IIN got ``double_enrolment`` while the
    line under the retired IIN stayed paid."""

    __tablename__ = "nedb_iin_merge"
    __table_args__ = (Index("ix_nedb_iin_merge_surviving", "surviving_iin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    retired_iin: Mapped[str] = mapped_column(String(12), unique=True)
    surviving_iin: Mapped[str] = mapped_column(String(12))


class NedbRemoval(db.Model):
    """A row taken out of ``nedb_enrollment`` by an import, kept as it was with the import that took it out — the
    evidence behind a claw-back of a month already paid (app.acts.adjustments prices the line on today's NEDB, where
    the row is gone) and the audit trail of what a complete register (``snapshot``) or a merge changed.

    ``reason``: ``snapshot`` — a complete register for the row's school did not list it (NEDB deleted it);
    ``merged`` — its IIN was retired by a merge: the row lives on under ``surviving_iin`` unless that IIN already had
    the same enrolment (then only this copy remains of it)."""

    __tablename__ = "nedb_enrollment_removal"
    __table_args__ = (Index("ix_nedb_enrollment_removal_iin", "iin"),
                      Index("ix_nedb_enrollment_removal_import", "import_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("registry_import.id"))
    reason: Mapped[str] = mapped_column(String(16))  # snapshot | merged
    removed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enrollment_id: Mapped[int]  # the row's id in nedb_enrollment, as it was
    iin: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    school_bin: Mapped[str] = mapped_column(String(12))
    school_kind: Mapped[str] = mapped_column(String(8))
    grade: Mapped[int]
    enrolled_on: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    #: merged: the IIN the enrolment now belongs to
    surviving_iin: Mapped[str | None] = mapped_column(String(12))


IMPORT_KINDS = ("nedb", "licences", "business", "nedb_merges")


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
    #: how the file is read, chosen when it was uploaded (app.registry.snapshot.SnapshotOptions): {"snapshot": true,
    #: "schools": [BIN, …], "confirmed": bool, "dry_run": bool}; None: rows are added or updated only
    options: Mapped[dict | None] = mapped_column(JSON)

    @property
    def percent(self) -> int:
        return self._progress(self.processed_rows, self.total_rows)
