"""Anchors: signed checkpoints of every chain head, outside the database, written by the background pass,
exported and checked by verify-audit."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from app import clock
from app.audit.anchors import anchor_files, anchor_if_due, chain_heads, create_anchor, read_anchor
from app.audit.models import AuditEvent
from app.audit.operations import ChainProblem, record_event, verify_audit_trail
from app.background import tick
from app.extensions import db
from tests.audit.helpers import tamper


def _reasons(report) -> list[str]:
    return [str(p) for p in report.problems]


def _rewrite(path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.chmod(0o644)
    path.write_text(json.dumps(document))


def test_an_anchor_names_every_chain_with_its_count_last_seq_and_head(world, anchor_dir):
    path = create_anchor()
    assert path == anchor_dir / "anchor-00000001.json"
    assert path.stat().st_mode & 0o222 == 0, "an anchor file is read-only once written"
    anchor = read_anchor(path)
    heads, max_id = chain_heads()
    assert anchor["chains"] == heads and anchor["max_event_id"] == max_id
    assert anchor["events"] == db.session.scalar(select(func.count(AuditEvent.id)))
    chain, (count, seq, head) = next(iter(sorted(heads.items())))
    last = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain)
                              .order_by(AuditEvent.seq.desc())).first()
    assert (count, seq, head) == (seq, last.seq, last.hash)
    assert anchor["previous_sha256"] is None and anchor["key_id"] == "k1" and len(anchor["signature"]) == 64
    second = read_anchor(create_anchor())
    assert second["number"] == 2 and second["previous_sha256"] is not None
    assert verify_audit_trail().anchors_checked == [2]


def test_the_background_pass_anchors_when_due_and_only_when_events_were_added(world, anchor_dir, app):
    start = clock.now()
    with clock.FrozenClock(start):
        tick(app)
        assert [n for n, _ in anchor_files()] == [1]
        assert anchor_if_due() is None, "not again within AUDIT_ANCHOR_INTERVAL_SECONDS"
    later = start + timedelta(seconds=app.config["AUDIT_ANCHOR_INTERVAL_SECONDS"] + 1)
    with clock.FrozenClock(later):
        assert anchor_if_due() is None, "nothing was added: no new anchor"
        record_event("registry", "thing.done", "thing", 1, actor_id=None)
        db.session.commit()
        assert anchor_if_due() == anchor_dir / "anchor-00000002.json"
    with clock.FrozenClock(later + timedelta(seconds=1)):
        record_event("registry", "thing.done", "thing", 2, actor_id=None)
        db.session.commit()
        assert anchor_if_due() is None


def test_a_failing_anchor_does_not_stop_the_background_pass_and_shows_in_the_metrics(world, app, tmp_path,
                                                                                       monkeypatch, browser):
    import app.background as background

    logged = []
    monkeypatch.setattr(background.log, "exception", lambda message, *args: logged.append(message % args))
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_DIR", str(blocker))
    with pytest.raises(OSError):
        anchor_if_due()
    db.session.rollback()
    tick(app)  # the rest of the pass still runs
    assert logged == ["background pass: audit anchor failed; the other parts go on"]
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "t")
    text = browser().get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    assert 'tapsyrys_background_pass_failed_parts{part="audit anchor"} 1.0' in text, "not only a log line"
    assert 'tapsyrys_background_pass_failed_parts{part="timers"} 0.0' in text

    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_DIR", str(tmp_path / "anchors"))
    assert anchor_if_due() == tmp_path / "anchors" / "anchor-00000001.json"
    tick(app)
    text = browser().get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    assert 'tapsyrys_background_pass_failed_parts{part="audit anchor"} 0.0' in text


def test_a_forged_anchor_is_refused(world, anchor_dir):
    path = create_anchor()
    _rewrite(path, lambda d: d["chains"].clear())
    assert _reasons(verify_audit_trail()) == ["anchor 1: signature does not verify"]
    _rewrite(path, lambda d: d.update(key_id="k9"))
    assert _reasons(verify_audit_trail()) == ["anchor 1: unknown audit key id 'k9'"]


def test_a_changed_or_missing_earlier_anchor_is_found(world, anchor_dir):
    first = create_anchor()
    create_anchor()
    third = create_anchor()
    assert _reasons(verify_audit_trail()) == []
    first.chmod(0o644)
    first.unlink()
    assert _reasons(verify_audit_trail()) == ["anchor file(s) missing: [1]"]
    _rewrite(anchor_dir / "anchor-00000002.json", lambda d: d.update(events=0))
    assert _reasons(verify_audit_trail()) == ["anchor file(s) missing: [1]",
                                              "anchor 3: the previous anchor file was changed"]
    third.chmod(0o644)
    third.write_text("{not json")
    unreadable = verify_audit_trail().problems[0]
    assert str(unreadable).startswith(f"anchor: {third}: not a readable anchor")
    assert (unreadable.chain, unreadable.seq) == ("", 0), "a problem of the anchors, not of a chain's event"


def test_an_exported_anchor_still_finds_a_chain_deleted_after_the_local_anchors_were_lost(world, anchor_dir):
    exported = read_anchor(create_anchor())
    for _number, path in anchor_files():
        path.chmod(0o644)
        path.unlink()
    chain = sorted(exported["chains"])[0]
    tamper(delete(AuditEvent).where(AuditEvent.chain == chain))
    report = verify_audit_trail()
    assert report.problems == [] and report.warnings[-1] == (
        "No anchor yet: deleted chains and deleted last events cannot be found (run 'flask audit-anchor').")
    assert [p.reason for p in verify_audit_trail([exported]).problems] == [
        f"chain deleted: anchor 1 vouched for {exported['chains'][chain][0]} event(s)"]


def test_events_added_after_the_anchor_are_fine(world, anchor_dir):
    create_anchor()
    record_event("registry", "thing.done", "thing", 1, actor_id=None)
    db.session.commit()
    assert verify_audit_trail().problems == []


def test_only_well_named_anchor_files_count_and_in_number_order(tmp_path):
    for name in ("anchor-00000010.json", "anchor-00000002.json", "anchor-2.json", "anchor-00000003.json.tmp",
                 "xanchor-00000004.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert anchor_files(tmp_path) == [(2, tmp_path / "anchor-00000002.json"), (10, tmp_path / "anchor-00000010.json")]
    assert anchor_files(tmp_path / "absent") == []


def test_a_file_that_is_not_an_anchor_is_refused_with_its_reason(tmp_path):
    path = tmp_path / "anchor-00000001.json"
    for text in ("[]", '{"format": "other/1", "chains": {}}', '{"format": "tapsyrys-audit-anchor/1", "chains": []}',
                 '{"format": "tapsyrys-audit-anchor/1"}'):
        path.write_text(text)
        with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: not a tapsyrys-audit-anchor/1 document$"):
            read_anchor(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: not a readable anchor \\("):
        read_anchor(path)
    path.write_text('{"format": "tapsyrys-audit-anchor/1", "chains": {}, "number": 1}')
    assert read_anchor(path) == {"format": "tapsyrys-audit-anchor/1", "chains": {}, "number": 1}


def test_the_anchor_is_signed_over_its_exact_canonical_bytes_with_the_named_key(world, anchor_dir):
    """Issue 17 (mutation run of anchors.py): the signature is the HMAC-SHA256 of the body as compact, key-sorted
    UTF-8 JSON (non-ASCII kept as is), with the key the anchor names — an anchor another tool re-serialises
    differently, or signs with another key, does not verify."""
    import hashlib
    import hmac

    from app.audit.anchors import sign
    from app.audit.keys import keyring

    record_event("registry", "thing.done", "thing", 1, actor_id=None, details={"name": "Әлия Қасым"})
    db.session.commit()
    anchor = read_anchor(create_anchor())
    body = {k: v for k, v in anchor.items() if k != "signature"}
    exact = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ring = keyring()
    assert anchor["signature"] == hmac.new(ring.keys[anchor["key_id"]], exact, hashlib.sha256).hexdigest()
    assert sign({"b": "Қ", "a": [1, 2]}) == hmac.new(ring.keys[ring.current_id], '{"a":[1,2],"b":"Қ"}'.encode(),
                                                     hashlib.sha256).hexdigest()
    ring.keys["k-old"] = b"an older key"
    try:
        assert sign({"a": 1}, "k-old") == hmac.new(b"an older key", b'{"a":1}', hashlib.sha256).hexdigest()
    finally:
        del ring.keys["k-old"]


def test_an_anchor_is_due_exactly_when_the_interval_has_passed(world, anchor_dir, app):
    start = clock.now()
    with clock.FrozenClock(start):
        assert anchor_if_due() == anchor_dir / "anchor-00000001.json"
    interval = app.config["AUDIT_ANCHOR_INTERVAL_SECONDS"]
    with clock.FrozenClock(start + timedelta(seconds=interval)):
        record_event("registry", "thing.done", "thing", 1, actor_id=None)
        db.session.commit()
        assert anchor_if_due() == anchor_dir / "anchor-00000002.json", "due at the interval, not a second later"


def test_anchors_go_into_a_folder_created_with_its_parents(app, world, tmp_path, monkeypatch):
    nested = tmp_path / "mounted" / "audit" / "anchors"
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_DIR", str(nested))
    assert create_anchor() == nested / "anchor-00000001.json"


def test_an_empty_trail_anchors_no_chain_and_event_id_zero(app_ctx, anchor_dir):
    db.session.execute(delete(AuditEvent))
    db.session.commit()
    assert chain_heads() == ({}, 0)
    anchor = read_anchor(create_anchor())
    assert (anchor["chains"], anchor["events"], anchor["max_event_id"]) == ({}, 0, 0)


def test_anchor_problems_are_the_anchors_own_named_by_number(world, anchor_dir):
    """A gap anywhere in the numbering is found (here the last but one), and the link check names the newest
    anchor; both are problems of the anchors, not of a chain's event (no chain, no sequence number)."""
    for _ in range(4):
        create_anchor()
    third = anchor_dir / "anchor-00000003.json"
    third.chmod(0o644)
    third.unlink()
    assert verify_audit_trail().problems == [
        ChainProblem("", 0, "anchor file(s) missing: [3]"),
        ChainProblem("", 0, "anchor 4: the previous anchor file was changed")]


