"""A row held by a transaction left open (an official's acceptance stuck mid-request, a psql session, a stuck job), met
by what is not a background job: the operator's ``flask verify-month`` and people's requests. On PostgreSQL both
waited for as long as the transaction stayed open — the command silently, a request holding its worker thread (and
the person in front of a page that never came back). Now the command waits at most ``JOB_LOCK_TIMEOUT_SECONDS`` as the
background job does (the held act an incident, the others verified, the command naming it and exiting 1), and a
request at most ``REQUEST_LOCK_TIMEOUT_SECONDS``: it answers 503 "someone else is saving this; try again", in the
person's language, with nothing written.

The holder is a real second connection; the command and the requests run in a thread of their own, joined, never
slept on: the lock is held until they have answered."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.engine import runtime
from app.engine.incidents import Incident
from app.engine.models import HumanTask
from app.engine.operators import operator
from app.engine.publishing import publish_version
from app.extensions import db
from app.payments.models import Payment
from app.reports.models import VerificationRun
from tests.helpers import act_of_school, open_task, school, submitted_and_accepted, user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import service_task
from tests.operations.test_batch_isolation import _month_acts, _month_acts_period

SAVING_ELSEWHERE = "Someone else is saving this record just now, so nothing was saved. Try again in a moment."


@pytest.fixture()
def holder(app_ctx, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no row locks: a second writer waits its busy_timeout (10 s) and fails")
    engine = create_engine(app_ctx.config["SQLALCHEMY_DATABASE_URI"])
    connection = engine.connect()
    yield connection
    connection.close()
    engine.dispose()


def _hold(holder, act_id: int):
    """An open transaction holding the act's row, as an official's acceptance stuck mid-request does."""
    opened = holder.begin()
    holder.execute(text("UPDATE act SET lock_version = lock_version WHERE id = :id"), {"id": act_id})
    return opened


def _while_held(app, opened, work):
    """``work()`` in a thread of its own (its own application context), given up to two minutes while the row is held;
    then the transaction ends. Returns (whether it was still waiting when the transaction ended, what it returned)."""
    answers = []

    def run():
        with app.app_context():
            answers.append(work())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(120)  # without a lock limit it never ends while the transaction is open
    jammed = worker.is_alive()
    opened.rollback()  # the other transaction ends (and lets a jammed worker go)
    worker.join()
    return jammed, answers[0] if answers else None


def _events(action: str, act_id: int) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action,
                                                                     AuditEvent.object_id == act_id))


def _acceptance(browser):
    """Alatau's act before the official's acceptance: (act, the official's browser, the task, the form's hidden
    fields, the act's state and the task's completion events)."""
    act = act_of_school("Alatau Lyceum")
    official = browser("official_almaty")
    task_id = open_task(act, "accept_act").id
    hidden = dict(re.findall(r'name="(_version|_seen)" value="(\d+)"',
                             official.get(f"/tasks/{task_id}").get_data(as_text=True)))
    return act, official, task_id, hidden, (act.status, act.lock_version, _events("task.completed", task_id))


def _unchanged_then_accepted(act, official, task_id, hidden, before) -> None:
    """The refused acceptance changed nothing and made no incident; tried again, it goes through."""
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert (act.status, act.lock_version, _events("task.completed", task_id)) == before
    assert db.session.scalar(select(func.count(Incident.id))) == 0, "nobody's failure"
    assert official.post(f"/tasks/{task_id}", {"decision": "accept", **hidden}).status_code == 302, "tried again"
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "accepted"


def test_verify_month_on_the_command_line_stops_waiting_for_a_held_act(world, app_ctx, holder, monkeypatch):
    acts = _month_acts(_month_acts_period())
    for act in acts:
        act.status, act.verified_at = "submitted", None
    db.session.commit()
    held = acts[1]
    monkeypatch.setitem(app_ctx.config, "JOB_LOCK_TIMEOUT_SECONDS", 1)

    jammed, ran = _while_held(app_ctx, _hold(holder, held.id), lambda: app_ctx.test_cli_runner().invoke(
        args=["verify-month", "--period", f"{held.period:%Y-%m}"]))

    assert not jammed, "the command waited for the open transaction"
    assert ran.exit_code == 1, ran.output
    assert f"✗ 1 act(s) could not be checked; each has an incident: #{held.id}" in ran.output
    db.session.expire_all()
    run = db.session.scalars(select(VerificationRun)).one()
    assert (run.status, run.processed_acts) == ("done", len(acts))
    for act in _month_acts(held.period):
        assert (act.verified_at is None) == (act.id == held.id), act.id
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == held.instance_id)).one()
    assert (incident.kind, incident.status) == ("verification", "open")
    assert "lock timeout" in incident.detail


def test_an_acceptance_meeting_a_held_act_is_told_to_try_again_and_changes_nothing(world, app_ctx, holder, browser,
                                                                                 monkeypatch):
    act, official, task_id, hidden, before = _acceptance(browser)
    monkeypatch.setitem(app_ctx.config, "REQUEST_LOCK_TIMEOUT_SECONDS", 1)

    jammed, answer = _while_held(app_ctx, _hold(holder, act.id),
                                 lambda: official.post(f"/tasks/{task_id}", {"decision": "accept", **hidden}))

    assert not jammed, "the request waited for the open transaction"
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503, page
    assert SAVING_ELSEWHERE in page
    assert answer.headers["Retry-After"] == "1"
    _unchanged_then_accepted(act, official, task_id, hidden, before)


def test_a_payment_meeting_a_held_act_is_told_to_try_again_and_stores_nothing(world, app_ctx, holder, browser,
                                                                            monkeypatch):
    act_id = submitted_and_accepted(act_of_school("Bilim Innovation School"))
    task_id = open_task(db.session.get(Act, act_id), "pay_act").id
    operator = browser("operator")
    operator.get("/inbox")
    monkeypatch.setitem(app_ctx.config, "REQUEST_LOCK_TIMEOUT_SECONDS", 2)
    payment = {"data": {"order_number": "PP-HELD", "paid_on": clock.today().isoformat()}}

    jammed, answer = _while_held(app_ctx, _hold(holder, act_id),
                                 lambda: operator.post_json(f"/api/v1/tasks/{task_id}/complete", payment))

    assert not jammed, "the request waited for the open transaction"
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.get_json()["message"] == SAVING_ELSEWHERE
    assert answer.headers["Retry-After"] == "2"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.act_id == act_id)) == 0
    assert db.session.get(Act, act_id).status == "accepted"
    assert _events("act.paid", act_id) == 0

    assert operator.post_json(f"/api/v1/tasks/{task_id}/complete", payment).status_code == 200, "tried again"
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.act_id == act_id)) == 1
    assert user("operator") is not None


def test_a_bulk_acceptance_leaves_a_held_act_and_accepts_the_others(world, app_ctx, holder, browser, monkeypatch):
    """The acts before the held one were accepted and committed, one transaction each: a page saying "nothing was
    saved" would be wrong, and the acts after it were never tried. The held act is listed as not accepted, with the
    reason; the others go through."""
    from tests.inbox.conftest import make_clean_acts

    tasks = make_clean_acts()
    official = browser("official")
    page = official.get("/inbox/bulk-accept?" + "&".join(f"task={t.id}" for t in tasks)).get_data(as_text=True)
    seen = dict(re.findall(r'name="(seen_\d+)" value="(\d+)"', page))
    held = db.session.get(Act, tasks[1].instance.subject_id)
    monkeypatch.setitem(app_ctx.config, "REQUEST_LOCK_TIMEOUT_SECONDS", 1)
    data = {"confirm": "1", "task": [str(t.id) for t in tasks], **seen}

    jammed, answer = _while_held(app_ctx, _hold(holder, held.id), lambda: official.post("/inbox/bulk-accept", data))

    assert not jammed, "the request waited for the open transaction"
    result = answer.get_data(as_text=True)
    assert answer.status_code == 200, result
    assert result.count('data-ok="true"') == len(tasks) - 1 and result.count('data-ok="false"') == 1
    assert "Someone else is saving this act just now; it was not accepted. Try again in a moment." in result
    db.session.expire_all()
    assert [db.session.get(Act, t.instance.subject_id).status == "accepted" for t in tasks] == [
        t.id != tasks[1].id for t in tasks]


class _LockNotAvailable(Exception):
    """What psycopg raises when a statement gives up waiting for a lock (SQLSTATE 55P03)."""

    sqlstate = "55P03"


@operator("tests/held_row", {}, "A registry write that meets a held row (tests only).")
def _held_row(ctx):
    raise OperationalError("UPDATE act SET …", {}, _LockNotAvailable("canceling statement due to lock timeout"))


def test_a_held_row_met_by_the_automatic_step_after_a_persons_step_is_not_the_steps_failure(world, browser):
    """The lock limit met inside the engine (a service task writing after the person's step) had become the step's
    failure: "An automatic step failed: (…) canceling statement due to lock timeout [SQL: …]" (422), the driver's words
    on the person's page. It is the same moment's refusal as anywhere else in the request: 503, try again, nothing
    written, no incident. (The lock wait is told, not waited: the operator raises what PostgreSQL's lock_timeout
    raises.)"""
    publish_version(chain_model("held_after", [
        ("fill", "School accountant", user_task("fill", "Fill in")),
        ("write", "School accountant", service_task("write", "tests/held_row")),
    ]))
    db.session.commit()
    bilim = school("Bilim Innovation School")
    instance = runtime.start_instance("held_after", title="held", actor=user("accountant"),
                                      region_id=bilim.region_id, organisation_id=bilim.id)
    db.session.commit()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
    version = instance.lock_version
    accountant = browser("accountant")

    page = accountant.post(f"/tasks/{task.id}", {"comment": "my words"})
    assert page.status_code == 503, page.get_data(as_text=True)
    assert SAVING_ELSEWHERE in page.get_data(as_text=True)
    api = accountant.post_json(f"/api/v1/tasks/{task.id}/complete", {"data": {"comment": "my words"}})
    assert (api.status_code, api.get_json()["message"]) == (503, SAVING_ELSEWHERE)

    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"
    assert db.session.get(type(instance), instance.id).lock_version == version
    assert db.session.scalar(select(func.count(Incident.id))) == 0, "nobody's failure"


@pytest.fixture()
def file_held(app_ctx, database_url):
    """SQLite: another connection that can hold the database file's one write lock (``BEGIN IMMEDIATE``: a month-wide
    verification's chunk, an import's batch, another command), and this app's connections waiting 0.2 s for it
    instead of their 10."""
    if database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL locks rows: the tests above")
    import sqlite3

    from sqlalchemy import event

    def short_wait(dbapi_connection, _record, _proxy):
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    event.listen(db.engine, "checkout", short_wait)
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        yield holder
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        event.remove(db.engine, "checkout", short_wait)
        db.session.remove()
        db.engine.dispose()  # the pool's connections waited 0.2 s: the next ones wait busy_timeout again


def test_an_acceptance_meeting_the_database_file_held_is_told_to_try_again_on_sqlite(world, app_ctx, file_held,
                                                                                     browser):
    """SQLite's "database is locked" after its busy timeout had answered the official with the 500 page and a
    traceback in the log, as if the application had failed: it is the moment's, as a row held on PostgreSQL."""
    act, official, task_id, hidden, before = _acceptance(browser)

    file_held.execute("BEGIN IMMEDIATE")
    try:
        answer = official.post(f"/tasks/{task_id}", {"decision": "accept", **hidden})
    finally:
        file_held.execute("ROLLBACK")

    page = answer.get_data(as_text=True)
    assert answer.status_code == 503, page
    assert SAVING_ELSEWHERE in page
    _unchanged_then_accepted(act, official, task_id, hidden, before)


