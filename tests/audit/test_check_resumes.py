"""The audit page's check reads the trail in chunks, each in a short transaction, and a run sent again after its
worker died goes on from its last checkpoint. Before, the walk read every event in one transaction (one PostgreSQL
snapshot held for the whole walk) and a check sent again walked from the first event: with runners dying now and then,
years of events were never checked to the end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from app import clock, jobs
from app.audit import checks, chunked_walk
from app.audit import operations as trail
from app.audit.models import AuditCheck, AuditEvent
from app.engine.runtime import complete_task
from app.extensions import db
from tests.audit.conftest import LYCEUM
from tests.audit.helpers import chain_of
from tests.helpers import act_of_school, open_task, user

START = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


class WorkerKilled(BaseException):
    """kill -9 of the runner: no handler of the job runs (a BaseException passes ``except Exception``)."""


@pytest.fixture()
def fed(monkeypatch) -> list[str]:
    """The chain of every event the walker reads, in order."""
    chains: list[str] = []
    monkeypatch.setattr(trail._ChainWalker, "feed", _counting(chains))
    return chains


def _counting(chains: list[str]):
    real = trail._ChainWalker.feed

    def counted(walker, ev):
        chains.append(ev[1])
        return real(walker, ev)

    return counted


def _heartbeats(monkeypatch, on_beat) -> None:
    real = jobs.heartbeat
    beats = [0]

    def beat(job, *args, **kwargs):
        beats[0] += 1
        on_beat(beats[0])
        return real(job, *args, **kwargs)

    monkeypatch.setattr(jobs, "heartbeat", beat)


def _tamper_every(step: int) -> list[int]:
    """Rewrite one event in ``step``, in the walk's order, as a database writer would: a problem each."""
    ids = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.chain, AuditEvent.seq)).all()[::step]
    db.session.execute(update(AuditEvent).where(AuditEvent.id.in_(ids)).values(action="tampered"))
    db.session.commit()
    return ids


def test_a_check_whose_worker_was_killed_goes_on_from_its_checkpoint_with_the_verdict_of_verify_audit(
        world, fed, monkeypatch):
    with clock.FrozenClock(START) as frozen:
        check, _ = checks.start_audit_check(actor=None, dispatch_job=False)
        db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(AuditEvent))
        chunk = max(total // 12, 1)
        monkeypatch.setattr(chunked_walk, "CHUNK_EVENTS", chunk)
        monkeypatch.setattr(checks, "CHECKPOINT_EVENTS", 2 * chunk)  # saved with every second chunk
        monkeypatch.setattr(checks, "PROBLEMS_KEPT", 3)
        tampered = _tamper_every(max(total // 10, 1))  # problems before the kill and after it
        expected = trail.verify_chains_and_rows()  # what `flask verify-audit` finds (without the anchors)
        assert len(expected.problems) >= len(tampered) > 3
        fed.clear()

        def kill_at_fifth(beat: int) -> None:
            if beat == 5:  # in the fifth chunk's transaction: four chunks committed, the fourth with a checkpoint
                raise WorkerKilled

        _heartbeats(monkeypatch, kill_at_fifth)
        with pytest.raises(WorkerKilled):
            checks.run_audit_check(check.id)
        db.session.rollback()
        assert len(fed) == 5 * chunk
        saved = db.session.get(AuditCheck, check.id)
        assert (saved.status, saved.checkpoint["events"], saved.checked_events) == ("running", 4 * chunk, 4 * chunk)

        fed.clear()
        frozen.advance(seconds=jobs.lease_seconds() + 1)  # the dead runner's lease runs out; another takes the check
        done = checks.run_audit_check(check.id)

    assert len(fed) == total - 4 * chunk, "the events read before the checkpoint were not read again"
    assert (done.status, done.attempts, done.checkpoint) == ("done", 2, None)
    assert (done.chains, done.checked_events) == (expected.chains, expected.events) == (done.chains, total)
    assert done.problem_count == len(expected.problems), "every problem counted, kept or not"
    assert done.problems == [{"chain": p.chain, "seq": p.seq, "reason": p.reason} for p in expected.problems[:3]]



def test_an_act_paid_while_the_walk_is_past_its_chain_is_compared_with_its_payment_event(world, fed, monkeypatch):
    """Read in chunks, the walk may pass an act's chain before the act is paid: its payment's event was never read.
    The rows are compared at the end with the latest verified event about them — no false alarm about a payment that
    "no event vouches for"."""
    act = act_of_school(LYCEUM)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    chain, act_id = chain_of(act), act.id
    monkeypatch.setattr(chunked_walk, "CHUNK_EVENTS", 2)
    check, _ = checks.start_audit_check(actor=None, dispatch_job=False)
    db.session.commit()
    paid_after: list[int] = []

    def pay_once_past_the_chain(_beat: int) -> None:
        if not paid_after and chain in fed and fed[-1] != chain:
            pay = open_task(db.session.get(type(act), act_id), "pay_act")
            complete_task(pay.id, user("operator"), form={"order_number": "PP-2026-0007",
                                                          "paid_on": clock.today().isoformat()})
            db.session.commit()
            paid_after.append(len(fed))

    _heartbeats(monkeypatch, pay_once_past_the_chain)
    done = checks.run_audit_check(check.id)
    assert paid_after, "the act was paid while the walk ran, after its chain was read"
    paid = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")).one()
    assert paid.chain == chain and paid.chain not in fed[paid_after[0]:], "its payment's event was not walked"
    assert (done.status, done.problem_count, done.problems) == ("done", 0, [])
    assert trail.verify_chains_and_rows().problems == [], "verify-audit agrees"
