"""Helpers for the audit tests: find events, tamper like a database writer would."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.models import Act
from app.audit.models import AuditEvent
from app.extensions import db


def chain_of(act: Act) -> str:
    return f"instance:{act.instance_id}"


def event(chain: str, seq: int) -> AuditEvent:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == seq)).one()


def last_seq(chain: str) -> int:
    return max(db.session.scalars(select(AuditEvent.seq).where(AuditEvent.chain == chain)))


def tamper(statement) -> None:
    """What a person with write access to the database does: one statement, committed."""
    db.session.execute(statement)
    db.session.commit()
    db.session.expire_all()
