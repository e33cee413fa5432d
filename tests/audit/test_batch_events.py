"""Many events at once (a month-wide verification writes one per act): ``record_events`` writes exactly the rows
that as many ``record_event`` calls would — same seq, links, hashes, details and facts — whether a chain already
has events in the database, was written earlier in the same transaction, or is new."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.audit.models import AuditEvent
from app.audit.operations import GENESIS, record_event, record_events, start_chain, verify_all_chains
from app.extensions import db
from app.people.models import User

AT = datetime(2026, 11, 5, 9, 0, 0, 250000, tzinfo=UTC)
ROW = (AuditEvent.chain, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.on_behalf_of_id,
       AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id, AuditEvent.details, AuditEvent.prev_hash,
       AuditEvent.hash, AuditEvent.key_id, AuditEvent.facts)


@pytest.fixture()
def keyed(app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY", "b" * 40)
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY_ID", "batch-1")
    people = [User(username=name, full_name=name, password_hash="x", role="operator") for name in ("ana", "deputy")]
    db.session.add_all(people)
    db.session.commit()
    return [p.id for p in people]


def _rows() -> list[tuple]:
    return [tuple(r) for r in db.session.execute(select(*ROW).order_by(AuditEvent.chain, AuditEvent.seq))]


def _one_by_one(events: list[dict]) -> None:
    for e in events:
        record_event(e["chain"], e["action"], e["object_type"], e["object_id"], actor_id=e["actor_id"],
                     details=e.get("details"), on_behalf_of_id=e.get("on_behalf_of_id"), facts=e.get("facts"))


def test_a_batch_writes_the_same_events_links_and_hashes_as_one_call_per_event(keyed):
    ana, deputy = keyed
    with clock.FrozenClock(AT):
        record_event("existing", "x.1", "act", 1, actor_id=ana)
        record_event("existing", "x.2", "act", 1, actor_id=ana)
    db.session.commit()
    batch = [
        {"chain": "existing", "action": "a.1", "object_type": "act", "object_id": 1, "actor_id": ana,
         "details": {"on": date(2026, 11, 1), "n": 1}},
        {"chain": "new", "action": "b.1", "object_type": "thing", "object_id": 2, "actor_id": None},
        # facts of a row verify-audit does not load (an act it vouches for must exist, decided)
        {"chain": "existing", "action": "a.2", "object_type": "thing", "object_id": 1, "actor_id": deputy,
         "on_behalf_of_id": ana, "facts": {"amount_tiyn": 7, "paid_on": date(2026, 11, 2)}},
        {"chain": "this-transaction", "action": "c.2", "object_type": "contract", "object_id": 3, "actor_id": ana,
         "details": {}},
        {"chain": "new", "action": "b.2", "object_type": "thing", "object_id": 2, "actor_id": ana,
         "facts": {"amount_tiyn": 9}},
    ]
    written = {}
    for way in ("batch", "one by one"):
        with clock.FrozenClock(AT):
            record_event("this-transaction", "c.1", "contract", 3, actor_id=None)  # its head is in the session
            record_events(batch) if way == "batch" else _one_by_one(batch)
        written[way] = _rows()
        db.session.rollback()
    assert written["batch"] == written["one by one"]
    by_chain = {}
    for row in written["batch"]:
        by_chain.setdefault(row[0], []).append(row)
    assert [(r[1], r[5]) for r in by_chain["existing"]] == [(1, "x.1"), (2, "x.2"), (3, "a.1"), (4, "a.2")]
    assert [(r[1], r[9] == GENESIS) for r in by_chain["new"]] == [(1, True), (2, False)]
    assert [r[1] for r in by_chain["this-transaction"]] == [1, 2]
    a1, a2 = by_chain["existing"][2:]
    assert (a1[8], a1[12], a1[11]) == ({"on": "2026-11-01", "n": 1}, None, "batch-1")
    assert (a2[3], a2[4], a2[8], a2[12]) == (deputy, ana, {}, {"amount_tiyn": 7, "paid_on": "2026-11-02"})
    assert a1[9] == by_chain["existing"][1][10] and a2[9] == a1[10]

    with clock.FrozenClock(AT):
        record_event("this-transaction", "c.1", "contract", 3, actor_id=None)
        record_events(batch)
    db.session.commit()
    assert verify_all_chains() == (3, [])


def test_an_empty_batch_writes_nothing(keyed):
    record_events([])
    db.session.commit()
    assert _rows() == []


def test_a_batch_over_many_chains_finds_every_chains_head(keyed):
    """The heads are looked up 900 chains at a time (a month-wide verification of the country's schools writes
    thousands): a chain in the second or third look-up still links to its own last event, and chains of different
    lengths in one look-up each get their own head."""
    chains = [f"c{n:04d}" for n in range(1801)]
    with clock.FrozenClock(AT):
        record_event(chains[0], "before", "act", 1, actor_id=None)
        for name in (chains[0], chains[899], chains[900], chains[1800]):
            record_event(name, "before", "act", 1, actor_id=None)
    db.session.commit()
    heads = {c: (seq, h) for c, seq, h in db.session.execute(
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq))}
    assert heads[chains[0]][0] == 2 and heads[chains[899]][0] == 1
    with clock.FrozenClock(AT):
        record_events([{"chain": c, "action": "batch", "object_type": "act", "object_id": 1, "actor_id": None}
                       for c in chains])
    db.session.commit()
    batch = {c: (seq, prev) for c, seq, prev in db.session.execute(
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.prev_hash).where(AuditEvent.action == "batch"))}
    assert len(batch) == 1801
    assert {c: v for c, v in batch.items() if c in heads} == {c: (seq + 1, h) for c, (seq, h) in heads.items()}
    assert {v for c, v in batch.items() if c not in heads} == {(1, GENESIS)}
    assert verify_all_chains() == (1801, [])


def test_a_chain_started_in_this_transaction_needs_no_look_up_and_a_wrong_hint_fails_loudly(keyed):
    start_chain("fresh")
    with clock.FrozenClock(AT):
        record_event("fresh", "first", "act", 1, actor_id=None)
    db.session.commit()
    assert [(r[1], r[9]) for r in _rows()] == [(1, GENESIS)]
    start_chain("fresh")  # wrong: the chain has an event
    with clock.FrozenClock(AT), pytest.raises(IntegrityError):
        record_event("fresh", "second", "act", 1, actor_id=None)


def test_a_chains_head_is_its_last_event_whatever_order_its_rows_are_stored_in(keyed):
    """The batch looks up each chain's head by its highest sequence number, not by the order the rows come back
    in: after the earlier events were rewritten in place (PostgreSQL then stores them behind the head), the
    next event still links to the last one."""
    from sqlalchemy import update

    for n in range(3):
        record_event("order:1", "thing.done", "thing", n, actor_id=None)
    db.session.commit()
    db.session.execute(update(AuditEvent).where(AuditEvent.chain == "order:1", AuditEvent.seq < 3)
                       .values(key_id=AuditEvent.key_id))  # same values, new row versions
    db.session.commit()
    head = db.session.scalars(select(AuditEvent.hash).where(AuditEvent.chain == "order:1", AuditEvent.seq == 3)).one()
    record_events([{"chain": "order:1", "action": "thing.done", "object_type": "thing", "object_id": 9,
                    "actor_id": None}])
    db.session.commit()
    assert db.session.execute(select(AuditEvent.seq, AuditEvent.prev_hash).where(
        AuditEvent.chain == "order:1", AuditEvent.seq == 4)).one() == (4, head)
    assert verify_all_chains() == (1, [])
