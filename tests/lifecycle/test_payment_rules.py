"""Paying an act: exactly once, only when accepted, within the contract's monthly AND annual caps.

Issue 17: dropping the annual cap from the payment check let every test pass. Each rule here is checked on
both sides of its boundary, so an off-by-one or a dropped condition fails a test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.contracts.handlers import within_contract_cap
from app.contracts.models import Contract
from app.engine.errors import DomainRefused
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from tests.helpers import act_of_school, user
from tests.lifecycle.test_sla_and_payment import _september_act_verified

PAID_ON = date(2027, 10, 5)


@pytest.fixture(autouse=True)
def _october_2027():
    """Payments are registered in the month they are paid (a date far ahead of today is refused)."""
    with clock.FrozenClock(datetime(2027, 10, 5, 6, 30, tzinfo=UTC)):
        yield


def _payments(act: Act) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.act_id == act.id)))


def _accepted_act_without_contract(world) -> Act:
    """A demo-world act (not opened under a contract) that the department has accepted."""
    act = act_of_school("Bilim Innovation School")
    act.status = "accepted"
    act.amount_tiyn = 12_345_600
    db.session.commit()
    return act


# ------------------------------------------------------------------------------------------------
# register_payment: once, only accepted acts, the act's exact amount, audited


def test_an_accepted_act_is_paid_once_with_its_exact_amount_and_an_audit_event(world):
    act = _accepted_act_without_contract(world)
    operator = user("operator")
    at = datetime(2027, 10, 5, 6, 30, tzinfo=UTC)
    with clock.FrozenClock(at):
        payment = register_payment(act, "PP-0001", PAID_ON, operator)
    db.session.commit()

    assert [p.id for p in _payments(act)] == [payment.id]
    assert (payment.act_id, payment.order_number, payment.paid_on, payment.amount_tiyn) == (
        act.id, "PP-0001", PAID_ON, 12_345_600)
    assert payment.registered_by_id == operator.id
    assert payment.registered_at.replace(tzinfo=UTC) == at
    assert act.status == "paid"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")).one()
    assert (event.chain, event.object_type, event.object_id, event.actor_id) == (
        f"instance:{act.instance_id}", "payment", payment.id, operator.id)
    assert event.details == {"act": act.number, "order_number": "PP-0001", "paid_on": "2027-10-05",
                             "amount_tiyn": 12_345_600, "iban": act.school.iban}


def test_a_second_payment_of_the_same_act_is_refused_and_nothing_is_written(world):
    act = _accepted_act_without_contract(world)
    register_payment(act, "PP-0001", PAID_ON, user("operator"))
    db.session.commit()
    with pytest.raises(DomainRefused) as info:
        register_payment(act, "PP-0002", PAID_ON, user("operator"))
    assert str(info.value) == f"Act {act.number} has already been paid; a second payment is refused."
    db.session.rollback()
    assert [p.order_number for p in _payments(act)] == ["PP-0001"]


@pytest.mark.parametrize("status", ["draft", "submitted", "verified", "returned"])
def test_only_an_accepted_act_can_be_paid(world, status):
    act = _accepted_act_without_contract(world)
    act.status = status
    db.session.commit()
    with pytest.raises(DomainRefused, match="^Only an accepted act can be paid.$"):
        register_payment(act, "PP-0001", PAID_ON, user("operator"))
    db.session.rollback()
    assert _payments(act) == []
    assert db.session.get(Act, act.id).status == status


def test_a_payment_order_number_is_used_once(world):
    act = _accepted_act_without_contract(world)
    other = act_of_school("Nur Private School")
    other.status = "accepted"
    db.session.commit()
    register_payment(act, "PP-0001", PAID_ON, user("operator"))
    db.session.commit()
    with pytest.raises(DomainRefused, match=f"Payment order PP-0001 is already registered for act {act.number};"):
        register_payment(other, "PP-0001", PAID_ON, user("operator"))
    db.session.rollback()
    # The same payment order typed in lower case is the same order (it had paid a second act with one transfer).
    with pytest.raises(DomainRefused, match=f"Payment order PP-0001 is already registered for act {act.number};"):
        register_payment(other, "pp-0001", PAID_ON, user("operator"))
    db.session.rollback()
    assert _payments(other) == []
    assert db.session.get(Act, other.id).status == "accepted"
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")).all() != []
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")).all()) == 1


def test_losing_the_race_to_the_same_payment_order_is_a_conflict_not_a_wrong_number(world, monkeypatch):
    """Six identical payments at once: a loser read "not paid yet", then met the winner's order number and was told
    (422) to enter this act's own payment order — of this very act. It lost a race: 409."""
    from app.engine.errors import DomainConflict
    from app.payments import operations

    act = _accepted_act_without_contract(world)
    winner = Payment(act_id=act.id, order_number="PP-RACE", paid_on=PAID_ON, amount_tiyn=act.amount_tiyn,
                     registered_by_id=user("operator").id, registered_at=clock.now())
    db.session.add(winner)
    db.session.flush()
    with pytest.raises(DomainConflict, match="has already been paid"):
        operations._check_order_number_unused(act, "PP-RACE", user("operator"))
    db.session.rollback()


