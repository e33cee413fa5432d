"""The year-end report: one per academic year (1 September – 31 August) the contract covers, with that year's
per-month totals prefilled from the contract's acts; approving the report of the contract's last year closes it.

A schools' contract runs one academic year, so it has one report; a dormitory contract runs several, and after the
last month of each year has opened its act, that year's report waits in the organisation's inbox."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.audit.operations import record_event
from app.contracts.models import Contract
from app.contracts.operations import _chain, contract_acts, contract_years, unsettled_under
from app.contracts.settlements import settlements_under
from app.engine.errors import DomainRefused
from app.extensions import db
from app.instruments import instrument_of
from app.payments.models import Payment
from app.words import N_
from app.yearend.models import YearEndReport

#: acts whose lines' outcomes are final (Decided is final): what they withheld is part of the year's report
DECIDED = ("accepted", "paid")


def academic_years(contract: Contract) -> list[str]:
    return list(contract_years(contract))


def _year(contract: Contract, academic_year: str | None) -> str:
    """The academic year asked for (one the contract covers); None: the contract's last (its only one for schools,
    and the one a report started before reports were per year belongs to)."""
    years = academic_years(contract)
    if academic_year is None:
        return years[-1]
    if academic_year not in years:
        raise DomainRefused.said(N_("The contract does not cover the academic year %(year)s."), year=academic_year)
    return academic_year


def monthly_totals(contract: Contract, academic_year: str | None = None) -> list[dict]:
    """Per month of the academic year under the contract: places contracted (terms in force that month) against
    the students paid for (distinct IINs: children taught, students placed) and the lines accepted (a student who
    moved rooms has two), the act's amount and payment, and what excluded lines
    withheld, by rule — the same for every instrument (its rules, its price of a line, its contracted places)."""
    from app.acts.report import by_rule

    instrument = instrument_of(contract)
    acts = {a.period: a for a in contract_acts(contract)}
    rows = []
    for period in contract_years(contract)[_year(contract, academic_year)]:
        act = acts.get(period)
        payment = db.session.scalars(select(Payment).where(Payment.act_id == act.id, Payment.returned_on.is_(None))
                                     ).first() if act else None  # a payment the bank returned paid nothing
        excluded = by_rule(act) if act is not None and act.status in DECIDED else []
        rows.append({
            "period": period.strftime("%Y-%m"), "act_id": act.id if act else None,
            "act_number": act.number if act else None, "status": act.status if act else "missing",
            "contracted": instrument.contracted_places(contract, period) if instrument.contracted_places else None,
            "accepted_lines": act.accepted_lines if act else 0, "students": act.accepted_students if act else 0,
            "amount_tiyn": act.amount_tiyn if act else 0,
            "paid_tiyn": payment.amount_tiyn if payment else 0,
            "withheld_tiyn": sum(r.withheld_tiyn for r in excluded),
            "by_rule": {r.code: r.lines for r in excluded},
        })
    return rows


def start_year_end(contract: Contract, actor=None, academic_year: str | None = None):
    """After the academic year's last month has opened its act, that year's report waits in the funded
    organisation's inbox (the instrument's year-end process: its lane names the accountant's role). ``final``
    tells the process whether approving it closes the contract. Asked twice for a year, it starts once."""
    from app.engine.models import ProcessInstance
    from app.engine.runtime import start_instance

    if contract.status != "active":
        raise DomainRefused.said(N_("Only an active contract gets a year-end report."))
    year = _year(contract, academic_year)
    report = report_of(contract, year)
    if report is not None and report.instance_id is not None:
        return db.session.get(ProcessInstance, report.instance_id)
    final = year == academic_years(contract)[-1]
    instance = start_instance(
        instrument_of(contract).year_end_process, title=f"{contract.number} · {year} · {contract.school.name}",
        actor=actor, region_id=contract.region_id, organisation_id=contract.school_id, subject_type="contract",
        subject_id=contract.id, data={"contract_id": contract.id, "academic_year": year, "final": final})
    if report is None:
        report = YearEndReport(contract_id=contract.id, academic_year=year, status="awaiting", months=[])
        db.session.add(report)
    report.instance_id = instance.id
    db.session.flush()
    record_event(_chain(contract), "yearend.opened", "process_instance", instance.id, actor_id=None,
                 details={"number": contract.number, "academic_year": year, "final": final})
    return instance


def year_end_instance(contract: Contract, academic_year: str | None = None):
    """The process instance of the year's report (the latest year's when None)."""
    from app.engine.models import ProcessInstance

    report = report_of(contract, academic_year)
    if report is not None and report.instance_id is not None:
        return db.session.get(ProcessInstance, report.instance_id)
    return db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.process_id == instrument_of(contract).year_end_process,
        ProcessInstance.subject_type == "contract",
        ProcessInstance.subject_id == contract.id).order_by(ProcessInstance.id.desc())).first()


def reports_of(contract: Contract) -> list[YearEndReport]:
    return list(db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)
                                   .order_by(YearEndReport.academic_year)))


def report_of(contract: Contract, academic_year: str | None = None) -> YearEndReport | None:
    """The report of the academic year; None: the latest year's report there is."""
    query = select(YearEndReport).where(YearEndReport.contract_id == contract.id)
    if academic_year is not None:
        query = query.where(YearEndReport.academic_year == academic_year)
    return db.session.scalars(query.order_by(YearEndReport.academic_year.desc())).first()


