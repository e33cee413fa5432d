"""Cached aggregates behind the public portal: one row per school and month, rebuilt by the background pass."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class PublicSchoolMonth(db.Model):
    """What one funded organisation (a school, a dormitory) received for one month under one funding instrument,
    from its decided acts (accepted or paid).

    ``children`` counts the students the organisation was paid for in the month — distinct IINs of its accepted lines:
    children taught for the schools' instrument, students placed for the dormitories' (``instrument`` says which:
    the two are never added up). A dormitory student who moved rooms within the month has a line per room and counts
    once. ``region_children`` and ``country_children`` count the same students less those already counted at an
    organisation of a lower id in the month — in the region, in the country: summed over a region's (the country's)
    organisations they give its distinct students, so a child transferred from one school to another within the
    month is one child of the region and the country though each school counts them
    (:mod:`app.public.students`). ``withheld_by_rule`` counts excluded lines per rule code.
    Counts may be small: the pages and downloads suppress counts under the threshold, this table keeps the exact
    figures for the aggregates above it."""

    __tablename__ = "public_school_month"
    __table_args__ = (Index("ix_public_school_month_year_region", "academic_year", "region_id", "period"),
                      Index("ix_public_school_month_school", "school_id", "period", "instrument", unique=True))
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the funding instrument the acts were paid under (app.instruments)
    instrument: Mapped[str] = mapped_column(String(16), default="schools", server_default="schools")
    academic_year: Mapped[str] = mapped_column(String(9))
    period: Mapped[date] = mapped_column(Date)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    children: Mapped[int] = mapped_column(default=0)
    region_children: Mapped[int] = mapped_column(default=0, server_default="0")
    country_children: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_lines: Mapped[int] = mapped_column(default=0)
    #: what the month's own lines earn; ``adjusted_tiyn``: corrections of earlier months settled on the month's acts
    #: (claw-backs negative) — the reconciliation's accepted and adjusted (app.reports.reconciliation)
    accepted_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    adjusted_tiyn: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    withheld_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    withheld_by_rule: Mapped[dict] = mapped_column(JSON, default=dict)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PublicRefresh(db.Model):
    """Where the background pass left the public caches: the last audit event it has taken into account.

    One row. A pass reads the audit events after ``watermark`` (a range scan of the primary key), rebuilds only
    what they touched and moves the watermark; with no new event it does nothing. ``full_built_on``: the day of
    the last full rebuild — once a day everything is rebuilt (a tender's status follows the calendar)."""

    __tablename__ = "public_refresh"
    id: Mapped[int] = mapped_column(primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)
    full_built_on: Mapped[date] = mapped_column(Date)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PublicRebuild(db.Model):
    """Who is rebuilding the public caches now, and whether to rebuild once more when done (one row): one rebuild at
    a time (app.public.rebuild). ``again``: a trigger that came while the rebuild ran — ``changes`` (what changed
    since the watermark) or ``full`` (``flask refresh-public``)."""

    __tablename__ = "public_rebuild"
    id: Mapped[int] = mapped_column(primary_key=True)
    running_by: Mapped[str | None] = mapped_column(String(100))
    running_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    again: Mapped[str | None] = mapped_column(String(8))


class PublicPayload(db.Model):
    """A download rendered by the background pass (the country-wide files), served as stored."""

    __tablename__ = "public_payload"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    content_type: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OcdsRelease(db.Model):
    """One OCDS release as published (compact JSON), in the order a contracting process's releases come."""

    __tablename__ = "ocds_release"
    __table_args__ = (Index("ix_ocds_release_order", "order_number", "position", unique=True),
                      Index("ix_ocds_release_year", "academic_year", "order_number", "position"))
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("state_order.id"), index=True)
    order_number: Mapped[str] = mapped_column(String(40))
    academic_year: Mapped[str] = mapped_column(String(9))
    position: Mapped[int]
    body: Mapped[str] = mapped_column(Text)


class OcdsRecord(db.Model):
    """One contracting process's compiled release (its releases merged by ocdsmerge), as published."""

    __tablename__ = "ocds_record"
    __table_args__ = (Index("ix_ocds_record_year", "academic_year", "order_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("state_order.id"), unique=True)
    order_number: Mapped[str] = mapped_column(String(40), unique=True)
    academic_year: Mapped[str] = mapped_column(String(9))
    ocid: Mapped[str] = mapped_column(String(120))
    release_count: Mapped[int]
    compiled: Mapped[str] = mapped_column(Text)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
