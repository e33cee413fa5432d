"""Incidents: an automatic step of one instance that failed outside a user's request.

One failure stays one failure: a batch that advances many instances (timers, service tasks, announcements,
migrations, month-wide jobs) rolls back only the failing instance and records an :class:`Incident` on it,
then goes on. An incident names the element, carries a message for users and a technical detail for
operators, and counts attempts; it is open until an operator retries (re-running the failed element) or
resolves it. The instance's ``status`` is ``error`` while one is open (shown as *incident*); an operator may also set
``suspended`` (the background pass skips it) or ``cancelled`` (final).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

#: kinds of incident (what failed), for filters and counts
KINDS = ("script", "service", "serialization", "budget", "database", "timer", "announcement", "other")


class Incident(db.Model):
    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_instance_status", "instance_id", "status"),
                      Index("ix_incident_status_created", "status", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    element_id: Mapped[str | None] = mapped_column(String(255))  # BPMN id of the failed element
    kind: Mapped[str] = mapped_column(String(32), default="other")
    message: Mapped[str] = mapped_column(String(1000))  # for users: what failed, in plain words
    detail: Mapped[str | None] = mapped_column(Text)  # for operators: exception type, message, trace tail
    attempts: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution: Mapped[str | None] = mapped_column(String(500))

    instance = relationship("ProcessInstance")
