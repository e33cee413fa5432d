"""SQL statement budgets for completing one task (issue 7): a change that adds an N+1 query fails here.

Statements are counted with a SQLAlchemy event listener, not timed. The budgets leave room for one or two
more statements per step (a feature that writes a row of its own); a query per act line, per open task,
per recipient or per audit event in the chain does not fit.
"""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from app.acts.models import Act
from app.audit.operations import verify_all_chains
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import act_of_school, open_task, seen, user

SCHOOL_A = "Bilim Innovation School"
SCHOOL_B = "Nur Private School"
SCHOOL_C = "Alatau Lyceum"

#: Statements for one completed task through the engine API. Accepting an act takes 13 today: the task with
#: its instance (one joined SELECT), the act, the count of lines still needing review (app/acts/review.py), the
#: act's contract link (accepted only if the contract's amount can still pay it: app/contracts/handlers.py), the
#: act's guarded status UPDATE (decided is final) and its re-read, the act's lines for the audit facts the event
#: vouches for (app/audit/facts.py), the chain head, the audit events (2), the task and instance rows (one UPDATE
#: each, the instance's under its lock), the new *Pay act* task. New tasks are announced later, in batches, by the
#: background pass (its own budget is in tests/inbox/test_announce.py), so notifications of new tasks cost a step
#: nothing. Plus 3 for telling the school its act was accepted (app/acts/operations.py tell_school): its director
#: and accountants (one SELECT), their notifications and e-mails (one batched INSERT each). Plus 1: the instance's
#: open incidents, closed when the step recovered them (app/engine/runtime.py _settle_incidents). Plus 1: an
#: accepted line priced at 0 ₸ for want of its year's norm (app/acts/instrument.py priced_at_the_norms). Plus 1: the
#: task's unread calls to act (new task, due soon…) marked read (app/notifications/receivers.py). Plus 1: the act's
#: adjustments read for the audit facts as well (app/audit/facts.py: a row slipped onto a paid act is found). Plus 1:
#: the account the act is accepted to be paid to, its contract's if any (app/acts/payee.py: pinned at acceptance).
#: Plus 1: the adjustments the decision settles, listed in its event whatever their sum (app/acts/operations.py
#: decide: a claw-back and a top-up of equal amounts were listed as none).
ENGINE_BUDGET = 22
#: The same through POST /tasks/<id>: plus the login session's user (with its organisation, one SELECT).
#: The commit keeps what the request loaded, so the redirect's message reloads nothing.
HTTP_BUDGET = 14  # plus the open incidents' look-up and the calls to act marked read, as above
#: The same through the JSON API (the contract link included): plus the instance document (open tasks, audit
#: trail) it returns, the count
#: of the act's lines still needing review (no acceptance while one does: app/acts/review.py), and the accepted
#: act's lines read once for the audit facts the acceptance event vouches for (app/audit/facts.py).
API_BUDGET = 25  # plus the open incidents' look-up, the norms' check, the calls to act marked read, the adjustments,
# the payee's contract link


def request_lock_limit() -> int:
    """Plus 1 for a request on PostgreSQL: its lock limit, set as its transaction begins (SET LOCAL lock_timeout,
    app/database.py limit_lock_waits) — a constant, whatever the act; SQLite waits its busy_timeout instead."""
    return 1 if db.engine.dialect.name == "postgresql" else 0


def chain_lock() -> int:
    """Plus 1 for a step on PostgreSQL: the instance's chain held before the step reads its head (SELECT
    pg_advisory_xact_lock, app.audit.operations.hold_chain) — a comment or a claim written at the same instant waits
    for it instead of refusing the step or losing its event; SQLite reads the head under its write lock instead."""
    return 1 if db.engine.dialect.name == "postgresql" else 0


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reads(self) -> int:
        return sum(s.lstrip().upper().startswith("SELECT") for s in self.statements)

    def report(self) -> str:
        return "\n".join(s.split("\n")[0][:140] for s in self.statements)


@contextmanager
def counting():
    counter = StatementCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)


def _fresh_session_user(username: str):
    """Commit, start from an empty session (as a request does) and load the acting user like login does."""
    db.session.commit()
    db.session.expunge_all()
    return user(username)


def _lines(count: int, act) -> list[dict]:
    from app.acts.operations import prefill_lines

    return prefill_lines(act)[:count]


