"""Two transactions appending to the same chain that no other lock guards (a person's logins from two browsers,
an upload while an import finishes): the second waits for the first and links after it — both are kept, the chain
verifies. Before, the second failed on the unique (chain, seq): a 500 for the second login. On SQLite too (these
tests were skipped there, "one writer at a time": the second writer did wait for the lock, but only at its INSERT,
after it had read the chain's head)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.operations import record_event, verify_all_chains
from app.extensions import db
from app.people.models import User
from app.people.operations import record_login


def _at_once(app, first, second) -> dict:
    """``first()`` in this transaction, then ``second()`` in another thread's own while the first is not committed:
    the second waits (for the chain, or for the first one's row) and then commits, or fails. Returns its outcome."""
    first_written, outcome = threading.Event(), {}

    def in_another_transaction() -> None:
        with app.app_context():
            first_written.wait(10)
            try:
                second()
                db.session.commit()
                outcome["second"] = "committed"
            except Exception as err:  # noqa: BLE001 - the test reports what happened
                db.session.rollback()
                outcome["second"] = repr(err)
            finally:
                db.session.remove()

    thread = threading.Thread(target=in_another_transaction)
    thread.start()
    first()
    first_written.set()
    thread.join(0.5)  # the second one is now waiting
    db.session.commit()
    thread.join(15)
    return outcome


def test_two_logins_of_the_same_person_at_once_are_both_recorded(world, app):
    operator = db.session.scalars(select(User).where(User.username == "operator")).one()
    operator_id = operator.id
    outcome = _at_once(app, lambda: record_login(operator),  # the first browser's login, not committed yet
                       lambda: record_login(db.session.get(User, operator_id)))
    assert outcome == {"second": "committed"}
    logins = db.session.scalars(select(AuditEvent.seq).where(AuditEvent.chain == f"user:{operator_id}",
                                                             AuditEvent.action == "user.login")).all()
    assert len(logins) == 2
    assert verify_all_chains()[1] == []


def test_every_chain_is_held_before_its_head_is_read_once_per_transaction(world):
    """An instance's chain is held like any other (it was left to the instance's lock version, which a comment or a
    claim does not change: the step then linked to the head a comment was writing after, and was refused): on
    PostgreSQL one lock per chain and transaction — a second event on the chain, or a step that held it before its
    event (app.engine.runtime._run_engine), sends none. SQLite: its write lock instead, no advisory lock."""
    from sqlalchemy import event

    from app.audit.operations import hold_chain

    sent: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        hold_chain("instance:999998")
        record_event("instance:999998", "test.event", "process_instance", 999998, actor_id=None)
        record_event("instance:999999", "test.event", "process_instance", 999999, actor_id=None)
        record_event("instance:999999", "test.event", "process_instance", 999999, actor_id=None)
        record_event("registry", "test.event", "registry_import", 1, actor_id=None)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
    locks = [s for s in sent if "pg_advisory_xact_lock" in s]
    assert len(locks) == (3 if db.engine.dialect.name == "postgresql" else 0)


def test_two_comments_on_one_task_at_once_are_both_kept(world, app):
    """Six officials commenting on one task at once: three got "409 Changed meanwhile" and lost their comment — a
    comment does not hold the instance's lock version, so its event met another on the unique (chain, seq)."""
    from app.engine.models import HumanTask
    from app.inbox.models import TaskComment
    from app.inbox.operations import add_comment
    from tests.helpers import act_of_school, open_task

    act = act_of_school("Alatau Lyceum")
    task_id = open_task(act, "accept_act").id
    official = db.session.scalars(select(User).where(User.username == "official_almaty")).one()
    official_id = official.id
    outcome = _at_once(app, lambda: add_comment(db.session.get(HumanTask, task_id), official, "first"),
                       lambda: add_comment(db.session.get(HumanTask, task_id), db.session.get(User, official_id),
                                           "second"))
    assert outcome == {"second": "committed"}
    assert sorted(db.session.scalars(select(TaskComment.body).where(TaskComment.task_id == task_id))) == [
        "first", "second"]
    assert verify_all_chains()[1] == []


def test_a_batch_of_events_waits_for_its_chains_in_one_statement(world):
    """The month-wide verification writes one event per act on each act's instance chain: on PostgreSQL it locks
    those chains (in one statement, in chain order), so a comment written alongside waits instead of colliding."""
    from sqlalchemy import event

    from app.audit.operations import record_events

    sent: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        record_events([{"chain": f"instance:{900000 + n}", "action": "test.event", "object_type": "act",
                        "object_id": n, "actor_id": None} for n in range(3)])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
    locks = [s for s in sent if "pg_advisory_xact_lock" in s]
    assert len(locks) == (1 if db.engine.dialect.name == "postgresql" else 0)
