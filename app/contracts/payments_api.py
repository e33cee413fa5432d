"""A contract's money paths under /api/v1: its bank account changed by an agreement, its carried top-ups settled
outside the acts and the bank's return of such a payment.

The contract page's forms (app/contracts/views.py) as JSON, through the same one doors — the same access (the
contract is visible, else 404; the door's role, else 403), the same refusals (a 422 with the door's message in the
reader's language, per field where the door names one; a lost race or a second record of the same thing a 409) and
nothing written on a refusal:

* ``POST /contracts/{contract_id}/account`` — :func:`app.contracts.payee_account.change_contract_account`: the
  education department of the contract's region (official or head), with the reason;
* ``GET /contracts/{contract_id}/outside-settlements`` — the carried top-ups (with the ``seen`` count to send) and the
  settlements recorded;
* ``POST /contracts/{contract_id}/settle-outside`` — :func:`app.contracts.settlements.settle_outside`: the operator
  records the payment order that paid a carried top-up (also after the bank returned an earlier one: not the operator
  who recorded that return — four eyes), the region's department writes one off;
* ``POST /contracts/{contract_id}/settlements/{settlement_id}/return`` —
  :func:`app.contracts.settlements.record_settlement_return`: the operator records the bank's return.

Exactly once as the act's payment calls (app/payments/api.py): a second return of a settlement is a 409, and a
settlement carries the number of settlements of its line the client read (``seen``), so a repeated call is a 409
naming the first. Like those calls, they need the session's CSRF token and are not open to API tokens (none of
app.people.tokens.WRITE_SCOPES names them).
"""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields, validate

from app.api.blueprint import Blueprint
from app.api.errors import ErrorSchema, error_response
from app.api.schemas import PersonalText, UtcDateTime
from app.contracts.models import Contract
from app.contracts.schemas import ContractDetailSchema
from app.engine.errors import ConflictError, DomainConflict, DomainRefused, EngineError, FormInvalid
from app.extensions import db
from app.payments.api import PaymentReturnSchema
from app.people.access import get_visible_or_404

blp = Blueprint("contract_money_api", __name__, url_prefix="/api/v1",
                description="A contract's bank account, and its carried top-ups settled outside the acts")


@blp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        abort(401)


class ChangeAccountSchema(Schema):
    iban = fields.Str(required=True, metadata={
        "description": "The contract's new account (a valid Kazakh IBAN; spaces and lower case are read as the page "
                       "reads them); the account it names already is a 422"})
    rationale = fields.Str(required=True, metadata={
        "description": "The reason for the agreement (10 to 1000 characters), kept in the audit trail"})


class SettleOutsideSchema(Schema):
    line_id = fields.Int(required=True, strict=True, metadata={
        "description": "The carried top-up's line (``carried[].line_id`` of GET /contracts/{contract_id}/"
                       "outside-settlements)"})
    seen = fields.Int(required=True, strict=True, validate=validate.Range(min=0), metadata={
        "description": "The number of settlements of the line you read (``carried[].seen``): if another was recorded "
                       "since, 409 naming it and nothing is recorded (exactly once)"})
    amount_tiyn = fields.Int(required=True, strict=True, metadata={
        "description": "The carried amount in tiyn, whole (``carried[].amount_tiyn``); another amount is a 422"})
    order_number = fields.Str(load_default=None, metadata={
        "description": "The operator's payment order's number (Latin letters, digits, / and -); required to record a "
                       "payment"})
    paid_on = fields.Date(load_default=None, metadata={
        "description": "The day the payment order was executed; required to record a payment"})
    reason = fields.Str(load_default=None, metadata={
        "description": "Why it is written off (10 to 1000 characters); required of the department"})


class CarriedTopUpSchema(Schema):
    line_id = fields.Int(attribute="line.id")
    line_no = fields.Int(attribute="line.line_no")
    act_id = fields.Int(attribute="original.id")
    act_number = fields.Str(attribute="original.number")
    period = fields.Date(attribute="original.period")
    amount_tiyn = fields.Int(metadata={"description": "What is owed to the organisation, settled whole"})
    seen = fields.Int(metadata={"description": "Settlements of the line so far: send it as ``seen``"})


class OutsideSettlementSchema(Schema):
    id = fields.Int(metadata={"description": "The settlement's id (to record the bank's return of its payment)"})
    act_id = fields.Int(attribute="original_act_id")
    line_id = fields.Int(attribute="original_line_id")
    seq = fields.Int(metadata={"description": "0 for the line's first settlement, 1 for the next, …"})
    period = fields.Date()
    kind = fields.Str(metadata={"description": "paid (outside the acts) or written_off"})
    amount_tiyn = fields.Int()
    order_number = fields.Str(allow_none=True)
    paid_on = fields.Date(allow_none=True)
    reason = PersonalText(allow_none=True, metadata={"description": "A write-off's reason (the IINs written in it "
                                                                   "masked for roles not cleared for children's data)"})
    recorded_by_id = fields.Int()
    recorded_at = UtcDateTime()
    returned_on = fields.Date(allow_none=True, metadata={"description": "The day the bank returned the payment; null: "
                                                                        "not returned"})
    return_reason = fields.Str(allow_none=True)
    return_reference = fields.Str(allow_none=True)
    returned_by_id = fields.Int(allow_none=True, metadata={
        "description": "Who recorded the return: another operator pays the top-up again (four eyes)"})


class OutsideSettlementsSchema(Schema):
    carried = fields.List(fields.Nested(CarriedTopUpSchema), metadata={
        "description": "The contract's carried top-ups no act pays, each settled outside the acts or written off"})
    settlements = fields.List(fields.Nested(OutsideSettlementSchema), metadata={
        "description": "What was settled outside the acts, oldest month first (returned payments too)"})


