"""Each branch of the chain check, without a database: rows in, problems out (fast enough for mutation runs).

Rows are what ``_walk`` streams: (id, chain, seq, at, actor_id, on_behalf_of_id, action, object_type,
object_id, details, prev_hash, hash, key_id, facts).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.audit.anchors import compare_with_anchor
from app.audit.operations import GENESIS, ChainProblem, _ChainWalker, _keyed_body, _legacy_digest

KEYS = {"k1": b"1" * 64, "k2": b"2" * 64}
AT = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _hash(key_id, facts, prev, chain, seq, at, actor, obo, action, otype, oid, details) -> str:
    body = json.dumps([prev, chain, seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor, obo, action,
                       otype, oid, details, key_id, facts], sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    if key_id == "sha256-legacy":
        body = json.dumps(json.loads(body)[:10], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()
    return hmac.new(KEYS[key_id], body.encode(), hashlib.sha256).hexdigest()


def chain(name="c", n=3, key_ids=None, first_id=1, facts_at=None, object_type="payment"):
    """A valid chain of ``n`` events; ``key_ids`` per event (default k1), facts on event ``facts_at``."""
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        key_id = (key_ids or ["k1"] * n)[seq - 1]
        facts = {"amount_tiyn": 100 * seq} if seq == facts_at else None
        # Keys out of order on purpose: the body is canonical JSON (sorted keys, UTF-8 kept).
        fields = (prev, name, seq, AT + timedelta(seconds=seq), 7, None, f"a.{seq}", object_type, 40 + seq,
                  {"z": seq, "ә": "ү", "a": [2, 1]})
        digest = _hash(key_id, facts, *fields)
        rows.append((first_id + seq - 1, name, seq, fields[3], 7, None, f"a.{seq}", object_type, 40 + seq,
                     fields[9], prev, digest, key_id, facts))
        prev = digest
    return rows


def walk(*chains, wanted=None) -> _ChainWalker:
    walker = _ChainWalker(KEYS, wanted)
    for rows in chains:
        for row in rows:
            walker.feed(row)
    return walker


def reasons(walker) -> list[tuple[int, str]]:
    assert all(p.chain in ("a", "b", "c") for p in walker.report.problems), "each problem names its chain"
    return [(p.seq, p.reason) for p in walker.report.problems]


def replace(row, **changes):
    names = ["id", "chain", "seq", "at", "actor_id", "on_behalf_of_id", "action", "object_type", "object_id",
             "details", "prev_hash", "hash", "key_id", "facts"]
    values = dict(zip(names, row, strict=True))
    values.update(changes)
    return tuple(values[n] for n in names)


def test_valid_chains_have_no_problems_and_are_counted():
    walker = walk(chain("a", 3), chain("b", 2, key_ids=["k1", "k2"], first_id=10))
    assert reasons(walker) == []
    report = walker.report
    assert (report.chains, report.events, report.events_by_key) == (2, 5, {"k1": 4, "k2": 1})
    assert walker.last_seq == {"a": 3, "b": 2}


def test_the_hash_functions_match_the_documented_bodies(monkeypatch):
    fields = (GENESIS, "c", 1, AT, 7, None, "a.1", "payment", 41, {"n": 1})
    assert hmac.new(KEYS["k1"], _keyed_body("k1", None, *fields), hashlib.sha256).hexdigest() == \
        _hash("k1", None, *fields)
    assert _legacy_digest(*fields) == _hash("sha256-legacy", None, *fields)
    monkeypatch.setenv("TZ", "Asia/Almaty")  # a naive time from SQLite is UTC, whatever the server's zone
    time.tzset()
    naive = (GENESIS, "c", 1, AT.replace(tzinfo=None), 7, None, "a.1", "payment", 41, {"n": 1})
    almaty = (GENESIS, "c", 1, AT.astimezone(timezone(timedelta(hours=5))), 7, None, "a.1", "payment", 41, {"n": 1})
    try:
        assert _legacy_digest(*naive) == _legacy_digest(*fields) == _legacy_digest(*almaty), "stored times are UTC"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_changed_field_is_tampered():
    rows = chain()
    rows[1] = replace(rows[1], details={"n": 99})
    assert reasons(walk(rows)) == [(2, "content does not match its hash (tampered)")]


def test_a_changed_prev_hash_breaks_both_the_link_and_the_hash():
    rows = chain()
    rows[2] = replace(rows[2], prev_hash="1" * 64)
    assert reasons(walk(rows)) == [(3, "prev_hash does not match the previous event"),
                                   (3, "content does not match its hash (tampered)")]


def test_a_missing_first_event_is_a_gap():
    rows = chain()[1:]
    assert reasons(walk(rows)) == [(2, "gap: expected seq 1"), (2, "prev_hash does not match the previous event")]


def test_a_missing_middle_event_is_a_gap_and_a_broken_link():
    rows = chain(n=4)
    del rows[1]
    assert reasons(walk(rows)) == [(3, "gap: expected seq 2"), (3, "prev_hash does not match the previous event")]


def test_each_chain_starts_from_genesis_and_seq_one():
    walker = walk(chain("a", 2), chain("b", 2, first_id=5))
    assert reasons(walker) == [] and walker.report.chains == 2
    assert walk(chain("", 1)).report.chains == 1, "even a chain with an empty name"


def test_an_unknown_key_is_reported_and_its_facts_are_not_trusted():
    rows = chain(n=2, facts_at=2)
    rows[1] = replace(rows[1], key_id="k9")
    walker = walk(rows)
    assert reasons(walker) == [(2, "unknown audit key id 'k9'")]
    assert walker.covers == {}


def test_a_wrong_key_is_tampered():
    rows = chain(n=2)
    rows[1] = replace(rows[1], key_id="k2")
    assert reasons(walk(rows)) == [(2, "content does not match its hash (tampered)")]


def test_legacy_events_verify_with_sha256_and_mark_their_objects():
    walker = walk(chain(n=2, key_ids=["sha256-legacy"] * 2))
    assert reasons(walker) == [] and walker.report.events_by_key == {"sha256-legacy": 2}
    assert set(walker.legacy_objects) == {("payment", 41), ("payment", 42)}
    assert walk(chain(n=1, key_ids=["sha256-legacy"], object_type="thing")).legacy_objects == {}


def test_legacy_then_keyed_is_an_upgrade_keyed_then_legacy_a_downgrade():
    assert reasons(walk(chain(n=2, key_ids=["sha256-legacy", "k1"]))) == []
    assert reasons(walk(chain(n=2, key_ids=["k1", "sha256-legacy"]))) == [
        (2, "unkeyed (sha256-legacy) event after keyed events")]
    unknown_first = chain(n=2, key_ids=["k1", "sha256-legacy"])
    unknown_first[0] = replace(unknown_first[0], key_id="k9")
    assert reasons(walk(unknown_first)) == [
        (1, "unknown audit key id 'k9'"), (2, "unkeyed (sha256-legacy) event after keyed events")]
    # A new chain starts unkeyed again.
    assert reasons(walk(chain("a", 1), chain("b", 1, key_ids=["sha256-legacy"], first_id=9))) == []


def test_a_tampered_legacy_event_and_legacy_facts_are_reported():
    rows = chain(n=2, key_ids=["sha256-legacy"] * 2)
    rows[0] = replace(rows[0], action="forged")
    rows[1] = replace(rows[1], facts={"amount_tiyn": 1})
    assert reasons(walk(rows)) == [(1, "content does not match its hash (tampered)"),
                                   (2, "sha256-legacy event carries facts it cannot cover")]


def test_the_latest_valid_event_with_facts_covers_the_object():
    first = chain("a", 2, facts_at=2)
    later = chain("b", 2, facts_at=2, first_id=20)
    walker = walk(later, first)  # chains come in name order, not event order
    cover = walker.covers[("payment", 42)]
    assert (cover.event_id, cover.chain, cover.seq, cover.facts) == (21, "b", 2, {"amount_tiyn": 200})
    tampered = chain("a", 2, facts_at=2)
    tampered[1] = replace(tampered[1], facts={"amount_tiyn": 1})
    assert walk(tampered).covers == {}, "a tampered event vouches for nothing"


def test_anchor_seqs_are_remembered_only_where_asked():
    rows = chain("a", 3)
    walker = walk(rows, chain("b", 2, first_id=9), wanted={"a": {2}})
    assert walker.seen_hashes == {("a", 2): rows[1][11]}


def test_compare_with_anchor_names_deleted_truncated_and_rewritten_chains():
    anchor = {"number": 4, "chains": {"gone": [3, 3, "h"], "cut": [5, 5, "h"], "changed": [2, 2, "h"],
                                      "same": [2, 2, "h"], "grown": [2, 2, "h"]}}
    last_seq = {"cut": 4, "changed": 2, "same": 2, "grown": 9}
    seen = {("changed", 2): "x", ("same", 2): "h", ("grown", 2): "h"}
    problems = compare_with_anchor(anchor, last_seq, seen)
    assert [str(p) for p in problems] == [
        "changed #2: event differs from anchor 4 (rewritten)",
        "cut #5: truncated: anchor 4 vouched for events up to #5, the database ends at #4",
        "gone #3: chain deleted: anchor 4 vouched for 3 event(s)",
    ]


@pytest.mark.parametrize("problem,text", [
    (ChainProblem("c", 2, "why"), "c #2: why"), (ChainProblem("", 0, "payment 1: why"), "payment 1: why")])
def test_a_problem_reads_as_chain_seq_and_reason(problem, text):
    assert str(problem) == text
