"""Task handlers of the year-end report steps in the contract process."""

from __future__ import annotations

from app.contracts.handlers import contract_of
from app.engine.handlers import TaskContext, TaskHandler, task_handler
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
