"""The one door for audit events: :func:`record_event`, and their verification (:func:`verify_audit_trail`).

Each event's ``hash`` is an HMAC-SHA256, with a key kept outside the database (``app/audit/keys.py``), over
the previous event's hash, the event's own fields, its key id and its ``facts``. A database writer without the
key can therefore neither rewrite an event nor re-hash the rest of the chain. What a chain alone cannot show —
its last events or the whole chain deleted — the signed anchors outside the database show
(``app/audit/anchors.py``); what the rows say about money and legal facts is compared with the events that
created them (``app/audit/facts.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app import clock
from app.audit import facts as fact_rules
from app.audit.keys import LEGACY_KEY_ID, keyring
from app.audit.models import AuditEvent
from app.database import take_write_lock
from app.extensions import db

GENESIS = "0" * 64
_HEADS = "audit_chain_heads"  # session.info key: chain -> (seq, hash), this transaction only
_HELD = "audit_chains_held"  # session.info key: the chains this transaction holds (hold_chain)


def _canonical(value) -> bytes:
    # Only JSON values reach here (times as ISO text, details and facts round-tripped by _as_stored).
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _body(prev_hash: str, chain: str, seq: int, at: datetime, actor_id, on_behalf_of_id, action: str,
          object_type: str, object_id, details) -> list:
    return [prev_hash, chain, seq, _as_utc(at).isoformat(timespec="microseconds"), actor_id, on_behalf_of_id,
            action, object_type, object_id, details]


def _legacy_digest(*fields) -> str:
    """The hash of events written before keyed hashes (key id ``sha256-legacy``): plain SHA-256."""
    return hashlib.sha256(_canonical(_body(*fields))).hexdigest()


def _keyed_body(key_id: str, facts, *fields) -> bytes:
    return _canonical([*_body(*fields), key_id, facts])


def _as_utc(at: datetime) -> datetime:
    # SQLite returns naive datetimes and PostgreSQL the session's zone; every timestamp we store is UTC.
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def _as_stored(value):
    # Round-trip through JSON so the hash is computed over exactly what the database will give back.
    return None if value is None else json.loads(json.dumps(value, default=str))


def record_event(chain: str, action: str, object_type: str, object_id: int | None, *, actor_id: int | None,
                 details: dict | None = None, on_behalf_of_id: int | None = None, facts: dict | None = None,
                 alongside: bool = False) -> None:
    """Append an event to ``chain`` in the current transaction (the caller commits).

    ``alongside``: the writer does not hold the instance's lock version (a comment, a file, a claim on an
    instance's chain). It no longer changes how the event is written: every writer of every chain waits for the
    chain on PostgreSQL (:func:`hold_chain`, and the lock order there); the callers still say it.

    ``facts`` are the money and legal fields of the row this event creates or decides (built by
    ``app/audit/facts.py``); ``verify-audit`` compares them with the row later.

    Written at once with a plain INSERT (no ORM object to track until the flush): the event is visible to
    the rest of the transaction and goes with it on commit or rollback."""
    ring = keyring()
    seq, prev = _next_link(chain)
    at = clock.now()
    details = _as_stored(details or {})
    facts = _as_stored(facts)
    digest = ring.sign(_keyed_body(ring.current_id, facts, prev, chain, seq, at, actor_id, on_behalf_of_id, action,
                                   object_type, object_id, details))
    db.session.connection().execute(_INSERT, {
        "chain": chain, "seq": seq, "at": at, "actor_id": actor_id, "on_behalf_of_id": on_behalf_of_id,
        "action": action, "object_type": object_type, "object_id": object_id, "details": details,
        "prev_hash": prev, "hash": digest, "key_id": ring.current_id, "facts": facts,
    })
    db.session.info.setdefault(_HEADS, {})[chain] = (seq, digest)


_INSERT = AuditEvent.__table__.insert()


def record_events(events: list[dict]) -> None:
    """Append many events at once, each a dict of :func:`record_event`'s arguments (``chain``, ``action``,
    ``object_type``, ``object_id``, ``actor_id`` and optionally ``details``, ``on_behalf_of_id``, ``facts``),
    in list order: the same events, links and hashes as that many :func:`record_event` calls, with one look-up
    of the chains' heads per 900 chains and one INSERT (a month-wide verification writes one event per act)."""
    if not events:
        return
    ring = keyring()
    heads = db.session.info.setdefault(_HEADS, {})
    conn = db.session.connection()
    unknown = sorted({e["chain"] for e in events} - heads.keys())
    for i in range(0, len(unknown), 900):
        chunk = unknown[i : i + 900]
        take_write_lock(conn)  # SQLite: the heads are read under the lock the batch's INSERT takes (see _next_link)
        # PostgreSQL: every writer of a chain holds it (hold_chain); so does this batch, in one statement and in chain
        # order (two batches never wait on each other in a circle), so a comment on an act's task while its month is
        # verified waits instead of colliding.
        hold_chains(chunk)
        for chain in chunk:
            heads[chain] = (0, GENESIS)
        last = (select(AuditEvent.chain, func.max(AuditEvent.seq).label("seq"))
                .where(AuditEvent.chain.in_(chunk)).group_by(AuditEvent.chain).subquery())
        for chain, seq, digest in conn.execute(
                select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash)
                .join(last, and_(AuditEvent.chain == last.c.chain, AuditEvent.seq == last.c.seq))):
            heads[chain] = (seq, digest)
    rows = []
    for e in events:
        chain = e["chain"]
        seq, prev = heads[chain]
        seq += 1
        at = clock.now()
        details = _as_stored(e.get("details") or {})
        facts = _as_stored(e.get("facts"))
        actor_id, on_behalf_of_id = e["actor_id"], e.get("on_behalf_of_id")
        digest = ring.sign(_keyed_body(ring.current_id, facts, prev, chain, seq, at, actor_id, on_behalf_of_id,
                                       e["action"], e["object_type"], e["object_id"], details))
        rows.append({"chain": chain, "seq": seq, "at": at, "actor_id": actor_id, "on_behalf_of_id": on_behalf_of_id,
                     "action": e["action"], "object_type": e["object_type"], "object_id": e["object_id"],
                     "details": details, "prev_hash": prev, "hash": digest, "key_id": ring.current_id,
                     "facts": facts})
        heads[chain] = (seq, digest)
    conn.execute(_INSERT, rows)


