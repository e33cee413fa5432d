"""Scale-out mode: the month-wide verification on a real Celery worker (Redis broker, db 10) leaves an act the
department accepted after the job listed the month exactly as accepted — the guard is in the database, so the
thread and Celery modes behave the same."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

import app.reports.operations as report_operations
from app.acts.models import Act, ActLine
from app.engine.runtime import complete_task
from app.extensions import db
from app.reports.models import VerificationRun
from app.reports.operations import start_month_verification
from tests.helpers import act_of_school, celery_worker_on, open_task, user
from tests.money.test_accepted_is_final import ALATAU, _assert_audit_order, _registry_catches_up

BROKER = "redis://127.0.0.1:6379/10"


@pytest.fixture()
def celery_worker(app_ctx):
    with celery_worker_on(app_ctx, BROKER) as celery:
        yield celery


def test_celery_pass_leaves_an_act_accepted_meanwhile_alone(app, world, celery_worker, monkeypatch):
    act = act_of_school(ALATAU)
    _registry_catches_up(act)
    act_id, task_id = act.id, open_task(act, "accept_act").id
    lines_before = db.session.execute(select(ActLine.outcome, ActLine.amount_tiyn).where(ActLine.act_id == act_id)
                                      .order_by(ActLine.line_no)).all()
    amount_before = act.amount_tiyn
    real_claim = report_operations.claim_for_verification

    def accept_then_claim(act_ids):
        # On the worker, after the month was listed and before the chunk is claimed: the official accepts.
        def accept():
            with app.app_context():
                complete_task(task_id, user("official_almaty"), data={"decision": "accept"})
                db.session.commit()
                db.session.remove()

        thread = threading.Thread(target=accept)
        thread.start()
        thread.join()
        return real_claim(act_ids)

    monkeypatch.setattr(report_operations, "claim_for_verification", accept_then_claim)
    run_id = start_month_verification(act.period, actor=None).id  # dispatched to the worker, committed
    deadline = time.monotonic() + 60  # a guard against hanging, not a timing assertion
    while True:
        db.session.expire_all()
        run = db.session.get(VerificationRun, run_id)
        if run.status in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert run.status == "done", run.message
    db.session.expire_all()
    act = db.session.get(Act, act_id)
    assert act.status == "accepted" and act.amount_tiyn == amount_before
    assert db.session.execute(select(ActLine.outcome, ActLine.amount_tiyn).where(ActLine.act_id == act_id)
                              .order_by(ActLine.line_no)).all() == lines_before
    _assert_audit_order(act)