def test_a_forged_or_unknown_key_anchor_is_a_problem_of_the_anchors(world, anchor_dir):
    path = create_anchor()
    _rewrite(path, lambda d: d["chains"].clear())
    assert verify_audit_trail().problems == [ChainProblem("", 0, "anchor 1: signature does not verify")]
    _rewrite(path, lambda d: d.update(key_id="k9"))
    assert verify_audit_trail().problems == [ChainProblem("", 0, "anchor 1: unknown audit key id 'k9'")]


def test_an_anchor_signed_before_a_key_rotation_still_verifies(world, anchor_dir, key_file, app):
    from app.audit.keys import keyring, rotate_key_file

    first = read_anchor(create_anchor())
    new = rotate_key_file(app.config)
    assert keyring().current_id == new != first["key_id"]
    assert verify_audit_trail().problems == []
    second = read_anchor(create_anchor())
    assert second["key_id"] == new and verify_audit_trail().problems == []


def test_an_anchor_file_is_read_only_key_sorted_and_counts_every_event(world, anchor_dir):
    path = create_anchor()
    assert path.stat().st_mode & 0o777 == 0o444
    document = read_anchor(path)
    assert path.read_text(encoding="utf-8") == json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1)
    assert document["events"] == db.session.scalar(select(func.count(AuditEvent.id)))
    assert document["max_event_id"] == db.session.scalar(select(func.max(AuditEvent.id)))