def test_the_payment_that_loses_the_race_on_the_act_is_told_which_payment_won(world, monkeypatch):
    """Both read "accepted, not paid"; the winner committed first. The loser's guarded write changed nothing and it
    read "changed by someone else, for example re-verified" — it was paid, by that order."""
    from app.engine.errors import DomainConflict
    from app.payments import operations

    act = _accepted_act_without_contract(world)
    real = operations.guarded_write

    def the_other_payment_commits_first(target, statuses, **values):
        db.session.add(Payment(act_id=target.id, order_number="PP-WON", paid_on=PAID_ON,
                               amount_tiyn=target.amount_tiyn, registered_by_id=user("operator").id,
                               registered_at=clock.now()))
        db.session.execute(update(Act).where(Act.id == target.id).values(status="paid"))
        return real(target, statuses, **values)

    monkeypatch.setattr(operations, "guarded_write", the_other_payment_commits_first)
    with pytest.raises(DomainConflict, match=f"Act {act.number} was paid meanwhile: payment order PP-WON, "
                                             f"registered by {user('operator').full_name}"):
        operations.register_payment(act, "PP-LOST", PAID_ON, user("operator"))
    db.session.rollback()


# ------------------------------------------------------------------------------------------------
# The contract's caps (app/contracts/handlers.py: within_contract_cap), each at its boundary


