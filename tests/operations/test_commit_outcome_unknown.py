"""The connection to the database breaks exactly at COMMIT: the server may have stored the change or not, and the
client cannot tell. The page (and a command) said "Nothing was saved" — an operator told a payment was not saved
pays again. When the failure comes after the commit was sent, the answer says the outcome is unknown and to reload;
a failure before it still says plainly that nothing was saved."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app import clock
from app.acts.models import Act
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import act_of_school, open_task, submitted_and_accepted

UNKNOWN = "saved is unknown"


def _dropped() -> OperationalError:
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"),
                            connection_invalidated=True)


@pytest.fixture()
def paying(world, app_ctx, browser, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "PROPAGATE_EXCEPTIONS", False)  # the person's page, not the test's traceback
    act_id = submitted_and_accepted(act_of_school("Bilim Innovation School"))
    operator = browser("operator")
    task_id = open_task(db.session.get(Act, act_id), "pay_act").id
    operator.get(f"/tasks/{task_id}")

    def pay():
        return operator.post(f"/tasks/{task_id}", {"order_number": "PP-1", "paid_on": clock.today().isoformat()})

    return act_id, pay


def test_a_connection_lost_after_the_commit_was_sent_says_the_outcome_is_unknown(paying, monkeypatch):
    act_id, pay = paying
    real_commit, faults = Session.commit, []

    def commit_then_lose_the_answer(session):
        real_commit(session)  # the server stored it ...
        if not faults and db.session.scalar(select(Payment.id).where(Payment.act_id == act_id)):
            faults.append(1)
            raise _dropped()  # ... and the acknowledgement never came back

    monkeypatch.setattr(Session, "commit", commit_then_lose_the_answer)
    page = pay()
    monkeypatch.setattr(Session, "commit", real_commit)
    assert faults and page.status_code == 500
    text = page.get_data(as_text=True)
    assert UNKNOWN in text and "reload the page" in text.lower()
    assert "Nothing was saved" not in text, "the payment was saved: told otherwise, the operator pays twice"
    assert db.session.scalars(select(Payment.order_number).where(Payment.act_id == act_id)).all() == ["PP-1"]


def test_a_connection_lost_before_the_commit_still_says_nothing_was_saved(paying, monkeypatch):
    act_id, pay = paying

    def lose_it(session):
        if any(isinstance(o, Payment) for o in session.new):  # the payment's request, not the test's own session
            raise _dropped()

    event.listen(Session, "before_commit", lose_it)
    try:
        page = pay()
    finally:
        event.remove(Session, "before_commit", lose_it)
    text = page.get_data(as_text=True)
    assert page.status_code == 500 and "Nothing was saved" in text and UNKNOWN not in text
    db.session.rollback()
    assert db.session.scalars(select(Payment).where(Payment.act_id == act_id)).all() == []


def test_a_command_whose_commit_is_cut_says_the_outcome_is_unknown_not_a_traceback(app_ctx, monkeypatch):
    real_commit = Session.commit

    def commit_then_lose_the_answer(session):
        real_commit(session)
        raise _dropped()

    monkeypatch.setattr(Session, "commit", commit_then_lose_the_answer)
    result = app_ctx.test_cli_runner().invoke(args=["notify-sla"])
    monkeypatch.setattr(Session, "commit", real_commit)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert UNKNOWN in result.output