def test_accepting_an_act_stays_within_the_statement_budget(world):
    act = act_of_school(SCHOOL_C)
    act_id, task_id = act.id, open_task(act, "accept_act").id
    official = _fresh_session_user("official_almaty")

    with counting() as sql:
        complete_task(task_id, official, form={"decision": "accept"})
        db.session.commit()

    assert 0 < sql.count <= ENGINE_BUDGET + chain_lock(), f"{sql.count} statements:\n{sql.report()}"
    assert open_task(db.session.get(Act, act_id), "pay_act") is not None
    assert verify_all_chains()[1] == []


def test_submitting_an_act_costs_the_same_for_few_and_many_lines(world):
    """Verify contingent checks every line: it must not query once per line (N+1)."""
    few_act, many_act = act_of_school(SCHOOL_B), act_of_school(SCHOOL_A)
    few, many = _lines(3, few_act), _lines(30, many_act)
    assert len(many) == 30
    tasks = {"accountant2": open_task(few_act, "submit_act").id, "accountant": open_task(many_act, "submit_act").id}
    counts = []
    for username, lines in (("accountant2", few), ("accountant", many)):
        task_id = tasks[username]
        actor = _fresh_session_user(username)
        with counting() as sql:
            complete_task(task_id, actor, data={"lines": lines, "note": ""})
            db.session.commit()
        counts.append(sql)
    few_sql, many_sql = counts
    assert few_sql.reads() == many_sql.reads(), (
        f"reads grow with the lines: 3 lines {few_sql.reads()}, 30 lines {many_sql.reads()}:\n{many_sql.report()}")
    # The lines are written by one executemany whatever their number; a statement per line fails here.
    assert many_sql.count == few_sql.count, many_sql.report()


def test_completing_a_task_over_http_stays_within_the_statement_budget(world, browser):
    act = act_of_school(SCHOOL_C)
    task_id = open_task(act, "accept_act").id
    official = browser("official_almaty")
    db.session.commit()

    with counting() as sql:
        response = official.post(f"/tasks/{task_id}", {"decision": "return", "comment": "Line 5 is a duplicate"})

    assert response.status_code == 302
    budget = HTTP_BUDGET + request_lock_limit() + chain_lock()
    assert 0 < sql.count <= budget, f"{sql.count} statements:\n{sql.report()}"
    assert open_task(act, "submit_act") is not None


def test_completing_a_task_through_the_api_stays_within_the_statement_budget(world, browser):
    act = act_of_school(SCHOOL_C)
    task = open_task(act, "accept_act")
    task_id, version = task.id, seen(task)
    official = browser("official_almaty")
    official.get("/inbox")
    db.session.commit()

    with counting() as sql:
        response = official.post_json(f"/api/v1/tasks/{task_id}/complete", {"data": {"decision": "accept"},
                                                                           "seen": version})

    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.get_json()
    assert [t["spec_name"] for t in document["open_tasks"]] == ["pay_act"]
    assert {"act.accepted", "task.completed"} <= {e["action"] for e in document["events"]}
    budget = API_BUDGET + request_lock_limit() + chain_lock()
    assert 0 < sql.count <= budget, f"{sql.count} statements:\n{sql.report()}"


def test_a_long_audit_chain_does_not_make_the_next_step_dearer(world):
    """The chain head is one indexed look-up, whatever the chain's length (no scan of the history)."""
    from app.audit.operations import record_event

    act = act_of_school(SCHOOL_C)
    task = open_task(act, "accept_act")
    task_id = task.id
    for i in range(50):
        record_event(task.instance.audit_chain, "test.padding", "process_instance", task.instance_id,
                     actor_id=None, details={"i": i})
    official = _fresh_session_user("official_almaty")

    with counting() as sql:
        complete_task(task_id, official, form={"decision": "accept"})
        db.session.commit()

    assert sql.count <= ENGINE_BUDGET + chain_lock(), sql.report()
    audit_reads = [s for s in sql.statements if s.lstrip().startswith("SELECT") and "FROM audit_event" in s]
    assert len(audit_reads) <= 2, "one head look-up per chain written (the instance's and the act's)"
    assert all(s.lstrip().startswith("SELECT audit_event.seq, audit_event.hash") for s in audit_reads), sql.report()
    assert verify_all_chains()[1] == []