def _refusal(err: Exception):
    db.session.rollback()
    if isinstance(err, FormInvalid):  # its text is the engine's fixed English; the reader's language instead
        return error_response(422, _("The request is not valid; see the errors per field."), dict(err.errors))
    return error_response(409 if isinstance(err, ConflictError | DomainConflict) else 422, str(err))


def _outside_settlements(contract: Contract) -> dict:
    from app.contracts.operations import corrections_under
    from app.contracts.settlements import settlements_under

    settlements = settlements_under(contract)
    seen: dict[int, int] = {}
    for row in settlements:
        seen[row.original_line_id] = seen.get(row.original_line_id, 0) + 1
    carried = [{"line": u.line, "original": u.original, "amount_tiyn": u.amount_tiyn, "seen": seen.get(u.line.id, 0)}
               for u in corrections_under(contract) if u.carried]
    return {"carried": carried, "settlements": settlements}


@blp.route("/contracts/<int:contract_id>/account", methods=["POST"])
@blp.arguments(ChangeAccountSchema)
@blp.response(200, ContractDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only the education department of the contract's region "
                                                       "changes its bank account")
@blp.alt_response(422, schema=ErrorSchema, description="Not a valid Kazakh IBAN, the account named already, no "
                                                       "reason (per field), or a contract not signed")
def change_account(payload, contract_id: int):
    """Record the supplementary agreement that changes a signed contract's bank account (the same operation and
    checks as the contract's page): audited as ``contract.account_changed``. An act waiting to be paid again after a
    return is paid to it once another department official of the region confirms it (POST
    /acts/{act_id}/confirm-account)."""
    from app.contracts.api import contract_detail
    from app.contracts.payee_account import change_contract_account, may_change_account

    contract = get_visible_or_404(Contract, contract_id)
    if not may_change_account(current_user, contract):
        return error_response(403, _("Only the education department of the contract's region changes its bank "
                                     "account."))
    try:
        change_contract_account(contract, payload["iban"], payload["rationale"], current_user)
        db.session.commit()
    except (FormInvalid, DomainRefused, ConflictError, EngineError) as err:
        return _refusal(err)
    db.session.expire_all()
    return contract_detail(db.session.get(Contract, contract_id))


@blp.route("/contracts/<int:contract_id>/outside-settlements")
@blp.response(200, OutsideSettlementsSchema)
def outside_settlements(contract_id: int):
    """The contract's carried top-ups (what no act pays) and what was settled outside the acts."""
    return _outside_settlements(get_visible_or_404(Contract, contract_id))


@blp.route("/contracts/<int:contract_id>/settle-outside", methods=["POST"])
@blp.arguments(SettleOutsideSchema)
@blp.response(201, OutsideSettlementsSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only the operator (a payment) or the education department "
                                                       "of the contract's region (a write-off) settles a top-up")
@blp.alt_response(409, schema=ErrorSchema, description="The top-up was settled since the ``seen`` count was read")
@blp.alt_response(422, schema=ErrorSchema, description="Per field: no order number or date, a date in the future or "
                                                       "before the month, an order used for another payment or the "
                                                       "returned one, an amount that is not the carried one, no "
                                                       "reason; the operator who recorded the return of the line's "
                                                       "last payment (another operator pays it again: four eyes); "
                                                       "or a top-up no longer carried")
def settle_outside(payload, contract_id: int):
    """Record that a carried top-up was paid by a payment order (the operator) or written off with the reason (the
    department of the contract's region) — the same operation and checks as the contract's page, exactly once."""
    from app.contracts import settlements

    contract = get_visible_or_404(Contract, contract_id)
    kinds = settlements.kinds_for(current_user, contract)
    if not kinds:
        return error_response(403, _("Only the operator records a carried top-up paid outside the acts, and the "
                                     "education department of the contract's region writes one off."))
    try:
        request = settlements.checked_request(kinds[0], payload["line_id"], payload["seen"], payload["amount_tiyn"],
                                              payload["order_number"], payload["paid_on"], payload["reason"])
        settlements.settle_outside(contract, current_user, request)
        db.session.commit()
    except (FormInvalid, DomainRefused, ConflictError, EngineError) as err:
        return _refusal(err)
    db.session.expire_all()
    return _outside_settlements(db.session.get(Contract, contract_id))


@blp.route("/contracts/<int:contract_id>/settlements/<int:settlement_id>/return", methods=["POST"])
@blp.arguments(PaymentReturnSchema)
@blp.response(200, OutsideSettlementsSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only the operator records a payment the bank returned")
@blp.alt_response(409, schema=ErrorSchema, description="The payment was already recorded as returned")
@blp.alt_response(422, schema=ErrorSchema, description="A settlement of another contract or a write-off, a day "
                                                       "before the payment or far ahead, a reason not on the list, no "
                                                       "reference, \"other\" without a note")
def return_settlement(payload, contract_id: int, settlement_id: int):
    """Record that the bank sent back the payment order of a carried top-up paid outside the acts (the same operation
    and checks as the contract's page): it counts as not paid, the top-up is carried again — paid once more by
    another operator — and the school and the other operators are told."""
    from app.contracts.settlements import may_record_returns, record_settlement_return

    contract = get_visible_or_404(Contract, contract_id)
    if not may_record_returns(current_user):
        return error_response(403, _("Only the operator records a payment the bank returned."))
    try:
        record_settlement_return(contract, settlement_id, payload["returned_on"], payload["reason"],
                                 payload["reference"], payload["note"], current_user)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        return _refusal(err)
    db.session.expire_all()
    return _outside_settlements(db.session.get(Contract, contract_id))
