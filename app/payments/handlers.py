from __future__ import annotations

from datetime import date

from app.acts.handlers import act_of
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.payments.operations import register_payment


@task_handler("payments/pay")
class PayAct(TaskHandler):
    template = "payments/_pay_panel.html"

    def context(self, ctx: TaskContext) -> dict:
        return {"act": act_of(ctx)}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        payment = register_payment(act_of(ctx), data["order_number"], date.fromisoformat(data["paid_on"]),
                                   ctx.actor)
        return {"payment_id": payment.id}
