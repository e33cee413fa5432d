from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.jobs import BackgroundJobMixin


class VerificationRun(BackgroundJobMixin, db.Model):
    """One month-wide verification of every submitted or verified act, run in the background."""

    __tablename__ = "verification_run"
    # One run of a month at a time, whoever starts it: the check before the insert let two operators' clicks
    # through two web processes both start one (every act then verified twice).
    __table_args__ = (Index("uq_verification_run_active_period", "period", unique=True,
                            sqlite_where=text("status IN ('queued', 'running')"),
                            postgresql_where=text("status IN ('queued', 'running')")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date] = mapped_column(Date, index=True)
    total_acts: Mapped[int] = mapped_column(default=0)
    processed_acts: Mapped[int] = mapped_column(default=0)
    total_lines: Mapped[int] = mapped_column(default=0)
    excluded_lines: Mapped[int] = mapped_column(default=0)
    by_rule: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def percent(self) -> int:
        return self._progress(self.processed_acts, self.total_acts)
