from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from app.acts.handlers import act_confirm_names, act_of
from app.acts.shapes import DATE
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.payments.models import ORDER_NUMBER_PATTERN
from app.payments.operations import (
    account_change,
    close_without_payment,
    payee_iban,
    payee_problem,
    register_payment,
    standing_payment,
)
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

    def settles_itself(self, ctx: TaskContext) -> dict | None:
        """An act accepted at 0 ₸ has nothing to pay and no bank issues an order for it: closed without one, at its
        acceptance, and the step completes itself."""
        if not ctx.data.get("nothing_to_pay"):  # the acceptance said so (app.acts.handlers): no look-up otherwise
            return None
        act = act_of(ctx)
        if act.status != "accepted" or act.amount_tiyn != 0 or standing_payment(act) is not None:
            return None
        close_without_payment(act, ctx.actor)
        return {"nothing_to_pay": True}

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        act = act_of(ctx)
        if act.status == "accepted" and act.amount_tiyn == 0:
            # a step opened before acts of 0 ₸ closed themselves: closed now, the order typed is not recorded
            close_without_payment(act, ctx.actor)
            return {"nothing_to_pay": True}
        payment = register_payment(act_of(ctx), data["order_number"], date.fromisoformat(data["paid_on"]),
                                   ctx.actor)
        return {"payment_id": payment.id}
