from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.people.models import User


class AuditEvent(db.Model):
    """One state change. ``chain`` groups events (one chain per process instance or organisation):
    ``seq`` is the position in the chain and ``hash`` is an HMAC (key ``key_id``, kept outside the database)
    over the previous hash, this event's content and ``facts`` — the money and legal fields of the row the
    event created (``app/audit/facts.py``), which ``verify-audit`` compares with the row.
    The unique (chain, seq) makes two concurrent writers to the same chain collide instead of forking it.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_audit_event_chain_seq"),
        Index("ix_audit_event_object", "object_type", "object_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    facts: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # no facts: SQL NULL, not JSON null

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])
