"""A payment the bank sent back — the account is closed, the payee's details do not match it, or the bank refuses it.

The operator records the return on the payment (:func:`record_return`: the day, the reason from
:data:`RETURN_REASONS`, the bank's reference, a note); the payment stays, marked returned, and counts as not paid (the
reconciliation, the payments register, the contract's caps, the open data), and the act is accepted again: payable
once more (a partial unique index keeps at most one payment of an act that is not returned), to the account it is
pinned to: the one the department accepted it with, or — when the records name another by then — the new one once a
department official of its region confirms it (:func:`confirm_repayment_account`; four eyes, as at the acceptance).
The ``payment.returned`` event carries the payment's new facts, as :func:`app.payments.operations.register_payment`'s
event does, so ``verify-audit`` compares the row with them.

**Four eyes on the repayment** (:func:`check_repayer`). A return is typed from the bank's notice, which no one else
checks: one operator could record a return that never happened (any reference) and pay the act again to the same
account — a one-person double payment. So the operator who recorded the return does not register the repayment:
another operator does, who sees on the act's page who recorded it, and who must see the money back in the bank's
statement before sending it again (the treasury's maker and checker). The same holds for a carried top-up paid outside
the acts (app.contracts.settlements). The operator who registered the returned payment order may record its return —
they hold the order and usually receive the bank's notice; forbidding it adds no second person to any money path:
every payment after a return already involves two people (the one who said the money came back and the one who sends
it again), and "A pays, B records the return, A pays again" needs B as much as "A pays, A records the return, B pays
again" needs B. Who recorded a return is read from the row and from the keyed ``payment.returned`` event's actor, so a
database writer who puts another name in the row is still refused.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

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


def check_return(order_number: str, paid_on: date, already_returned_on: date | None, returned_on: date, reason: str,
                 reference: str, note: str) -> tuple[str, str]:
    """The rules of a return of a payment order (an act's payment, or a carried top-up paid outside the acts,
    app.contracts.settlements): returned once, a reason from the list, the bank's reference, "other" with a note, a
    day not before the payment nor far ahead. Refused with the reason (DomainRefused, DomainConflict); else the
    reference and the note as kept."""
    reference = (reference or "").strip()
    note = (note or "").strip()
    if already_returned_on is not None:
        raise DomainConflict(_("Payment order %(order)s was already recorded as returned on %(date)s; a payment is "
                               "returned once.", order=order_number, date=format_day(already_returned_on)))
    if reason not in RETURN_REASONS:
        raise DomainRefused(_("Choose why the bank returned the payment from the list."))
    if reason == "other" and not note:
        raise DomainRefused(_("Say in the note why the bank returned the payment."))
    if not REFERENCE_PATTERN.match(reference):
        raise DomainRefused(_("Enter the bank's reference of the return as its notice gives it: up to 64 Latin "
                              "letters, digits, \"/\", \".\" and \"-\"."))
    if len(note) > 500:
        raise DomainRefused(_("The note is too long: at most 500 characters."))
    if returned_on < paid_on:
        raise DomainRefused(_("The return date %(date)s is before the payment on %(paid)s: enter the day the bank "
                              "returned the money.", date=format_day(returned_on), paid=format_day(paid_on)))
    days = current_app.config.get("PAYMENT_DATE_MAX_DAYS_AHEAD", 31)
    latest = clock.today() + timedelta(days=days)
    if returned_on > latest:
        raise DomainRefused(_("The return date %(date)s is too far ahead: enter the day the bank returned the money, "
                              "at most %(days)s days from today (until %(latest)s).", date=format_day(returned_on),
                              days=days, latest=format_day(latest)))
    return reference, note


def record_return(act: Act, payment: Payment, returned_on: date, reason: str, reference: str, note: str,
                  actor) -> Payment:
    """The one door for a payment the bank sent back: the payment is marked returned (once), the act is accepted
    again (payable once more) and the ``payment.returned`` event vouches for the payment's new facts. Refused, with
    nothing changed: a payment of another act, one already returned, a day before the payment or far ahead, a reason
    not on the list, a missing reference, "other" without a note."""
    if payment.act_id != act.id:
        raise DomainRefused(_("Payment order %(order)s does not pay act %(number)s: record its return on the act it "
                              "pays.", order=payment.order_number, number=act.number))
    reference, note = check_return(payment.order_number, payment.paid_on, payment.returned_on, returned_on, reason,
                                   reference, note)
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
    _tell_of_return(act, payment, reason)
    return payment


def _tell_of_return(act: Act, payment: Payment, reason: str) -> None:
    """The school hears that its money came back (it is paid again later: ``act_paid``); the department's officials
    of the act's region hear that a new account waits for their confirmation — when the bank said the account
    cannot be paid, or the records already name another one."""
    from app.acts.operations import tell_school

    tell_school(act, "payment_returned", order=payment.order_number, reason=reason)
    _tell_other_operators(act, payment)
    now = account_on_record(act)
    if act.payee_iban is not None and (reason in ACCOUNT_REASONS or now != act.payee_iban):
        _tell_department(act, payment)


def _tell_other_operators(act: Act, payment: Payment) -> None:
    """The other operators hear that the act waits to be paid again — by one of them, not by the operator who recorded
    the return (:func:`check_repayer`); no task waits in their inbox (the act's process ended with its first
    payment)."""
    from app.notifications.operations import notify
    from app.people.models import User

    recorder = db.session.get(User, payment.returned_by_id)
    for person in other_operators(payment_return_recorders(act, payment)):
        notify(person, "repayment_to_register", subject=act.number, act_id=act.id, order=payment.order_number,
               amount_tiyn=payment.amount_tiyn, by=recorder.full_name if recorder else "?")


def other_operators(recorders: set[int]) -> list:
    """The active operators (and operators standing in for one) who may pay again what ``recorders`` said the bank
    returned: every operator but them — a deputy of another role could not pay it."""
    from app.notifications.operations import recipients_for
    from app.people.roles import Role

    return [person for person in recipients_for(Role.OPERATOR.value, None, None)
            if person.role == Role.OPERATOR.value and person.id not in recorders]


def _tell_department(act: Act, payment: Payment, changed_by_id: int | None = None) -> None:
    """Only those who can act hear it: a department official of the act's region (:func:`may_confirm_account`) — not
    a deputy standing in for one who may not confirm (a head, an official of another region: they read a task they
    could not do), nor the official who changed the account (they do not confirm their own change)."""
    from app.notifications.operations import notify, recipients_for
    from app.people.roles import Role

    for person in recipients_for(Role.DEPARTMENT_OFFICIAL.value, act.region_id, None):
        if person.id != changed_by_id and may_confirm_account(person, act):
            notify(person, "account_to_confirm", subject=act.number, act_id=act.id, order=payment.order_number)


def tell_of_new_account(organisation) -> None:
    """The organisation's IBAN was edited (app.admin.operations.save_organisation): its acts waiting to be paid again
    after a return, to an account now different from their pinned one, are announced to the department's officials of
    their region — the confirmation is theirs (:func:`confirm_repayment_account`)."""
    tell_of_new_account_for(select(Act.id).where(Act.school_id == organisation.id), None)


def tell_of_new_account_for(act_ids, changed_by) -> None:
    """The acts among ``act_ids`` (a select of ids) waiting to be paid again after a return, to an account on record
    now different from their pinned one, are announced — once for this change — to those who confirm it: after an
    IBAN edit of the organisation, or an agreement changing the contract's account
    (app.contracts.payee_account.change_contract_account, whose author ``changed_by`` is not told)."""
    from app.payments.operations import returned_payments

    waiting = db.session.scalars(select(Act).where(
        Act.id.in_(act_ids), Act.status == "accepted", Act.payee_iban.is_not(None),
        Act.id.in_(select(Payment.act_id).where(Payment.returned_on.is_not(None)))).order_by(Act.id))
    for act in waiting:
        if account_to_confirm(act) is not None:
            _tell_department(act, returned_payments(act)[-1], getattr(changed_by, "id", None))


def return_recorders(returned_by_id: int | None, chain: str, action: str, object_type: str,
                     object_id: int) -> set[int]:
    """Who recorded the bank's return of a payment order: the row's recorder and the actor (and on whose behalf) of
    its return events — an event's actor is covered by its keyed hash, a row's recorder is not."""
    from app.audit.models import AuditEvent

    people = {returned_by_id} if returned_by_id is not None else set()
    for actor_id, principal_id in db.session.execute(select(AuditEvent.actor_id, AuditEvent.on_behalf_of_id).where(
            AuditEvent.chain == chain, AuditEvent.action == action, AuditEvent.object_type == object_type,
            AuditEvent.object_id == object_id)):
        people.update(person for person in (actor_id, principal_id) if person is not None)
    return people


def payment_return_recorders(act: Act, returned: Payment) -> set[int]:
    return return_recorders(returned.returned_by_id, act_chain(act), "payment.returned", "payment", returned.id)


def own_return_refusal(act: Act, returned: Payment, user) -> str | None:
    """Why ``user`` may not pay ``act`` again after ``returned`` (they recorded its return: four eyes), or None."""
    if getattr(user, "id", None) is None or user.id not in payment_return_recorders(act, returned):
        return None
    return _("You recorded the bank's return of payment order %(order)s yourself: another operator registers the new "
             "payment order of act %(number)s (four eyes).", order=returned.order_number,
             number=act.number)


def check_repayer(act: Act, returned: Payment, actor) -> None:
    """The act is paid again after ``returned`` (its last returned payment) by another operator than the one who
    recorded the return (see the module's docstring): refused (DomainRefused) otherwise."""
    refusal = own_return_refusal(act, returned, actor)
    if refusal is not None:
        raise DomainRefused(refusal)


def check_repayment(act: Act, returned: Payment, paid_on: date) -> None:
    """What a payment of ``act`` after ``returned`` (its last returned payment) must meet: the order is not older than
    the return; the account the money came back from is not paid again when the bank said it cannot be (closed,
    details wrong); and the account on record is still the one pinned on the act. The act is paid to its pinned
    account: the department's acceptance, or the new account a department official confirmed after the return
    (:func:`confirm_repayment_account`). A new account on record that no official has confirmed is refused — an
    operator who records a return and an administrator who edits the IBAN would otherwise send the money elsewhere
    with no one of the department involved — and so is one changed again after the confirmation."""
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
    if act.payee_iban is not None and now != act.payee_iban:
        raise DomainRefused(_("The account on record for act %(number)s, %(new)s, is not the one it is to be paid "
                              "to, %(pinned)s: nothing was paid. A department official of the act's region confirms "
                              "the new account on the act's page first, then the act is paid again.",
                              number=act.number, new=now or "—", pinned=act.payee_iban))


def may_confirm_account(user, act: Act) -> bool:
    """Who confirms the account an act is paid again to: a department official of the act's region — the same
    people who accept its acts (the "Accept act" step's lane and scope)."""
    from app.people.access import can_see
    from app.people.roles import Role

    return (getattr(user, "is_authenticated", False) and getattr(user, "active", False)
            and user.role == Role.DEPARTMENT_OFFICIAL.value and can_see(user, act.region_id, act.school_id))


def account_to_confirm(act: Act):
    """The account change a department official is to confirm before the act is paid again
    (:class:`app.payments.operations.AccountChange`: the pinned account, the one on record, who changed it), or
    None: the act is not waiting to be paid again after a return, or the records still name its pinned account."""
    from app.payments.operations import account_change, returned_payments, standing_payment

    if act.status != "accepted" or act.payee_iban is None or standing_payment(act) is not None \
            or not returned_payments(act):
        return None
    change = account_change(act)
    return change if change is not None and change.now else None


def confirm_repayment_account(act: Act, shown_iban: str, actor) -> str:
    """The one door by which an act whose payment the bank returned is pinned to another account: a department
    official of its region confirms the account on record — the one the page showed them (``shown_iban``) — and the
    ``act.payee_changed`` event, written by them, vouches for it (the payment checks the pin against the event,
    :func:`app.payments.operations._check_pinned_payee`). Refused, with nothing written: anyone else, an act not
    waiting to be paid again, no new account to confirm, an account on record changed since the page was read."""
    from app.payments.operations import returned_payments

    if not may_confirm_account(actor, act):
        raise DomainRefused(_("Only a department official of the act's region confirms the account it is paid to."))
    change = account_to_confirm(act)
    if change is None:
        raise DomainRefused(_("Act %(number)s has no new account to confirm: it is paid again to the account it "
                              "was accepted with.", number=act.number))
    if change.changed_by_id is not None and change.changed_by_id == actor.id:
        raise DomainRefused(_("You changed the account of act %(number)s yourself: another department official of "
                              "the region confirms it (four eyes).", number=act.number))
    shown_iban = (shown_iban or "").strip().upper()
    if shown_iban != change.now:
        raise DomainConflict(_("The account on record for act %(number)s changed since you opened the page: it is "
                               "now %(iban)s. Nothing was confirmed; open the act again.", number=act.number,
                               iban=change.now))
    returned = returned_payments(act)[-1]
    before = act.payee_iban
    try:
        guarded_write(act, ("accepted",), payee_iban=change.now)
    except ConflictError:
        raise DomainConflict(_("Act %(number)s changed meanwhile: nothing was recorded; open it again.",
                               number=act.number)) from None
    record_event(act_chain(act), "act.payee_changed", "act", act.id, actor_id=actor.id, alongside=True,
                 details={"act": act.number, "from": before, "to": change.now,
                          "after_return_of": returned.order_number, "reason": returned.return_reason,
                          **({"account_changed_by": change.changed_by} if change.changed_by else {})},
                 facts=act_facts(act))
    _tell_operators(act, change.now)
    return change.now


def _tell_operators(act: Act, iban: str) -> None:
    """The operators who may pay it hear the act can be paid again: no task waits in their inbox (the act's process
    ended with its first payment), and nothing else said the department had confirmed."""
    from app.notifications.operations import notify, recipients_for
    from app.payments.operations import returned_payments
    from app.people.roles import Role

    recorders = payment_return_recorders(act, returned_payments(act)[-1])
    for person in recipients_for(Role.OPERATOR.value, act.region_id, None):
        if person.id not in recorders:  # the one who recorded the return does not pay it again (check_repayer)
            notify(person, "account_confirmed", subject=act.number, act_id=act.id, iban=iban)
