"""Contract pages: list, show (document, signatures, acts, payments, year-end, history), sign."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditEvent
from app.contracts import document_restore, documents, operations
from app.contracts.document_response import RETRY_PENDING_SECONDS, document_response
from app.contracts.models import ActEscalation, Contract, ContractAct
from app.engine.errors import ConflictError, DomainRefused, EngineError, FormInvalid
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.orders.models import LEVELS
from app.payments.models import Payment
from app.people.access import get_visible_or_404, scope_clause
from app.people.roles import Role
from app.user_input import page_number

bp = Blueprint("contracts", __name__)
SIGN_TASKS = {Role.SCHOOL_DIRECTOR.value: "sign_director", Role.DORMITORY_DIRECTOR.value: "sign_dorm_director",
              Role.DEPARTMENT_HEAD.value: "sign_head"}


def register_lifecycle_blueprints(app: Flask) -> None:
    from app import ui
    from app.applications.views import bp as applications_bp
    from app.contracts import labels
    from app.orders.views import bp as orders_bp

    for blueprint in (orders_bp, applications_bp, bp):
        app.register_blueprint(blueprint)
    ui.TASK_TITLES.update(labels.TASK_TITLES)
    ui.AUDIT_ACTIONS.update(labels.AUDIT_ACTIONS)

    @app.context_processor
    def lifecycle_labels() -> dict:
        from app.applications.rules import reason
        from app.contracts.labels import contract_status, level_label, status_label
        from app.contracts.sla import is_overdue

        return {"task_overdue": is_overdue, "lifecycle_status": status_label, "level_label": level_label,
                "eligibility_reason": reason, "contract_for_act": contract_for_act, "contract_status": contract_status,
                "instance_history": history_of}


@dataclass
class ActUnderContract:
    contract: Contract
    paid_tiyn: int


def contract_for_act(act) -> ActUnderContract | None:
    """The contract an act is paid under (for the act and payment pages), or None."""
    link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).first()
    if link is None:
        return None
    return ActUnderContract(link.contract, operations.paid_under(link.contract))


def history_of(instance_id: int | None) -> list[AuditEvent]:
    if instance_id is None:
        return []
    return db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"instance:{instance_id}")
                              .order_by(AuditEvent.seq)).all()


def visible_contract(contract_id: int) -> Contract:
    contract = get_visible_or_404(Contract, contract_id)
    return contract


@bp.route("/contracts")
@login_required
def index():
    from app.contracts import listing

    f = listing.ContractFilter.from_args(request.args)
    found = listing.contracts_page(current_user, f, page_number(request.args))
    visible = scope_clause(current_user, Contract.region_id, Contract.school_id)
    unmatched = set(db.session.scalars(document_restore.unmatched_ids([c.id for c in found.rows])))
    unmatched_count = db.session.scalar(select(func.count(Contract.id)).where(
        visible, Contract.id.in_(document_restore.unmatched_ids())))
    escalations = []
    if current_user.role not in (Role.SCHOOL_ACCOUNTANT.value, Role.SCHOOL_DIRECTOR.value,
                                 Role.DORMITORY_ACCOUNTANT.value, Role.DORMITORY_DIRECTOR.value):
        escalations = db.session.scalars(
            select(ActEscalation).where(scope_clause(current_user, ActEscalation.region_id, None))
            .order_by(ActEscalation.escalated_at.desc()).limit(50)).all()
    return render_template("contracts/index.html", found=found, f=f, statuses=listing.statuses(),
                           escalations=escalations, unmatched=unmatched, unmatched_count=unmatched_count)


@bp.route("/contracts/<int:contract_id>")
@login_required
def show(contract_id: int):
    return _show(visible_contract(contract_id))


def _show(contract: Contract, settle_errors: dict | None = None, settle_values: dict | None = None,
          status: int = 200):
    from app.acts.adjustments import cause_title, owed
    from app.contracts.amendments import may_amend
    from app.contracts.payee_account import SIGNED, may_change_account
    from app.contracts.settlements import kind_label, kinds_for, may_record_returns, own_returns, settlements_under
    from app.payments.returns import RETURN_REASON_LABELS
    from app.yearend.operations import reports_of, year_end_instance

    document = documents.document_of(contract)  # reads only: a GET writes nothing
    acts = operations.contract_acts(contract)
    payments = {p.act_id: p for p in db.session.scalars(
        select(Payment).where(Payment.act_id.in_([a.id for a in acts] or [0]), Payment.returned_on.is_(None)))}
    corrections = operations.corrections_under(contract)
    settlements = settlements_under(contract)
    seen: dict[int, int] = {}
    for row in settlements:  # what each carried line's form says was settled before (the exactly-once lock)
        seen[row.original_line_id] = seen.get(row.original_line_id, 0) + 1
    expected = operations.expected_signer(contract)
    my_turn = expected is not None and current_user.role == expected  # a signing capacity is its role's name
    return render_template("contracts/show.html", contract=contract, acts=acts, payments=payments, levels=LEVELS,
                           paid=operations.paid_under(contract), reports=reports_of(contract), my_turn=my_turn,
                           year_end=year_end_instance(contract),
                           can_sign=current_user.role in SIGN_TASKS, events=history_of(contract.instance_id),
                           document=document,
                           next_timer=_next_timer(contract.instance_id),
                           can_amend=contract.status == "active" and may_amend(current_user, contract),
                           can_change_account=contract.status in SIGNED and may_change_account(current_user, contract),
                           unsettled=owed(corrections), time_barred=[u for u in corrections if u.time_barred],
                           settlements=settlements, settled_seen=seen, outside_kinds=kinds_for(current_user, contract),
                           own_returns=own_returns(contract, settlements, current_user),
                           returned_by=_returned_by(settlements),
                           outside_kind_label=kind_label, may_return_settlement=may_record_returns(current_user),
                           return_reasons=RETURN_REASON_LABELS, settle_errors=settle_errors or {},
                           settle_values=settle_values or {}, adjustment_cause=cause_title), status


def _returned_by(settlements) -> dict[int, str]:
    """Who recorded each settlement's return, by the settlement's id (the page names them: four eyes)."""
    from app.people.models import User

    return {row.id: getattr(db.session.get(User, row.returned_by_id), "full_name", "?") for row in settlements
            if row.returned_by_id is not None}


@bp.route("/contracts/<int:contract_id>/settle-outside", methods=["POST"])
@login_required
def settle_outside(contract_id: int):
    """The operator records a carried top-up paid by a payment order; the department writes one off (see
    :mod:`app.contracts.settlements`). Anyone else who may see the contract: 403."""
    from app.contracts import settlements

    contract = visible_contract(contract_id)
    kinds = settlements.kinds_for(current_user, contract)
    if not kinds:
        abort(403)
    values = {name: request.form.get(name, "").strip() for name in
              ("line_id", "seen", "amount", "order_number", "paid_on", "reason")}
    try:
        row = settlements.settle_outside(contract, current_user, settlements.parse_form(request.form, kinds[0]))
        db.session.commit()
    except FormInvalid as err:
        db.session.rollback()
        return _show(db.session.get(Contract, contract_id), dict(err.errors), values, 422)
    except (DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("contracts.show", contract_id=contract_id, _anchor="unsettled-corrections"), 303)
    from app.i18n import format_month

    month = format_month(row.period)
    flash(_("Recorded: the carried top-up of %(month)s was paid outside the acts.", month=month) if row.kind == "paid"
          else _("Recorded: the carried top-up of %(month)s was written off.", month=month), "success")
    return redirect(url_for("contracts.show", contract_id=contract_id, _anchor="settled-outside"), 303)


@bp.route("/contracts/<int:contract_id>/settlements/<int:settlement_id>/return", methods=["POST"])
@login_required
def return_settlement(contract_id: int, settlement_id: int):
    """The operator records that the bank sent back the payment order of a carried top-up paid outside the acts."""
    from app.contracts import settlements
    from app.user_input import calendar_date

    contract = visible_contract(contract_id)
    if not settlements.may_record_returns(current_user):
        abort(403)
    returned_on = calendar_date(str(request.form.get("returned_on") or "").strip(), day_first=True)
    try:
        if returned_on is None:
            raise DomainRefused(_("Enter the day the bank returned the money as a date."))
        row = settlements.record_settlement_return(
            contract, settlement_id, returned_on, request.form.get("reason", ""), request.form.get("reference", ""),
            request.form.get("note", ""), current_user)
        db.session.commit()
    except (DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        flash(str(err), "danger")
        return _show(db.session.get(Contract, contract_id), status=422)
    flash(_("Recorded: payment order %(order)s was returned by the bank. The top-up is carried again, to be paid "
            "once more.", order=row.order_number), "success")
    return redirect(url_for("contracts.show", contract_id=contract_id, _anchor="settled-outside"), 303)


def _next_timer(instance_id: int | None):
    """When the contract's process next acts by itself (the next month's act opens, the year-end report is due)."""
    from app.engine.models import ProcessInstance

    instance = db.session.get(ProcessInstance, instance_id) if instance_id else None
    return instance.next_timer_at if instance is not None and instance.status == "running" else None


@bp.route("/contracts/<int:contract_id>/document")
@login_required
def document(contract_id: int):
    """The printable contract: once signed, exactly the stored bytes whose SHA-256 the signatures record. Shown in the
    browser only while it is what was signed (or a draft nobody has signed); ``?download=1`` serves the bytes as
    stored, as a file — also when they no longer match their signatures (the evidence of the change).
    ``?sha256=``: the SHA-256 the signing page showed (its link sends it): another document now is not shown as the
    one to sign. Reads only (a contract signed before 0030 whose bytes are not stored yet is said to be prepared)."""
    contract = visible_contract(contract_id)
    shown = documents.document_of(contract)
    download = request.args.get("download") == "1"
    if shown.state == documents.PENDING:
        return render_template("error.html", status=409, title=_("Signed document being prepared"),
                               message=_("This contract was signed before signed documents were stored; its signed "
                                         "document is not stored yet and is being prepared. Try again in a few "
                                         "minutes.")), 409, {"Retry-After": str(RETRY_PENDING_SECONDS)}
    if shown.content is None:
        return render_template("error.html", status=409, title=_("Signed document not found"),
                               message=_("This contract was signed before signed documents were stored, and no "
                                         "layout of the printable contract gives the SHA-256 its signatures record. "
                                         "The operator must restore the signed document.")), 409
    if shown.state == documents.TAMPERED and not download:
        return render_template("error.html", status=409, title=_("Stored document changed"),
                               message=_("The stored signed document has been changed since it was signed: its "
                                         "SHA-256 is %(actual)s, the signatures record %(signed)s. It is not shown "
                                         "as the contract; download it as stored only to investigate.",
                                         actual=shown.sha256, signed=", ".join(sorted(shown.signed_sha256)))), 409
    expected = (request.args.get("sha256") or "").strip().lower()
    if expected and expected != shown.sha256 and not download:
        return render_template("error.html", status=409, title=_("The document has changed"),
                               message=_("This is not the document the signing page showed: its SHA-256 is now "
                                         "%(now)s, the page showed %(shown)s. Open the contract's page again to read "
                                         "and sign the document as it is now.", now=shown.sha256,
                                         shown=expected[:64])), 409
    return document_response(contract.number, shown, attachment=download)


@bp.route("/contracts/<int:contract_id>/signed-document", methods=["POST"])
@login_required
def restore_document(contract_id: int):
    """The operator restores a flagged contract's signed document from the file the signers hold: stored only if its
    SHA-256 is the one the signatures record (:func:`app.contracts.document_restore.restore_uploaded`). Others: 403."""
    contract = visible_contract(contract_id)
    if current_user.role != Role.OPERATOR.value:
        abort(403)
    upload = request.files.get("document")
    # read one byte past the limit, never the whole stream: a larger file is refused by its size, not read whole
    content = upload.stream.read(document_restore.MAX_UPLOAD_BYTES + 1) if upload is not None else b""
    filename = upload.filename or "" if upload is not None else ""
    try:
        document_restore.restore_uploaded(contract, current_user, content, filename)
        db.session.commit()
    except DomainRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("contracts.show", contract_id=contract_id, _anchor="document-unmatched"), 303)
    flash(_("The signed document is restored: its SHA-256 is the one the signatures record."), "success")
    return redirect(url_for("contracts.show", contract_id=contract_id), 303)


@bp.route("/contracts/<int:contract_id>/sign", methods=["POST"])
@login_required
def sign(contract_id: int):
    contract = visible_contract(contract_id)
    spec_name = SIGN_TASKS.get(current_user.role)
    if spec_name is None:
        abort(404)
    task = db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == contract.instance_id, HumanTask.spec_name == spec_name,
        HumanTask.status == "open")).first()
    try:
        if task is None:
            # Not this signer's turn (or already signed): the operation says why, and nothing changes.
            operations.check_signer(contract, current_user)
            raise DomainRefused(_("This contract is not waiting for your signature."))
        # the SHA-256 of the document the page showed: the signature signs those bytes or nothing
        complete_task(task.id, current_user, data={"confirm": request.form.get("confirm") in ("true", "on", "1"),
                                                   "password": request.form.get("password", "")},
                      seen=request.form.get("document_sha256"), seen_required=True)
        db.session.commit()
    except FormInvalid:
        db.session.rollback()
        flash(_("Confirm that you have read the contract and enter your password."), "danger")
        return redirect(url_for("contracts.show", contract_id=contract.id), 303)
    except (DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("contracts.show", contract_id=contract.id), 303)
    flash(_("Signed. The document's SHA-256 is recorded in the audit trail."), "success")
    return redirect(url_for("contracts.show", contract_id=contract.id), 303)


@bp.route("/contracts/<int:contract_id>/account", methods=["POST"])
@login_required
def change_account(contract_id: int):
    """The department records the agreement changing the contract's bank account (after the bank returned a payment
    to the old one, say)."""
    from app.contracts.payee_account import change_contract_account, may_change_account

    contract = visible_contract(contract_id)
    if not may_change_account(current_user, contract):
        abort(403)
    try:
        iban = change_contract_account(contract, request.form.get("iban", ""), request.form.get("rationale", ""),
                                       current_user)
        db.session.commit()
    except FormInvalid as err:
        db.session.rollback()
        for message in err.errors.values():
            flash(message, "danger")
        return _show(db.session.get(Contract, contract_id), status=422)
    except (DomainRefused, ConflictError, EngineError) as err:
        db.session.rollback()
        flash(str(err), "danger")
        return _show(db.session.get(Contract, contract_id), status=422)
    flash(_("Recorded: contract %(number)s is paid to account %(iban)s from now on. An act waiting to be paid again "
            "after a return is paid there once another department official confirms it.", number=contract.number,
            iban=iban), "success")
    return redirect(url_for("contracts.show", contract_id=contract_id), 303)


@bp.route("/contracts/<int:contract_id>/amend", methods=["GET", "POST"])
@login_required
def amend(contract_id: int):
    """The education department amends an active contract's places, amount or term, with a reason."""
    from app.contracts.amendments import amendable_instrument, may_amend, parse_form

    contract = visible_contract(contract_id)
    if not amendable_instrument(contract):
        flash(_("A dormitory contract cannot be amended here: its places are priced by its own rate per place. "
                "Conclude a new contract for the changed places."), "warning")
        return redirect(url_for("contracts.show", contract_id=contract.id), 303)
    if not may_amend(current_user, contract):
        abort(403)
    if contract.status != "active":
        flash(_("Only an active contract can be amended."), "danger")
        return redirect(url_for("contracts.show", contract_id=contract.id), 303)
    values = _amend_values(contract)
    errors: dict[str, str] = {}
    error = None
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in values}
        values["confirm"] = request.form.get("confirm", "")
        try:
            amendment = operations.amend_contract(contract, current_user, parse_form(request.form))
            db.session.commit()
        except FormInvalid as err:
            db.session.rollback()
            errors = dict(err.errors)
        except (DomainRefused, ConflictError, EngineError) as err:
            db.session.rollback()
            error = str(err)
        except IntegrityError:  # another amendment of the same version was committed first (unique contract, seq)
            db.session.rollback()
            error = _("Someone amended this contract meanwhile. Review its current terms and amend again.")
        else:
            flash(_("Amendment %(number)s recorded; the school has been notified.", number=amendment.number),
                  "success")
            return redirect(url_for("contracts.show", contract_id=contract.id), 303)
        if error or "revision" in errors:
            db.session.expire_all()
            contract = db.session.get(Contract, contract_id)
            values["revision"] = str(len(contract.amendments))
    status = 422 if (error or errors) else 200
    return render_template("contracts/amend.html", contract=contract, values=values, errors=errors, error=error,
                           levels=LEVELS, paid=operations.paid_under(contract)), status


def _amend_values(contract: Contract) -> dict:
    from decimal import Decimal

    from app.contracts.amendments import earliest_effective

    return {"places_primary": str(contract.places_primary), "places_basic": str(contract.places_basic),
            "places_secondary": str(contract.places_secondary),
            "amount": str(Decimal(contract.amount_cap_tiyn) / 100), "period_end": contract.period_end.isoformat(),
            "effective_from": f"{earliest_effective(contract):%Y-%m}", "rationale": "",
            "revision": str(len(contract.amendments)), "confirm": ""}
