"""Carried top-ups settled outside the acts: the one door that records it, who may, and what the form asks.

A top-up of a closed academic year, or one whose grade can no longer be checked against NEDB, is *carried*
(:attr:`app.acts.adjustments.Unsettled.carried`): no act pays it. It was listed on the contract's page for ever,
whatever became of it. Now it is closed by one of two records (:class:`app.acts.models.OutsideSettlement`):

* **paid** by a payment order out of its year's budget — recorded by the **operator** (Financial Center JSC pays
  every act; it executes this payment order too and holds its number, date and amount);
* **written off** as not owed, with the reason — recorded by the **education department of the contract's region**
  (official or head: it decides what is owed, as it accepts or returns the acts; e.g. the grade a line claimed,
  checked with the school, was wrong).

A school's people see both on their contract's page and record neither; the auditor reads. Exactly once: the form
carries the number of settlements of the line the person saw, the record takes that number as its ``seq`` and
(line, seq) is unique — of a double submit, two tabs or two operators at once exactly one is recorded, the other is
told who settled it. The amount must be the carried amount shown. A payment counts as settled for its line: if the
registry later says the top-up was not owed, a claw-back is owed (settled by the next act within the look-back,
else listed as time-barred); a write-off only stops it being carried (a larger top-up later is carried again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.acts.models import Act, OutsideSettlement
from app.audit.facts import outside_settlement_facts
from app.audit.operations import record_event
from app.contracts.amendments import amount_field
from app.contracts.models import Contract, ContractAct
from app.engine.errors import DomainConflict, DomainRefused, FormInvalid
from app.engine.forms import direction_controls, direction_controls_refused
from app.extensions import db
from app.i18n import format_day, format_tenge
from app.people.roles import Role
from app.user_input import ascii_int, calendar_date

PAYERS = (Role.OPERATOR.value,)
WRITERS_OFF = (Role.DEPARTMENT_OFFICIAL.value, Role.DEPARTMENT_HEAD.value)
REASON_MIN, REASON_MAX = 10, 1000
ORDER_NUMBER_MAX = 40  # the payment orders' own column


@dataclass(frozen=True)
class OutsideRequest:
    """What the person asks to record for one carried top-up; ``seen``: the settlements of its line they saw."""

    line_id: int
    seen: int
    kind: str
    amount_tiyn: int
    order_number: str | None = None
    paid_on: date | None = None
    reason: str | None = None


def kinds_for(user, contract: Contract) -> tuple[str, ...]:
    """What ``user`` may record for the contract's carried top-ups (see the module's docstring): nothing, paid
    (the operator) or written off (the department of the contract's region)."""
    if not user.is_authenticated:
        return ()
    if user.role in PAYERS:
        return ("paid",)
    if user.role in WRITERS_OFF and user.region_id is not None and user.region_id == contract.region_id:
        return ("written_off",)
    return ()


def parse_form(form, kind: str) -> OutsideRequest:
    """The form's fields, checked for shape (the operation checks them against the item); every problem at once,
    in the user's language (FormInvalid)."""
    errors: dict[str, str] = {}
    line_id, seen = ascii_int(str(form.get("line_id") or "")), ascii_int(str(form.get("seen") or ""))
    if line_id is None or seen is None:
        errors["line_id"] = _("The form is out of date: open the contract's page again.")
    amount = amount_field(form, errors)
    paid_on = calendar_date(str(form.get("paid_on") or "").strip(), day_first=True) if kind == "paid" else None
    return checked_request(kind, line_id, seen, amount, form.get("order_number"), paid_on, form.get("reason"),
                           errors)


def checked_request(kind: str, line_id: int | None, seen: int | None, amount_tiyn: int | None,
                    order_number: str | None, paid_on: date | None, reason: str | None,
                    errors: dict[str, str] | None = None) -> OutsideRequest:
    """A settlement's values (the page's form read, or the JSON API's body), checked for shape as the form checks
    them; ``errors``: what reading them found already. Every problem at once (FormInvalid)."""
    errors = dict(errors or {})
    if amount_tiyn is not None and amount_tiyn <= 0:
        errors["amount"] = _("Enter the amount in tenge, e.g. 150000000 or 150000000.50.")
    if kind == "paid":
        from app.payments.models import ORDER_NUMBER_PATTERN

        order_number = (order_number or "").strip().upper()
        # The acts' payment orders' spelling: a look-alike ("РР-42" in Cyrillic, "ＰＰ-42", "PP 42") escaped the check
        # that one order pays one thing, and "=HYPERLINK(...)" was a number.
        if not re.fullmatch(ORDER_NUMBER_PATTERN, order_number):
            errors["order_number"] = _("Enter the payment order's number: Latin letters, digits, / and - (at most "
                                       "%(max)s characters).", max=ORDER_NUMBER_MAX)
        if paid_on is None:
            errors["paid_on"] = _("Enter the day the payment order was executed as a date.")
        reason = None
    else:
        order_number = paid_on = None
        reason = (reason or "").strip()
        if not REASON_MIN <= len(reason) <= REASON_MAX:
            errors["reason"] = _("Give the reason for the write-off (%(min)s to %(max)s characters).",
                                 min=REASON_MIN, max=REASON_MAX)
        elif direction_controls(reason):
            errors["reason"] = direction_controls_refused()
    if errors:
        raise FormInvalid(errors)
    return OutsideRequest(line_id, seen, kind, amount_tiyn, order_number, paid_on, reason)


def settle_outside(contract: Contract, actor, request: OutsideRequest) -> OutsideSettlement:
    """Record that a carried top-up of the contract was paid outside the acts or written off — the one door for it,
    checked here whoever calls, audited on the contract's chain with the row's facts. Refused (nothing changes):
    a kind the actor may not record, an item no longer carried, an amount or date that does not fit; a second
    settlement of what the person saw is a DomainConflict naming the first."""
    from app.contracts.operations import _chain, corrections_under

    if request.kind not in kinds_for(actor, contract):
        raise DomainRefused(_("You may not record this settlement."))
    earlier = _settlements_of_line(contract, request.line_id)
    if len(earlier) != request.seen:
        raise _settled_meanwhile(earlier)
    if request.kind == "paid":
        refusal = own_return_refusal(contract, earlier, actor)
        if refusal is not None:
            raise FormInvalid({"line_id": refusal})
    item = next((u for u in corrections_under(contract) if u.carried and u.line.id == request.line_id), None)
    if item is None:
        raise _settled_meanwhile(earlier) if earlier else DomainRefused(
            _("This top-up is no longer carried (the registry has changed, or an act settles it): nothing was "
              "recorded. Open the contract's page again."))
    if request.amount_tiyn != item.amount_tiyn:
        raise FormInvalid({"amount": _("The amount must be the carried top-up's, %(amount)s: a top-up is settled "
                                       "whole.", amount=format_tenge(item.amount_tiyn))})
    if request.kind == "paid":
        _check_payment_order(request, item.original, contract)
        _check_after_return(request, earlier)
        from app.payments.operations import hold_payment_order

        hold_payment_order(request.order_number)  # from here to the commit no other use of the number is written,
        _refuse_used_number(request.order_number, contract)  # and none was written since the check above
    row = OutsideSettlement(original_act_id=item.original.id, original_line_id=item.line.id, seq=len(earlier),
                            period=item.original.period, kind=request.kind, amount_tiyn=request.amount_tiyn,
                            rule_code=item.correction.rule_code, corrected_amount_tiyn=item.correction.corrected_tiyn,
                            order_number=request.order_number, paid_on=request.paid_on, reason=request.reason,
                            recorded_by_id=actor.id, recorded_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        # Another request that saw the same item was recorded first (the unique line and seq).
        db.session.expire_all()
        raise _settled_meanwhile(_settlements_of_line(contract, request.line_id)) from None
    record_event(_chain(contract), "contract.settled_outside", "outside_settlement", row.id, actor_id=actor.id,
                 details={"contract": contract.number, "act": item.original.number, "line": item.line.line_no,
                          "period": f"{item.original.period:%Y-%m}", "kind": row.kind,
                          "amount_tiyn": row.amount_tiyn, "rule": row.rule_code,
                          "order_number": row.order_number, "paid_on": row.paid_on.isoformat() if row.paid_on else None,
                          "reason": row.reason, "evidence": item.correction.evidence},
                 facts=outside_settlement_facts(row))
    return row


def _settlements_of_line(contract: Contract, line_id: int) -> list[OutsideSettlement]:
    """The line's settlements, if it is a line of the contract's acts: a line id of another contract (forged in the
    form) has none here — its settlements were told as "settled meanwhile by <name>, <amount>" to a department
    official of another region, who may not see that contract."""
    return list(db.session.scalars(
        select(OutsideSettlement).join(ContractAct, ContractAct.act_id == OutsideSettlement.original_act_id)
        .where(OutsideSettlement.original_line_id == line_id, ContractAct.contract_id == contract.id)
        .order_by(OutsideSettlement.seq)))


def _settled_meanwhile(earlier: list[OutsideSettlement]) -> DomainConflict:
    if not earlier:
        return DomainConflict(_("The form is out of date: open the contract's page again."))
    from app.people.models import User

    last = earlier[-1]
    who = db.session.get(User, last.recorded_by_id)
    return DomainConflict(_("This top-up was settled meanwhile (%(kind)s, %(amount)s, by %(name)s); a second "
                            "settlement is refused.", kind=kind_label(last.kind), amount=format_tenge(last.amount_tiyn),
                            name=who.full_name if who else "?"))


def _check_payment_order(request: OutsideRequest, original: Act, contract: Contract) -> None:
    """The payment order was executed (not in the future), not before the month it pays for began, and its number
    is not an act's payment order, nor another organisation's settlement (one order pays one beneficiary)."""

    today = clock.today()
    if request.paid_on > today:
        raise FormInvalid({"paid_on": _("The payment date %(date)s is in the future: enter the day the payment order "
                                        "was executed.", date=format_day(request.paid_on))})
    if request.paid_on < original.period:
        raise FormInvalid({"paid_on": _("The payment date %(date)s is before the month it pays for, which began on "
                                        "%(start)s.", date=format_day(request.paid_on),
                                        start=format_day(original.period))})
    _refuse_used_number(request.order_number, contract)


def _check_after_return(request: OutsideRequest, earlier: list[OutsideSettlement]) -> None:
    """Paid again after the bank returned the line's earlier payment: by a new payment order (its own number), not
    older than the return (as an act paid again, app.payments.returns.check_repayment)."""
    for sent_back in (row for row in earlier if row.returned_on is not None):
        if sent_back.order_number == request.order_number:
            raise FormInvalid({"order_number": _(
                "Payment order %(order)s was returned by the bank on %(date)s: the top-up is paid again by a new "
                "payment order, with its own number.", order=request.order_number,
                date=format_day(sent_back.returned_on))})
        if request.paid_on < sent_back.returned_on:
            raise FormInvalid({"paid_on": _(
                "The payment date %(date)s is before the bank returned payment order %(order)s on %(returned)s: "
                "enter the day the new payment order was executed.", date=format_day(request.paid_on),
                order=sent_back.order_number, returned=format_day(sent_back.returned_on))})


def own_return_refusal(contract: Contract, earlier: list[OutsideSettlement], user) -> str | None:
    """Why ``user`` may not pay the top-up again after the bank returned its last payment (``earlier``: the line's
    settlements): they recorded that return — another operator registers the new payment order (four eyes, as for an
    act paid again: app.payments.returns.check_repayer); else None."""
    from app.contracts.operations import _chain
    from app.payments.returns import return_recorders

    returned = [row for row in earlier if row.returned_on is not None]
    if not returned or getattr(user, "id", None) is None:
        return None
    last = returned[-1]
    if user.id not in return_recorders(last.returned_by_id, _chain(contract), "contract.settlement_returned",
                                       "outside_settlement", last.id):
        return None
    return _("You recorded the bank's return of payment order %(order)s yourself: another operator registers the new "
             "payment order of this top-up (four eyes).", order=last.order_number)


def own_returns(contract: Contract, settlements: list[OutsideSettlement], user) -> dict[int, str]:
    """For the contract's page: the carried lines ``user`` may not pay again, each with the reason (they recorded the
    return of its last payment)."""
    by_line: dict[int, list[OutsideSettlement]] = {}
    for row in settlements:
        by_line.setdefault(row.original_line_id, []).append(row)
    refusals = {line_id: own_return_refusal(contract, rows, user) for line_id, rows in by_line.items()
                if rows[-1].returned_on is not None and rows[-1].returned_by_id == getattr(user, "id", None)}
    return {line_id: refusal for line_id, refusal in refusals.items() if refusal is not None}


def may_record_returns(user) -> bool:
    """The operator, who executes the payment orders, records what the bank sent back (as for an act's payment)."""
    return getattr(user, "is_authenticated", False) and user.role in PAYERS


def record_settlement_return(contract: Contract, settlement_id: int, returned_on: date, reason: str, reference: str,
                             note: str, actor) -> OutsideSettlement:
    """The one door for a carried top-up's payment order the bank sent back: the settlement is marked returned
    (once, the rules of an act's payment's return, app.payments.returns.check_return), counts as not paid from then
    on (the contract's caps, the reconciliation, the year-end report) and the top-up is carried again — settled once
    more by a new payment order or written off. Audited on the contract's chain with the row's new facts. Refused,
    with nothing changed: anyone but the operator, a settlement of another contract, a write-off (nothing was paid),
    one returned already."""
    from app.contracts.operations import _chain
    from app.payments.returns import check_return

    if not may_record_returns(actor):
        raise DomainRefused(_("Only the operator records a payment the bank returned."))
    row = db.session.scalars(select(OutsideSettlement).join(
        ContractAct, ContractAct.act_id == OutsideSettlement.original_act_id).where(
        OutsideSettlement.id == settlement_id, ContractAct.contract_id == contract.id)).first()
    if row is None:
        raise DomainRefused(_("The form is out of date: open the contract's page again."))
    if row.kind != "paid":
        raise DomainRefused(_("A written-off top-up was not paid: there is no payment for the bank to return."))
    reference, note = check_return(row.order_number, row.paid_on, row.returned_on, returned_on, reason, reference,
                                   note)
    written = db.session.execute(
        update(OutsideSettlement).where(OutsideSettlement.id == row.id, OutsideSettlement.returned_on.is_(None))
        .values(returned_on=returned_on, return_reason=reason, return_reference=reference, return_note=note or None,
                returned_by_id=actor.id, returned_at=clock.now()).execution_options(synchronize_session=False))
    db.session.expire(row)
    if written.rowcount != 1:
        raise DomainConflict(_("Payment order %(order)s was recorded as returned meanwhile; a payment is returned "
                               "once.", order=row.order_number))
    record_event(_chain(contract), "contract.settlement_returned", "outside_settlement", row.id, actor_id=actor.id,
                 details={"contract": contract.number, "act": row.original_act.number, "line": row.line.line_no,
                          "period": f"{row.period:%Y-%m}", "order_number": row.order_number,
                          "paid_on": row.paid_on.isoformat(), "amount_tiyn": row.amount_tiyn,
                          "returned_on": returned_on.isoformat(), "reason": reason, "reference": reference,
                          **({"note": note} if note else {})},
                 facts=outside_settlement_facts(row))
    _tell_other_operators(contract, row, actor)
    from app.contracts.operations import tell_school

    # the school hears that the money came back, as of an act's payment (app.payments.returns)
    tell_school(contract, "top_up_returned", order=row.order_number, amount_tiyn=row.amount_tiyn)
    return row


def _tell_other_operators(contract: Contract, row: OutsideSettlement, actor) -> None:
    """The other operators hear that the top-up waits to be paid again — by one of them (four eyes, see
    :func:`own_return_refusal`)."""
    from app.contracts.operations import _chain
    from app.notifications.operations import notify
    from app.payments.returns import other_operators, return_recorders

    recorders = return_recorders(row.returned_by_id, _chain(contract), "contract.settlement_returned",
                                 "outside_settlement", row.id)
    for person in other_operators(recorders | {actor.id}):
        notify(person, "settlement_repayment_to_register", subject=contract.number, contract_id=contract.id,
               order=row.order_number, amount_tiyn=row.amount_tiyn, by=actor.full_name)


def _refuse_used_number(number: str, contract: Contract) -> None:
    from app.payments.models import Payment

    if db.session.scalar(select(Payment.id).where(func.upper(Payment.order_number) == number)) is not None \
            or db.session.scalar(select(OutsideSettlement.id).join(Act, Act.id == OutsideSettlement.original_act_id)
                                 .where(OutsideSettlement.order_number == number,
                                        Act.school_id != contract.school_id)) is not None:
        raise FormInvalid({"order_number": _("Payment order %(order)s is already registered for another payment; "
                                             "enter the number of this payment's own order.", order=number)})


def kind_label(kind: str) -> str:
    return _("paid outside the acts") if kind == "paid" else _("written off")


def settlements_under(contract: Contract) -> list[OutsideSettlement]:
    """The carried top-ups of the contract's months settled outside the acts, oldest month first."""
    return list(db.session.scalars(
        select(OutsideSettlement).join(ContractAct, ContractAct.act_id == OutsideSettlement.original_act_id)
        .where(ContractAct.contract_id == contract.id)
        .order_by(OutsideSettlement.period, OutsideSettlement.original_line_id, OutsideSettlement.seq)))


__all__ = ["OutsideRequest", "kind_label", "kinds_for", "may_record_returns", "own_return_refusal", "own_returns",
           "checked_request", "parse_form", "record_settlement_return", "settle_outside", "settlements_under"]
