"""The contract's bank account changed by a supplementary agreement (the payee's new IBAN).

An act under a contract is paid to the IBAN the contract names (app.contracts.handlers.contract_account), not the
organisation's. When the bank returned a payment because that account is closed or does not match the payee, nothing
could change the contract's IBAN: the act was refused at every payment for good ("the records still name that
account"). The department of the contract's region — who signs and amends the contract — records the agreement here
(:func:`change_contract_account`, the one door: audited with the contract's facts, whose terms digest covers the IBAN).
The act is then paid to the new account only once a department official of its region *other than the one who changed
it* confirms it on the act's page (app.payments.returns.confirm_repayment_account: four eyes, as after an IBAN edit of
the organisation); the officials who can confirm are told of each act that waits, once per change.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.facts import contract_facts
from app.audit.operations import record_event
from app.contracts.amendments import AMENDING_ROLES, RATIONALE_MAX, RATIONALE_MIN
from app.contracts.models import Contract, ContractAct
from app.engine.errors import DomainRefused, FormInvalid
from app.extensions import db
from app.registry.cells import iban_text
from app.registry.identifiers import is_valid_kz_iban

#: a signed contract: its account is what its acts are paid to (also after its term, while an act waits for payment)
SIGNED = ("active", "closed")
ACCOUNT_CHANGED = "contract.account_changed"


def may_change_account(user, contract: Contract) -> bool:
    """The education department of the contract's region (official or head), for a schools' or a dormitory's
    contract alike: a bank account is not priced by places."""
    return (getattr(user, "is_authenticated", False) and user.role in AMENDING_ROLES and user.region_id is not None
            and user.region_id == contract.region_id)


def change_contract_account(contract: Contract, typed_iban: str, rationale: str, actor) -> str:
    """Record the supplementary agreement that changes the contract's bank account. Refused, with nothing written:
    anyone but the region's department, a contract not signed, an IBAN that is not a valid Kazakh one or is the
    account already named, no reason (per field: :class:`FormInvalid`)."""
    from app.contracts.operations import _chain

    if not may_change_account(actor, contract):
        raise DomainRefused(_("Only the education department of the contract's region changes its bank account."))
    if contract.status not in SIGNED:
        raise DomainRefused(_("Only a signed contract's bank account is changed by an agreement; before the "
                              "signatures the school's application names the account."))
    iban = iban_text(typed_iban or "")
    rationale = (rationale or "").strip()
    errors: dict[str, str] = {}
    if not is_valid_kz_iban(iban):
        errors["iban"] = _("The IBAN is not a valid Kazakh IBAN.")
    elif iban == contract.iban:
        errors["iban"] = _("%(iban)s is already the contract's bank account.", iban=iban)
    if not RATIONALE_MIN <= len(rationale) <= RATIONALE_MAX:
        errors["rationale"] = _("Give the reason for the amendment (%(min)s to %(max)s characters).",
                                min=RATIONALE_MIN, max=RATIONALE_MAX)
    if errors:
        raise FormInvalid(errors)
    # one change at a time: the amendment's and the acceptance's lock on the contract row
    db.session.execute(select(Contract.id).where(Contract.id == contract.id).with_for_update(key_share=True))
    before = contract.iban
    contract.iban = iban
    db.session.flush()
    record_event(_chain(contract), ACCOUNT_CHANGED, "contract", contract.id, actor_id=actor.id,
                 details={"number": contract.number, "from": before, "to": iban, "comment": rationale},
                 facts=contract_facts(contract))
    from app.payments.returns import tell_of_new_account_for

    tell_of_new_account_for(select(ContractAct.act_id).where(ContractAct.contract_id == contract.id), actor)
    return iban


def account_changed_by(act_id: int, iban: str) -> tuple[int | None, datetime] | None:
    """Who changed the contract of ``act_id`` to ``iban`` last, and when (its ``contract.account_changed`` event), or
    None: the act is under no contract, or its account was not changed so."""
    from app.audit.models import AuditEvent

    contract_id = db.session.scalar(select(ContractAct.contract_id).where(ContractAct.act_id == act_id))
    if contract_id is None:
        return None
    for actor_id, at, details in db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.at, AuditEvent.details).where(
                AuditEvent.action == ACCOUNT_CHANGED, AuditEvent.object_type == "contract",
                AuditEvent.object_id == contract_id).order_by(AuditEvent.id.desc())):
        if (details or {}).get("to") == iban:
            return actor_id, at
    return None
