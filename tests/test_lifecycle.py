"""A monthly act travels from school to payment through the pages, as each role would do it."""

from __future__ import annotations

import re

from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.engine.models import ProcessInstance
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import act_of_school, lines_form, open_task, seen, user

SCHOOL_A = "Bilim Innovation School"


def _prefilled_lines(page: str) -> list[dict]:
    rows: dict[int, dict] = {}
    for name, value in re.findall(r'name="lines\.(\d+\.\w+)"\s+type="\w+"\s+value="([^"]*)"', page):
        index, key = name.split(".")
        if value:
            rows.setdefault(int(index), {})[key] = value
    return [rows[i] for i in sorted(rows)]


def test_act_is_submitted_verified_returned_corrected_accepted_and_paid_once(world, browser):
    act = act_of_school(SCHOOL_A)
    accountant = browser("accountant")

    inbox = accountant.get("/inbox").get_data(as_text=True)
    submit = open_task(act, "submit_act")
    assert f"/tasks/{submit.id}" in inbox and "Submit monthly act" in inbox

    page = accountant.get(f"/tasks/{submit.id}").get_data(as_text=True)
    # The form says how to remove a student and what pays (testers missed both).
    assert "to remove a student, clear the row" in page and "Payment follows the days" in page
    lines = _prefilled_lines(page)
    assert len(lines) == 36, "the act is prefilled with the school's NEDB contingent"
    # The accountant adds a child who is not in NEDB at all (a phantom) before submitting.
    phantom = {"iin": "791028302728", "full_name": "Фантом Тест", "grade": "3", "days_attended": "20"}
    response = accountant.post(f"/tasks/{submit.id}", lines_form([*lines, phantom], note="October"))
    assert response.status_code == 302
    # Where the work went: the step the submission opened, and for whom.
    inbox = accountant.get("/inbox").get_data(as_text=True)
    assert "Next: Accept act — Department official." in inbox, re.findall(r'role="alert">([^<]*)', inbox)

    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.status == "verified"
    assert (act.total_lines, act.accepted_lines) == (37, 36)
    excluded = [ln for ln in act.lines if ln.outcome == "excluded"]
    assert [(ln.iin, ln.rule_code) for ln in excluded] == [("791028302728", "not_in_nedb")]
    assert act.amount_tiyn == sum(ln.amount_tiyn for ln in act.lines) > 0
    done = accountant.get(f"/tasks/{submit.id}").get_data(as_text=True)
    assert 'id="task-done"' in done, "the completed step says who completed it"
    assert 'id="claim-state"' not in done and "Due</span>" not in done and ">Due: <" not in done, \
        "a finished step is neither due nor waiting to be claimed"
    # The registries' check is the system's: the accountant's submission set it off, but did not verify.
    verified = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.verified",
                                                           AuditEvent.object_id == act.id)).one()
    assert verified.actor_id is None and verified.details["requested_by"] == user("accountant").id

    official = browser("official")
    accept = open_task(act, "accept_act")
    assert f"/tasks/{accept.id}" in official.get("/inbox").get_data(as_text=True)
    page = official.get(f"/tasks/{accept.id}").get_data(as_text=True)
    assert "Verification report" in page and "791028302728" in page and "national education database" in page

    response = official.post(f"/tasks/{accept.id}", {"decision": "return", "comment": "Remove the phantom line"})
    assert response.status_code == 302
    # The confirmation names the decision: "Done: Accept act." after a return read as an acceptance.
    assert "Done: Accept act — Return for correction." in official.get("/inbox").get_data(as_text=True)

    resubmit = open_task(act, "submit_act")
    page = accountant.get(f"/tasks/{resubmit.id}").get_data(as_text=True)
    assert "Remove the phantom line" in page
    corrected = [ln for ln in _prefilled_lines(page) if ln["iin"] != "791028302728"]
    assert len(corrected) == 36
    assert accountant.post(f"/tasks/{resubmit.id}", lines_form(corrected)).status_code == 302

    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert (act.status, act.revision, act.total_lines, act.accepted_lines) == ("verified", 2, 36, 36)

    accept = open_task(act, "accept_act")
    assert official.post(f"/tasks/{accept.id}", {"decision": "accept", "_seen": seen(accept)}).status_code == 302

    operator = browser("operator")
    pay = open_task(act, "pay_act")
    assert f"/tasks/{pay.id}" in operator.get("/inbox").get_data(as_text=True)
    response = operator.post(f"/tasks/{pay.id}", {"order_number": "PP-2026-001", "paid_on": clock.today().isoformat()})
    assert response.status_code == 302

    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.status == "paid"
    payments = db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all()
    assert len(payments) == 1 and payments[0].amount_tiyn == act.amount_tiyn
    instance = db.session.get(ProcessInstance, act.instance_id)
    assert instance.status == "completed"

    # The completed pay task cannot be submitted a second time.
    again = operator.post(f"/tasks/{pay.id}", {"order_number": "PP-2026-002", "paid_on": clock.today().isoformat()})
    assert again.status_code == 409
    assert len(db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all()) == 1

    # Anyone allowed sees the instance page: status, and who did what and when.
    page = official.get(f"/instances/{instance.id}").get_data(as_text=True)
    for text in ("Act submitted", "Act returned for correction", "Act accepted", "Payment registered",
                 "Process completed", "Гүлнар Сейтқали", "Ержан Қалиев", "Әсем Төлеуова"):
        assert text in page, text
    chains, problems = verify_all_chains()
    assert chains >= 4 and problems == []


def test_second_payment_of_the_same_act_is_refused_with_a_clear_message(world):
    from app.engine.errors import DomainRefused
    from app.payments.operations import register_payment
    from tests.helpers import user

    act = act_of_school("Alatau Lyceum")  # verified in the seed
    act.status = "accepted"

    register_payment(act, "PP-1", clock.today(), user("operator"))
    db.session.commit()
    try:
        register_payment(act, "PP-2", clock.today(), user("operator"))
    except DomainRefused as err:
        assert "already been paid" in str(err)
    else:
        raise AssertionError("a second payment was accepted")
    db.session.rollback()
    assert len(db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all()) == 1


def test_database_refuses_a_second_payment_row_even_without_the_application_check(world):
    from datetime import UTC, date, datetime

    import pytest
    from sqlalchemy.exc import IntegrityError

    from tests.helpers import user

    act = act_of_school("Alatau Lyceum")
    operator = user("operator")
    db.session.add(Payment(act_id=act.id, order_number="A1", paid_on=date(2026, 11, 1), amount_tiyn=1,
                           registered_by_id=operator.id, registered_at=datetime.now(UTC)))
    db.session.commit()
    db.session.add(Payment(act_id=act.id, order_number="A2", paid_on=date(2026, 11, 1), amount_tiyn=1,
                           registered_by_id=operator.id, registered_at=datetime.now(UTC)))
    with pytest.raises(IntegrityError):
        db.session.commit()
