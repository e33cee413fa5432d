from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from app.acts.handlers import act_confirm_names, act_of
from app.acts.shapes import DATE
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.payments.models import ORDER_NUMBER_PATTERN
from app.payments.operations import account_change, payee_iban, payee_problem, register_payment
from app.people.roles import Role


@task_handler("payments/pay")
class PayAct(TaskHandler):
    template = "payments/_pay_panel.html"
    roles = frozenset({Role.OPERATOR.value})
    shape = {"type": "object", "required": ["order_number", "paid_on"],
             "properties": {"order_number": {"type": "string", "pattern": ORDER_NUMBER_PATTERN}, "paid_on": DATE}}

    def context(self, ctx: TaskContext) -> dict:
        act = act_of(ctx)
        return {"act": act, "payee_iban": payee_iban(act), "account_change": account_change(act),
                "payee_problem": payee_problem(act)}

    def confirm(self, ctx: TaskContext) -> dict:
        return {"question": _("Record the payment of %(amount)s for act %(number)s (%(organisation)s, %(month)s)? "
                              "Each act is paid once; a payment cannot be undone.", **act_confirm_names(act_of(ctx)))}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        payment = register_payment(act_of(ctx), data["order_number"], date.fromisoformat(data["paid_on"]),
                                   ctx.actor)
        return {"payment_id": payment.id}
