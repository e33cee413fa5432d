"""The business facts an audit event vouches for: the money and legal fields of the row it created.

One function per kind of row, used twice — by the operation that writes the event (``record_event(...,
facts=act_facts(act))``) and by ``verify-audit``, which recomputes them from the rows as they are now and
reports every field that differs. A value is kept as is when a person would want to read it in the report
(amounts, order number); a list (act lines, signatures) is kept as a SHA-256 digest of its canonical JSON.

The loaders work on whole tables in a few statements (``load_*``), so checking every row stays set-based.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select

from app.extensions import db


def digest(value) -> str:
    body = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


# -- act ----------------------------------------------------------------------------------------------------
_LINE_FIELDS = ("line_no", "iin", "full_name", "grade", "days_attended", "outcome", "rule_code", "amount_tiyn")
#: What an act settles for earlier months (app.acts.adjustments): a claw-back or top-up row says what was settled
#: for a line, and every later settlement deducts it — a row slipped onto a paid act stopped a claw-back for good.
_ADJUSTMENT_FIELDS = ("original_line_id", "period", "iin", "rule_code", "original_amount_tiyn",
                      "corrected_amount_tiyn", "amount_tiyn")
#: Facts added after events were first written with act facts: an event that does not carry one vouches for the
#: rest (verify-audit compares it only where the event has it).
#: The capacity pinned on the act by its verification (migration 0037) is one: its month is repriced with it, so a
#: writer who raised it (or unpinned it, for the school's capacity as edited since) would have paid top-ups into
#: places the month did not have.
ADDED_LATER = frozenset({"adjustment_tiyn", "adjustments_sha256", "verified_capacity", "capacity_pinned"})
#: Facts added later whose row value is NULL where no event could have recorded one: an event without the fact
#: vouches for the row only while the row has none either. The account an act is accepted to be paid to (and a
#: payment was sent to) is pinned since migration 0027: a database writer who pinned one on an act accepted
#: before would have sent its payment there, unseen, had the old events been taken to vouch for any value.
ADDED_LATER_UNSET = {"payee_iban": None, "returned_on": None, "return_reason": None, "return_reference": None}


def _act_facts(act, lines: Iterable, adjustments: Iterable = ()) -> dict:
    rows = sorted([getattr(ln, f) for f in _LINE_FIELDS] for ln in lines)
    settled = sorted([getattr(a, f) for f in _ADJUSTMENT_FIELDS] for a in adjustments)
    return {"number": act.number, "school_id": act.school_id, "period": act.period.isoformat(),
            "amount_tiyn": act.amount_tiyn, "withheld_tiyn": act.withheld_tiyn, "total_lines": act.total_lines,
            "accepted_lines": act.accepted_lines, "lines_sha256": digest(rows),
            "adjustment_tiyn": act.adjustment_tiyn or 0, "adjustments_sha256": digest(settled),
            "payee_iban": act.payee_iban, "verified_capacity": act.verified_capacity,
            "capacity_pinned": bool(act.capacity_pinned)}


def act_facts(act) -> dict:
    """An accepted act: what the operator will pay, to which account, the lines it is paid for, the adjustments it
    settles and the design capacity its month is repriced with."""
    from app.acts.models import ActAdjustment, ActLine

    lines = db.session.execute(select(*[getattr(ActLine, f) for f in _LINE_FIELDS])
                               .where(ActLine.act_id == act.id)).all()
    adjustments = db.session.execute(select(*[getattr(ActAdjustment, f) for f in _ADJUSTMENT_FIELDS])
                                     .where(ActAdjustment.act_id == act.id)).all()
    return _act_facts(act, lines, adjustments)


#: Acts whose money is decided: accepted for payment, or paid. Earlier states may still change legitimately.
DECIDED_ACT_STATUSES = ("accepted", "paid")


def load_act_facts(statuses: tuple[str, ...] = DECIDED_ACT_STATUSES) -> dict[int, dict]:
    """Every act in ``statuses`` with its facts: three statements, joins rather than lists of ids."""
    from app.acts.models import Act, ActAdjustment, ActLine

    lines = defaultdict(list)
    for row in db.session.execute(select(ActLine.act_id, *[getattr(ActLine, f) for f in _LINE_FIELDS])
                                  .join(Act, Act.id == ActLine.act_id).where(Act.status.in_(statuses))):
        lines[row.act_id].append(row)
    adjustments = defaultdict(list)
    for row in db.session.execute(select(ActAdjustment.act_id, *[getattr(ActAdjustment, f)
                                                                   for f in _ADJUSTMENT_FIELDS])
                                  .join(Act, Act.id == ActAdjustment.act_id).where(Act.status.in_(statuses))):
        adjustments[row.act_id].append(row)
    return {act.id: _act_facts(act, lines[act.id], adjustments[act.id])
            for act in db.session.scalars(select(Act).where(Act.status.in_(statuses)))}


# -- payment ------------------------------------------------------------------------------------------------
def payment_facts(payment) -> dict:
    """A registered payment: how much was paid, by which payment order, to which account, for which act — and, once
    the bank has sent it back, the return (day, reason, the bank's reference): a payment marked returned counts as
    not paid and lets its act be paid again, so a return written without its event is reported. A payment not
    returned keeps the facts it always had (the return's are added only once there is one: the ``act.paid`` events
    written before returns were kept vouch for it, ``ADDED_LATER_UNSET``)."""
    facts = {"act_id": payment.act_id, "amount_tiyn": payment.amount_tiyn, "order_number": payment.order_number,
             "paid_on": payment.paid_on.isoformat(), "payee_iban": payment.payee_iban}
    returned_on, reason, reference = (getattr(payment, name, None) for name in
                                      ("returned_on", "return_reason", "return_reference"))
    if returned_on is not None or reason is not None or reference is not None:
        facts.update(returned_on=returned_on.isoformat() if returned_on else None, return_reason=reason,
                     return_reference=reference)
    return facts


def load_payment_facts() -> dict[int, dict]:
    from app.payments.models import Payment

    return {p.id: payment_facts(p) for p in db.session.scalars(select(Payment))}


# -- a carried top-up settled outside the acts ---------------------------------------------------------------
#: The act and month too: the reconciliation counts a settlement in its act's region and month (a database writer who
#: moved one to another act moved the money between regions, unseen), and the correction it settled.
_OUTSIDE_FIELDS = ("original_act_id", "original_line_id", "seq", "kind", "amount_tiyn", "rule_code",
                   "corrected_amount_tiyn", "order_number", "reason")


def outside_settlement_facts(row) -> dict:
    """A carried top-up paid outside the acts (payment order and date) or written off (reason): how much, for which
    line (:class:`app.acts.models.OutsideSettlement`)."""
    facts = {**{f: getattr(row, f) for f in _OUTSIDE_FIELDS}, "period": row.period.isoformat(),
             "paid_on": row.paid_on.isoformat() if row.paid_on else None}
    # once the bank sent it back, the return too (as a payment's: a settlement marked returned counts as not paid)
    if row.returned_on is not None or row.return_reason is not None or row.return_reference is not None:
        facts.update(returned_on=row.returned_on.isoformat() if row.returned_on else None,
                     return_reason=row.return_reason, return_reference=row.return_reference)
    return facts


def load_outside_settlement_facts() -> dict[int, dict]:
    from app.acts.models import OutsideSettlement

    return {row.id: outside_settlement_facts(row) for row in db.session.scalars(select(OutsideSettlement))}


# -- contract -----------------------------------------------------------------------------------------------
_TERM_FIELDS = ("number", "order_id", "school_id", "department_id", "region_id", "period_start", "period_end",
                "places_primary", "places_basic", "places_secondary", "design_capacity", "locality", "iban",
                "licence_number", "licence_valid_until", "monthly_cap_tiyn", "amount_cap_tiyn")


_AMENDMENT_FIELDS = ("seq", "effective_from", "rationale", "before_sha256", "after_sha256", "amended_by_id")


def terms_sha256(contract) -> str:
    """The digest of a contract's whole terms (what an amendment records before and after)."""
    return digest({f: getattr(contract, f) for f in _TERM_FIELDS})


def _contract_facts(contract, signatures: Iterable, amendments: Iterable = ()) -> dict:
    facts = {"monthly_cap_tiyn": contract.monthly_cap_tiyn, "amount_cap_tiyn": contract.amount_cap_tiyn,
             "terms_sha256": terms_sha256(contract)}
    facts["signatures_sha256"] = digest(sorted([s.capacity, s.signer_id, s.document_sha256] for s in signatures))
    amended = sorted([getattr(a, f) for f in _AMENDMENT_FIELDS] for a in amendments)
    if amended:  # an amended contract's events vouch for its amendments too (an unamended one's facts are as before)
        facts["amendments_sha256"] = digest(amended)
    return facts


def contract_facts(contract) -> dict:
    """A contract: its terms (parties, period, places, bank account, licence, caps), the signed hashes and the
    amendments (reason, effective month, digests of the terms before and after)."""
    from app.contracts.models import ContractAmendment, ContractSignature

    signatures = db.session.execute(select(ContractSignature.capacity, ContractSignature.signer_id,
                                           ContractSignature.document_sha256)
                                    .where(ContractSignature.contract_id == contract.id)).all()
    amendments = db.session.execute(select(*[getattr(ContractAmendment, f) for f in _AMENDMENT_FIELDS])
                                    .where(ContractAmendment.contract_id == contract.id)).all()
    return _contract_facts(contract, signatures, amendments)


def load_contract_facts() -> dict[int, dict]:
    from app.contracts.models import Contract, ContractAmendment, ContractSignature

    signatures = defaultdict(list)
    for row in db.session.execute(select(ContractSignature.contract_id, ContractSignature.capacity,
                                         ContractSignature.signer_id, ContractSignature.document_sha256)):
        signatures[row.contract_id].append(row)
    amendments = defaultdict(list)
    for row in db.session.execute(select(ContractAmendment.contract_id,
                                         *[getattr(ContractAmendment, f) for f in _AMENDMENT_FIELDS])):
        amendments[row.contract_id].append(row)
    return {c.id: _contract_facts(c, signatures[c.id], amendments[c.id]) for c in db.session.scalars(select(Contract))}
