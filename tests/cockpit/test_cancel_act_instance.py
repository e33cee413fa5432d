"""An act's process cannot be cancelled while the act is not paid: only the process takes an act on (accept,
pay), so a cancelled process would strand the act in its state — and the school could not submit that month
again. Found by a tester: act 12 stayed "verified, awaiting acceptance" with no task, for good."""

from __future__ import annotations

from sqlalchemy import func, select

from app.acts.models import Act
from app.audit.models import AuditEvent
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import complete_task
from app.extensions import db
from tests.cockpit.conftest import confirmed
from tests.helpers import act_of_school, open_task, user


def _events(instance_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.chain == f"instance:{instance_id}"))


def test_cancelling_the_process_of_an_open_act_is_refused_and_changes_nothing(world, browser):
    act = act_of_school("Alatau Lyceum")  # verified in the seed, waiting for the department
    events = _events(act.instance_id)
    response = browser("operator").post(f"/instances/{act.instance_id}/cancel", confirmed("stuck?"),
                                        follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"This process carries act {act.number} (verified, awaiting acceptance)" in page
    db.session.expire_all()
    assert db.session.get(ProcessInstance, act.instance_id).status == "running"
    assert db.session.get(Act, act.id).status == "verified"
    assert open_task(act, "accept_act").status == "open"
    assert _events(act.instance_id) == events


def test_an_accepted_act_awaiting_payment_keeps_its_process_too(world, browser):
    act = act_of_school("Alatau Lyceum")
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
    db.session.commit()
    response = browser("operator").post(f"/instances/{act.instance_id}/cancel", confirmed(), follow_redirects=True)
    assert "(accepted, awaiting payment)" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ProcessInstance, act.instance_id).status == "running"
    assert db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == act.instance_id, HumanTask.status == "cancelled")) == 0


def test_the_processes_of_an_open_order_and_an_active_contract_are_not_cancelled(world, browser):
    """Cancelled, the Shymkent order stayed open for applications (a school applied to it afterwards) and the
    contract stayed "in force" with no monthly act ever opened again."""
    from app.contracts.models import Contract
    from app.orders.models import StateOrder

    operator = browser("admin")
    order = db.session.scalars(select(StateOrder).where(StateOrder.status == "open",
                                                        StateOrder.instance_id.is_not(None))).first()
    contract = db.session.scalars(select(Contract).where(Contract.status == "active",
                                                         Contract.instance_id.is_not(None))).first()
    for instance_id, said in ((order.instance_id, f"This process carries state order {order.number}"),
                              (contract.instance_id, f"This process carries contract {contract.number}")):
        events = _events(instance_id)
        page = operator.post(f"/instances/{instance_id}/cancel", confirmed("stuck?"), follow_redirects=True)
        assert said in page.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(ProcessInstance, instance_id).status != "cancelled"
        assert _events(instance_id) == events