def start_chain(chain: str) -> None:
    """Tell :func:`record_event` that ``chain`` has no events yet (e.g. a process instance inserted in
    this transaction), so its first event needs no look-up. Should the chain exist after all, the
    unique (chain, seq) refuses the insert: a wrong hint fails loudly, it never forks a chain."""
    db.session.info.setdefault(_HEADS, {})[chain] = (0, GENESIS)


def _next_link(chain: str) -> tuple[int, str]:
    """(seq, prev_hash) for the next event of ``chain``.

    Heads written in this transaction are remembered in the session, so a second event on the same chain
    (task completed + instance completed) costs no query; any commit, rollback or savepoint end forgets
    them. Otherwise one indexed look-up of the chain's last event (unique chain, seq), under the chain's lock
    (:func:`hold_chain`). No autoflush is needed for it: events are inserted as they are recorded.
    """
    head = db.session.info.get(_HEADS, {}).get(chain)
    if head is not None:
        seq, digest = head
        return seq + 1, digest
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        # Every chain, an instance's too: SQLite has one writer at a time, so the head is read under the write lock
        # this transaction is about to take for its event anyway (app.database.take_write_lock). Read before it, two
        # logins of one person read the same head and the second failed on the unique (chain, seq) — a login
        # refused. Not a retry of the transaction on that conflict instead: a request's work is not replayable (a
        # file written, an allowance counted, the person's form), and the retry would meet the same race again.
        take_write_lock(connection)
    else:
        hold_chain(chain)
    last = connection.execute(_HEAD, {"chain": chain}).first()
    return (last.seq + 1, last.hash) if last else (1, GENESIS)


