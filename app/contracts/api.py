"""REST API of the lifecycle under /api/v1: orders, applications, contracts, signing.

Same session and CSRF rules as the pages; the same scope checks; signing runs the same engine task.
"""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.api.blueprint import Blueprint
from app.api.errors import ErrorSchema, error_response
from app.api.paging import PAGING, page_of
from app.applications.models import Application
from app.contracts import operations
from app.contracts.document_response import RETRY_PENDING_SECONDS, document_response
from app.contracts.documents import PENDING, document_of
from app.contracts.models import Contract
from app.contracts.schemas import (
    AmendContractSchema,
    ApplicationSchema,
    ContractDetailSchema,
    ContractSchema,
    SignContractSchema,
    StateOrderSchema,
)
from app.engine.errors import ConflictError, DomainConflict, DomainRefused, EngineError, FormInvalid
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.orders.models import StateOrder
from app.people.access import get_visible_or_404, scope_clause
from app.people.roles import Role, Scope

blp = Blueprint("lifecycle_api", __name__, url_prefix="/api/v1",
                description="State orders, applications and contracts")
SIGN_TASKS = {Role.SCHOOL_DIRECTOR.value: "sign_director", Role.DORMITORY_DIRECTOR.value: "sign_dorm_director",
              Role.DEPARTMENT_HEAD.value: "sign_head"}


@blp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        abort(401)


@blp.route("/orders")
@blp.response(200, StateOrderSchema(many=True))
@blp.paginate(**PAGING)
def orders(pagination_parameters):
    """State orders of the user's region (every region for national roles), a page at a time."""
    query = select(StateOrder)
    if current_user.scope is not Scope.NATIONAL:
        query = query.where(StateOrder.region_id == current_user.region_id)
    return page_of(query.order_by(StateOrder.id), pagination_parameters)


@blp.route("/applications/<int:application_id>")
@blp.response(200, ApplicationSchema)
def application(application_id: int):
    found = get_visible_or_404(Application, application_id)
    return found


@blp.route("/contracts")
@blp.response(200, ContractSchema(many=True))
@blp.paginate(**PAGING)
def contracts(pagination_parameters):
    """Contracts the user may see (their school's, their region's, every region's for national roles), a page
    at a time."""
    return page_of(select(Contract).where(scope_clause(current_user, Contract.region_id, Contract.school_id))
                   .order_by(Contract.id), pagination_parameters)


class _ContractDetail:
    """The contract plus what the detail document adds (its acts, the amount paid, the document's hash and whether
    it is what was signed)."""

    def __init__(self, contract: Contract):
        self._contract = contract
        self.acts = operations.contract_acts(contract)
        self.paid_tiyn = operations.paid_under(contract)
        document = document_of(contract)
        self.document_sha256 = document.sha256
        self.document_state = document.state

    def __getattr__(self, name: str):
        return getattr(self._contract, name)


def contract_detail(contract: Contract) -> _ContractDetail:
    return _ContractDetail(contract)  # reads only: a GET writes nothing (a document not stored yet is "pending")


@blp.route("/contracts/<int:contract_id>")
@blp.response(200, ContractDetailSchema)
def contract(contract_id: int):
    found = get_visible_or_404(Contract, contract_id)
    return contract_detail(found)


@blp.route("/contracts/<int:contract_id>/document")
@blp.response(200, description="The printable contract's bytes, always as an attachment: once signed, exactly the "
                               "stored bytes (also when they no longer match their signatures: the evidence of the "
                               "change, said by ``X-Document-State: tampered``); before, the draft as rendered now. "
                               "``X-Document-SHA256`` is their SHA-256 — the value to send as ``document_sha256`` "
                               "when signing — and ``X-Document-State`` the contract's ``document_state``. Served "
                               "with ``X-Content-Type-Options: nosniff`` and a sandboxing Content-Security-Policy.",
              content_type="text/html")
