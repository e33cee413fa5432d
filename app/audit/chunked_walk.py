"""The audit page's walk of the trail in chunks, each read in a short transaction, resumable from a checkpoint.

Read in one transaction, the walk of years of events held one PostgreSQL snapshot for as long as it ran (vacuum held
back everywhere for the whole walk), and a runner that died made the next one start again from the first event: with
runners dying now and then, a long enough trail was never checked. Now each chunk of ``CHUNK_EVENTS`` events, in
(chain, seq) order from where the last one ended, is read in a transaction of its own, which the caller's
``on_chunk`` ends by committing the check's progress (and, now and then, :func:`checkpoint`). A run sent again goes
on from the checkpoint: the walker's state — the chain being walked, its last hash (the HMAC link the next event must
carry) and seq, the counts, the first problems and how many more, and what the row comparison needs (the latest
verified facts of each covered row).

Why a walk in chunks is still a sound check: events are only ever appended, each chain in seq order under its lock.
Every event read is checked against the hash carried from the previous one, whether the chunk border falls inside
its chain or not; an event appended during the walk to a chain not reached yet is read and checked like the others,
one appended to a chain already passed is left to the next check — as a snapshot taken when the walk began would
have left it. What differs from one snapshot is the rows: a row decided while the walk ran names an event of a chain
possibly passed already. The rows are therefore read at the end, in one snapshot (:func:`begin_snapshot`), and one
with no cover or whose facts differ is compared with the latest verified event about it then
(:func:`app.audit.operations.cover_now`) before it is reported. What a check in chunks may miss, and the next check
finds: an event rewritten, during the walk, in the part already walked (a snapshot taken at the start misses it too).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import literal, select, tuple_

from app.audit.keys import keyring
from app.audit.models import AuditEvent
from app.audit.operations import _COLUMNS, GENESIS, ChainProblem, _ChainWalker, _Cover
from app.extensions import db

#: events read per transaction (one chunk; the caller's ``on_chunk`` is called after each)
CHUNK_EVENTS = 5000


def walk(on_chunk: Callable[[_ChainWalker], None], resume: dict | None = None) -> _ChainWalker:
    """Every event, in (chain, seq) order, from where ``resume`` (a :func:`checkpoint`) left off. After each chunk
    ``on_chunk(walker)`` is called in the chunk's transaction, then it is committed: the caller writes its progress
    there (and may raise to stop the walk: what it committed before stays)."""
    walker = _restored(resume) if resume else _ChainWalker(keyring().keys)
    while True:
        query = select(*_COLUMNS).order_by(AuditEvent.chain, AuditEvent.seq).limit(CHUNK_EVENTS)
        if walker.report.events:
            last = (walker._chain, walker._expected - 1)
            query = query.where(tuple_(AuditEvent.chain, AuditEvent.seq) > tuple_(literal(last[0]), literal(last[1])))
        rows = db.session.connection().execute(query).all()
        for ev in rows:
            walker.feed(ev)
        on_chunk(walker)
        db.session.commit()
        if len(rows) < CHUNK_EVENTS:
            return walker


def begin_snapshot() -> None:
    """Start the transaction the rows are compared in: on PostgreSQL one REPEATABLE READ snapshot (the rows of every
    table, and the events :func:`app.audit.operations.cover_now` reads, as of one moment); SQLite's reads are one
    snapshot per transaction already."""
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def checkpoint(walker: _ChainWalker, problems_kept: int) -> dict:
    """What a run sent again needs to go on from the last event read (JSON). Of the problems, the first
    ``problems_kept`` are kept and the others counted. Its size grows with the rows events vouch for (acts, payments,
    contracts), not with the events."""
    report = walker.report
    return {
        "chain": walker._chain, "prev_hash": getattr(walker, "_prev", GENESIS),
        "expected": getattr(walker, "_expected", 1), "keyed": getattr(walker, "_keyed", False),
        "chains": report.chains, "events": report.events, "events_by_key": report.events_by_key,
        "problems": [[p.chain, p.seq, p.reason] for p in report.problems[:problems_kept]],
        "problems_left_out": report.problems_left_out + max(0, len(report.problems) - problems_kept),
        "covers": [[object_type, object_id, c.event_id, c.chain, c.seq, c.at.isoformat(), c.facts]
                   for (object_type, object_id), c in walker.covers.items()],
        "legacy_objects": [[object_type, object_id, n]
                           for (object_type, object_id), n in walker.legacy_objects.items()],
        "last_legacy_id": walker.last_legacy_id, "first_keyed_id": walker.first_keyed_id,
    }


def _restored(state: dict) -> _ChainWalker:
    walker = _ChainWalker(keyring().keys)
    walker._chain, walker._prev, walker._expected, walker._keyed = (state["chain"], state["prev_hash"],
                                                                    state["expected"], state["keyed"])
    report = walker.report
    report.chains, report.events, report.events_by_key = state["chains"], state["events"], state["events_by_key"]
    report.problems = [ChainProblem(chain, seq, reason) for chain, seq, reason in state["problems"]]
    report.problems_left_out = state["problems_left_out"]
    walker.covers = {(object_type, object_id): _Cover(event_id, chain, seq, facts, datetime.fromisoformat(at))
                     for object_type, object_id, event_id, chain, seq, at, facts in state["covers"]}
    walker.legacy_objects = Counter({(object_type, object_id): n
                                     for object_type, object_id, n in state["legacy_objects"]})
    walker.last_legacy_id, walker.first_keyed_id = state["last_legacy_id"], state["first_keyed_id"]
    return walker
