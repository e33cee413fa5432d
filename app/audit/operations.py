"""The one door for audit events: :func:`record_event` and :func:`verify_chain`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app import clock
from app.audit.models import AuditEvent
from app.extensions import db

GENESIS = "0" * 64
_HEADS = "audit_chain_heads"  # session.info key: chain -> (seq, hash), this transaction only


def _digest(prev_hash: str, chain: str, seq: int, at: datetime, actor_id, on_behalf_of_id, action: str,
            object_type: str, object_id, details: dict) -> str:
    body = json.dumps(
        [prev_hash, chain, seq, _as_utc(at).isoformat(timespec="microseconds"), actor_id, on_behalf_of_id, action,
         object_type, object_id, details],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _as_utc(at: datetime) -> datetime:
    # SQLite returns naive datetimes and PostgreSQL the session's zone; every timestamp we store is UTC.
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def record_event(chain: str, action: str, object_type: str, object_id: int | None, *, actor_id: int | None,
                 details: dict | None = None, on_behalf_of_id: int | None = None) -> None:
    """Append an event to ``chain`` in the current transaction (the caller commits).

    Written at once with a plain INSERT (no ORM object to track until the flush): the event is visible to
    the rest of the transaction and goes with it on commit or rollback."""
    seq, prev = _next_link(chain)
    at = clock.now()
    # Round-trip through JSON so the hash is computed over exactly what the database will give back.
    details = json.loads(json.dumps(details or {}, default=str))
    digest = _digest(prev, chain, seq, at, actor_id, on_behalf_of_id, action, object_type, object_id, details)
    db.session.connection().execute(_INSERT, {
        "chain": chain, "seq": seq, "at": at, "actor_id": actor_id, "on_behalf_of_id": on_behalf_of_id,
        "action": action, "object_type": object_type, "object_id": object_id, "details": details,
        "prev_hash": prev, "hash": digest,
    })
    db.session.info.setdefault(_HEADS, {})[chain] = (seq, digest)


_INSERT = AuditEvent.__table__.insert()


def start_chain(chain: str) -> None:
    """Tell :func:`record_event` that ``chain`` has no events yet (e.g. a process instance inserted in
    this transaction), so its first event needs no look-up. Should the chain exist after all, the
    unique (chain, seq) refuses the insert: a wrong hint fails loudly, it never forks a chain."""
    db.session.info.setdefault(_HEADS, {})[chain] = (0, GENESIS)


def _next_link(chain: str) -> tuple[int, str]:
    """(seq, prev_hash) for the next event of ``chain``.

    Heads written in this transaction are remembered in the session, so a second event on the same chain
    (task completed + instance completed) costs no query; any commit, rollback or savepoint end forgets
    them. Otherwise one indexed look-up of the chain's last event (unique chain, seq). No autoflush is
    needed for it: events are inserted as they are recorded.
    """
    head = db.session.info.get(_HEADS, {}).get(chain)
    if head is not None:
        seq, digest = head
        return seq + 1, digest
    last = db.session.connection().execute(_HEAD, {"chain": chain}).first()
    return (last.seq + 1, last.hash) if last else (1, GENESIS)


# Built once: a statement object carries its compiled form's cache key, so a step pays only the execution.
_HEAD = (select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.chain == bindparam("chain"))
         .order_by(AuditEvent.seq.desc()).limit(1))


@sa_event.listens_for(Session, "after_transaction_end")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_heads(session, *_args) -> None:
    session.info.pop(_HEADS, None)


@dataclass
class ChainProblem:
    chain: str
    seq: int
    reason: str


def verify_chain(chain: str) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    prev = GENESIS
    expected_seq = 1
    for ev in db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)):
        if ev.seq != expected_seq:
            problems.append(ChainProblem(chain, ev.seq, f"gap: expected seq {expected_seq}"))
        if ev.prev_hash != prev:
            problems.append(ChainProblem(chain, ev.seq, "prev_hash does not match the previous event"))
        digest = _digest(ev.prev_hash, ev.chain, ev.seq, ev.at, ev.actor_id, ev.on_behalf_of_id,
                         ev.action, ev.object_type, ev.object_id, ev.details)
        if digest != ev.hash:
            problems.append(ChainProblem(chain, ev.seq, "content does not match its hash (tampered)"))
        prev = ev.hash
        expected_seq = ev.seq + 1
    return problems


def verify_all_chains() -> tuple[int, list[ChainProblem]]:
    chains = db.session.scalars(select(AuditEvent.chain).group_by(AuditEvent.chain)).all()
    problems: list[ChainProblem] = []
    for chain in chains:
        problems.extend(verify_chain(chain))
    return len(chains), problems


def count_events() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id))) or 0
