"""Task handlers of the year-end report steps in the contract process."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.acts.shapes import decision_shape
from app.contracts.handlers import contract_of
from app.contracts.models import Contract
from app.contracts.operations import unsettled_under
from app.contracts.settlements import settlements_under
from app.engine.data_names import provide_names
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.engine.operators import instance_subject, operator
from app.extensions import db
from app.people.roles import DEPARTMENT_ROLES, DORMITORY_ROLES, SCHOOL_ROLES
from app.yearend import operations
from app.yearend.models import YearEndReport

#: a year-end report's comment, the school's and the department head's
REPORT_COMMENT = {"type": "string", "maxLength": 4000}


def _year(ctx: TaskContext) -> str | None:
    """The academic year the instance reports on: its report row's (written when it started), else the workflow's
    data; None — an instance started before reports were per year — stands for the contract's last year."""
    year = db.session.scalar(select(YearEndReport.academic_year).where(YearEndReport.instance_id == ctx.instance.id))
    return year or ctx.data.get("academic_year")


@task_handler("yearend/submit")
class SubmitReport(TaskHandler):
    template = "yearend/_report_panel.html"
    roles = SCHOOL_ROLES | DORMITORY_ROLES
    shape = {"type": "object", "properties": {"comment": REPORT_COMMENT}}

    def context(self, ctx: TaskContext) -> dict:
        contract = contract_of(ctx)
        return {"contract": contract, "months": operations.monthly_totals(contract, _year(ctx)),
                "report": operations.report_of(contract, _year(ctx)), "academic_year": _year(ctx),
                "unsettled": unsettled_under(contract), "settlements": settlements_under(contract)}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        report = operations.submit_report(contract_of(ctx), data.get("comment"), ctx.actor, _year(ctx))
        return {"report_id": report.id, "total_paid_tiyn": report.total_paid_tiyn}


@task_handler("yearend/approve")
class ApproveReport(TaskHandler):
    template = "yearend/_report_panel.html"
    roles = DEPARTMENT_ROLES
    shape = decision_shape(["approve", "return"], comment=REPORT_COMMENT)

    def context(self, ctx: TaskContext) -> dict:
        contract = contract_of(ctx)
        report = operations.report_of(contract, _year(ctx))
        months = report.months if report and report.months else operations.monthly_totals(contract, _year(ctx))
        return {"contract": contract, "months": months, "report": report, "academic_year": _year(ctx),
                "unsettled": unsettled_under(contract), "settlements": settlements_under(contract)}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        contract = contract_of(ctx)
        report = operations.decide_report(contract, data["decision"], data.get("comment"), ctx.actor, _year(ctx))
        # the process closes the contract after the approval of its last academic year's report only
        return {"report_decision": data["decision"],
                "closes_contract": report.academic_year == operations.academic_years(contract)[-1]}


def _contract(ctx, contract_id: int) -> Contract:
    return instance_subject(ctx, Contract, "contract", contract_id)


@operator("yearend/start", params={"contract_id": int},
          description=_l("Starts the year-end report of each academic year the contract covers."))
def start_year_end(ctx, contract_id: int) -> dict:
    """Every month's act is open: start the year-end report of every academic year the contract covers that has
    none yet — the schools' one year; for a contract over several years whose process predates the reports per
    year, each year's (the last one's approval closes the contract)."""
    contract = _contract(ctx, contract_id)
    instances = [operations.start_year_end(contract, ctx.actor, year) for year in operations.academic_years(contract)
                 if operations.report_of(contract, year) is None]
    return {"instance_id": instances[-1].id if instances else None}


@operator("yearend/start_year", params={"contract_id": int, "academic_year": str},
          description=_l("The academic year's last month has opened its act: starts that year's year-end report."))
def start_year_end_of(ctx, contract_id: int, academic_year: str) -> dict:
    """The academic year's last month has opened its act: start that year's report (a contract over several
    years gets one per year)."""
    instance = operations.start_year_end(_contract(ctx, contract_id), ctx.actor, academic_year)
    return {"instance_id": instance.id, "academic_year": academic_year}


# What the year-end report's approval gives the process (the model's gateways read them; no step of it sets them).
provide_names("report_decision", "closes_contract")
