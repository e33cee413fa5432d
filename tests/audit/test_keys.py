"""Keyed hashes: the exact HMAC, where the keys come from, rotation, and events whose key is gone."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.audit.keys import AuditKeyError, Keyring, keyring, load_keyring, parse_key_file, rotate_key_file
from app.audit.models import AuditEvent
from app.audit.operations import record_event, verify_all_chains, verify_chain
from app.extensions import db

SECRET = "s" * 40


def test_the_hash_is_an_hmac_over_the_previous_hash_the_event_its_key_id_and_facts(app_ctx, monkeypatch):
    """A worked example, computed here by hand: a hash that stops covering any of these fields (the previous
    event's hash above all) no longer equals it."""
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY", SECRET)
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY_ID", "test-1")
    at = datetime(2026, 11, 5, 9, 0, 0, 123456, tzinfo=UTC)
    with clock.FrozenClock(at):
        record_event("golden", "first.thing", "thing", 1, actor_id=None, details={"b": 2, "a": "ә"})
        record_event("golden", "second.thing", "thing", 2, actor_id=None, details={"amount": 5},
                     facts={"amount_tiyn": 5})
    db.session.commit()
    first, second = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == "golden")
                                       .order_by(AuditEvent.seq)).all()

    def expected(prev, seq, action, object_id, details, facts):
        body = [prev, "golden", seq, "2026-11-05T09:00:00.123456+00:00", None, None, action, "thing", object_id,
                details, "test-1", facts]
        text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()

    assert (first.key_id, first.prev_hash, first.seq) == ("test-1", "0" * 64, 1)
    assert first.hash == expected("0" * 64, 1, "first.thing", 1, {"a": "ә", "b": 2}, None)
    assert (second.prev_hash, second.seq, second.facts) == (first.hash, 2, {"amount_tiyn": 5})
    assert second.hash == expected(first.hash, 2, "second.thing", 2, {"amount": 5}, {"amount_tiyn": 5})
    assert verify_chain("golden") == []


@pytest.mark.parametrize("field,value", [
    ("chain", "other"), ("seq", 3), ("at", datetime(2026, 11, 5, 9, 0, 1, tzinfo=UTC)), ("actor_id", "user"),
    ("on_behalf_of_id", "user"), ("action", "forged"), ("object_type", "forged"), ("object_id", 99),
    ("details", {"amount": 50}), ("prev_hash", "1" * 64), ("facts", {"amount_tiyn": 50}), ("key_id", "test-0"),
])
def test_every_field_of_an_event_is_covered_by_its_hash(world, app, tmp_path, monkeypatch, field, value):
    from app.people.models import User

    if value == "user":
        value = db.session.scalars(select(User.id)).first()
    keys = tmp_path / "keys"
    keys.write_text(f"test-0 {'0' * 64}\ntest-1 {SECRET}\n")  # two known keys: the label is not swappable
    monkeypatch.setitem(app.config, "AUDIT_KEY_FILE", str(keys))
    record_event("fields", "a", "thing", 1, actor_id=None, details={"amount": 5}, facts={"amount_tiyn": 5})
    record_event("fields", "b", "thing", 2, actor_id=None, details={"amount": 5}, facts={"amount_tiyn": 5})
    db.session.commit()
    assert verify_chain("fields") == []
    db.session.execute(AuditEvent.__table__.update().where(AuditEvent.chain == "fields", AuditEvent.seq == 2)
                       .values({field: value}))
    db.session.commit()
    problems = verify_chain("other" if field == "chain" else "fields")
    assert "content does not match its hash (tampered)" in [p.reason for p in problems]


def test_keys_come_from_a_file_with_the_last_line_current(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"# comment\nk1 {'a' * 64}\n\nk2 {'b' * 64}  # rotated\n")
    ring = load_keyring({"AUDIT_KEY_FILE": str(path)})
    assert ring == Keyring("k2", {"k1": b"a" * 64, "k2": b"b" * 64})
    pinned = load_keyring({"AUDIT_KEY_FILE": str(path), "AUDIT_KEY_CURRENT_ID": "k1"})
    assert pinned.current_id == "k1"


