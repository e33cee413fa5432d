"""How the contract workflow's tasks touch the contract: signing, activation, the monthly-act loop."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.acts.operations import register_acceptance_check, register_opening_rule
from app.acts.payee import register_account_change, register_payee_account
from app.acts.terms import ActTerms, register_terms_provider
from app.applications.models import Application
from app.contracts import operations
from app.contracts.amendments import terms_on
from app.contracts.documents import document_of
from app.contracts.models import LEVEL_GRADES, Contract, ContractAct
from app.contracts.payee_account import account_changed_by
from app.engine.errors import DomainRefused
from app.engine.handlers import TaskContext, TaskHandler, task_handler
from app.engine.operators import instance_subject, operator
from app.extensions import db
from app.orders.models import LEVELS
from app.payments.operations import register_payment_check
from app.people.roles import Role
from app.words import N_


def contract_of(ctx) -> Contract:
    contract = db.session.get(Contract, ctx.instance.subject_id) if ctx.instance.subject_type == "contract" else None
    if contract is None:
        raise DomainRefused.said(N_("This task is not linked to a contract."))
    return contract


@task_handler("contracts/sign")
class SignContract(TaskHandler):
    """Both signing tasks: the password is checked again and never stored in workflow data."""

    template = "contracts/_sign_panel.html"
    #: the two sides' signatories: the organisation's director and the department's head
    roles = frozenset({Role.SCHOOL_DIRECTOR.value, Role.DORMITORY_DIRECTOR.value, Role.DEPARTMENT_HEAD.value})

    def context(self, ctx: TaskContext) -> dict:
        contract = contract_of(ctx)
        return {"contract": contract, "document": document_of(contract)}

    def seen(self, ctx: TaskContext) -> str | None:
        """The SHA-256 of the document the panel shows: sent back with the form, the signature signs those bytes or
        nothing (a template or the contract changed in between gives other bytes)."""
        return document_of(contract_of(ctx)).sha256

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        if not data.get("confirm"):
            raise DomainRefused(_("Confirm that you have read the contract."))
        signature = operations.sign_contract(contract_of(ctx), ctx.actor, data.get("password") or "", ctx.seen,
                                             shown_required=ctx.seen_required)
        return {f"signed_{signature.capacity}": signature.document_sha256}


def _contract(ctx, contract_id: int) -> Contract:
    return instance_subject(ctx, Contract, "contract", contract_id)


@operator("contracts/generate", params={"application_id": int},
          description=_l("Generates the contract from the allocated places and starts its signing."))
def generate(ctx, application_id: int) -> dict:
    """Generate the contract from the allocation and start its signing process."""
    application = instance_subject(ctx, Application, "application", application_id)
    contract = operations.generate_contract(application, ctx.actor)
    return {"contract_id": contract.id, "number": contract.number}


@operator("contracts/activate", params={"contract_id": int},
          description=_l("Both parties have signed: puts the contract in force."))
def activate(ctx, contract_id: int) -> dict:
    """Both parties have signed: the contract is active."""
    contract = _contract(ctx, contract_id)
    operations.activate(contract)
    return {"status": contract.status}


@operator("contracts/plan_month", params={"contract_id": int},
          description=_l("Finds the contract's next month and when it ends (the timer waits until then)."))
def plan_month(ctx, contract_id: int) -> dict:
    """The next month of the contract and when it ends (the timer waits until then)."""
    return operations.plan_next_month(_contract(ctx, contract_id))


@operator("contracts/open_act", params={"contract_id": int, "period": str},
          description=_l("The month has ended: opens the monthly act under the contract."))
def open_act(ctx, contract_id: int, period: str) -> dict:
    """Month ended: open the school's monthly act under this contract."""
    month = date.fromisoformat(period)
    operations.month_has_ended(month)
    act = operations.open_contract_act(_contract(ctx, contract_id), month)
    return {"act_id": act.id, "number": act.number}


@operator("contracts/close", params={"contract_id": int},
          description=_l("The year-end report is approved: closes the contract."))
def close(ctx, contract_id: int) -> dict:
    """Year-end report approved: the contract closes."""
    contract = _contract(ctx, contract_id)
    operations.close(contract)
    return {"status": contract.status}


register_opening_rule(operations.act_under_contract)  # an act of a school under contract is the contract's act


@register_terms_provider
def contract_terms(act) -> ActTerms | None:
    """Acts opened under a contract are checked against its levels, capacity and monthly cap — as in
    force for the act's month (an amendment applies from its effective month on)."""
    link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).first()
    if link is None:
        return None
    return _terms_of(link.contract, act, operations.committed_under([link.contract_id]).get(link.contract_id, 0))


