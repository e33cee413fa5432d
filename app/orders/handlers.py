"""Service operators of the state-order process."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.engine.operators import instance_subject, operator
from app.orders import operations
from app.orders.models import StateOrder


def _order(ctx, order_id: int) -> StateOrder:
    return instance_subject(ctx, StateOrder, "state_order", order_id)


@operator("orders/open", params={"order_id": int, "levels": list, "localities": list, "amounts": list},
          description=_l("Records the per-student norms from the decision table on the order and opens its application"
                         " window."))
def open_order(ctx, order_id: int, levels: list, localities: list, amounts: list) -> dict:
    """Record the norms from the decision table and open the application window."""
    order = _order(ctx, order_id)
    operations.open_order(order, list(zip(levels, localities, amounts, strict=True)))
    return {"status": order.status, "norms": len(order.norms)}


@operator("orders/close_window", params={"order_id": int}, description=_l("Closes the order's application window."))
def close_window(ctx, order_id: int) -> dict:
    """The application window has closed."""
    order = _order(ctx, order_id)
    operations.close_window(order)
    return {"status": order.status}