def test_the_environment_key_is_current_and_the_file_keeps_the_old_ones(tmp_path):
    path = tmp_path / "keys"
    path.write_text(f"k1 {'a' * 64}\n")
    ring = load_keyring({"AUDIT_KEY_FILE": str(path), "AUDIT_KEY": SECRET, "AUDIT_KEY_ID": "prod-2"})
    assert ring.current_id == "prod-2" and set(ring.keys) == {"k1", "prod-2"}
    assert load_keyring({"AUDIT_KEY": SECRET}).current_id == "env"


def test_the_embedded_mode_creates_a_private_key_file_once(tmp_path):
    path = tmp_path / "instance" / "keys" / "audit_keys"  # folders created with their parents
    ring = load_keyring({"AUDIT_KEY_FILE": str(path), "AUDIT_KEY_CREATE": True})
    assert ring.current_id == "k1" and len(ring.keys["k1"]) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().splitlines()[0] == (
        "# Tapsyrys audit keys: '<key id> <secret>'; the last line signs new events. Keep old lines.")
    assert load_keyring({"AUDIT_KEY_FILE": str(path), "AUDIT_KEY_CREATE": True}) == ring


NO_KEY = "No audit key: set AUDIT_KEY (and AUDIT_KEY_ID) or AUDIT_KEY_FILE."


@pytest.mark.parametrize("config,message", [
    ({"AUDIT_KEY_FILE": "/nonexistent/audit_keys"},
     "No audit key: the key file /nonexistent/audit_keys (AUDIT_KEY_FILE) does not exist; create it with its first "
     "key with 'flask audit-key --rotate', or set AUDIT_KEY and AUDIT_KEY_ID."),
    ({}, NO_KEY),
    ({"AUDIT_KEY": SECRET, "AUDIT_KEY_ID": "sha256-legacy"}, "AUDIT_KEY_ID 'sha256-legacy' is not a valid key id"),
    ({"AUDIT_KEY": SECRET, "AUDIT_KEY_ID": "has space"}, "AUDIT_KEY_ID 'has space' is not a valid key id"),
    ({"AUDIT_KEY": SECRET, "AUDIT_KEY_CURRENT_ID": "k9"}, NO_KEY),
])
def test_missing_or_bad_keys_refuse_to_record_with_a_clear_reason(config, message):
    with pytest.raises(AuditKeyError) as refused:
        load_keyring(config)
    assert str(refused.value) == message


@pytest.mark.parametrize("text", ["k1\n", f"k1 {'a' * 31}\n", f"k 1 {'a' * 64}\n", f"sha256-legacy {'a' * 64}\n",
                                  f"{'k' * 33} {'a' * 64}\n"])
def test_a_malformed_key_file_names_the_line(text):
    with pytest.raises(AuditKeyError, match="line 1"):
        parse_key_file(text)


def test_a_rotated_key_signs_new_events_and_the_old_events_still_verify(world, key_file, app):
    before = set(db.session.scalars(select(AuditEvent.id)))
    assert rotate_key_file(app.config) == "k2"
    assert keyring().current_id == "k2"
    record_event("after-rotation", "thing.done", "thing", 1, actor_id=None)
    db.session.commit()
    new = db.session.scalars(select(AuditEvent).where(AuditEvent.id.not_in(before))).one()
    assert new.key_id == "k2"
    assert verify_all_chains()[1] == []
    assert rotate_key_file(app.config) == "k3"