def submit_report(contract: Contract, comment: str | None, actor, academic_year: str | None = None) -> YearEndReport:
    if contract.status != "active":
        raise DomainRefused(_("Only an active contract gets a year-end report."))
    year = _year(contract, academic_year)
    months = monthly_totals(contract, year)
    unpaid = [m["period"] for m in months if m["status"] != "paid"]
    if unpaid:
        raise DomainRefused(_("Every monthly act must be paid before the year-end report; not yet paid: %(months)s.",
                              months=", ".join(unpaid)))
    report = report_of(contract, year)
    if report is not None and report.status == "approved":
        raise DomainRefused(_("The year-end report has already been approved."))
    if report is None:
        report = YearEndReport(contract_id=contract.id, academic_year=year)
        db.session.add(report)
    report.status = "submitted"
    report.months = months
    report.total_paid_tiyn = sum(m["paid_tiyn"] for m in months)
    report.comment = comment
    report.submitted_by_id = actor.id
    report.submitted_at = clock.now()
    db.session.flush()
    # What registry corrections of the contract's months no act has settled: owed back (or owed) beside the report.
    unsettled = sum(u.amount_tiyn for u in unsettled_under(contract))
    # ... and what of the carried top-ups was settled outside the acts (paid by a payment order, or written off).
    outside = settlements_under(contract)
    record_event(_chain(contract), "yearend.submitted", "year_end_report", report.id, actor_id=actor.id,
                 details={"academic_year": year, "total_paid_tiyn": report.total_paid_tiyn, "months": len(months),
                          "unsettled_tiyn": unsettled,
                          "settled_outside_tiyn": sum(s.amount_tiyn for s in outside
                                                      if s.kind == "paid" and s.returned_on is None),
                          "written_off_tiyn": sum(s.amount_tiyn for s in outside if s.kind == "written_off")})
    return report


def decide_report(contract: Contract, decision: str, comment: str | None, actor,
                  academic_year: str | None = None) -> YearEndReport:
    year = _year(contract, academic_year)
    report = report_of(contract, year)
    if report is None or report.status != "submitted":
        raise DomainRefused(_("There is no submitted year-end report to decide on."))
    if decision == "approve" and year == academic_years(contract)[-1]:
        # Approving the last year's report closes the contract: every earlier year is reported and approved first.
        earlier = [r.academic_year for r in reports_of(contract) if r.academic_year < year and r.status != "approved"]
        missing = [y for y in academic_years(contract)[:-1] if y not in {r.academic_year for r in reports_of(contract)}]
        if earlier or missing:
            raise DomainRefused(_("Approve the year-end reports of the earlier academic years first: %(years)s.",
                                  years=", ".join(sorted(earlier + missing))))
    if decision == "approve":
        # The months as they stand now, not as submitted: the bank may have returned a month's payment since (the act
        # is accepted again, to be paid anew) — approved, the report counted the returned money as paid and, for the
        # last year, closed the contract with the act unpaid.
        unpaid = [m["period"] for m in monthly_totals(contract, year) if m["status"] != "paid"]
        if unpaid:
            raise DomainRefused(_("Since the report was submitted, a payment of its months was returned by the bank "
                                  "and the month is not paid now: %(months)s. Return the report; it is submitted "
                                  "again once every month is paid.", months=", ".join(unpaid)))
    report.review_comment = comment
    if decision == "approve":
        report.status = "approved"
        report.approved_by_id = actor.id
        report.approved_at = clock.now()
    else:
        report.status = "returned"
    record_event(_chain(contract), f"yearend.{report.status}", "year_end_report", report.id, actor_id=actor.id,
                 details={"academic_year": year, "comment": comment or ""})
    return report
