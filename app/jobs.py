"""What every background job row shares: its state, who started it, when, and its progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column


class BackgroundJobMixin:
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    message: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def _progress(self, done: int, total: int) -> int:
        if self.status == "done":
            return 100
        return int(100 * done / total) if total else 0
