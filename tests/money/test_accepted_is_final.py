"""An accepted act is final: the month-wide verification never rewrites an act the department decided while the
pass was running, the decision never lands on lines the official did not see, and the amount accepted is the
amount paid. Deterministic: the pass is paused at a named step and the department acts from a second thread
(its own application context, session and database connection) — on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select

import app.acts.operations as act_operations
from app import clock
from app.acts.models import Act, ActLine
from app.audit.models import AuditEvent
from app.audit.operations import verify_chain
from app.engine.errors import ConflictError, DomainRefused
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.registry.models import NedbEnrollment
from app.reports.operations import run_month_verification, start_month_verification
from tests.helpers import act_of_school, open_task, school, user

ALATAU = "Alatau Lyceum"


def _registry_catches_up(act: Act) -> None:
    """A new NEDB import registers the two phantom students: re-verifying the act would now change it."""
    for ln in [ln for ln in act.lines if ln.rule_code == "not_in_nedb"]:
        db.session.add(NedbEnrollment(iin=ln.iin, full_name=ln.full_name, school_bin=school(ALATAU).bin,
                                      school_kind="private", grade=ln.grade, enrolled_on=date(2026, 9, 1)))
    db.session.commit()


def _snapshot(act_id: int) -> tuple:
    db.session.expire_all()
    act = db.session.get(Act, act_id)
    lines = tuple(db.session.execute(select(ActLine.line_no, ActLine.outcome, ActLine.rule_code, ActLine.amount_tiyn)
                                     .where(ActLine.act_id == act_id).order_by(ActLine.line_no)).all())
    return act.status, act.amount_tiyn, act.accepted_lines, lines


def _in_own_context(app, work) -> dict:
    """Run ``work`` as another person would: another thread, its own session and connection."""
    outcome: dict = {}

    def target():
        with app.app_context():
            try:
                work()
                db.session.commit()
                outcome["ok"] = True
            except ConflictError as err:
                db.session.rollback()
                outcome["refused"] = str(err)
            finally:
                db.session.remove()

    thread = threading.Thread(target=target)
    thread.start()
    return {"thread": thread, "outcome": outcome}


def _accept(task_id: int):
    return lambda: complete_task(task_id, user("official_almaty"), data={"decision": "accept"})


def _actions(act: Act) -> list[tuple[str, dict]]:
    db.session.expire_all()
    return [(e.action, e.details) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == f"instance:{act.instance_id}").order_by(AuditEvent.seq))]


def _pay_and_check(act_id: int, order_number: str) -> Payment:
    act = db.session.get(Act, act_id)
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": order_number, "paid_on": clock.today().isoformat()})
    db.session.commit()
    payment = db.session.scalars(select(Payment).where(Payment.act_id == act_id)).one()
    accepted = [d for a, d in _actions(act) if a == "act.accepted"]
    assert payment.amount_tiyn == accepted[-1]["amount_tiyn"] == db.session.get(Act, act_id).amount_tiyn, \
        "the amount accepted is the amount paid, to the tiyn"
    return payment


def _assert_audit_order(act: Act) -> None:
    actions = [a for a, _ in _actions(act)]
    decided = [i for i, a in enumerate(actions) if a in ("act.accepted", "act.returned")]
    assert decided, actions
    assert "act.verified" not in actions[decided[-1]:], f"verified after the decision: {actions}"
    assert verify_chain(f"instance:{act.instance_id}") == []


def test_act_accepted_after_the_pass_listed_the_month_is_not_reverified(app, world):
    act = act_of_school(ALATAU)
    assert act.status == "verified"
    _registry_catches_up(act)
    seen_by_official = _snapshot(act.id)
    task_id = open_task(act, "accept_act").id
    run = start_month_verification(act.period, actor=None, dispatch_job=False)
    db.session.commit()

    def accept_while_paused(step: str) -> None:
        if step == "chunk":  # the pass has listed the month's acts; its chunk is not claimed yet
            job = _in_own_context(app, _accept(task_id))
            job["thread"].join()
            assert job["outcome"] == {"ok": True}

    run = run_month_verification(run.id, on_step=accept_while_paused)
    assert run.status == "done" and run.total_acts == 1
    after = _snapshot(act.id)
    assert after[0] == "accepted"
    assert after[1:] == seen_by_official[1:], "lines, amount and counts are what the official accepted"
    finished = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "verification.finished")).one()
    assert finished.details["skipped_decided"] == 1
    _assert_audit_order(act)
    _pay_and_check(act.id, "PP-RACE-1")


def test_decision_during_a_running_chunk_waits_and_is_refused_then_sees_the_new_report(app, world, monkeypatch):
    act = act_of_school(ALATAU)
    _registry_catches_up(act)
    before = _snapshot(act.id)
    task_id = open_task(act, "accept_act").id
    run = start_month_verification(act.period, actor=None, dispatch_job=False)
    db.session.commit()

    reached_write = threading.Event()
    real_guarded_write = act_operations.guarded_write

    def signalling_guarded_write(*args, **kwargs):
        reached_write.set()  # the official's request has read the act and now writes its decision
        return real_guarded_write(*args, **kwargs)

    monkeypatch.setattr(act_operations, "guarded_write", signalling_guarded_write)
    job = {}

    def accept_mid_chunk(step: str) -> None:
        if step == "rules":  # the chunk is claimed and its lines rewritten, not yet committed
            job.update(_in_own_context(app, _accept(task_id)))
            assert reached_write.wait(60), "the official's request never reached its write"

    run = run_month_verification(run.id, on_step=accept_mid_chunk)
    job["thread"].join(60)
    assert not job["thread"].is_alive()
    assert run.status == "done"
    assert "refused" in job["outcome"], "the decision was about a report that no longer exists"
    reverified = _snapshot(act.id)
    assert reverified[0] == "verified" and reverified[2] == before[2] + 2 and reverified[1] > before[1]
    assert open_task(act, "accept_act").id == task_id, "the task stays open; nothing half-written"

    monkeypatch.setattr(act_operations, "guarded_write", real_guarded_write)
    complete_task(task_id, user("official_almaty"), data={"decision": "accept"})
    db.session.commit()
    assert _snapshot(act.id)[1:] == reverified[1:]
    _assert_audit_order(act)
    _pay_and_check(act.id, "PP-RACE-2")


def test_a_pass_never_writes_a_returned_or_paid_act(world):
    act = act_of_school(ALATAU)
    _registry_catches_up(act)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"),
                  data={"decision": "return", "comment": "fix"})
    db.session.commit()
    before = _snapshot(act.id)
    with pytest.raises(DomainRefused):
        act_operations.verify(db.session.get(Act, act.id))
    db.session.rollback()
    assert _snapshot(act.id) == before


def test_payment_refused_when_the_act_moved_on(world):
    from app.payments.operations import register_payment

    act = act_of_school(ALATAU)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
    db.session.commit()
    act = db.session.get(Act, act.id)
    stale_version = act.lock_version
    db.session.execute(Act.__table__.update().where(Act.__table__.c.id == act.id)
                       .values(lock_version=stale_version + 1))  # someone else wrote the act meanwhile
    with pytest.raises(ConflictError):
        register_payment(act, "PP-STALE", clock.today(), user("operator"))
    db.session.rollback()
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).first() is None


def test_verify_audit_reports_an_act_verified_after_its_acceptance(app, world):
    from app.audit.operations import record_event

    act = act_of_school(ALATAU)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
    db.session.commit()
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["verify-audit"])
    assert clean.exit_code == 0, clean.output
    # What the unguarded pass used to write: a verification after the acceptance, hash-chained and all.
    record_event(f"instance:{act.instance_id}", "act.verified", "act", act.id, actor_id=None, details={})
    db.session.commit()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert f"act {act.id} verified after act.accepted" in result.output


def test_paying_an_act_paid_meanwhile_is_a_conflict_409_on_the_api_and_the_page(world, browser):
    """Two payers open the same act; the first one's payment commits between the second one's read and submit.
    The second is told the act is already paid with 409 Conflict (not 422: nothing they typed is wrong), and no
    second payment, audit event or status change is written."""
    from app.engine.errors import DomainConflict
    from app.payments.operations import register_payment

    act = act_of_school(ALATAU)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
    db.session.commit()
    task = open_task(act, "pay_act")
    register_payment(db.session.get(Act, act.id), "PP-FIRST", clock.today(), user("operator"))
    db.session.commit()
    paid_events = len([a for a, _ in _actions(act) if a == "act.paid"])

    api = browser("operator").post_json(f"/api/v1/tasks/{task.id}/complete",
                                        {"data": {"order_number": "PP-SECOND", "paid_on": clock.today().isoformat()}})
    assert api.status_code == 409
    assert api.get_json()["message"] == f"Act {act.number} has already been paid; a second payment is refused."
    page = browser("operator").post(f"/tasks/{task.id}", {"order_number": "PP-THIRD",
                                                          "paid_on": clock.today().isoformat()})
    assert page.status_code == 409
    assert "already been paid" in page.get_data(as_text=True)

    db.session.expire_all()
    assert [p.order_number for p in db.session.scalars(select(Payment).where(Payment.act_id == act.id))] == ["PP-FIRST"]
    assert len([a for a, _ in _actions(act) if a == "act.paid"]) == paid_events == 1
    with pytest.raises(DomainConflict):
        register_payment(db.session.get(Act, act.id), "PP-FOURTH", clock.today(), user("operator"))
    db.session.rollback()


def test_an_acceptance_from_a_page_opened_before_the_act_was_verified_again_is_refused(world, browser):
    """The page showed one amount; a month-wide pass re-priced the act meanwhile; "accept" from that page went
    through at an amount the official never saw. It is refused with the new amount, and accepted from the page
    that shows it."""
    import re

    act = act_of_school(ALATAU)
    official = browser("official_almaty")
    task_id = open_task(act, "accept_act").id
    page = official.get(f"/tasks/{task_id}").get_data(as_text=True)
    hidden = dict(re.findall(r'name="(_version|_seen)" value="(\d+)"', page))
    assert set(hidden) == {"_version", "_seen"}
    _registry_catches_up(act)
    run = start_month_verification(act.period, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    repriced = _snapshot(act.id)

    stale = official.post(f"/tasks/{task_id}", {"decision": "accept", **hidden})
    text = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "verified again after you opened this page" in text
    assert _snapshot(act.id) == repriced and db.session.get(Act, act.id).status == "verified"
    fresh = dict(re.findall(r'name="(_version|_seen)" value="(\d+)"', text))
    assert fresh["_seen"] != hidden["_seen"]
    assert official.post(f"/tasks/{task_id}", {"decision": "accept", **fresh}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "accepted"


def test_a_month_wide_check_is_recorded_as_the_systems_with_who_started_it(world):
    """A per-act verification is the system's; the month-wide one was recorded under the operator who started it
    ("Contingent verified · <operator>" in an act's history)."""
    act = act_of_school(ALATAU)
    operator = user("operator")
    run = start_month_verification(act.period, actor=operator, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                        AuditEvent.object_id == act.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert event.actor_id is None and event.details["requested_by"] == operator.id
    assert event.details["run"] == run.id


def test_the_api_accepts_only_the_act_as_read_when_it_says_what_it_read(world, browser):
    act = act_of_school(ALATAU)
    official = browser("official_almaty")
    read = official.get(f"/api/v1/acts/{act.id}").get_json()
    task_id = open_task(act, "accept_act").id
    _registry_catches_up(act)
    run = start_month_verification(act.period, actor=None, dispatch_job=False)
    db.session.commit()
    assert run_month_verification(run.id).status == "done"
    stale = official.post_json(f"/api/v1/tasks/{task_id}/complete",
                               {"data": {"decision": "accept"}, "seen": read["version"]})
    assert stale.status_code == 409 and "verified again" in stale.get_json()["message"]
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "verified"
    fresh = official.get(f"/api/v1/acts/{act.id}").get_json()
    assert fresh["version"] != read["version"]
    done = official.post_json(f"/api/v1/tasks/{task_id}/complete",
                              {"data": {"decision": "accept"}, "seen": fresh["version"]})
    assert done.status_code == 200, done.get_json()


def test_an_acceptance_that_does_not_say_which_version_it_read_is_refused(world, browser):
    """An API client (or a hand-made form) that accepted without ``seen`` accepted whatever the act had become."""
    act = act_of_school(ALATAU)
    task_id = open_task(act, "accept_act").id
    official = browser("official_almaty")
    api = official.post_json(f"/api/v1/tasks/{task_id}/complete", {"data": {"decision": "accept"}})
    assert api.status_code == 422 and '"seen"' in api.get_json()["message"]
    page = official.post(f"/tasks/{task_id}", {"decision": "accept"})
    assert page.status_code == 422 and "seen" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "verified"
    returned = official.post_json(f"/api/v1/tasks/{task_id}/complete",
                                  {"data": {"decision": "return", "comment": "returning needs no version"}})
    assert returned.status_code == 200, returned.get_data(as_text=True)
