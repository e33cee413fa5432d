"""One person's two tabs, and two people on one chain, at the same instant: each action is kept, none is refused
for the other's sake, and every audit chain verifies. SQLite (a file, as the app runs) and PostgreSQL.

Where the two actions write one chain, each is paused between reading the chain's head and inserting its event
until the other has read it too (or ``PATIENCE`` passed, where it cannot: it waits for the chain) — without a
serialised read both would link to the same head (see test_one_person_at_once.py)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.acts.operations import prefill_lines
from app.audit import operations as audit
from app.audit.operations import verify_all_chains
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.people.models import User
from tests.helpers import act_of_school, open_task, user

PATIENCE = 1.5


def pause_between_head_and_insert(monkeypatch, chain: str) -> list[str]:
    """Each of the first two events written to ``chain`` (by record_event or record_events) waits, once its link is
    known and before its INSERT, until the other has got as far (at most :data:`PATIENCE`)."""
    arrived: list[str] = []
    lock = threading.Condition()
    original = audit.keyring
    marker = f'"{chain}"'.encode()

    class Paused:
        def __init__(self, ring):
            self._ring = ring

        def __getattr__(self, name):
            return getattr(self._ring, name)

        def sign(self, body: bytes, *args, **kwargs):
            if marker in body:
                with lock:
                    arrived.append(threading.current_thread().name)
                    lock.notify_all()
                    if len(arrived) <= 2:
                        lock.wait_for(lambda: len(arrived) >= 2, timeout=PATIENCE)
            return self._ring.sign(body, *args, **kwargs)

    monkeypatch.setattr(audit, "keyring", lambda: Paused(original()))
    return arrived


def together(app, *actions) -> list[str]:
    """Each action in its own thread, application context and transaction, started together and committed: "ok" or
    what it raised."""
    start = threading.Barrier(len(actions), timeout=20)
    results = ["not run"] * len(actions)

    def run(i: int, action) -> None:
        with app.app_context():
            try:
                start.wait()
                action()
                db.session.commit()
                results[i] = "ok"
            except Exception as err:  # noqa: BLE001 - the test reports what happened
                db.session.rollback()
                results[i] = repr(err)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, action), name=f"action-{i}") for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _submit(act_id: int, accountant: str):
    def action() -> None:
        act = db.session.get(Act, act_id)
        complete_task(open_task(act, "submit_act").id, user(accountant), data={"lines": prefill_lines(act)})
    return action


def _decide(act_id: int, spec: str, username: str, data: dict):
    def action() -> None:
        complete_task(open_task(db.session.get(Act, act_id), spec).id, user(username), data=data)
    return action


def _samruk_acts() -> tuple[list[int], str]:
    acts = db.session.scalars(select(Act).where(Act.status == "awaiting_submission")
                              .order_by(Act.period)).all()
    samruk = [a for a in acts if a.school.name == "Samruk Private School"]
    accountant = db.session.scalars(select(User.username).where(User.organisation_id == samruk[0].school_id,
                                                                 User.role == "school_accountant")).first()
    return [a.id for a in samruk], accountant


def test_one_accountant_submits_two_acts_in_two_tabs_at_once(world, app):
    (september, october), accountant = _samruk_acts()
    db.session.commit()
    assert together(app, _submit(september, accountant), _submit(october, accountant)) == ["ok", "ok"]
    db.session.expire_all()
    assert {db.session.get(Act, a).status for a in (september, october)} == {"verified"}
    assert verify_all_chains()[1] == []


def test_one_official_accepts_two_acts_and_one_operator_pays_both_at_once(world, app):
    acts = [act_of_school(name).id for name in ("Bilim Innovation School", "Nur Private School")]
    accountants = ["accountant", "accountant2"]
    for act_id, accountant in zip(acts, accountants, strict=True):
        _submit(act_id, accountant)()
        db.session.commit()
    assert together(app, *(_decide(a, "accept_act", "official", {"decision": "accept"}) for a in acts)) == ["ok", "ok"]
    paid_on = clock.today().isoformat()
    assert together(app, *(_decide(a, "pay_act", "operator", {"order_number": f"PP-TABS-{n}", "paid_on": paid_on})
                           for n, a in enumerate(acts))) == ["ok", "ok"]
    db.session.expire_all()
    assert {db.session.get(Act, a).status for a in acts} == {"paid"}
    assert verify_all_chains()[1] == []


def _lyceum_task() -> tuple[int, int]:
    task = open_task(act_of_school("Alatau Lyceum"), "accept_act")
    return task.id, task.instance_id


@pytest.mark.parametrize("commenter", ["official_almaty", "operator"], ids=["one-official", "two-people"])
def test_a_comment_and_a_claim_on_one_task_at_once(world, app, monkeypatch, commenter):
    """The official comments in one tab and claims the task in the other — or the operator comments on the case
    while the official claims it: the instance's one chain."""
    from app.inbox.operations import add_comment, claim

    task_id, instance_id = _lyceum_task()
    db.session.commit()
    pause_between_head_and_insert(monkeypatch, f"instance:{instance_id}")
    assert together(
        app, lambda: add_comment(db.session.get(HumanTask, task_id), user(commenter), "checking the lines"),
        lambda: claim(db.session.get(HumanTask, task_id), user("official_almaty"))) == ["ok", "ok"]
    db.session.expire_all()
    assert db.session.get(HumanTask, task_id).assignee_id == user("official_almaty").id
    actions = db.session.scalars(select(audit.AuditEvent.action).where(
        audit.AuditEvent.chain == f"instance:{instance_id}")).all()
    assert {"task.commented", "task.claimed"} <= set(actions)
    assert verify_all_chains()[1] == []