def test_events_whose_key_is_gone_are_reported_not_accepted(world, key_file):
    record_event("after-rotation", "thing.done", "thing", 1, actor_id=None)
    db.session.commit()
    key_file.write_text(f"k7 {'c' * 64}\n")  # the operator lost k1
    chains, problems = verify_all_chains()
    unknown = [p for p in problems if p.reason == "unknown audit key id 'k1'"]
    assert len(unknown) == db.session.scalar(select(db.func.count(AuditEvent.id)))
    # Nothing an unverifiable event says is trusted: the rows it vouched for are reported too.
    assert {p.reason.split(": ", 1)[1] for p in problems if p not in unknown} == {
        "no audit event vouches for its facts"}


def test_rotation_is_refused_when_the_key_comes_from_the_environment(tmp_path):
    said = ("The current key comes from AUDIT_KEY: rotate it by moving the old key into AUDIT_KEY_FILE and "
            "setting a new AUDIT_KEY and AUDIT_KEY_ID.")
    with pytest.raises(AuditKeyError) as refused:
        rotate_key_file({"AUDIT_KEY": SECRET, "AUDIT_KEY_FILE": str(tmp_path / "k")})
    assert str(refused.value) == said
    with pytest.raises(AuditKeyError) as refused:
        rotate_key_file({})
    assert str(refused.value) == said
    assert not (tmp_path / "k").exists()


def test_a_comment_may_itself_contain_a_hash_sign():
    assert parse_key_file(f"k1 {'a' * 64}  # rotated # on 1 Dec\n") == {"k1": b"a" * 64}


def test_a_secret_needs_at_least_32_characters():
    assert parse_key_file(f"k1 {'s' * 32}\n") == {"k1": b"s" * 32}
    with pytest.raises(AuditKeyError, match="line 1"):
        parse_key_file(f"k1 {'s' * 31}\n")


def test_rotation_numbers_the_new_key_after_the_highest_k_number_and_keeps_every_line(tmp_path):
    path = tmp_path / "keys"
    old = f"k9 {'a' * 64}\nk10 {'b' * 64}\nprod-20 {'c' * 64}\nk2x {'d' * 64}\n"
    path.write_text(old)
    assert rotate_key_file({"AUDIT_KEY_FILE": str(path)}) == "k11"
    text = path.read_text()
    assert text.startswith(old) and len(text.splitlines()) == 5
    ring = load_keyring({"AUDIT_KEY_FILE": str(path)})
    assert ring.current_id == "k11" and len(ring.keys["k11"]) == 64
    assert set(ring.keys) == {"k9", "k10", "prod-20", "k2x", "k11"}


def test_a_first_rotation_provisions_a_private_key_file(tmp_path):
    path = tmp_path / "mounted" / "secrets" / "audit_keys"  # folders created with their parents
    assert rotate_key_file({"AUDIT_KEY_FILE": str(path)}) == "k1"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring({"AUDIT_KEY_FILE": str(path)}).current_id == "k1"


def test_no_key_file_is_created_when_the_key_comes_from_the_environment_or_creation_is_off(tmp_path):
    path = tmp_path / "audit_keys"
    ring = load_keyring({"AUDIT_KEY_FILE": str(path), "AUDIT_KEY_CREATE": True, "AUDIT_KEY": SECRET})
    assert ring == Keyring("env", {"env": SECRET.encode()}) and not path.exists()
    with pytest.raises(AuditKeyError, match="No audit key"):
        load_keyring({"AUDIT_KEY_FILE": str(path)})
    assert not path.exists()


def test_the_keyring_is_read_again_when_its_settings_change(app_ctx, tmp_path, monkeypatch):
    """The keyring is cached per process and re-read when the key file or any key setting changes."""
    path = tmp_path / "audit_keys"
    path.write_text(f"k1 {'a' * 64}\nk2 {'b' * 64}\n")
    for name in ("AUDIT_KEY", "AUDIT_KEY_ID", "AUDIT_KEY_CURRENT_ID"):
        monkeypatch.delitem(app_ctx.config, name, raising=False)
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY_FILE", str(path))
    assert keyring().current_id == "k2"
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY", SECRET)
    assert keyring().current_id == "env"
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY_CURRENT_ID", "k1")
    assert keyring().current_id == "k1"
