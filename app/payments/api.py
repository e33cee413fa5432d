"""The returned payments under /api/v1: record a payment the bank sent back, pay the act again, confirm the new account.

The act page's forms (app/payments/views.py) as JSON: the same access (the act is visible; the operator records returns
and pays; a department official of the act's region confirms the account), the same one doors
(:mod:`app.payments.returns`, :func:`app.payments.operations.register_payment`) and so the same refusals — a 422 with
the door's message in the reader's language, a lost race a 409, nothing written. The answer is the act as
``GET /acts/{act_id}`` gives it, its payments (returned ones too) included. The first payment of an act is the "Pay
act" step of its process (``POST /tasks/{task_id}/complete``); after a return the process has ended, so it is paid
again here.
"""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import Schema, fields, validate

from app.acts.models import Act
from app.api.blueprint import Blueprint
from app.api.errors import ErrorSchema, error_response
from app.api.schemas import ActSchema
from app.engine.errors import ConflictError, DomainConflict, DomainRefused, EngineError
from app.extensions import db
from app.payments.models import ORDER_NUMBER_PATTERN, RETURN_REASONS, Payment
from app.payments.views import may_handle_payments
from app.people.access import get_visible_or_404

blp = Blueprint("payments_api", __name__, url_prefix="/api/v1",
                description="Payments the bank returned: record the return, pay the act again, confirm its account")


@blp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        abort(401)


class PaymentReturnSchema(Schema):
    returned_on = fields.Date(required=True, metadata={"description": "The day the bank returned the money"})
    reason = fields.Str(required=True, metadata={
        "description": "Why, as the bank's return notice says: account_closed, wrong_details (IBAN, BIN or name), "
                       "bank_refused, other (say which in the note); another value is a 422",
        "enum": list(RETURN_REASONS)})
    reference = fields.Str(required=True, metadata={
        "description": "The bank's reference of the return: up to 64 Latin letters, digits, \"/\", \".\" and \"-\""})
    note = fields.Str(load_default="", metadata={"description": "At most 500 characters; required for \"other\""})


class PayAgainSchema(Schema):
    order_number = fields.Str(required=True, validate=validate.Regexp(
        ORDER_NUMBER_PATTERN, error=_l("Enter the new payment order's number (Latin letters, digits, / and -) and "
                                       "the day it was executed.")), metadata={
        "description": "The new payment order's number (not the returned one's)"})
    paid_on = fields.Date(required=True, metadata={"description": "The day the new payment order was executed"})


class ConfirmAccountSchema(Schema):
    iban = fields.Str(required=True, metadata={
        "description": "The account on record you read (the act's account to confirm): if it has changed since, "
                       "409 and nothing is confirmed"})


def _refusal(err: Exception):
    db.session.rollback()
    return error_response(409 if isinstance(err, ConflictError | DomainConflict) else 422, str(err))


def _act_now(act_id: int) -> Act:
    db.session.expire_all()
    return db.session.get(Act, act_id)


def _not_the_operator():
    return error_response(403, _("Only the operator pays acts and records the payments the bank returned."))


@blp.route("/acts/<int:act_id>/payments/<int:payment_id>/return", methods=["POST"])
@blp.arguments(PaymentReturnSchema)
@blp.response(200, ActSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only the operator records a payment the bank returned")
@blp.alt_response(409, schema=ErrorSchema, description="The payment was already recorded as returned")
@blp.alt_response(422, schema=ErrorSchema, description="A day before the payment or far ahead, a reason not on the "
                                                       "list, no reference, \"other\" without a note, a payment of "
                                                       "another act")
def record_return(payload, act_id: int, payment_id: int):
    """Record that the bank sent a payment of the act back (the same operation and checks as the act's page): the
    payment counts as not paid, the act is accepted again — to be paid once more — and the school and, when a new
    account is needed, the department's officials are told."""
    from app.payments.returns import record_return as record

    act = get_visible_or_404(Act, act_id)
    if not may_handle_payments(current_user):
        return _not_the_operator()
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        abort(404)
    try:
        record(act, payment, payload["returned_on"], payload["reason"], payload["reference"], payload["note"],
               current_user)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        return _refusal(err)
    return _act_now(act_id)


@blp.route("/acts/<int:act_id>/pay-again", methods=["POST"])
@blp.arguments(PayAgainSchema)
@blp.response(200, ActSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only the operator pays acts")
@blp.alt_response(409, schema=ErrorSchema, description="The act has been paid again already")
@blp.alt_response(422, schema=ErrorSchema, description="No payment of the act was returned (it is paid by its "
                                                       "process's \"Pay act\" step), the returned order's number, a "
                                                       "date before the return, an account not yet confirmed, or the "
                                                       "operator who recorded the return (another operator pays it "
                                                       "again: four eyes)")
def pay_again(payload, act_id: int):
    """Pay an act again after the bank returned its payment, by a new payment order (the same operation and checks
    as the act's page): to the account it is pinned to, once, by another operator than the one who recorded the
    return (four eyes)."""
    from app.payments.operations import register_payment, returned_payments

    act = get_visible_or_404(Act, act_id)
    if not may_handle_payments(current_user):
        return _not_the_operator()
    if not returned_payments(act):
        return error_response(422, _("Act %(number)s is paid through its process's \"Pay act\" step.",
                                     number=act.number))
    try:
        register_payment(act, payload["order_number"].strip().upper(), payload["paid_on"], current_user,
                         alongside=True)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        return _refusal(err)
    return _act_now(act_id)


@blp.route("/acts/<int:act_id>/confirm-account", methods=["POST"])
@blp.arguments(ConfirmAccountSchema)
@blp.response(200, ActSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only a department official of the act's region confirms")
@blp.alt_response(409, schema=ErrorSchema, description="The account on record changed since it was read")
@blp.alt_response(422, schema=ErrorSchema, description="The act has no new account to confirm")
def confirm_account(payload, act_id: int):
    """Confirm the new account an act whose payment the bank returned is paid again to (four eyes: the operator
    records the return, a department official of the act's region confirms the account the records name now)."""
    from app.payments.returns import confirm_repayment_account, may_confirm_account

    act = get_visible_or_404(Act, act_id)
    if not may_confirm_account(current_user, act):
        return error_response(403, _("Only a department official of the act's region confirms the account it is "
                                     "paid to."))
    try:
        confirm_repayment_account(act, payload["iban"], current_user)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        return _refusal(err)
    return _act_now(act_id)