@pytest.mark.parametrize("uploaders", [("operator", "operator"), ("operator", "operator2")],
                         ids=["one-operator", "two-operators"])
def test_two_uploads_to_the_registry_at_once(world, app, monkeypatch, tmp_path, uploaders):
    """Two registry files uploaded in two tabs, or by two operators: both imports are queued (the registry's one
    chain)."""
    from app.registry.models import RegistryImport
    from app.registry.operations import create_import

    source = tmp_path / "licences.csv"
    source.write_text("bin,number\n", encoding="utf-8")
    before = db.session.scalar(select(db.func.count(RegistryImport.id)))
    db.session.commit()
    pause_between_head_and_insert(monkeypatch, audit_chain := "registry")
    assert together(app, *(lambda who=who: create_import("licences", "licences.csv", source=source, actor=user(who))
                           for who in uploaders)) == ["ok", "ok"]
    assert db.session.scalar(select(db.func.count(RegistryImport.id))) == before + 2
    assert audit_chain and verify_all_chains()[1] == []


def test_a_month_wide_batch_of_events_beside_a_comment_on_one_of_its_acts(world, app, monkeypatch):
    """The month-wide verification writes one event per act in one batch (record_events) on each act's instance
    chain; an official comments on one of those acts at the same instant: both are kept."""
    from app.inbox.operations import add_comment

    task_id, instance_id = _lyceum_task()
    db.session.commit()
    pause_between_head_and_insert(monkeypatch, f"instance:{instance_id}")
    batch = [{"chain": f"instance:{instance_id}", "action": "act.reverified", "object_type": "process_instance",
              "object_id": instance_id, "actor_id": None}]
    assert together(
        app, lambda: audit.record_events(batch),
        lambda: add_comment(db.session.get(HumanTask, task_id), user("official_almaty"), "a question")) == ["ok",
                                                                                                             "ok"]
    assert verify_all_chains()[1] == []


def test_a_month_wide_batch_of_events_beside_a_login_of_its_starter(world, app, monkeypatch):
    """The batch and its starter's login at once: different chains, both kept (the login waits for SQLite's lock)."""
    from app.people.operations import record_login

    task_id, instance_id = _lyceum_task()
    operator_id = user("operator").id
    db.session.commit()
    batch = [{"chain": f"instance:{instance_id}", "action": "act.reverified", "object_type": "process_instance",
              "object_id": instance_id, "actor_id": operator_id}]
    assert together(app, lambda: audit.record_events(batch),
                    lambda: record_login(db.session.get(User, operator_id))) == ["ok", "ok"]
    assert verify_all_chains()[1] == []


def test_a_comment_while_the_official_accepts_the_act(world, app, monkeypatch):
    """The operator comments on the case at the instant the official accepts the act: the acceptance (which holds
    the instance's lock version) and the comment (which does not) write one chain — both are kept.

    On PostgreSQL the acceptance was refused ("Someone else has just completed this step"): the comment waited for
    the chain's advisory lock, the acceptance took none (an instance's chain was left to its lock version, which a
    comment does not change), both linked to the same head and the acceptance met the comment's event on the unique
    (chain, seq). Every writer of a chain now holds it (app.audit.operations.hold_chain, with the lock order)."""
    from app.inbox.operations import add_comment

    task_id, instance_id = _lyceum_task()
    act_id = act_of_school("Alatau Lyceum").id
    db.session.commit()
    arrived = pause_between_head_and_insert(monkeypatch, f"instance:{instance_id}")
    assert together(
        app, _decide(act_id, "accept_act", "official_almaty", {"decision": "accept"}),
        lambda: add_comment(db.session.get(HumanTask, task_id), user("operator"), "a question")) == ["ok", "ok"]
    assert len(arrived) >= 2
    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "accepted"
    assert verify_all_chains()[1] == []