def test_an_anchor_left_empty_by_older_code_blocks_nothing_and_is_kept_as_evidence(world, anchor_dir, app):
    """Older code cut by a full disk left ``anchor-N.json`` empty: every later background pass failed on reading it
    — no new anchor, ever, until someone deleted the file by hand (removing the evidence of what happened)."""
    import hashlib

    start = clock.now()
    with clock.FrozenClock(start):
        create_anchor()
    empty = anchor_dir / "anchor-00000002.json"
    empty.write_bytes(b"")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"anchor: {empty}: empty (0 bytes) — it vouches for nothing" in result.output
    assert "Keep the file as it is" in result.output and "flask audit-anchor" in result.output
    assert "anchor 1), 1 problem(s)." in result.output, "compared with the newest anchor that can be read"

    record_event("registry", "thing.done", "thing", 1, actor_id=None)
    db.session.commit()
    with clock.FrozenClock(start + timedelta(seconds=app.config["AUDIT_ANCHOR_INTERVAL_SECONDS"] + 1)):
        written = anchor_if_due()
    assert written == anchor_dir / "anchor-00000003.json", "the background pass anchors again"
    assert read_anchor(written)["previous_sha256"] == hashlib.sha256(b"").hexdigest(), "it links to the file as it is"
    assert empty.exists() and empty.read_bytes() == b"", "never removed or moved: the anchors link to it"
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 0 and "anchor 3), 0 problem(s)." in result.output, result.output
    assert f"anchor: {empty}: empty (0 bytes); anchor 3, written after it, links to it as it is" in result.output


def test_a_cut_anchor_is_named_as_cut(tmp_path):
    path = tmp_path / "anchor-00000001.json"
    path.write_text('{"format": "tapsyrys-audit-anchor/1", "cha')
    cut = f"^{re.escape(str(path))}: not a readable anchor \\(cut or not JSON: 42 bytes, "
    with pytest.raises(ValueError, match=cut):
        read_anchor(path)


def test_an_anchor_written_by_a_clock_that_ran_ahead_does_not_stop_anchoring_until_that_date(world, anchor_dir, app):
    """The host's clock ran a year ahead when the last anchor was written, and was put right since (NTP): that
    anchor's age counted negative — never past the interval — and no anchor was written until its date came round,
    unseen (nothing failed). An anchor dated in the future is due as soon as events were added."""
    now = clock.now()
    with clock.FrozenClock(now + timedelta(days=365)):
        create_anchor()
    record_event("registry", "thing.done", "thing", 1, actor_id=None)
    db.session.commit()
    with clock.FrozenClock(now):
        assert anchor_if_due() == anchor_dir / "anchor-00000002.json"
        assert anchor_if_due() is None, "the new anchor, dated now, is not due again within the interval"
