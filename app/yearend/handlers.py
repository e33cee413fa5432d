"""Task handlers of the year-end report steps in the contract process."""

from __future__ import annotations

from app.contracts.handlers import contract_of
from app.contracts.models import Contract
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.engine.operators import operator
from app.extensions import db
from app.yearend import operations


@task_handler("yearend/submit")
class SubmitReport(TaskHandler):
    template = "yearend/_report_panel.html"

    def context(self, ctx: TaskContext) -> dict:
        contract = contract_of(ctx)
        return {"contract": contract, "months": operations.monthly_totals(contract),
                "report": operations.report_of(contract)}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        report = operations.submit_report(contract_of(ctx), data.get("comment"), ctx.actor)
        return {"report_id": report.id, "total_paid_tiyn": report.total_paid_tiyn}


@task_handler("yearend/approve")
class ApproveReport(TaskHandler):
    template = "yearend/_report_panel.html"

    def context(self, ctx: TaskContext) -> dict:
        contract = contract_of(ctx)
        report = operations.report_of(contract)
        return {"contract": contract, "months": report.months if report else operations.monthly_totals(contract),
                "report": report}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        operations.decide_report(contract_of(ctx), data["decision"], data.get("comment"), ctx.actor)
        return {"report_decision": data["decision"]}


@operator("yearend/start", params={"contract_id": int})
def start_year_end(ctx, contract_id: int) -> dict:
    """Every month's act is open: start the school's year-end report."""
    contract = db.session.get(Contract, contract_id)
    if contract is None or ctx.instance.subject_type != "contract" or ctx.instance.subject_id != contract.id:
        raise LookupError(f"Contract {contract_id} does not belong to this process instance")
    instance = operations.start_year_end(contract, ctx.actor)
    return {"instance_id": instance.id}
