"""Cached aggregates behind the public portal: one row per school and month, rebuilt by the background pass."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class PublicSchoolMonth(db.Model):
    """What one school received for one month, from its decided acts (accepted or paid).

    ``children`` counts the act lines that were paid for; ``withheld_by_rule`` counts excluded lines per
    rule code. Both may be small: the pages and downloads suppress counts under the threshold, this
    table keeps the exact figures for the aggregates above it."""

    __tablename__ = "public_school_month"
    __table_args__ = (Index("ix_public_school_month_year_region", "academic_year", "region_id", "period"),
                      Index("ix_public_school_month_school", "school_id", "period", unique=True))
    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year: Mapped[str] = mapped_column(String(9))
    period: Mapped[date] = mapped_column(Date)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    children: Mapped[int] = mapped_column(default=0)
    claimed_lines: Mapped[int] = mapped_column(default=0)
    accepted_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    withheld_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    withheld_by_rule: Mapped[dict] = mapped_column(JSON, default=dict)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
