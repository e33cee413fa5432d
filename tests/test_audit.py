"""Audit events are hash-chained per process instance; any tampering is detected."""

from __future__ import annotations

from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains, verify_chain
from app.extensions import db
from tests.helpers import act_of_school


def _chain_of_lyceum() -> str:
    return f"instance:{act_of_school('Alatau Lyceum').instance_id}"


def test_seeded_chains_verify(world):
    chains, problems = verify_all_chains()
    assert chains >= 4 and problems == []


def test_altered_details_are_detected(world):
    chain = _chain_of_lyceum()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == 2)).one()
    db.session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(details={"lines": 1}))
    db.session.commit()
    problems = verify_chain(chain)
    assert [(p.seq, "tampered" in p.reason) for p in problems] == [(2, True)]


def test_deleted_event_is_detected(world):
    chain = _chain_of_lyceum()
    db.session.execute(AuditEvent.__table__.delete().where(AuditEvent.chain == chain, AuditEvent.seq == 2))
    db.session.commit()
    reasons = " ".join(p.reason for p in verify_chain(chain))
    assert "gap" in reasons and "prev_hash" in reasons


def test_cli_exits_non_zero_on_tampering(world, app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["verify-audit"]).exit_code == 0
    db.session.execute(update(AuditEvent).where(AuditEvent.chain == _chain_of_lyceum(), AuditEvent.seq == 1)
                       .values(actor_id=None, action="instance.started.forged"))
    db.session.commit()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 1 and "tampered" in result.output