def _accepted_contract_act(frozen, browser) -> tuple[Contract, Act]:
    from app.engine.runtime import complete_task
    from tests.lifecycle.flow import open_task_of

    contract, act = _september_act_verified(frozen, browser)
    complete_task(open_task_of(act.instance_id, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    act = db.session.get(Act, act.id)
    assert act.status == "accepted" and act.amount_tiyn > 0
    return db.session.get(Contract, contract.id), act


def test_contract_caps_at_their_boundaries(frozen, browser):
    contract, act = _accepted_contract_act(frozen, browser)
    amount = act.amount_tiyn
    monthly, annual = contract.monthly_cap_tiyn, contract.amount_cap_tiyn
    assert monthly >= amount and annual >= amount

    # The annual cap alone: the monthly cap allows the act, the contract's total does not (by one tiyn).
    contract.amount_cap_tiyn = amount - 1
    with pytest.raises(DomainRefused, match="would exceed the contract's amount cap"):
        within_contract_cap(act)
    with pytest.raises(DomainRefused, match="would exceed the contract's amount cap"):
        register_payment(act, "PP-CAP-1", PAID_ON, user("operator"))
    db.session.rollback()
    assert _payments(act) == []

    # Exactly at the annual cap: allowed.
    contract = db.session.get(Contract, contract.id)
    contract.amount_cap_tiyn = amount
    within_contract_cap(act)

    # The monthly cap, one tiyn short and exactly met.
    contract.amount_cap_tiyn = annual
    contract.monthly_cap_tiyn = amount - 1
    with pytest.raises(DomainRefused, match="exceeds the contract's monthly cap"):
        within_contract_cap(act)
    contract.monthly_cap_tiyn = amount
    within_contract_cap(act)
    # A top-up of an earlier month carried by the act belongs to that month's cap (kept within it when settled):
    # it does not count against this month's, so an accepted act at its cap stays payable.
    act.adjustment_tiyn, act.amount_tiyn = 500_00, amount + 500_00
    within_contract_cap(act)
    act.adjustment_tiyn, act.amount_tiyn = 500_00, amount + 500_00 + 1
    with pytest.raises(DomainRefused, match="exceeds the contract's monthly cap"):
        within_contract_cap(act)
    db.session.rollback()


def test_the_annual_cap_counts_what_was_already_paid_under_the_contract(frozen, browser):
    contract, act = _accepted_contract_act(frozen, browser)
    amount = act.amount_tiyn
    register_payment(act, "PP-SEPT", PAID_ON, user("operator"))
    db.session.commit()
    assert [p.amount_tiyn for p in _payments(act)] == [amount]

    # The cap check of a further act of the same amount under this contract (the same act row stands in
    # for it: the check reads only its contract link and amount): already paid + this act vs. the cap.
    contract.amount_cap_tiyn = 2 * amount - 1
    with pytest.raises(DomainRefused, match="would exceed the contract's amount cap"):
        within_contract_cap(act)
    contract.amount_cap_tiyn = 2 * amount
    within_contract_cap(act)
    db.session.rollback()


def test_the_pay_task_handler_shows_the_act_and_registers_the_payment(world):
    from types import SimpleNamespace

    from app.engine.handlers import TaskContext
    from app.payments.handlers import PayAct

    act = _accepted_act_without_contract(world)
    instance = SimpleNamespace(subject_type="act", subject_id=act.id)
    ctx = TaskContext(instance=instance, human_task=None, actor=user("operator"))
    handler = PayAct()
    assert handler.template == "payments/_pay_panel.html"
    assert handler.context(ctx) == {"act": act, "payee_iban": act.school.iban, "account_change": None,
                                     "payee_problem": None}
    result = handler.submit(ctx, {"order_number": "PP-0042", "paid_on": "2027-10-05"})
    (payment,) = _payments(act)
    assert result == {"payment_id": payment.id}
    assert (payment.order_number, payment.paid_on, payment.registered_by_id) == ("PP-0042", PAID_ON,
                                                                                  user("operator").id)


def test_payment_checks_register_in_order_and_the_contract_cap_is_one_of_them():
    from app.payments import operations

    def check(act):
        raise AssertionError("not called here")

    try:
        assert operations.register_payment_check(check) is check
        assert operations.PAYMENT_CHECKS[-1] is check
    finally:
        operations.PAYMENT_CHECKS.remove(check)
    assert within_contract_cap in operations.PAYMENT_CHECKS


def test_an_act_under_contract_is_paid_to_the_iban_the_contract_names(frozen, browser):
    """The pay page named the organisation's IBAN as it is now: an administrator's edit after signing sent the
    operator to an account the contract never named, and the payment's record kept no account at all."""
    from app.people.models import Organisation
    from tests.lifecycle.flow import open_task_of

    contract, act = _accepted_contract_act(frozen, browser)
    signed = contract.iban
    school = db.session.get(Organisation, contract.school_id)
    other = "KZ77125KZT9999999999"  # a valid Kazakh IBAN the contract does not name
    assert signed != other
    edited = browser("admin").post(f"/admin/organisations/{school.id}", {
        "kind": school.kind, "bin": school.bin, "name": school.name, "region_id": str(school.region_id),
        "design_capacity": str(school.design_capacity or ""), "iban": other})
    assert edited.status_code == 302, edited.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(Organisation, school.id).iban == other

    operator = browser("operator")
    task = open_task_of(act.instance_id, "pay_act")
    page = operator.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'<span id="pay-iban">{signed}</span>' in page
    assert 'id="pay-iban-differs"' in page and other in page
    paid = operator.post(f"/tasks/{task.id}", {"order_number": "PP-IBAN-1", "paid_on": PAID_ON.isoformat()})
    assert paid.status_code == 302, paid.get_data(as_text=True)[:2000]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.details["iban"] == signed
