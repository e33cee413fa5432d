from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.jobs import BackgroundJobMixin
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


class AuditCheck(BackgroundJobMixin, db.Model):
    """One check of the whole audit trail started from the audit page, run in the background (app/audit/checks.py):
    every chain walked, every covered row compared — what ``flask verify-audit`` does without the anchors. At country
    scale the walk takes longer than a web worker may answer in; the page starts it, shows its progress and then its
    verdict, kept here with who started it and when."""

    __tablename__ = "audit_check"
    # One check at a time, whoever starts it: a second click (or a second administrator) is shown the running one.
    __table_args__ = (Index("uq_audit_check_active", "scope", unique=True,
                            sqlite_where=text("status IN ('queued', 'running')"),
                            postgresql_where=text("status IN ('queued', 'running')")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), default="all")  # what is checked: every chain ("all")
    total_events: Mapped[int] = mapped_column(default=0)  # events in the trail when the walk began
    checked_events: Mapped[int] = mapped_column(default=0)
    chains: Mapped[int] = mapped_column(default=0)
    problem_count: Mapped[int] = mapped_column(default=0)
    # the verdict's problems in the check's order (the first broken link first): [{"chain", "seq", "reason"}], the
    # first PROBLEMS_KEPT of them (app/audit/checks.py); ``problem_count`` says how many there were
    problems: Mapped[list] = mapped_column(JSON, default=list)

    @property
    def percent(self) -> int:
        return self._progress(self.checked_events, self.total_events)
