"""The act page's payment forms for the operator: record a payment the bank returned, and pay the act again.

Thin, as every view: check access (the act is visible, the user is the operator), parse the form, call the one
door (:mod:`app.payments.returns`, :func:`app.payments.operations.register_payment`), commit, say what happened.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.acts.models import Act
from app.engine.errors import ConflictError, DomainRefused, EngineError
from app.extensions import db
from app.payments.models import ORDER_NUMBER_PATTERN, Payment
from app.people.access import get_visible_or_404
from app.people.roles import Role
from app.user_input import calendar_date

bp = Blueprint("payments", __name__)


def may_handle_payments(user) -> bool:
    """Only the operator pays acts and records what the bank sent back."""
    return getattr(user, "role", None) == Role.OPERATOR.value


def _operator_act(act_id: int) -> Act:
    act = get_visible_or_404(Act, act_id)
    if not may_handle_payments(current_user):
        abort(403)
    return act


def _back(act_id: int):
    return redirect(url_for("acts.show", act_id=act_id, _anchor="payments"), 303)


def _refused(act_id: int, message: str, form: str):
    """A refusal is said on the act's page shown again (422), with the form it refused open and what was typed in it
    (a redirect had emptied the return's day, reason, reference and note, and closed the form): the message is
    flashed (it takes the focus, base.html) and ``g.payment_form`` names the form the template refills."""
    from app.acts.views import show

    g.payment_form = form
    flash(message, "danger")
    return show(act_id), 422


@bp.route("/acts/<int:act_id>/payments/<int:payment_id>/return", methods=["POST"])
@login_required
def record_return(act_id: int, payment_id: int):
    from app.payments.returns import record_return as record

    act = _operator_act(act_id)
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        abort(404)
    returned_on = calendar_date(str(request.form.get("returned_on") or "").strip(), day_first=True)
    if returned_on is None:
        return _refused(act_id, _("Enter the day the bank returned the money as a date."), "record-return")
    try:
        record(act, payment, returned_on, request.form.get("reason", ""), request.form.get("reference", ""),
               request.form.get("note", ""), current_user)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        return _refused(act_id, str(err), "record-return")
    flash(_("Recorded: payment order %(order)s was returned by the bank. Act %(number)s is to be paid again.",
            order=payment.order_number, number=act.number), "success")
    return _back(act_id)


@bp.route("/acts/<int:act_id>/pay-again", methods=["POST"])
@login_required
def pay_again(act_id: int):
    """An act whose payment the bank returned is paid again here (its process ended with the first payment)."""
    from app.payments.operations import register_payment, returned_payments

    act = _operator_act(act_id)
    if not returned_payments(act):
        flash(_("Act %(number)s is paid through its process's \"Pay act\" step.", number=act.number), "danger")
        return _back(act_id)
    order_number = (request.form.get("order_number") or "").strip().upper()
    paid_on = calendar_date(str(request.form.get("paid_on") or "").strip(), day_first=True)
    if not re.fullmatch(ORDER_NUMBER_PATTERN, order_number) or paid_on is None:
        return _refused(act_id, _("Enter the new payment order's number (Latin letters, digits, / and -) and the day "
                                  "it was executed."), "pay-again")
    try:
        register_payment(act, order_number, paid_on, current_user, alongside=True)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        return _refused(act_id, str(err), "pay-again")
    flash(_("Recorded: act %(number)s was paid again by payment order %(order)s.", number=act.number,
            order=order_number), "success")
    return _back(act_id)


@bp.route("/acts/<int:act_id>/confirm-account", methods=["POST"])
@login_required
def confirm_account(act_id: int):
    """A department official of the act's region confirms the new account an act is paid again to after a return
    (the operator alone, with an administrator's IBAN edit, could otherwise have sent the money elsewhere)."""
    from app.payments.returns import confirm_repayment_account, may_confirm_account

    act = get_visible_or_404(Act, act_id)
    if not may_confirm_account(current_user, act):
        abort(403)
    try:
        iban = confirm_repayment_account(act, request.form.get("iban", ""), current_user)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        flash(str(err), "danger")
        return _back(act_id)
    flash(_("Confirmed: act %(number)s is paid again to account %(iban)s.", number=act.number, iban=iban), "success")
    return _back(act_id)
