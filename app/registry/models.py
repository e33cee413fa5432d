"""Registry tables filled by import commands: the default (table-backed) adapter reads these."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class NedbEnrollment(db.Model):
    """One enrolment of a student at a school in the national education database (NEDB / НОБД).

    A student has one row per school they attended; ``withdrawn_on`` is the first day they are no longer
    a student there (None while enrolled). State schools appear too, with ``school_kind='state'``.
    """

    __tablename__ = "nedb_enrollment"
    __table_args__ = (
        Index("ix_nedb_enrollment_iin", "iin"),
        Index("ix_nedb_enrollment_school", "school_bin", "enrolled_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    school_bin: Mapped[str] = mapped_column(String(12))
    school_kind: Mapped[str] = mapped_column(String(8), default="private")  # private | state
    grade: Mapped[int]
    enrolled_on: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
