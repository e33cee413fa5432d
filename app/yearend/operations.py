"""The year-end report: per-month totals prefilled from the contract's acts; approval closes the contract."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.audit.operations import record_event
from app.contracts.models import Contract
from app.contracts.operations import _chain, contract_acts, contract_months
from app.engine.errors import DomainRefused
from app.extensions import db
from app.instruments import instrument_of
from app.payments.models import Payment
from app.yearend.models import YearEndReport


def monthly_totals(contract: Contract) -> list[dict]:
    """Per month of the contract: places contracted (terms in force that month) against lines accepted (students
    taught, places occupied), the act's amount and payment, and what excluded lines withheld, by rule — the same
    for every instrument (its rules, its price of a line, its contracted places)."""
    from app.acts.report import by_rule

    instrument = instrument_of(contract)
    acts = {a.period: a for a in contract_acts(contract)}
    rows = []
    for period in contract_months(contract):
        act = acts.get(period)
        payment = db.session.scalars(select(Payment).where(Payment.act_id == act.id)).first() if act else None
        excluded = by_rule(act) if act is not None and act.status in DECIDED else []
        rows.append({
            "period": period.strftime("%Y-%m"), "act_id": act.id if act else None,
            "act_number": act.number if act else None, "status": act.status if act else "missing",
            "contracted": instrument.contracted_places(contract, period) if instrument.contracted_places else None,
            "accepted_lines": act.accepted_lines if act else 0, "amount_tiyn": act.amount_tiyn if act else 0,
            "paid_tiyn": payment.amount_tiyn if payment else 0,
            "withheld_tiyn": sum(r.withheld_tiyn for r in excluded),
            "by_rule": {r.code: r.lines for r in excluded},
        })
    return rows


#: acts whose lines' outcomes are final (Decided is final): what they withheld is part of the year's report
DECIDED = ("accepted", "paid")


def start_year_end(contract: Contract, actor=None):
    """After the last month's act has opened, the year-end report waits in the funded organisation's inbox (the
    instrument's year-end process: its lane names the accountant's role)."""
    from app.engine.runtime import start_instance

    if contract.status != "active":
        raise DomainRefused("Only an active contract gets a year-end report.")
    instance = start_instance(
        instrument_of(contract).year_end_process, title=f"{contract.number} · {contract.school.name}", actor=actor,
        region_id=contract.region_id, organisation_id=contract.school_id, subject_type="contract",
        subject_id=contract.id, data={"contract_id": contract.id})
    record_event(_chain(contract), "yearend.opened", "process_instance", instance.id, actor_id=None,
                 details={"number": contract.number})
    return instance


def year_end_instance(contract: Contract):
    from app.engine.models import ProcessInstance

    return db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.process_id == instrument_of(contract).year_end_process,
        ProcessInstance.subject_type == "contract",
        ProcessInstance.subject_id == contract.id).order_by(ProcessInstance.id.desc())).first()


def report_of(contract: Contract) -> YearEndReport | None:
    return db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)).first()


def submit_report(contract: Contract, comment: str | None, actor) -> YearEndReport:
    if contract.status != "active":
        raise DomainRefused(_("Only an active contract gets a year-end report."))
    months = monthly_totals(contract)
    unpaid = [m["period"] for m in months if m["status"] != "paid"]
    if unpaid:
        raise DomainRefused(_("Every monthly act must be paid before the year-end report; not yet paid: %(months)s.",
                              months=", ".join(unpaid)))
    report = report_of(contract)
    if report is not None and report.status == "approved":
        raise DomainRefused(_("The year-end report has already been approved."))
    if report is None:
        report = YearEndReport(contract_id=contract.id)
        db.session.add(report)
    report.status = "submitted"
    report.months = months
    report.total_paid_tiyn = sum(m["paid_tiyn"] for m in months)
    report.comment = comment
    report.submitted_by_id = actor.id
    report.submitted_at = clock.now()
    db.session.flush()
    record_event(_chain(contract), "yearend.submitted", "year_end_report", report.id, actor_id=actor.id,
                 details={"total_paid_tiyn": report.total_paid_tiyn, "months": len(months)})
    return report


def decide_report(contract: Contract, decision: str, comment: str | None, actor) -> YearEndReport:
    report = report_of(contract)
    if report is None or report.status != "submitted":
        raise DomainRefused(_("There is no submitted year-end report to decide on."))
    report.review_comment = comment
    if decision == "approve":
        report.status = "approved"
        report.approved_by_id = actor.id
        report.approved_at = clock.now()
    else:
        report.status = "returned"
    record_event(_chain(contract), f"yearend.{report.status}", "year_end_report", report.id, actor_id=actor.id,
                 details={"comment": comment or ""})
    return report