@blp.doc(responses={"200": {
    "content": {"text/html": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {
        "X-Document-SHA256": {"description": "SHA-256 of the bytes served (the value to send when signing)",
                              "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
        "X-Document-State": {"description": "draft, intact or tampered (as the detail's document_state)",
                             "schema": {"type": "string", "enum": ["draft", "intact", "tampered"]}},
        "Content-Disposition": {"description": "attachment; filename=\"<contract number>.html\"",
                                "schema": {"type": "string"}}}}})
@blp.alt_response(409, schema=ErrorSchema, description="No bytes to serve: signed before documents were stored and "
                                                       "not stored yet (``Retry-After`` says when to ask again), or "
                                                       "flagged because no layout gives the signed SHA-256")
def contract_document(contract_id: int):
    """The printable contract's bytes (the same document, rules and headers as the contract page's download)."""
    found = get_visible_or_404(Contract, contract_id)
    shown = document_of(found)
    if shown.state == PENDING:
        return error_response(409, _("This contract was signed before signed documents were stored; its signed "
                                     "document is not stored yet and is being prepared. Try again in a few minutes."),
                              headers={"Retry-After": str(RETRY_PENDING_SECONDS)})
    if shown.content is None:
        return error_response(409, _("This contract was signed before signed documents were stored, and no layout of "
                                     "the printable contract gives the SHA-256 its signatures record. The operator "
                                     "must restore the signed document."))
    return document_response(found.number, shown, attachment=True)


@blp.route("/contracts/<int:contract_id>/sign", methods=["POST"])
@blp.arguments(SignContractSchema)
@blp.response(200, ContractDetailSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Someone else signed or changed the contract first, or the "
                                                       "document is no longer the one whose SHA-256 was sent")
@blp.alt_response(422, schema=ErrorSchema, description="Wrong password, no document_sha256, or not waiting for this "
                                                       "signature")
def sign(payload, contract_id: int):
    """Sign as the school director or the department head; the password is asked again. ``document_sha256`` is the
    SHA-256 of the printable contract you read (``GET /contracts/{contract_id}/document``, or the detail's
    ``document_sha256``): the signature signs those bytes or nothing (409 when the document is now another one)."""
    found = get_visible_or_404(Contract, contract_id)
    task = db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == found.instance_id, HumanTask.spec_name == SIGN_TASKS.get(current_user.role, ""),
        HumanTask.status == "open")).first()
    try:
        if task is None:
            operations.check_signer(found, current_user)
            raise DomainRefused(_("This contract is not waiting for your signature."))
        complete_task(task.id, current_user, data={"confirm": True, "password": payload["password"]},
                      seen=payload["document_sha256"], seen_required=True)
        db.session.commit()
    except (FormInvalid, DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        # A lost race is 409 with the API's one error document, like every other conflict.
        if isinstance(err, FormInvalid):  # its text is the engine's fixed English; the reader's language instead
            return error_response(422, _("The request is not valid; see the errors per field."), dict(err.errors))
        return error_response(409 if isinstance(err, ConflictError | DomainConflict) else 422, str(err))
    db.session.expire_all()
    return contract_detail(db.session.get(Contract, contract_id))


@blp.route("/contracts/<int:contract_id>/amendments", methods=["POST"])
@blp.arguments(AmendContractSchema)
@blp.response(201, ContractDetailSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only the region's education department amends contracts")
@blp.alt_response(409, schema=ErrorSchema, description="Someone amended the contract first (revision is stale)")
@blp.alt_response(422, schema=ErrorSchema, description="The amendment does not fit the contract (per field)")
def amend(payload, contract_id: int):
    """Amend an active contract's places, amount cap or term from a month on, with a reason (the same operation
    and checks as the page); the school is notified and the open data gains a contract amendment release."""
    from sqlalchemy.exc import IntegrityError

    from app.contracts.amendments import AmendmentRequest, may_amend

    found = get_visible_or_404(Contract, contract_id)
    if not may_amend(current_user, found):
        return error_response(403, _("Only the education department of the contract's region amends it."))
    request = AmendmentRequest(payload["places_primary"], payload["places_basic"], payload["places_secondary"],
                               payload["amount_cap_tiyn"], payload["period_end"],
                               payload["effective_from"].replace(day=1), payload["rationale"], payload["revision"])
    try:
        operations.amend_contract(found, current_user, request)
        db.session.commit()
    except (FormInvalid, DomainRefused, ConflictError) as err:
        db.session.rollback()
        return error_response(409 if isinstance(err, ConflictError) else 422,
                              _("The amendment has errors.") if isinstance(err, FormInvalid) else str(err),
                              dict(err.errors) if isinstance(err, FormInvalid) else None)
    except IntegrityError:
        db.session.rollback()
        return error_response(409, _("Someone amended this contract meanwhile. Review its current terms and amend "
                                     "again."))
    db.session.expire_all()
    return contract_detail(db.session.get(Contract, contract_id))