def _contract_terms_many(acts) -> dict[int, ActTerms]:
    """The same for many acts (a month-wide verification): one query per 900 acts, not one per act."""
    from sqlalchemy.orm import selectinload

    from app.orders.models import StateOrder

    by_id = {a.id: a for a in acts}
    ids = list(by_id)
    found: dict[int, ActTerms] = {}
    for i in range(0, len(ids), 900):
        links = list(db.session.scalars(select(ContractAct).where(ContractAct.act_id.in_(ids[i : i + 900]))
                                        .options(selectinload(ContractAct.contract).selectinload(Contract.order)
                                                 .selectinload(StateOrder.norms),
                                                 selectinload(ContractAct.contract).selectinload(Contract.amendments))))
        committed = operations.committed_under(sorted({link.contract_id for link in links}))
        for link in links:
            found[link.act_id] = _terms_of(link.contract, by_id[link.act_id], committed.get(link.contract_id, 0))
    return found


contract_terms.many = _contract_terms_many


def _terms_of(contract: Contract, act, committed: int) -> ActTerms:
    """The terms in force for the act's month (an amendment applies from its effective month on).

    The act earns at most the monthly cap, and at most what the contract's amount has left after the acts accepted
    or paid under it (``committed``, this act's own amount not counted): an act verified above what is left would
    be accepted and then refused at payment for good (within_contract_cap) — a jam nobody could clear."""
    terms = terms_on(contract, act.period)
    grades = frozenset(g for level, span in LEVEL_GRADES.items() if terms[f"places_{level}"] > 0 for g in span)
    own = operations.taken_by(act, contract.id) if act.status in operations.COMMITTED else 0
    # The contract's amount is one budget for all its months: the amount in force now (an amendment lowering it
    # from December had left September–November checked against the old amount, and all three were paid).
    left = max(contract.amount_cap_tiyn - (committed - own), 0)
    # No licence date: contract.licence_valid_until is what was checked at signing; the licence registry as it is
    # now decides the covered days (a renewal pays on).
    return ActTerms(allowed_grades=grades, design_capacity=contract.design_capacity,
                    amount_cap_tiyn=min(terms["monthly_cap_tiyn"], left), total_left_tiyn=left,
                    contract_id=contract.id,
                    norms_tiyn=tuple((lv, contract.order.norm(lv, contract.locality)) for lv in LEVELS),
                    places_by_level=tuple((lv, int(terms[f"places_{lv}"])) for lv in LEVELS))


@register_payee_account
def contract_account(act) -> str | None:
    """An act under a contract is paid to the IBAN the contract names (the one both parties signed), whatever the
    organisation's record says now."""
    link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).first()
    return link.contract.iban if link is not None else None


# who changed an act's account by the contract's agreement (app.contracts.payee_account): the payment's four eyes
register_account_change(account_changed_by)


@register_payment_check
def within_contract_cap(act) -> None:
    """An act under a contract is paid only within the contract's monthly and annual caps in force for its month
    (the amended ones from an amendment's effective month, the earlier ones before)."""
    from app.i18n import format_tenge

    link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).first()
    if link is None:
        return
    contract = link.contract
    terms = terms_on(contract, act.period)
    # The monthly cap bounds what the month's own lines earn; an adjustment belongs to its own month and is kept
    # within that month's cap when it is settled (app.acts.adjustments), so it is not counted against this one.
    if act.lines_amount_tiyn > terms["monthly_cap_tiyn"]:
        raise DomainRefused(_("The act's amount %(amount)s exceeds the contract's monthly cap %(cap)s.",
                              amount=format_tenge(act.lines_amount_tiyn),
                              cap=format_tenge(terms["monthly_cap_tiyn"])))
    # What the paid acts and this one take of the amount (their adjustments of other contracts' months aside).
    taken = operations.committed_under([contract.id], ("paid",)).get(contract.id, 0)
    if taken + operations.taken_by(act, contract.id) > contract.amount_cap_tiyn:
        raise DomainRefused(_("Paying this act would exceed the contract's amount cap %(cap)s.",
                              cap=format_tenge(contract.amount_cap_tiyn)))


@register_acceptance_check
def within_contract_amount_at_acceptance(act) -> None:
    """An act is accepted only if the contract's amount can still pay it after every act already accepted or paid
    under it: then every accepted act can be paid (an act verified beside another, or carrying a top-up, was
    accepted above what was left and then refused at payment for good — nobody could pay, return or cancel it)."""
    from app.i18n import format_tenge

    link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).first()
    if link is None:
        return
    # Two acts under one contract accepted at once each read what the other had not yet committed, and together
    # went over the amount. PostgreSQL: the contract's row is locked until commit (an amendment takes the same
    # lock), so the second acceptance reads the first; SQLite has one writer anyway.
    contract = db.session.scalars(select(Contract).where(Contract.id == link.contract_id)
                                  .with_for_update(key_share=True)  # not against rows that merely reference it
                                  .execution_options(populate_existing=True)).one()
    committed = operations.committed_under([contract.id]).get(contract.id, 0)
    left = contract.amount_cap_tiyn - committed
    if operations.taken_by(act, contract.id) > left:
        raise DomainRefused(_("The contract's amount has %(left)s left after the acts already accepted or paid, "
                              "less than this act's %(amount)s. Return the act: verified again when it is "
                              "resubmitted, it is paid within what is left — or amend the contract first.",
                              left=format_tenge(max(left, 0)), amount=format_tenge(act.amount_tiyn)))
