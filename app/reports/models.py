from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class VerificationRun(db.Model):
    """One month-wide verification of every submitted or verified act, run in the background."""

    __tablename__ = "verification_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    total_acts: Mapped[int] = mapped_column(default=0)
    processed_acts: Mapped[int] = mapped_column(default=0)
    total_lines: Mapped[int] = mapped_column(default=0)
    excluded_lines: Mapped[int] = mapped_column(default=0)
    by_rule: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.processed_acts / self.total_acts) if self.total_acts else 0
