"""PostgreSQL drops the web request's connection (pg_terminate_backend from a second connection, as a server restart
does) while the operator pays an act, just before the payment commits: nothing of it is stored, the operator is told
nothing was saved, and paying again — on a fresh connection — pays the act exactly once."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text

from app import clock
from app.acts.models import Act
from app.audit.operations import verify_all_chains
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import act_of_school, open_task, submitted_and_accepted


@pytest.fixture()
def accepted_act(world):
    return submitted_and_accepted(act_of_school("Bilim Innovation School"))


def test_a_connection_killed_as_the_payment_commits_stores_nothing_and_paying_again_pays_once(
        accepted_act, app_ctx, browser, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "PROPAGATE_EXCEPTIONS", False)  # the person's page, not the test's traceback
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL (DATABASE_URL)")
    operator = browser("operator")
    task_id = open_task(db.session.get(Act, accepted_act), "pay_act").id
    operator.get(f"/tasks/{task_id}")
    killed = []

    def kill_my_backend(session):
        if killed or not any(isinstance(o, Payment) for o in session.new):
            return
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        with db.engine.connect() as other:  # a second connection does it, as an administrator or a restart would
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killed.append(pid)

    event.listen(db.session, "before_commit", kill_my_backend)
    try:
        first = operator.post(f"/tasks/{task_id}", {"order_number": "PP-LOST", "paid_on": clock.today().isoformat()})
    finally:
        event.remove(db.session, "before_commit", kill_my_backend)
    assert killed, "the payment's connection was killed"
    assert first.status_code >= 500 and "Nothing was saved" in first.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalars(select(Payment).where(Payment.act_id == accepted_act)).all() == []

    task_id = open_task(db.session.get(Act, accepted_act), "pay_act").id  # still open: the step did not happen
    again = operator.post(f"/tasks/{task_id}", {"order_number": "PP-AGAIN", "paid_on": clock.today().isoformat()})
    assert again.status_code == 302
    payments = db.session.scalars(select(Payment).where(Payment.act_id == accepted_act)).all()
    assert [p.order_number for p in payments] == ["PP-AGAIN"]
    assert verify_all_chains()[1] == []
