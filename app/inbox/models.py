"""Inbox tables: saved filters, comments and attachments on tasks.

The inbox also adds search/SLA columns to the engine's ``human_task`` table (migration 0005_inbox).
They are appended to the engine's mapped class here, so the engine's model stays the engine's and the
inbox's columns live with the inbox: the engine writes the row, :mod:`app.inbox.hooks` fills these
columns in the same transaction (``signals.task_created``), and every inbox query reads only this table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.engine.models import HumanTask
from app.extensions import db
from app.people.models import User

# -- columns the inbox adds to human_task (see migrations/versions/0005_inbox.py) ---------------------
_EXTRA_COLUMNS = {
    "claimed_at": Column("claimed_at", DateTime(timezone=True)),
    "process_id": Column("process_id", String(100)),  # the BPMN process identifier, for the process filter
    "subject_number": Column("subject_number", String(40)),  # act / contract number, for search
    "school_name": Column("school_name", String(255)),
    "school_bin": Column("school_bin", String(12)),
    "started_by_id": Column("started_by_id", Integer),  # who started the instance ("waiting for")
    "excluded_lines": Column("excluded_lines", Integer),  # acts: lines excluded by verification
    "amount_tiyn": Column("amount_tiyn", BigInteger),  # acts: amount to pay, integer tiyn
    "sla_state": Column("sla_state", String(16)),  # None | due_soon | overdue: last SLA notice sent
}
if "claimed_at" not in HumanTask.__table__.c:
    for _name, _column in _EXTRA_COLUMNS.items():
        setattr(HumanTask, _name, _column)
    HumanTask.assignee = relationship(User, foreign_keys=[HumanTask.__table__.c.assignee_id], viewonly=True)
    _t = HumanTask.__table__
    for _index_cols in (
        ("ix_human_task_region_due", "role", "status", "region_id", "due_at", "assignee_id"),
        ("ix_human_task_region_school", "region_id", "school_bin"),
        ("ix_human_task_subject_number", "subject_number"),
        ("ix_human_task_started_by", "started_by_id", "status"),
        ("ix_human_task_sla", "status", "due_at"),
    ):
        Index(_index_cols[0], *(_t.c[name] for name in _index_cols[1:]))  # binds itself to the table


class SavedFilter(db.Model):
    """A named set of inbox filter parameters; ``shared`` makes it visible to the owner's organisation.

    Only filter parameters are stored — never results or permissions: applying a filter always runs the
    user's own authorised base query, so a shared filter cannot show anyone more than they may see.
    """

    __tablename__ = "saved_filter"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    params: Mapped[dict] = mapped_column(JSON)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    owner: Mapped[User] = relationship()


class TaskComment(db.Model):
    __tablename__ = "task_comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    author: Mapped[User] = relationship()


class TaskAttachment(db.Model):
    """A file attached to a task; stored under instance/attachments/ with a random name."""

    __tablename__ = "task_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(String(255))  # the original name, shown (escaped), never used as a path
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    uploaded_by: Mapped[User] = relationship()
