"""A dormitory act is paid through the same payments as a school's: the bank returns October's payment, it is paid
again, and the year-end report counts its money once. A report submitted while every month was paid, whose month's
payment the bank returned before the department decided, is not approved as paid: the month is not paid any more (it
was approved with the returned money in its total, the month "paid", and the contract closed with the act unpaid)."""

from __future__ import annotations

from datetime import date as day

from sqlalchemy import select, true, update

from app import clock
from app.acts.models import Act, ActLine
from app.audit.operations import verify_chains_and_rows
from app.contracts.models import Contract, ContractAct
from app.contracts.operations import paid_under
from app.dormitories.demo import submit_month
from app.engine.models import ProcessInstance
from app.engine.runtime import complete_task, fire_due_timers
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment, standing_payment
from app.payments.returns import record_return
from app.reports.reconciliation import payments_table, reconcile
from app.yearend.models import YearEndReport
from app.yearend.operations import monthly_totals
from tests.audit.helpers import tamper
from tests.dormitories.test_year_end import MONTHS, _anomalous_dormitory, _month
from tests.helpers import user
from tests.lifecycle.flow import open_task_of


def test_a_dormitory_payment_returned_after_the_report_is_submitted_keeps_the_report_from_approval(dorm_year, browser):
    world, contract = _anomalous_dormitory(dorm_year)
    september, october = [_month(world, contract, period) for period in MONTHS]
    total = september.amount_tiyn + october.amount_tiyn
    assert september.amount_tiyn > 0 and october.amount_tiyn > 0
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "dorm_year_end",
                                                                ProcessInstance.subject_id == contract.id)).one()
    task = open_task_of(instance.id, "submit_report")
    assert browser("kokterek").post(f"/tasks/{task.id}", {"comment": "Two months."}).status_code == 302
    report = db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)).one()
    assert report.total_paid_tiyn == total

    # the bank sends October's payment back before the department decides
    payment = standing_payment(october)
    record_return(october, payment, clock.today(), "bank_refused", "RET-DORM-1", "", user("operator"))
    db.session.commit()
    contract = db.session.get(Contract, contract.id)
    assert paid_under(contract) == september.amount_tiyn  # returned: not paid
    months = monthly_totals(contract)
    assert [m["paid_tiyn"] for m in months] == [september.amount_tiyn, 0]
    assert [m["status"] for m in months] == ["paid", "accepted"]

    approve = open_task_of(instance.id, "approve_report")
    answer = browser("head").post(f"/tasks/{approve.id}", {"decision": "approve"})
    db.session.expire_all()
    report = db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)).one()
    assert report.status == "submitted", "approved with a month whose payment the bank returned"
    assert db.session.get(Contract, contract.id).status == "active"
    assert answer.status_code == 422 and "2027-10" in answer.get_data(as_text=True)

    # paid again (a new order): counted once
    again = register_payment(db.session.get(Act, october.id), "DP-AGAIN-1", clock.today(), user("operator2"))
    db.session.commit()
    assert again.amount_tiyn == october.amount_tiyn
    assert paid_under(db.session.get(Contract, contract.id)) == total
    assert len(db.session.scalars(select(Payment).where(Payment.act_id == october.id)).all()) == 2
    assert verify_chains_and_rows().problems == []
    # every month paid again: the report is approved, its total the money paid once
    approve = open_task_of(instance.id, "approve_report")
    assert browser("head").post(f"/tasks/{approve.id}", {"decision": "approve"}).status_code == 302
    db.session.expire_all()
    report = db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)).one()
    assert (report.status, report.total_paid_tiyn) == ("approved", total)
    assert db.session.get(Contract, contract.id).status == "closed"


def test_a_dormitory_act_accepted_at_zero_is_closed_without_a_payment_order_and_reported_so(dorm_year):
    """A dormitory month whose every line was excluded: closed at its acceptance without a payment order, through the
    same payments' door as a school's act; the year-end months say it paid 0 ₸, the reconciliation counts it among
    the acts with nothing to pay and pays nothing; verify-audit is clean (guard, right when written)."""
    world, contract = _anomalous_dormitory(dorm_year)
    september = _month(world, contract, MONTHS[0])
    clock.set_clock(clock.FrozenClock(clock.now().replace(month=11, day=1)))
    fire_due_timers()
    act = db.session.get(Act, db.session.scalar(select(ContractAct.act_id).where(
        ContractAct.contract_id == contract.id, ContractAct.period == MONTHS[1])))
    submit_month(world, act, "kokterek")
    db.session.commit()
    tamper(update(ActLine).where(ActLine.act_id == act.id).values(outcome="excluded", rule_code="student_not_found",
                                                                 amount_tiyn=0))
    tamper(update(Act).where(Act.id == act.id).values(amount_tiyn=0, accepted_lines=0))
    complete_task(open_task_of(act.instance_id, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    act = db.session.get(Act, act.id)
    assert act.status == "paid" and db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all() == []
    assert [(m["status"], m["paid_tiyn"]) for m in monthly_totals(db.session.get(Contract, contract.id))] == [
        ("paid", september.amount_tiyn), ("paid", 0)]
    assert paid_under(db.session.get(Contract, contract.id)) == september.amount_tiyn
    rows, total = reconcile(day(2027, 10, 1), true(), instrument="dormitory")
    assert (total.nothing_to_pay_acts, total.paid_tiyn, total.returned_tiyn, total.outstanding_tiyn) == (1, 0, 0, 0)
    _header, body = payments_table(day(2027, 10, 1), true(), None, "dormitory", str)
    assert [(r[0], r[5], r[-1]) for r in body] == [(act.number, 0, "Nothing to pay: closed without a payment order")]
    assert verify_chains_and_rows().problems == []
