"""Notifications are stored as a kind + parameters and rendered in the reader's language when shown."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.engine.models import HumanTask
from app.extensions import db
from app.people.models import User

# -- the column notifications add to human_task (migration 0009_announce) -----------------------------
# Empty until the task has been announced (app.notifications.announce); the partial index holds only the
# few rows still waiting, so finding them stays one small index scan at any size of the table.
if "announced_at" not in HumanTask.__table__.c:
    HumanTask.announced_at = Column("announced_at", DateTime(timezone=True))
    Index("ix_human_task_unannounced", HumanTask.__table__.c.id,
          sqlite_where=HumanTask.__table__.c.announced_at.is_(None),
          postgresql_where=HumanTask.__table__.c.announced_at.is_(None))


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at", "created_at"),
                      # a task done marks its unread calls to act read (receivers.py): found through this
                      Index("ix_notification_task_unread", "task_id", sqlite_where=text("read_at IS NULL"),
                            postgresql_where=text("read_at IS NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))  # task_created | act_returned | due_soon | overdue | on_behalf
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user: Mapped[User] = relationship()
    task = relationship("HumanTask")


class OutboxEmail(db.Model):
    """An e-mail waiting to be sent (SMTP when MAIL_SERVER is configured) or kept for reading here."""

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_status", "status", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sending | sent | stored | failed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # sending: when it was taken
    user: Mapped[User | None] = relationship()
    notification: Mapped[Notification | None] = relationship()