def hold_chain(chain: str) -> None:
    """PostgreSQL: hold ``chain``'s lock (a transaction-scoped advisory lock) until the transaction ends — at once, or
    after the transaction that holds it ends; SQLite: nothing (one writer at a time: :func:`_next_link`). Held once
    per transaction (a second call sends nothing).

    Every writer of a chain holds it before reading the chain's head, so the second of two writers links after the
    first instead of failing on the unique (chain, seq): a person's logins from two browsers, two uploads to the
    registry — and an instance's chain, which many writers share. There the acceptance of an act at the instant
    someone commented on its case was refused ("Someone else has just completed this step"): the step, which holds
    the instance's lock version, took no chain lock and linked to the head the comment was writing after.

    **Lock order of an instance's writers** (PostgreSQL). Each writer takes the locks it needs in this order, so
    none waits for a lock while holding one that the writer it waits for needs next — two that did waited on each
    other until PostgreSQL refused one ("deadlock detected"):

    1. the subject's own rows — the act, its payment, the contract (their guarded writes);
    2. the instance's chain (this lock);
    3. the instance's human-task rows (a claim's conditional UPDATE, a step completing its task, a cancellation);
    4. the instance's row (its lock version).

    The writers: a step (``complete_task``: the handler's writes to the act, then the chain as the engine runs —
    ``app.engine.runtime._run_engine`` holds it — then the task and instance rows); a timer, a retry, a migration,
    an administrator's timer (``_run_engine`` too, before ``_sync`` writes the rows); a cancellation, suspension,
    resumption or variable edit (``app.processes.operations._save_state``); an incident
    (``app.engine.incidents.record_incident``, before the instance row; an announcement's retry, before its tasks'
    rows); a claim (the chain before its conditional UPDATE of the task); an unclaim or a reassignment (the event,
    and so the chain, before the task row's flush); the claims of a person moved or deactivated (every chain in one
    statement, :func:`hold_chains`, then the rows); the overdue notice (the chain before the task's ``sla_state``);
    a comment or a file (the chain only: the foreign keys of its row take a KEY SHARE lock of the task and the
    instance, which no UPDATE of theirs waits for); the month-wide verification (its acts' rows, then their chains
    in one statement, then their tasks' inbox columns); a payment's return, the payee's confirmation, a payment
    again (the payment and the act, then the chain)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    held = db.session.info.setdefault(_HELD, set())
    if chain not in held:
        connection.execute(_LOCK_CHAIN, {"chain": chain})
        held.add(chain)


def hold_chains(chains: list[str]) -> None:
    """:func:`hold_chain` for many chains at once, in one statement and in chain order (the order every writer of
    several chains takes them in)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    held = db.session.info.setdefault(_HELD, set())
    wanted = sorted(set(chains) - held)
    if wanted:
        connection.execute(_LOCK_CHAINS, {"chains": wanted})
        held.update(wanted)


# Built once: a statement object carries its compiled form's cache key, so a step pays only the execution.
_HEAD = (select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.chain == bindparam("chain"))
         .order_by(AuditEvent.seq.desc()).limit(1))


_LOCK_CHAIN = text("SELECT pg_advisory_xact_lock(hashtextextended(:chain, 0))")
_LOCK_CHAINS = text("SELECT pg_advisory_xact_lock(hashtextextended(s.c, 0)) FROM "
                    "(SELECT c FROM unnest(CAST(:chains AS text[])) AS c ORDER BY c) AS s")


@sa_event.listens_for(Session, "after_transaction_end")
@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_heads(session, *_args) -> None:
    # the chains held too: a lock taken in a savepoint rolled back is released with it (held again, if need be)
    session.info.pop(_HEADS, None)
    session.info.pop(_HELD, None)


# -- verification -------------------------------------------------------------------------------------------
@dataclass
class ChainProblem:
    chain: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}: {self.reason}" if self.chain else self.reason


