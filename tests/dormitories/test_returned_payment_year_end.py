"""A dormitory act is paid through the same payments as a school's: the bank returns October's payment, it is paid
again, and the year-end report counts its money once. A report submitted while every month was paid, whose month's
payment the bank returned before the department decided, is not approved as paid: the month is not paid any more (it
was approved with the returned money in its total, the month "paid", and the contract closed with the act unpaid)."""

from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.audit.operations import verify_chains_and_rows
from app.contracts.models import Contract
from app.contracts.operations import paid_under
from app.engine.models import ProcessInstance
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment, standing_payment
from app.payments.returns import record_return
from app.yearend.models import YearEndReport
from app.yearend.operations import monthly_totals
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
    again = register_payment(db.session.get(Act, october.id), "DP-AGAIN-1", clock.today(), user("operator"))
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
