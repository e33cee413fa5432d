"""The acceptance SLA (boundary timer → department head notified, task overdue) and the contract's cap."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from app.acts.models import Act
from app.acts.operations import prefill_lines
from app.contracts.models import ActEscalation, Contract
from app.contracts.sla import add_working_days, is_overdue
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import gather_files, publish_version
from app.engine.runtime import complete_task, fire_due_timers
from app.extensions import db
from app.orders.models import StateOrder
from app.payments.models import Payment
from tests.helpers import school, user
from tests.lifecycle.flow import active_contract, open_task_of, place_order

BILIM = ("Bilim Innovation School", "accountant", "director", "KZ15LAA00001234")


def _september_act_verified(frozen, browser) -> tuple[Contract, Act]:
    order = place_order(browser("official"))
    contract = active_contract(browser, order, *BILIM)
    frozen.at = datetime(2027, 10, 1, 3, 0, tzinfo=UTC)  # a Friday, 08:00 in Astana
    fire_due_timers()
    act = db.session.scalars(select(Act).where(Act.school_id == school(BILIM[0]).id,
                                               Act.period == date(2027, 9, 1))).one()
    complete_task(open_task_of(act.instance_id, "submit_act").id, user("accountant"),
                  data={"lines": prefill_lines(act)})
    db.session.commit()
    return contract, act


def test_an_act_waiting_past_five_working_days_notifies_the_head_and_can_still_be_accepted(frozen, browser):
    contract, act = _september_act_verified(frozen, browser)
    accept = open_task_of(act.instance_id, "accept_act")
    due = accept.due_at if accept.due_at.tzinfo else accept.due_at.replace(tzinfo=UTC)
    assert due == datetime(2027, 10, 8, 3, 0, tzinfo=UTC), "5 working days: the weekend does not count"

    frozen.at = datetime(2027, 10, 8, 2, 59, tzinfo=UTC)
    fire_due_timers()
    assert db.session.scalars(select(ActEscalation).where(ActEscalation.act_id == act.id)).all() == []
    assert not is_overdue(open_task_of(act.instance_id, "accept_act"))

    frozen.at = datetime(2027, 10, 8, 3, 1, tzinfo=UTC)
    fire_due_timers()
    escalation = db.session.scalars(select(ActEscalation).where(ActEscalation.act_id == act.id)).one()
    assert escalation.notified_user_ids == str(user("head").id)
    accept = open_task_of(act.instance_id, "accept_act")
    assert accept.details["overdue"] is True and is_overdue(accept)
    try:
        from app.notifications.models import Notification
    except ImportError:  # pragma: no cover - notifications are another package's
        Notification = None
    if Notification is not None:
        notes = db.session.scalars(select(Notification).where(Notification.user_id == user("head").id,
                                                              Notification.task_id == accept.id)).all()
        assert len(notes) == 1, "the head is notified once"
    inbox = browser("official").get("/inbox").get_data(as_text=True)
    row = inbox[inbox.index(f'data-task-id="{accept.id}"'):]
    assert 'data-sla="overdue"' in row[:row.index("</tr>")], "the inbox shows the act as overdue"
    head_page = browser("head").get("/contracts").get_data(as_text=True)
    assert 'id="escalations"' in head_page and act.number in head_page
    history = browser("official").get(f"/instances/{act.instance_id}").get_data(as_text=True)
    assert "Acceptance overdue: department head notified" in history

    # A later tick does not notify again; the official can still accept, and the operator pays.
    frozen.at = datetime(2027, 10, 12, 3, 0, tzinfo=UTC)
    fire_due_timers()
    assert len(db.session.scalars(select(ActEscalation).where(ActEscalation.act_id == act.id)).all()) == 1
    complete_task(accept.id, user("official"), data={"decision": "accept"})
    db.session.commit()
    pay = open_task_of(act.instance_id, "pay_act")
    page = browser("operator").get(f"/tasks/{pay.id}").get_data(as_text=True)
    assert 'id="act-contract"' in page and contract.number in page, "the payment page shows the contract's cap"
    complete_task(pay.id, user("operator"), data={"order_number": "PP-SLA-1", "paid_on": "2027-10-12"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "paid"
    assert db.session.get(ProcessInstance, act.instance_id).status == "completed"
    page = browser("accountant").get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="act-contract"' in page and "PP-SLA-1" in page
    timeline = page[page.index('id="history"'):]
    for text in ("Act submitted", "Acceptance overdue: department head notified", "Act accepted", "Payment registered"):
        assert text in timeline, text


def test_the_deadline_is_configurable_in_working_days(frozen, browser, app):
    friday = datetime(2027, 10, 1, 3, 0, tzinfo=UTC)
    assert add_working_days(friday, 5) == datetime(2027, 10, 8, 3, 0, tzinfo=UTC)
    assert add_working_days(friday, 1) == datetime(2027, 10, 4, 3, 0, tzinfo=UTC)
    # 16 December (Independence Day) is not a working day: Tuesday + 2 → Friday.
    assert add_working_days(datetime(2027, 12, 14, 3, 0, tzinfo=UTC), 2) == datetime(2027, 12, 17, 3, 0, tzinfo=UTC)
    app.config["SLA_ACCEPT_WORKING_DAYS"] = 2
    try:
        _contract, act = _september_act_verified(frozen, browser)
        accept = open_task_of(act.instance_id, "accept_act")
        due = accept.due_at if accept.due_at.tzinfo else accept.due_at.replace(tzinfo=UTC)
        assert due == datetime(2027, 10, 5, 3, 0, tzinfo=UTC)
        frozen.at = datetime(2027, 10, 5, 3, 1, tzinfo=UTC)
        fire_due_timers()
        assert len(db.session.scalars(select(ActEscalation).where(ActEscalation.act_id == act.id)).all()) == 1
    finally:
        app.config.pop("SLA_ACCEPT_WORKING_DAYS", None)


def test_a_process_variable_overrides_the_configured_deadline(frozen):
    from app.contracts.sla import acceptance_deadline

    friday = datetime(2027, 10, 1, 3, 0, tzinfo=UTC)
    frozen.at = friday
    assert acceptance_deadline(SimpleNamespace(task_data={"sla_working_days": 1}))["due"] == \
        datetime(2027, 10, 4, 3, 0, tzinfo=UTC).isoformat()
    assert acceptance_deadline(SimpleNamespace(task_data={}))["working_days"] == 5


def test_a_deadline_beyond_a_year_of_working_days_is_refused_at_once(frozen):
    """The deadline is counted a day at a time: a process owner's 10**9 held the step for seconds and ended in a
    date overflow; now it is refused with the reason (the step's incident says it), and a year still works."""
    import pytest

    from app.contracts.sla import MAX_SLA_WORKING_DAYS, acceptance_deadline

    frozen.at = datetime(2027, 10, 1, 3, 0, tzinfo=UTC)
    assert acceptance_deadline(SimpleNamespace(task_data={"sla_working_days": MAX_SLA_WORKING_DAYS}))["working_days"] \
        == MAX_SLA_WORKING_DAYS
    with pytest.raises(ValueError, match="at most 260 working days"):
        acceptance_deadline(SimpleNamespace(task_data={"sla_working_days": 10**9}))
    assert acceptance_deadline(SimpleNamespace(task_data={"sla_working_days": True}))["working_days"] == 5


def test_a_payment_beyond_the_contracts_cap_is_refused(frozen, browser):
    contract, act = _september_act_verified(frozen, browser)
    complete_task(open_task_of(act.instance_id, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    contract = db.session.get(Contract, contract.id)
    contract.monthly_cap_tiyn = act.amount_tiyn - 1  # e.g. an amendment lowered the cap after acceptance
    db.session.commit()
    operator = browser("operator")
    pay = open_task_of(act.instance_id, "pay_act")
    response = operator.post(f"/tasks/{pay.id}", {"order_number": "PP-CAP-1", "paid_on": "2027-10-05"})
    assert response.status_code == 422 and "exceeds the contract" in response.get_data(as_text=True)
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all() == []
    assert open_task_of(act.instance_id, "pay_act").id == pay.id, "the task stays open; nothing half-written"


def test_process_owners_change_the_norms_in_the_decision_table(frozen, browser, app):
    bpmn_dir, forms_dir = Path(app.config["BPMN_DIR"]), Path(app.config["FORMS_DIR"])
    files = gather_files(bpmn_dir / "state_order.bpmn", forms_dir)
    files["student_norms.dmn"] = files["student_norms.dmn"].replace("<text>3850000</text>", "<text>4000000</text>")
    version, created = publish_version(files, actor=user("owner"))
    db.session.commit()
    assert created and version.number == 2
    order = place_order(browser("official_almaty"))
    assert order.norm("primary", "urban") == 4_000_000
    assert order.norm("basic", "urban") == 4_230_000
    assert db.session.get(ProcessInstance, order.instance_id).model_version_id == version.id
    assert isinstance(order, StateOrder) and order.status == "open"
    assert db.session.scalars(select(HumanTask).where(HumanTask.instance_id == order.instance_id)).all() == []

    # A table that lacks a norm fails the step with the reason, and no order is placed.
    import re

    files["student_norms.dmn"] = re.sub(r'<rule id="rule_6">.*?</rule>', "", files["student_norms.dmn"], flags=re.S)
    publish_version(files, actor=user("owner"))
    db.session.commit()
    response = browser("official").post("/orders/new", {"academic_year": "2027/2028", "budget": "1000000",
                                                        "window_opens": "2027-06-01", "window_closes": "2027-08-15"})
    assert response.status_code == 422 and "no norm for secondary/rural" in response.get_data(as_text=True)
    assert db.session.scalars(select(StateOrder).where(StateOrder.region_id == school(BILIM[0]).region_id,
                                                       StateOrder.academic_year == "2027/2028")).all() == []