@dataclass
class VerificationReport:
    chains: int = 0
    events: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events_by_key: dict[str, int] = field(default_factory=dict)
    anchors_checked: list[int] = field(default_factory=list)
    #: problems found by earlier runs of a resumed check and not kept in its checkpoint (app/audit/chunked_walk.py):
    #: ``len(problems) + problems_left_out`` is how many there are
    problems_left_out: int = 0


@dataclass
class _Cover:
    """The latest event that vouches for a row's facts: the last of its chain (the order the hashes keep), and across
    chains the later by its hashed time — an event's id is not in its hash, a database writer can renumber it."""

    event_id: int
    chain: str
    seq: int
    facts: dict
    at: datetime


def _later_cover(cover: _Cover | None, event_id: int, chain: str, seq: int, at: datetime, facts: dict) -> _Cover:
    """The cover of a row once a verified event with ``facts`` about it is read, events being read in (chain, seq)
    order: the later of a chain, and across chains the later by its hashed time."""
    at = _as_utc(at)
    if cover is None or cover.chain == chain or (cover.at, cover.event_id) < (at, event_id):
        return _Cover(event_id, chain, seq, facts, at)
    return cover


def _hash_matches(keys: dict[str, bytes], ev) -> bool:
    """A keyed event (a row of ``_COLUMNS``) whose HMAC verifies with its key."""
    key = keys.get(ev.key_id)
    fields = (ev.prev_hash, ev.chain, ev.seq, ev.at, ev.actor_id, ev.on_behalf_of_id, ev.action, ev.object_type,
              ev.object_id, ev.details)
    return key is not None and hmac.digest(key, _keyed_body(ev.key_id, ev.facts, *fields), "sha256").hex() == ev.hash


#: Which rows must be vouched for, by the object type their events name. ``act`` rows only once decided for
#: payment (accepted or paid); every payment and every contract always.
COVERED_OBJECTS = ("act", "payment", "contract")
_COLUMNS = (AuditEvent.id, AuditEvent.chain, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id,
            AuditEvent.on_behalf_of_id, AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id,
            AuditEvent.details, AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.key_id, AuditEvent.facts)


class _ChainWalker:
    """Checks events in (chain, seq) order, one pass, remembering only what later checks need."""

    def __init__(self, keys: dict[str, bytes], wanted: dict[str, set[int]] | None = None) -> None:
        self.keys = keys
        self.wanted = wanted or {}  # chain -> seqs whose hashes an anchor vouches for
        self.report = VerificationReport()
        self.covers: dict[tuple[str, int], _Cover] = {}
        self.legacy_objects: Counter[tuple[str, int]] = Counter()  # rows named by unkeyed events, how many
        self.last_seq: dict[str, int] = {}
        self.seen_hashes: dict[tuple[str, int], str] = {}
        # Unkeyed events are older than keyed hashes: where they are (each chain's last one, the highest id) and where
        # the keyed ones start, to find one written later (plain SHA-256 needs no key: anyone can write one)
        self.legacy_heads: dict[str, int] = {}
        self.last_legacy_id = 0
        self.first_keyed_id: int | None = None
        self._chain: str | None = None

    def feed(self, ev) -> None:
        """One event (a row of ``_COLUMNS``, in that order). Kept to plain locals: it runs once per event."""
        (event_id, chain, seq, at, actor_id, on_behalf_of_id, action, object_type, object_id, details, prev_hash,
         digest, key_id, facts) = ev
        report = self.report
        problems = report.problems
        if chain != self._chain:
            self._chain, self._prev, self._expected, self._keyed = chain, GENESIS, 1, False
            report.chains += 1
        report.events += 1
        report.events_by_key[key_id] = report.events_by_key.get(key_id, 0) + 1
        if seq != self._expected:
            problems.append(ChainProblem(chain, seq, f"gap: expected seq {self._expected}"))
        if prev_hash != self._prev:
            problems.append(ChainProblem(chain, seq, "prev_hash does not match the previous event"))
        fields = (prev_hash, chain, seq, at, actor_id, on_behalf_of_id, action, object_type, object_id, details)
        key = self.keys.get(key_id)
        if key_id == LEGACY_KEY_ID:
            if self._keyed:
                problems.append(ChainProblem(chain, seq, "unkeyed (sha256-legacy) event after keyed events"))
            if facts is not None:
                problems.append(ChainProblem(chain, seq, "sha256-legacy event carries facts it cannot cover"))
            if _legacy_digest(*fields) != digest:
                problems.append(ChainProblem(chain, seq, "content does not match its hash (tampered)"))
            if object_type in COVERED_OBJECTS:
                self.legacy_objects[(object_type, object_id)] += 1
            self.legacy_heads[chain] = seq
            self.last_legacy_id = max(self.last_legacy_id, event_id)
        else:
            self._keyed = True
            if self.first_keyed_id is None or event_id < self.first_keyed_id:
                self.first_keyed_id = event_id
            if key is None:
                problems.append(ChainProblem(chain, seq, f"unknown audit key id {key_id!r}"))
            elif hmac.digest(key, _keyed_body(key_id, facts, *fields), "sha256").hex() != digest:
                problems.append(ChainProblem(chain, seq, "content does not match its hash (tampered)"))
            elif facts is not None:
                self.covers[(object_type, object_id)] = _later_cover(self.covers.get((object_type, object_id)),
                                                                     event_id, chain, seq, at, facts)
        if chain in self.wanted and seq in self.wanted[chain]:
            self.seen_hashes[(chain, seq)] = digest
        self.last_seq[chain] = seq
        self._prev = digest
        self._expected = seq + 1


