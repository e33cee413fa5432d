"""A transaction left open on an act (an official's acceptance stuck mid-request, an administrator's psql session)
while the month-wide verification runs on PostgreSQL. The pass waited for the act's row for as long as the
transaction stayed open — its thread or worker jammed, its lease expiring and the job sent to a second worker that
waited too, nothing said anywhere. Now a background job waits at most ``JOB_LOCK_TIMEOUT_SECONDS``: the held act is
rolled back alone and becomes a "could not be checked" incident, the other acts are verified once, the run ends
naming the act, and the incident's retry — once the transaction has ended — verifies it once.

The holder is a real second connection; the pass runs in the in-process runner's thread (``run_job``), joined,
never slept on: the lock is held until the pass has ended."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import create_engine, func, select, text

from app.acts.models import Act
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.engine.errors import said_text
from app.engine.incidents import Incident, retry_incident
from app.extensions import db
from app.registry.jobs import run_job
from app.reports.models import VerificationRun
from app.reports.operations import start_month_verification
from tests.helpers import user
from tests.operations.test_batch_isolation import _month_acts, _month_acts_period


@pytest.fixture()
def holder(app_ctx, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no row locks: a second writer waits busy_timeout and the run resumes later "
                    "(test_verification_connection_lost)")
    engine = create_engine(app_ctx.config["SQLALCHEMY_DATABASE_URI"])
    connection = engine.connect()
    yield connection
    connection.close()
    engine.dispose()


def _verified(act_id: int) -> int:
    return sum(1 for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                                          AuditEvent.object_id == act_id)))


def test_an_act_held_by_an_open_transaction_becomes_an_incident_and_the_pass_goes_on(world, app_ctx, holder,
                                                                                   monkeypatch):
    acts = _month_acts(_month_acts_period())
    for act in acts:
        act.status, act.verified_at = "submitted", None
    db.session.commit()
    held = acts[1]
    before = {act.id: _verified(act.id) for act in acts}
    monkeypatch.setitem(app_ctx.config, "JOB_LOCK_TIMEOUT_SECONDS", 1)

    run = start_month_verification(held.period, actor=None, dispatch_job=False)
    db.session.commit()
    run_id = run.id
    opened = holder.begin()  # the official's acceptance, not committed
    holder.execute(text("UPDATE act SET lock_version = lock_version WHERE id = :id"), {"id": held.id})
    runner = threading.Thread(target=run_job, args=(app_ctx, "tapsyrys.reports.verify_month", run_id))
    runner.start()
    runner.join(120)  # without a lock limit it never ends while the transaction is open
    jammed = runner.is_alive()
    opened.rollback()  # the official's request ends (and lets a jammed runner go)
    runner.join()
    assert not jammed, "the pass waited for the open transaction"

    db.session.expire_all()
    run = db.session.get(VerificationRun, run_id)
    assert run.status == "done" and run.processed_acts == len(acts)
    assert f"#{held.id}" in run.message, run.message
    for act in _month_acts(held.period):
        expected = before[act.id] + (0 if act.id == held.id else 1)
        assert _verified(act.id) == expected, act.id
        assert (act.verified_at is None) == (act.id == held.id), act.id
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == held.instance_id)).one()
    assert (incident.kind, incident.status) == ("verification", "open")
    assert "lock timeout" in incident.detail
    # kept as its words, read in the reader's language — not the driver's sentence with the SQL statement
    assert said_text(incident.message).startswith("Another transaction kept this record locked for more than 1 s")

    assert retry_incident(incident, user("operator"), "the acceptance ended") is True
    db.session.expire_all()
    assert db.session.get(Act, held.id).status == "verified"
    assert _verified(held.id) == before[held.id] + 1
    assert verify_all_chains()[1] == []


def test_a_timer_whose_instance_is_held_waits_for_the_next_pass_and_the_pass_goes_on(poison_model, app_ctx, holder,
                                                                                     monkeypatch, caplog):
    """The background pass met an instance whose row a transaction left open holds (an official's completion of one
    of its tasks stuck mid-request) as it fired its timer: it waited for as long as the transaction stayed open — no
    timer fired, no task announced, no mail sent, in any instance. Now that timer gives up after the lock limit, with
    one line and no incident (the instance is not to blame), the others fire, and the next pass fires it."""
    from app import clock
    from app.background import tick
    from app.engine import runtime
    from app.engine.models import ProcessInstance
    from tests.operations.conftest import START

    monkeypatch.setitem(app_ctx.config, "JOB_LOCK_TIMEOUT_SECONDS", 1)
    with clock.FrozenClock(START) as frozen:
        held, free = (runtime.start_instance("poison", title=f"p{n}", actor=user("owner"), data={"kind": "fine"}).id
                      for n in range(2))
        db.session.commit()
        frozen.advance(hours=2)
        opened = holder.begin()
        holder.execute(text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE"), {"id": held})
        passes = []
        with caplog.at_level(logging.WARNING):
            ticker = threading.Thread(target=lambda: passes.append(tick(app_ctx)))
            ticker.start()
            ticker.join(120)  # without a lock limit it never ends while the transaction is open
            jammed = ticker.is_alive()
            opened.rollback()
            ticker.join()
        assert not jammed, "the pass waited for the open transaction"
        assert passes == [1], "the other instance's timer fired"
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("app.")]
        assert lines == [f"timer on instance {held} not fired: canceling statement due to lock timeout"], lines
        db.session.expire_all()
        assert db.session.scalar(select(func.count(Incident.id))) == 0, "the instance is not to blame"
        assert db.session.get(ProcessInstance, held).status == "running"

        assert tick(app_ctx) == 1, "the next pass fires it"
    assert db.session.get(ProcessInstance, free).status == "running"
