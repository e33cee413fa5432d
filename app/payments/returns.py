"""A payment the bank sent back — the account is closed, the payee's details do not match it, or the bank refuses it.

The operator records the return on the payment (:func:`record_return`: the day, the reason from
:data:`RETURN_REASONS`, the bank's reference, a note); the payment stays, marked returned, and counts as not paid (the
reconciliation, the payments register, the contract's caps, the open data), and the act is accepted again: payable
once more (a partial unique index keeps at most one payment of an act that is not returned), to the account the
records name by then (:func:`repin_after_return`). The ``payment.returned`` event carries the payment's new facts, as
:func:`app.payments.operations.register_payment`'s event does, so ``verify-audit`` compares the row with them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from app import clock
from app.acts.models import Act
from app.acts.operations import act_chain, guarded_write
from app.acts.payee import account_on_record
from app.audit.facts import act_facts, payment_facts
from app.audit.operations import record_event
from app.engine.errors import ConflictError, DomainConflict, DomainRefused
from app.extensions import db
from app.i18n import format_day
from app.payments.models import RETURN_REASONS, Payment

#: The reasons as the operator picks them (the bank's return notice names one of these).
RETURN_REASON_LABELS = {
    "account_closed": _l("The account is closed"),
    "wrong_details": _l("Wrong payee details (IBAN, BIN or name)"),
    "bank_refused": _l("Refused by the bank"),
    "other": _l("Other reason (say which in the note)"),
}
assert tuple(RETURN_REASON_LABELS) == RETURN_REASONS
#: Reasons that mean the account itself cannot be paid: the act is paid again only to another account.
ACCOUNT_REASONS = frozenset({"account_closed", "wrong_details"})
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9/.\-]{1,64}$")


def return_reason_label(code: str | None) -> str:
    return str(RETURN_REASON_LABELS.get(code or "", code or ""))


def record_return(act: Act, payment: Payment, returned_on: date, reason: str, reference: str, note: str,
                  actor) -> Payment:
    """The one door for a payment the bank sent back: the payment is marked returned (once), the act is accepted
    again (payable once more) and the ``payment.returned`` event vouches for the payment's new facts. Refused, with
    nothing changed: a payment of another act, one already returned, a day before the payment or far ahead, a reason
    not on the list, a missing reference, "other" without a note."""
    reference = (reference or "").strip()
    note = (note or "").strip()
    if payment.act_id != act.id:
        raise DomainRefused(_("Payment order %(order)s does not pay act %(number)s: record its return on the act it "
                              "pays.", order=payment.order_number, number=act.number))
    if payment.returned_on is not None:
        raise DomainConflict(_("Payment order %(order)s was already recorded as returned on %(date)s; a payment is "
                               "returned once.", order=payment.order_number, date=format_day(payment.returned_on)))
    if reason not in RETURN_REASONS:
        raise DomainRefused(_("Choose why the bank returned the payment from the list."))
    if reason == "other" and not note:
        raise DomainRefused(_("Say in the note why the bank returned the payment."))
    if not REFERENCE_PATTERN.match(reference):
        raise DomainRefused(_("Enter the bank's reference of the return as its notice gives it: up to 64 Latin "
                              "letters, digits, \"/\", \".\" and \"-\"."))
    if len(note) > 500:
        raise DomainRefused(_("The note is too long: at most 500 characters."))
    if returned_on < payment.paid_on:
        raise DomainRefused(_("The return date %(date)s is before the payment on %(paid)s: enter the day the bank "
                              "returned the money.", date=format_day(returned_on), paid=format_day(payment.paid_on)))
    days = current_app.config.get("PAYMENT_DATE_MAX_DAYS_AHEAD", 31)
    latest = clock.today() + timedelta(days=days)
    if returned_on > latest:
        raise DomainRefused(_("The return date %(date)s is too far ahead: enter the day the bank returned the money, "
                              "at most %(days)s days from today (until %(latest)s).", date=format_day(returned_on),
                              days=days, latest=format_day(latest)))
    now = clock.now()
    written = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.act_id == act.id, Payment.returned_on.is_(None))
        .values(returned_on=returned_on, return_reason=reason, return_reference=reference, return_note=note or None,
                returned_by_id=actor.id, returned_at=now).execution_options(synchronize_session=False))
    if written.rowcount != 1:
        db.session.expire(payment)
        raise DomainConflict(_("Payment order %(order)s was recorded as returned meanwhile; a payment is returned "
                               "once.", order=payment.order_number))
    try:
        guarded_write(act, ("paid",), status="accepted")
    except ConflictError:
        raise DomainConflict(_("Act %(number)s changed meanwhile: nothing was recorded; open it again.",
                               number=act.number)) from None
    db.session.expire(payment)
    record_event(act_chain(act), "payment.returned", "payment", payment.id, actor_id=actor.id, alongside=True,
                 details={"act": act.number, "order_number": payment.order_number,
                          "paid_on": payment.paid_on.isoformat(), "amount_tiyn": payment.amount_tiyn,
                          "iban": payment.payee_iban, "returned_on": returned_on.isoformat(), "reason": reason,
                          "reference": reference, **({"note": note} if note else {})},
                 facts=payment_facts(payment))
    return payment


def check_repayment(act: Act, returned: Payment, paid_on: date) -> str | None:
    """What a payment of ``act`` after ``returned`` (its last returned payment) must meet: the order is not older than
    the return, and the account the money came back from is not paid again when the bank said it cannot be (closed,
    details wrong). Returns the account to pay: the one on record now (corrected by the organisation, or by an
    amendment of its contract — each audited)."""
    if paid_on < returned.returned_on:
        raise DomainRefused(_("The payment date %(date)s is before the bank returned payment order %(order)s on "
                              "%(returned)s: enter the day the new payment order was executed.",
                              date=format_day(paid_on), order=returned.order_number,
                              returned=format_day(returned.returned_on)))
    now = account_on_record(act)
    if returned.return_reason in ACCOUNT_REASONS and now is not None and now == returned.payee_iban:
        raise DomainRefused(_("The bank returned payment order %(order)s from account %(iban)s (%(reason)s), and the "
                              "records still name that account: the organisation's bank account (or its contract's, "
                              "by an amendment) is corrected first, then the act is paid again.",
                              order=returned.order_number, iban=returned.payee_iban,
                              reason=return_reason_label(returned.return_reason)))
    return now


def repin_after_return(act: Act, paid_to: str | None, actor, returned: Payment, alongside: bool) -> None:
    """The act is paid again to ``paid_to`` (the account on record): pinned on the act and vouched for by the
    ``act.payee_changed`` event's facts, so the payment's account and the act's agree for verify-audit."""
    if act.payee_iban is None or paid_to is None or paid_to == act.payee_iban:
        return
    before = act.payee_iban
    guarded_write(act, ("accepted",), payee_iban=paid_to)
    record_event(act_chain(act), "act.payee_changed", "act", act.id, actor_id=actor.id, alongside=alongside,
                 details={"act": act.number, "from": before, "to": paid_to,
                          "after_return_of": returned.order_number}, facts=act_facts(act))