def test_an_import_on_the_command_line_does_not_wait_for_a_held_act(world, app_ctx, holder, tmp_path, monkeypatch):
    """``flask import-nedb`` withdrawing a pupil of an act a transaction holds: the rows load, the act's re-verification
    gives up after the lock limit and is an incident to retry — the command had waited for as long as it stayed open."""
    from tests.money.test_adjustments import _enrolment
    from tests.money.test_import_failed_reverifies import _file
    from tests.money.test_import_reverifies import _nedb_row, _verified_bilim

    act = _verified_bilim()
    pupil = next(ln for ln in act.lines if ln.grade == 9)
    path = _file(tmp_path / "nedb.csv", [_nedb_row(_enrolment(pupil.iin), withdrawn_on=act.period)])
    monkeypatch.setitem(app_ctx.config, "JOB_LOCK_TIMEOUT_SECONDS", 1)

    jammed, ran = _while_held(app_ctx, _hold(holder, act.id),
                              lambda: app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path)]))

    assert not jammed, "the command waited for the open transaction"
    assert "1 row(s): 1 loaded, 0 rejected." in ran.output, ran.output
    assert "could not be, each an incident on its process to retry" in ran.output, ran.output
    db.session.expire_all()
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == act.instance_id)).one()
    assert (incident.kind, incident.status) == ("verification", "open")
