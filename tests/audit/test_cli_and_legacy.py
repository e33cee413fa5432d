"""The operator's commands (verify-audit, audit-anchor, audit-export-anchor, audit-key) and events written
before keyed hashes (key id ``sha256-legacy``)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import delete, select, text, update

from app.audit.models import AuditEvent
from app.audit.operations import _body, verify_all_chains, verify_audit_trail
from app.contracts.models import Contract
from app.extensions import db
from app.payments.models import Payment
from tests.audit.helpers import chain_of, tamper
from tests.helpers import disk_fills_up


def _legacy_hash(ev, prev: str) -> str:
    body = _body(prev, ev.chain, ev.seq, ev.at, ev.actor_id, ev.on_behalf_of_id, ev.action, ev.object_type,
                 ev.object_id, ev.details)
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


def _make_everything_legacy() -> None:
    """What migration 0011 leaves in a database made before it: old hashes, key id sha256-legacy, no facts."""
    prev_by_chain: dict[str, str] = {}
    for ev in db.session.scalars(select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)).all():
        prev = prev_by_chain.get(ev.chain, "0" * 64)
        digest = _legacy_hash(ev, prev)
        db.session.execute(update(AuditEvent).where(AuditEvent.id == ev.id)
                           .values(prev_hash=prev, hash=digest, key_id="sha256-legacy", facts=None))
        prev_by_chain[ev.chain] = digest
    db.session.commit()
    db.session.expire_all()


def test_verify_audit_says_what_it_checked_and_exits_0_on_a_clean_trail(paid_act, anchor_dir, app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    assert "No anchor yet" in result.output and "anchor none), 0 problem(s)." in result.output
    assert runner.invoke(args=["audit-anchor"]).output.startswith("Anchor 1: ")
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 0 and "(keys k1: " in result.output and "anchor 1), 0 problem(s)." in result.output


def test_verify_audit_exits_1_and_names_the_payment_that_differs(paid_act, app):
    payment = db.session.scalars(select(Payment)).one()
    tamper(update(Payment).values(amount_tiyn=Payment.amount_tiyn * 10))
    result = app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert f"payment {payment.id}: amount_tiyn differs from event {chain_of(paid_act)}#" in result.output
    assert "1 problem(s)." in result.output


def test_an_exported_anchor_is_checked_with_verify_audit_anchor(world, anchor_dir, app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit-export-anchor"]).exit_code == 1, "nothing to export yet"
    runner.invoke(args=["audit-anchor"])
    exported = tmp_path / "kept-elsewhere.json"
    result = runner.invoke(args=["audit-export-anchor", "-o", str(exported)])
    assert result.exit_code == 0 and exported.read_bytes() == (anchor_dir / "anchor-00000001.json").read_bytes()
    assert json.loads(runner.invoke(args=["audit-export-anchor", "--number", "1"]).output)["number"] == 1
    assert runner.invoke(args=["audit-export-anchor", "--number", "7"]).exit_code == 1
    chain = sorted(json.loads(exported.read_text())["chains"])[-1]
    tamper(delete(AuditEvent).where(AuditEvent.chain == chain))
    result = runner.invoke(args=["verify-audit", "--anchor", str(exported)])
    assert result.exit_code == 1 and f"{chain} #" in result.output and "chain deleted" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    result = runner.invoke(args=["verify-audit", "--anchor", str(bad)])
    assert result.exit_code == 2 and "not a tapsyrys-audit-anchor/1 document" in result.output


def test_audit_key_lists_key_ids_and_rotates(world, key_file, app, monkeypatch):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit-key"])
    assert result.exit_code == 0 and "current key: k1" in result.output and "available" in result.output
    assert key_file.read_text().split()[-1] not in result.output, "a secret is never printed"
    result = runner.invoke(args=["audit-key", "--rotate"])
    assert result.exit_code == 0 and "New audit key k2" in result.output and "current key: k2" in result.output
    key_file.write_text(key_file.read_text().replace("k1 ", "k0 "))
    assert "MISSING" in runner.invoke(args=["audit-key"]).output
    monkeypatch.setitem(app.config, "AUDIT_KEY", "e" * 40)
    result = runner.invoke(args=["audit-key", "--rotate"])
    assert result.exit_code == 1 and "AUDIT_KEY" in result.output


def test_an_anchor_export_cut_by_a_full_disk_leaves_no_file(world, anchor_dir, app, tmp_path, monkeypatch):
    runner = app.test_cli_runner()
    runner.invoke(args=["audit-anchor"])
    folder = tmp_path / "kept-elsewhere"
    folder.mkdir()
    disk_fills_up(folder, monkeypatch)
    result = runner.invoke(args=["audit-export-anchor", "-o", str(folder / "anchor.json")])
    assert result.exit_code == 1 and "anchor.json: not written (No space left on device)" in result.output
    assert list(folder.iterdir()) == [], "a cut copy would fail verify-audit --anchor later, far from the cause"


def test_a_key_rotation_on_a_full_disk_leaves_the_key_file_as_it_was(world, key_file, app, monkeypatch):
    before = key_file.read_bytes()
    with monkeypatch.context() as full:
        disk_fills_up(key_file.parent, full, room=20)
        result = app.test_cli_runner().invoke(args=["audit-key", "--rotate"])
    assert result.exit_code == 1 and "audit_keys: not written (No space left on device); the file there before " \
        "is unchanged" in result.output, result.output
    assert key_file.read_bytes() == before, "half a key line made the whole file unreadable: no event verified"
    assert [p.name for p in key_file.parent.iterdir() if p.name.startswith(".")] == []
    result = app.test_cli_runner().invoke(args=["audit-key", "--rotate"])
    assert result.exit_code == 0 and "current key: k2" in result.output
    assert oct(key_file.stat().st_mode & 0o777) == oct(0o600)


def test_events_from_before_keyed_hashes_still_verify_and_say_so(paid_act, anchor_dir):
    _make_everything_legacy()
    report = verify_audit_trail()
    assert report.problems == [] and set(report.events_by_key) == {"sha256-legacy"}
    legacy_rows = 1 + 1 + db.session.scalar(select(db.func.count()).select_from(Contract))  # act, payment
    assert f"{legacy_rows} row(s) are vouched for only by events older than keyed hashes (sha256-legacy): " \
           "their facts are not compared." in report.warnings


def test_a_tampered_legacy_event_is_found(paid_act):
    _make_everything_legacy()
    chain = chain_of(paid_act)
    tamper(update(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == 2).values(details={"x": 1}))
    assert [(p.seq, p.reason) for p in verify_all_chains()[1]] == [(2, "content does not match its hash (tampered)")]


def test_facts_cannot_be_slipped_onto_a_legacy_event(paid_act):
    _make_everything_legacy()
    tamper(update(AuditEvent).where(AuditEvent.action == "act.paid").values(facts={"amount_tiyn": 1}))
    assert [p.reason for p in verify_all_chains()[1]] == ["sha256-legacy event carries facts it cannot cover"]


def test_a_payment_with_no_event_at_all_is_a_problem_even_among_legacy_events(paid_act):
    _make_everything_legacy()
    tamper(update(AuditEvent).where(AuditEvent.action == "act.paid").values(object_type="nothing"))
    payment = db.session.scalars(select(Payment)).one()
    assert f"payment {payment.id}: no audit event vouches for its facts" in [str(p) for p in verify_all_chains()[1]]


def test_migration_0011_marks_existing_events_legacy_and_they_verify(tmp_path):
    """A database made before this change, upgraded: its events verify as sha256-legacy."""
    from flask_migrate import upgrade

    from app import create_app

    application = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}", "TESTING": True,
                              "BACKGROUND_MODE": "none", "AUDIT_KEY_FILE": str(tmp_path / "keys"),
                              "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")},
                             instance_path=str(tmp_path / "instance"))
    with application.app_context():
        upgrade(revision="0010_incidents")
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        prev = "0" * 64
        for seq in (1, 2):
            row = {"chain": "instance:1", "seq": seq, "at": at, "actor_id": None, "on_behalf_of_id": None,
                   "action": f"old.{seq}", "object_type": "thing", "object_id": seq, "details": {"n": seq},
                   "prev_hash": prev}
            row["hash"] = _legacy_hash(type("Ev", (), row), prev)
            # Raw SQL: the model already has the columns 0011 adds.
            db.session.execute(text("INSERT INTO audit_event (chain, seq, at, action, object_type, object_id, "
                                    "details, prev_hash, hash) VALUES (:chain, :seq, :at, :action, :object_type, "
                                    ":object_id, :details, :prev_hash, :hash)"),
                               {**row, "details": json.dumps(row["details"]), "at": at.replace(tzinfo=None)})
            prev = row["hash"]
        db.session.commit()
        upgrade(revision="heads")
        assert db.session.scalars(select(AuditEvent.key_id)).all() == ["sha256-legacy", "sha256-legacy"]
        report = verify_audit_trail()
        assert (report.chains, report.events, report.problems) == (1, 2, [])
        db.session.remove()


def test_without_a_key_the_commands_say_how_to_provision_one(world, app, tmp_path, monkeypatch):
    missing = tmp_path / "provisioned" / "audit_keys"
    monkeypatch.setitem(app.config, "AUDIT_KEY_FILE", str(missing))
    monkeypatch.setitem(app.config, "AUDIT_KEY_CREATE", False)  # an explicit AUDIT_KEY_FILE is never invented
    runner = app.test_cli_runner()
    for args in (["verify-audit"], ["audit-anchor"], ["audit-key"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 2 and "No audit key" in result.output, (args, result.output)
    result = runner.invoke(args=["audit-key", "--rotate"])
    assert result.exit_code == 0 and "New audit key k1" in result.output
    assert missing.stat().st_mode & 0o777 == 0o600


def test_two_anchors_racing_for_the_same_number_write_one_file(world, anchor_dir, app, monkeypatch):
    import app.audit.anchors as anchors

    create_anchor = anchors.create_anchor
    assert create_anchor() is not None
    monkeypatch.setattr(anchors, "anchor_files", lambda directory=None: [])  # both saw no anchor
    assert create_anchor() is None
    result = app.test_cli_runner().invoke(args=["audit-anchor"])
    assert result.exit_code == 1 and "nothing written" in result.output


def _forge_payment_with_an_unkeyed_event(act) -> Payment:
    """A database writer without the key: a payment row for an act nobody paid, and an event in a chain of its own
    hashed the pre-key way (plain SHA-256, which needs no key) so that something seems to vouch for the row."""
    from app import clock
    from tests.helpers import user

    payment = Payment(act_id=act.id, order_number="PP-FORGED-1", paid_on=clock.today(), amount_tiyn=10**11,
                      registered_by_id=user("operator").id, registered_at=clock.now())
    db.session.add(payment)
    db.session.flush()
    row = {"chain": "payment:forged", "seq": 1, "at": datetime(2026, 1, 2, tzinfo=UTC), "actor_id": None,
           "on_behalf_of_id": None, "action": "act.paid", "object_type": "payment", "object_id": payment.id,
           "details": {}, "prev_hash": "0" * 64}
    row["hash"] = _legacy_hash(type("Ev", (), row), row["prev_hash"])
    db.session.execute(AuditEvent.__table__.insert().values(**row, key_id="sha256-legacy", facts=None))
    db.session.commit()
    return payment


def test_an_unkeyed_event_written_after_keyed_hashes_began_vouches_for_nothing(paid_act):
    """Without the key, a plain SHA-256 event made a forged payment "vouched for only by an older event" — a warning,
    0 problems. Events without a key are older than the first keyed one: one written after it is a problem."""
    from tests.helpers import act_of_school

    payment = _forge_payment_with_an_unkeyed_event(act_of_school("Bilim Innovation School"))
    problems = [str(p) for p in verify_all_chains()[1]]
    assert "payment:forged #1: sha256-legacy event written after keyed hashes began (forged without the key?)" \
        in problems
    report = verify_audit_trail()
    assert f"payment {payment.id}: no audit event vouches for its facts" in [str(p) for p in report.problems]
    assert not any("sha256-legacy" in warning for warning in report.warnings)


def test_an_unkeyed_event_the_anchor_does_not_hold_vouches_for_nothing(paid_act, anchor_dir):
    """The anchor (every anchor is written with keyed hashes) holds every chain an older, unkeyed event can be in —
    also when a database writer gave the forged event an id from before the first keyed one."""
    from app.audit.anchors import create_anchor
    from tests.helpers import act_of_school

    create_anchor()
    payment = _forge_payment_with_an_unkeyed_event(act_of_school("Bilim Innovation School"))
    tamper(update(AuditEvent).where(AuditEvent.chain == "payment:forged").values(id=0))  # below every keyed id
    report = verify_audit_trail()
    problems = [str(p) for p in report.problems]
    assert "payment:forged #1: sha256-legacy event that anchor 1 does not hold (keyed hashes were in use when it " \
           "was written)" in problems
    assert f"payment {payment.id}: no audit event vouches for its facts" in problems