@pytest.fixture
def held_first(app):
    """PostgreSQL only. ``held_first(chain)``: an event set once a transaction holds ``chain``'s lock (its advisory
    lock, app.audit.operations.hold_chain); the second action waits for it (:func:`_after`), so the first one takes
    the chain and the second comes while it is held."""
    from sqlalchemy import event

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the order is its write lock's, not a chain's")
    listeners = []

    def watch(chain: str) -> threading.Event:
        held = threading.Event()

        def after(conn, cursor, statement, parameters, context, executemany) -> None:
            if "pg_advisory_xact_lock" in statement and chain in str(parameters):
                held.set()

        event.listen(db.engine, "after_cursor_execute", after)
        listeners.append(after)
        return held

    yield watch
    for listener in listeners:
        event.remove(db.engine, "after_cursor_execute", listener)


def _after(held: threading.Event, action):
    def later() -> None:
        assert held.wait(20), "the first action never took the chain"
        action()
    return later


def test_a_claim_then_the_acceptance_in_two_tabs_are_both_kept_without_deadlock(world, app, monkeypatch,
                                                                                 held_first):
    """The official claims the task in one tab and accepts the act in the other, the claim a moment first (it holds
    the case's chain): the acceptance waits for it and then links after the claim's event. Before, the acceptance
    read the chain's head while the claim was writing after it and was refused ("Someone else has just completed
    this step"); had it taken the chain only after its rows, the two would have waited on each other."""
    from app.inbox.operations import claim

    task_id, instance_id = _lyceum_task()
    act_id = act_of_school("Alatau Lyceum").id
    db.session.commit()
    chain = f"instance:{instance_id}"
    pause_between_head_and_insert(monkeypatch, chain)
    held = held_first(chain)
    assert together(
        app, lambda: claim(db.session.get(HumanTask, task_id), user("official_almaty")),
        _after(held, _decide(act_id, "accept_act", "official_almaty", {"decision": "accept"}))) == ["ok", "ok"]
    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "accepted"
    actions = db.session.scalars(select(audit.AuditEvent.action).where(audit.AuditEvent.chain == chain)
                                 .order_by(audit.AuditEvent.seq)).all()
    assert actions[-3:] == ["task.claimed", "act.accepted", "task.completed"]
    assert verify_all_chains()[1] == []


def test_the_acceptance_then_a_claim_in_two_tabs_no_deadlock(world, app, monkeypatch, held_first):
    """The other way round: the acceptance holds the case's chain (its act's event written), the claim comes then.
    The claim waits for the acceptance — it does not take the task's row first and wait for the chain while the
    acceptance waits for that row (a deadlock PostgreSQL breaks by refusing one) — and is then told the task is done:
    the acceptance is kept."""
    from app.inbox.operations import claim

    task_id, instance_id = _lyceum_task()
    act_id = act_of_school("Alatau Lyceum").id
    db.session.commit()
    chain = f"instance:{instance_id}"
    pause_between_head_and_insert(monkeypatch, chain)
    held = held_first(chain)
    results = together(
        app, _decide(act_id, "accept_act", "official_almaty", {"decision": "accept"}),
        _after(held, lambda: claim(db.session.get(HumanTask, task_id), user("official_almaty"))))
    assert results == ["ok", "ConflictError('This task is no longer open.')"]
    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "accepted"
    assert verify_all_chains()[1] == []


@pytest.mark.parametrize("first", ["comment", "claim"])
def test_a_comment_and_a_claim_one_holding_the_chain_first_are_both_kept(world, app, monkeypatch, held_first,
                                                                          first):
    """Guard: the operator's comment and the official's claim on one case, whichever holds its chain first: the other
    waits for it, both are kept, neither waits on the other in a circle."""
    from app.inbox.operations import add_comment, claim

    task_id, instance_id = _lyceum_task()
    db.session.commit()
    chain = f"instance:{instance_id}"
    pause_between_head_and_insert(monkeypatch, chain)
    held = held_first(chain)
    actions = {"comment": lambda: add_comment(db.session.get(HumanTask, task_id), user("operator"), "a question"),
               "claim": lambda: claim(db.session.get(HumanTask, task_id), user("official_almaty"))}
    second = "claim" if first == "comment" else "comment"
    assert together(app, actions[first], _after(held, actions[second])) == ["ok", "ok"]
    db.session.expire_all()
    assert db.session.get(HumanTask, task_id).assignee_id == user("official_almaty").id
    assert verify_all_chains()[1] == []