def _walk(chain: str | None = None, wanted: dict[str, set[int]] | None = None) -> _ChainWalker:
    """One streamed, ordered read of the events (Core rows, no ORM objects), fed to a :class:`_ChainWalker` — in the
    caller's transaction, one snapshot (``flask verify-audit``, the benchmark); the audit page's check reads in chunks
    instead (app/audit/chunked_walk.py)."""
    walker = _ChainWalker(keyring().keys, wanted)
    query = select(*_COLUMNS).order_by(AuditEvent.chain, AuditEvent.seq)
    if chain is not None:
        query = query.where(AuditEvent.chain == chain)
    for ev in db.session.connection().execute(query, execution_options={"yield_per": 5000}):
        walker.feed(ev)
    return walker


def vouched_facts(chain: str, action: str, object_type: str, object_id: int) -> dict | None:
    """The facts of the last ``action`` event of ``chain`` about a row, if its keyed hash verifies; None when there is
    no such event, it is unkeyed or its hash does not match. For an operation that must act only on what an event
    vouches for — a payment pays the account the acceptance event names, not whatever a database writer put in the
    act's row since (verify-audit would have found it, after the money had left)."""
    ev = db.session.connection().execute(
        select(*_COLUMNS).where(AuditEvent.chain == chain, AuditEvent.action == action,
                                AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if ev is None or ev.facts is None or not _hash_matches(keyring().keys, ev):
        return None
    return ev.facts


def cover_now(keys: dict[str, bytes], object_type: str, object_id: int) -> _Cover | None:
    """The latest event vouching for a row among every verified keyed event about it now (the object index, not a
    walk): for a walk read in chunks (app/audit/chunked_walk.py), whose chain may have been passed before the row was
    decided — a snapshot's walk would have read the event, so the row is compared with it."""
    cover = None
    for ev in db.session.connection().execute(
            select(*_COLUMNS).where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id,
                                    AuditEvent.facts.is_not(None), AuditEvent.key_id != LEGACY_KEY_ID)
            .order_by(AuditEvent.chain, AuditEvent.seq)):
        if _hash_matches(keys, ev):
            cover = _later_cover(cover, ev.id, ev.chain, ev.seq, ev.at, ev.facts)
    return cover


def verify_chain(chain: str) -> list[ChainProblem]:
    return _walk(chain).report.problems


@dataclass
class TrailCheck:
    """One record's trail, checked on its page: its chain's events (hash, link, sequence) and the rows it vouches for
    against the latest event of the chain that does."""

    events: int
    problems: list[ChainProblem]
    #: (object type, id) → the facts the row and its vouching event disagree on
    differing: dict[tuple[str, int], list[str]]
    #: the rows asked about that an event of the chain vouches for
    vouched: list[tuple[str, int]]


def check_trail(chain: str, rows: dict[tuple[str, int], dict]) -> TrailCheck:
    """Walk ``chain`` and compare each of ``rows`` ((object type, id) → its facts now) with the latest verified event
    of the chain vouching for it: what an auditor reading one act needs, without the whole trail's check."""
    walker = _walk(chain)
    differing, vouched = {}, []
    for key, actual in rows.items():
        cover = walker.covers.get(key)
        if cover is None:
            continue
        vouched.append(key)
        names = _differing(actual, cover.facts)
        if names:
            differing[key] = names
    return TrailCheck(walker.report.events, walker.report.problems, differing, vouched)


def _refuse_late_unkeyed_events(walker: _ChainWalker, anchors: list[dict]) -> None:
    """An unkeyed (sha256-legacy) event is one written before keyed hashes began: plain SHA-256 needs no key, so a
    database writer could make one to vouch for a row they added (a payment nobody made was "vouched for only by an
    older event", a warning). One written after the first keyed event — or that an anchor does not hold, every anchor
    being written with keyed hashes — is a problem, and the rows it names are rows no event vouches for."""
    late: dict[tuple[str, int], tuple[str, str, int | None]] = {}
    columns = (AuditEvent.chain, AuditEvent.seq, AuditEvent.object_type, AuditEvent.object_id)
    unkeyed = AuditEvent.key_id == LEGACY_KEY_ID
    if walker.first_keyed_id is not None and walker.last_legacy_id > walker.first_keyed_id:
        for chain, seq, object_type, object_id in db.session.execute(
                select(*columns).where(unkeyed, AuditEvent.id > walker.first_keyed_id)):
            late[(chain, seq)] = ("sha256-legacy event written after keyed hashes began (forged without the key?)",
                                  object_type, object_id)
    for anchor in anchors:
        for chain, last in walker.legacy_heads.items():
            held = anchor["chains"].get(chain, (0, 0, None))[1]
            if last <= held:
                continue
            for chain_, seq, object_type, object_id in db.session.execute(
                    select(*columns).where(unkeyed, AuditEvent.chain == chain, AuditEvent.seq > held)):
                late.setdefault((chain_, seq), (f"sha256-legacy event that anchor {anchor.get('number')} does not "
                                                "hold (keyed hashes were in use when it was written)",
                                                object_type, object_id))
    for (chain, seq), (reason, object_type, object_id) in sorted(late.items()):
        walker.report.problems.append(ChainProblem(chain, seq, reason))
        if object_type in COVERED_OBJECTS:
            walker.legacy_objects[(object_type, object_id)] -= 1
    walker.legacy_objects = +walker.legacy_objects  # the rows only late events named: vouched for by none


def _refuse_paid_acts_put_back(report: VerificationReport) -> None:
    """An act a payment pays must be paid: the act's facts leave its status out (accepted and paid carry the same
    money), so a database writer who set a paid act back to "accepted" was unseen — its payment task open again, the
    act listed as awaiting payment. A payment the bank returned pays nothing (its act is accepted again); its return
    is vouched for by the payment's own facts."""
    from app.acts.models import Act
    from app.payments.models import Payment

    for act_id, status in db.session.execute(select(Act.id, Act.status).join(Payment, Payment.act_id == Act.id)
                                             .where(Act.status != "paid", Payment.returned_on.is_(None))
                                             .order_by(Act.id)):
        report.problems.append(ChainProblem("", 0, f"act {act_id}: a payment pays it, but its status is {status!r}, "
                                                   "not paid"))
    # ... and the other way round: an act with money to pay is paid only by a payment the bank has not returned. A
    # database writer who set an act back to "paid" after its payment was returned was unseen: the year-end took the
    # month as paid (0 ₸ paid), and the act could never be paid again. (An act of 0 ₸ is closed without one.)
    standing = select(Payment.id).where(Payment.act_id == Act.id, Payment.returned_on.is_(None)).exists()
    for (act_id,) in db.session.execute(select(Act.id).where(Act.status == "paid", Act.amount_tiyn != 0, ~standing)
                                        .order_by(Act.id)):
        report.problems.append(ChainProblem("", 0, f"act {act_id}: its status is 'paid', but no payment pays it (none "
                                                   "registered, or the bank returned it)"))


def _refuse_payments_to_another_account(report: VerificationReport) -> None:
    """A payment is sent to the account the department accepted its act with (``Act.payee_iban``): each row is vouched
    for by its own event, so one sent elsewhere — by a payment path written around the pinned payee, or both rows
    rewritten with events that each still match — shows only when the two are compared. A payment the bank returned
    went to the account pinned then; its act may be pinned to the corrected one since (app.payments.returns)."""
    from app.acts.models import Act
    from app.payments.models import Payment

    for payment_id, act_id, paid_to, accepted_to in db.session.execute(
            select(Payment.id, Act.id, Payment.payee_iban, Act.payee_iban).join(Act, Act.id == Payment.act_id)
            .where(Act.payee_iban.is_not(None), Payment.returned_on.is_(None)).order_by(Payment.id)):
        if paid_to != accepted_to:
            report.problems.append(ChainProblem("", 0, f"payment {payment_id}: sent to {paid_to or 'no account'}, "
                                                       f"but act {act_id} was accepted to be paid to {accepted_to}"))


def _refuse_changed_signed_documents(report: VerificationReport) -> None:
    """A contract's stored signed document must be the bytes its signatures' SHA-256 was taken of (the signatures are
    covered by the contract's facts; the stored bytes are compared with them here)."""
    from app.contracts.documents import integrity_problems, pending_count

    report.problems.extend(ChainProblem("", 0, problem) for problem in integrity_problems())
    pending = pending_count()
    if pending:  # not a problem of the trail: work left undone, which the operator is told how to finish
        report.warnings.append(f"{pending} signed contract(s) have no stored signed document yet (signed before the "
                               "documents were stored, still pending): run 'flask store-signed-contracts'.")


def _differing(actual: dict, facts: dict) -> list[str]:
    """The facts a row and the event vouching for it do not agree on."""
    names = []
    for name in sorted(set(actual) | set(facts)):
        if name in fact_rules.ADDED_LATER and name not in facts:
            continue  # an event written before the fact was kept vouches for the others
        if name in fact_rules.ADDED_LATER_UNSET and name not in facts \
                and actual.get(name) == fact_rules.ADDED_LATER_UNSET[name]:
            continue  # …and for a row that has no value for it either (a value set since is reported)
        if actual.get(name) != facts.get(name):
            names.append(name)
    return names


def _compare_facts(walker: _ChainWalker, walked_in_chunks: bool = False) -> None:
    """Every row that carries money or legal weight must equal the facts of the latest event vouching for it.
    ``walked_in_chunks``: the events were not read in one snapshot with the rows — a row with no cover, or one that
    differs, is compared with the latest event about it now (:func:`cover_now`) before it is reported."""
    report = walker.report
    rows = {
        "act": fact_rules.load_act_facts(),
        "payment": fact_rules.load_payment_facts(),
        "contract": fact_rules.load_contract_facts(),
        "outside_settlement": fact_rules.load_outside_settlement_facts(),
    }
    legacy_only = 0
    for object_type, by_id in rows.items():
        for object_id, actual in sorted(by_id.items()):
            cover = walker.covers.get((object_type, object_id))
            if walked_in_chunks and (cover is None or _differing(actual, cover.facts)):
                cover = cover_now(walker.keys, object_type, object_id) or cover
                if cover is not None:
                    walker.covers[(object_type, object_id)] = cover
            if cover is None:
                if (object_type, object_id) in walker.legacy_objects:
                    legacy_only += 1
                else:
                    report.problems.append(ChainProblem(
                        "", 0, f"{object_type} {object_id}: no audit event vouches for its facts"))
                continue
            for name in _differing(actual, cover.facts):
                report.problems.append(ChainProblem(
                    cover.chain, cover.seq, f"{object_type} {object_id}: {name} differs from event "
                                            f"{cover.chain}#{cover.seq}"))
    for (object_type, object_id), cover in sorted(walker.covers.items(), key=lambda item: item[1].event_id):
        # A payment, a contract or a settlement an event vouches for must still exist; an act, still decided — acts
        # are loaded only once accepted or paid, and nothing moves one back (one set back by hand was compared with
        # nothing).
        if object_type in ("payment", "contract", "outside_settlement") and object_id not in rows[object_type]:
            report.problems.append(ChainProblem(cover.chain, cover.seq,
                                                f"{object_type} {object_id}: vouched for by the event but missing"))
        elif object_type == "act" and object_id not in rows["act"]:
            report.problems.append(ChainProblem(cover.chain, cover.seq, f"act {object_id}: vouched for by the event "
                                                                        "as accepted, but no longer accepted or paid"))
    _refuse_paid_acts_put_back(report)
    _refuse_payments_to_another_account(report)
    _refuse_changed_signed_documents(report)
    if legacy_only:
        report.warnings.append(f"{legacy_only} row(s) are vouched for only by events older than keyed hashes "
                               "(sha256-legacy): their facts are not compared.")


def verify_audit_trail(anchors: list | None = None) -> VerificationReport:
    """The whole check behind ``flask verify-audit``: every chain, every covered row, and the anchors
    (``anchors``: parsed anchor documents; ``None`` = the latest anchor in ``AUDIT_ANCHOR_DIR``)."""
    from app.audit import anchors as anchoring

    loaded, problems, anchor_warnings = anchoring.anchors_to_check(anchors)
    wanted: dict[str, set[int]] = {}
    for anchor in loaded:
        for chain, (_count, seq, _hash) in anchor.get("chains", {}).items():
            wanted.setdefault(chain, set()).add(seq)
    walker = _walk(wanted=wanted)
    _refuse_late_unkeyed_events(walker, loaded)
    _compare_facts(walker)
    walker.report.problems.extend(problems)
    walker.report.warnings.extend(anchor_warnings)
    for anchor in loaded:
        walker.report.problems.extend(anchoring.compare_with_anchor(anchor, walker.last_seq, walker.seen_hashes))
        walker.report.anchors_checked.append(anchor.get("number"))
    if not loaded and not problems:
        walker.report.warnings.append("No anchor yet: deleted chains and deleted last events cannot be found "
                                      "(run 'flask audit-anchor').")
    return walker.report


def verify_chains_and_rows(on_chunk: Callable[[_ChainWalker], None] | None = None,
                           resume: dict | None = None) -> VerificationReport:
    """Every chain and every covered row (not the anchors: see :func:`verify_audit_trail`). With ``on_chunk`` — the
    audit page's check (app/audit/checks.py) — the events are read in chunks, each in a short transaction, from
    ``resume`` (a walker's checkpoint) on: see app/audit/chunked_walk.py."""
    if on_chunk is None:
        walker = _walk()
    else:
        from app.audit import chunked_walk

        walker = chunked_walk.walk(on_chunk, resume)
        chunked_walk.begin_snapshot()  # the rows, and the events about them, read together
    _refuse_late_unkeyed_events(walker, [])
    _compare_facts(walker, walked_in_chunks=on_chunk is not None)
    return walker.report


def verify_all_chains() -> tuple[int, list[ChainProblem]]:
    """Every chain and every covered row (not the anchors: see :func:`verify_audit_trail`)."""
    report = verify_chains_and_rows()
    return report.chains, report.problems

