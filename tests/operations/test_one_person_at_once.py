"""One person doing two things at the same instant — two browsers logging in, two tabs — is never refused, loses no
work and leaves one audit chain that verifies. On SQLite (a file, as the app runs) and PostgreSQL alike.

Each race is made deterministic by a pause: a transaction that has just read the head of the chain under test waits
until the other one has read it too (or until ``PATIENCE`` has passed: where the chain's head cannot be read before
the first one commits — the second waits for the chain — the first goes on after the pause). Without a serialised
read of the head both read the same one, both link to it, and the second failed on the unique (chain, seq): a login
of the same operator refused in CI (git log af98a36)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.audit import operations as audit
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.extensions import db
from app.people.models import User
from tests.conftest import Browser

PATIENCE = 1.5  # seconds the first reader waits for the second one's read, where that read cannot happen


def pause_after_head_read(monkeypatch, chain: str) -> list[int]:
    """Pause each of the first two transactions that read ``chain``'s head right after the read, until both have read
    it (or :data:`PATIENCE` passed). Returns the seqs each read would link to, in the order read."""
    read: list[int] = []
    lock = threading.Condition()
    original = audit._next_link

    def paused(wanted: str, *args, **kwargs):
        link = original(wanted, *args, **kwargs)
        if wanted == chain:
            with lock:
                read.append(link[0])
                lock.notify_all()
                if len(read) <= 2:
                    lock.wait_for(lambda: len(read) >= 2, timeout=PATIENCE)
        return link

    monkeypatch.setattr(audit, "_next_link", paused)
    return read


def both_at_once(app, *actions) -> list:
    """Run each action in its own thread, application context and transaction, all started together; their results
    (or the exception each raised) in order."""
    start = threading.Barrier(len(actions), timeout=20)
    results: list = [None] * len(actions)

    def run(i: int, action) -> None:
        with app.app_context():
            try:
                prepared = action()
                start.wait()
                results[i] = prepared()
            except Exception as err:  # noqa: BLE001 - the test reports what happened
                results[i] = err
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, action)) for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def a_login(app, username: str):
    """A browser on the login page (its form token in hand); the returned call submits the form."""
    def prepare():
        browser = Browser(app)
        browser.get("/login")
        return lambda: browser.post("/login", {"username": username, "password": "pw"}).status_code

    return prepare


def test_two_logins_of_one_operator_at_the_same_instant_both_succeed(world, app, monkeypatch):
    operator_id = db.session.scalars(select(User.id).where(User.username == "operator")).one()
    chain = f"user:{operator_id}"
    before = db.session.scalar(select(AuditEvent.seq).where(AuditEvent.chain == chain)
                               .order_by(AuditEvent.seq.desc()).limit(1)) or 0
    db.session.commit()
    read = pause_after_head_read(monkeypatch, chain)

    statuses = both_at_once(app, a_login(app, "operator"), a_login(app, "operator"))

    assert statuses == [302, 302], statuses
    assert sorted(read) == [before + 1, before + 2], "the second login read the head the first one wrote"
    db.session.expire_all()
    logins = db.session.scalars(select(AuditEvent.seq).where(AuditEvent.chain == chain,
                                                             AuditEvent.action == "user.login")
                                .order_by(AuditEvent.seq)).all()
    assert logins[-2:] == [before + 1, before + 2]
    assert verify_all_chains()[1] == []
