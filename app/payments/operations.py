"""Register the payment of an accepted act — exactly once (application check + a unique index over the payments the
bank has not returned) — or close an act of 0 ₸ without one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.acts.models import Act, OutsideSettlement
from app.acts.operations import act_chain, guarded_write
from app.acts.payee import account_changed_under_terms, account_on_record, payee_of
from app.audit.facts import act_facts, payment_facts
from app.audit.operations import record_event, vouched_facts
from app.database import hold_key
from app.engine.errors import ConflictError, DomainConflict, DomainRefused
from app.extensions import db
from app.i18n import format_day
from app.payments.models import Payment
from app.payments.returns import check_repayer, check_repayment

#: Further conditions a payment must meet (e.g. the contract's cap); each raises DomainRefused.
PAYMENT_CHECKS: list = []


def register_payment_check(check):
    PAYMENT_CHECKS.append(check)
    return check


def payee_iban(act: Act) -> str | None:
    """The account the act is paid to: the one the department accepted it with (pinned at acceptance,
    :mod:`app.acts.payee`), or for an act accepted before payees were pinned the account on record — its contract's
    (signed by both parties), else the organisation's."""
    return payee_of(act)


def payment_of(act: Act) -> dict | None:
    """The act's payment for the documents that show it (the JSON API): order, date, amount and the account it was
    sent to — the row's, or for a payment registered before accounts were kept on it its event's (as the payments
    register reads it)."""
    from app.audit.models import AuditEvent

    payment = standing_payment(act)
    if payment is None:
        return None
    iban = payment.payee_iban
    if iban is None:
        details = db.session.scalar(select(AuditEvent.details).where(
            AuditEvent.action == "act.paid", AuditEvent.object_type == "payment", AuditEvent.object_id == payment.id))
        iban = (details or {}).get("iban")
    return {"order_number": payment.order_number, "paid_on": payment.paid_on, "amount_tiyn": payment.amount_tiyn,
            "payee_iban": iban}


def standing_payment(act: Act) -> Payment | None:
    """The act's payment the bank has not returned (at most one: a partial unique index), or None."""
    return db.session.scalars(select(Payment).where(Payment.act_id == act.id, Payment.returned_on.is_(None))).first()


def returned_payments(act: Act) -> list[Payment]:
    """The act's payments the bank sent back, oldest first."""
    return list(db.session.scalars(select(Payment).where(Payment.act_id == act.id, Payment.returned_on.is_not(None))
                                   .order_by(Payment.id)))


def nothing_to_pay(act: Act) -> bool:
    """The act was closed without a payment order: accepted at 0 ₸ (every line excluded, or claw-backs as large as
    the month), so no bank order exists for it (:func:`close_without_payment`)."""
    return act.status == "paid" and act.amount_tiyn == 0 and standing_payment(act) is None


@dataclass(frozen=True)
class AccountChange:
    """The account on record for an act differs from the one its department accepted it with (the pay page says so)."""

    accepted: str
    now: str | None
    changed_by: str | None = None  # who changed the organisation's IBAN (or the contract's) last, as the audit says
    changed_at: datetime | None = None
    changed_by_id: int | None = None  # … and their id: they do not confirm the change themselves (four eyes)


def account_change(act: Act) -> AccountChange | None:
    """None while the records still name the account the act was accepted with (or it was accepted before payees
    were pinned); else both accounts and, if the audit trail holds it, who changed the IBAN and when: the contract's
    (by an agreement, app.contracts.payee_account) or else the organisation's."""
    from app.audit.models import AuditEvent
    from app.people.models import User

    now = account_on_record(act)
    if act.payee_iban is None or now == act.payee_iban:
        return None
    who = when = who_id = None
    since = _utc(act.decided_at) if act.decided_at is not None else None
    by_contract = account_changed_under_terms(act.id, now) if now is not None else None
    if by_contract is not None:
        who_id, when = by_contract
        person = db.session.get(User, who_id) if who_id is not None else None
        return AccountChange(act.payee_iban, now, person.full_name if person else None, when, who_id)
    for actor_id, at, details in db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.at, AuditEvent.details)
            .where(AuditEvent.chain == f"organisation:{act.school_id}", AuditEvent.action == "organisation.updated")
            .order_by(AuditEvent.seq.desc())):
        if since is not None and _utc(at) < since:
            break  # an edit before the acceptance is what was accepted: the change was not recorded (a database writer)
        if "iban" in ((details or {}).get("changes") or {}):
            person = db.session.get(User, actor_id) if actor_id is not None else None
            who = person.full_name if person else None  # from the command line: the time alone
            when, who_id = at, actor_id
            break
    return AccountChange(act.payee_iban, now, who, when, who_id)


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)


def payee_problem(act: Act) -> str | None:
    """Why the act's pinned account will not be paid (the pay page says it before the operator types the order), or
    None."""
    if act.payee_iban is None:
        return None
    try:
        _check_pinned_payee(act)
    except DomainRefused as refused:
        return str(refused)
    return None


def _check_pinned_payee(act: Act) -> None:
    """The pinned account is paid only as the acceptance event vouches for it: a database writer who changed the act's
    row after the department's decision would otherwise have had the money sent to their account, and verify-audit
    would have said so only afterwards."""
    # after a payment returned by the bank a department official may pin the act to a new account
    # (app.payments.returns.confirm_repayment_account) by an event of its own
    facts = vouched_facts(act_chain(act), "act.payee_changed", "act", act.id) \
        or vouched_facts(act_chain(act), "act.accepted", "act", act.id)
    if facts is None or facts.get("payee_iban") != act.payee_iban:
        raise DomainRefused(_("The account recorded on act %(number)s, %(iban)s, is not the one the education "
                              "department accepted it with: nothing was paid. Tell the system's administrators; the "
                              "audit trail's check (verify-audit) shows the change.", number=act.number,
                              iban=act.payee_iban))


def _check_paid_on(act: Act, paid_on: date) -> None:
    """A payment date far in the future is a typo (six months ahead was once accepted): refused with the limit.
    So is one before the act's month began (0001-01-01 and 2019 were once accepted for a November act): the
    money would land in another month of the reconciliation and the open data. And so is one before the day the
    department accepted the act (a November act accepted on 3 December was once recorded as paid on 2 November):
    the operator pays an accepted act, so its payment order cannot be older than the acceptance's day."""
    days = current_app.config.get("PAYMENT_DATE_MAX_DAYS_AHEAD", 31)
    latest = clock.today() + timedelta(days=days)
    if paid_on > latest:
        raise DomainRefused(_("The payment date %(date)s is too far ahead: enter the day the payment order was "
                              "executed, at most %(days)s days from today (until %(latest)s).",
                              date=format_day(paid_on), days=days, latest=format_day(latest)))
    if paid_on < act.period:
        raise DomainRefused(_("The payment date %(date)s is before the act's month, which began on %(start)s: "
                              "enter the day the payment order was executed.", date=format_day(paid_on),
                              start=format_day(act.period)))
    accepted_on = _accepted_on(act)
    if accepted_on is not None and paid_on < accepted_on:
        raise DomainRefused(_("The payment date %(date)s is before the act was accepted on %(accepted)s: enter the "
                              "day the payment order was executed.", date=format_day(paid_on),
                              accepted=format_day(accepted_on)))


def _accepted_on(act: Act) -> date | None:
    """The day the department accepted the act (None: no decision time kept) — the earlier of its day in UTC, the
    calendar of ``clock.today()``, and in the business's time zone (``BABEL_DEFAULT_TIMEZONE``, Kazakhstan's), so
    a payment order executed on the day of the acceptance is accepted whichever calendar the operator reads."""
    if act.decided_at is None:
        return None
    at = act.decided_at if act.decided_at.tzinfo is not None else act.decided_at.replace(tzinfo=UTC)
    local = at.astimezone(ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Almaty")))
    return min(at.astimezone(UTC).date(), local.date())


def hold_payment_order(order_number: str) -> None:
    """Right before a payment order's number is written (the caller checks it again after this): another request
    writing the same number — for an act or for a carried top-up — waits for this one's commit, then finds it used.
    Typed at the same moment by two operators, one paying an act and one recording a top-up paid outside the acts,
    both checks had passed and both rows were stored: one transfer recorded as paying two things (no unique
    constraint spans the two tables)."""
    hold_key(f"payment-order:{order_number.upper()}")


def _check_order_number_unused(act: Act, order_number: str, actor) -> None:
    """A payment order pays one act: a reused number names the act it paid, if the user may see that act. Used by
    this very act, the act was paid meanwhile (a second tab or request with the same order won the race): 409.
    Checked before the other checks, and again with the number held before it is written (:func:`register_payment`)."""
    _refuse_used_order_number(act, order_number, actor)


def _refuse_used_order_number(act: Act, order_number: str, actor) -> None:
    from app.people.access import can_see

    if db.session.scalar(select(OutsideSettlement.id).where(OutsideSettlement.order_number == order_number.upper())
                         .limit(1)) is not None:
        # the order paid a carried top-up outside the acts (app.contracts.settlements): one order, one payment
        raise DomainRefused(_("Payment order %(order)s is already registered for a top-up paid outside the acts; "
                              "enter the number of this act's own payment order.", order=order_number))
    used = db.session.execute(select(Payment.id, Payment.act_id, Act.number, Act.region_id, Act.school_id)
                              .join(Act, Act.id == Payment.act_id)
                              .where(func.upper(Payment.order_number) == order_number.upper())).first()
    if used is None:
        return
    if used.act_id == act.id:
        raise DomainConflict(_("Act %(number)s has already been paid; a second payment is refused.",
                               number=act.number))
    if can_see(actor, used.region_id, used.school_id):
        raise DomainRefused(_("Payment order %(order)s is already registered for act %(act)s; enter the number of "
                              "this act's own payment order.", order=order_number, act=used.number))
    raise DomainRefused(_("Payment order %(order)s is already registered for another act; enter the number of "
                          "this act's own payment order.", order=order_number))


def _paid_by_the_audit_trail(act: Act) -> bool:
    """The act's chain holds a payment, or a closing without one, that no return event undoes: someone who deleted
    the payment row (or marked it returned) and set the act back to accepted (a database writer) had it paid a second
    time — verify-audit reported the row only after the money left."""
    from app.audit.models import AuditEvent

    events = db.session.execute(select(AuditEvent.action, AuditEvent.object_id).where(
        AuditEvent.chain == act_chain(act),
        AuditEvent.action.in_(("act.paid", "payment.returned", "act.closed_nothing_to_pay")))).all()
    if any(action == "act.closed_nothing_to_pay" and object_id == act.id for action, object_id in events):
        return True
    paid = {object_id for action, object_id in events if action == "act.paid"}
    returned = {object_id for action, object_id in events if action == "payment.returned"}
    return bool(paid - returned)


def register_payment(act: Act, order_number: str, paid_on: date, actor, *, alongside: bool = False) -> Payment:
    """The one door for paying an act (``alongside``: from the act's page, outside its process — an act paid again
    after a return — the writer does not hold the instance's lock)."""
    # One payment order, whatever the case it is typed in: "pp-0001" is the bank's PP-0001, and registered for a
    # second act it recorded one transfer as paying two acts (the unique constraint compares the text as typed).
    order_number = order_number.upper()
    if standing_payment(act) is not None or _paid_by_the_audit_trail(act):
        raise DomainConflict(_("Act %(number)s has already been paid; a second payment is refused.", number=act.number))
    if act.status != "accepted":
        raise (DomainConflict if act.status == "paid" else DomainRefused)(_("Only an accepted act can be paid."))
    returned = returned_payments(act)
    if returned:
        # four eyes: the operator who recorded the bank's return does not pay the act again (one person could
        # otherwise record a return that never happened and have the act paid twice)
        check_repayer(act, returned[-1], actor)
    _check_paid_on(act, paid_on)
    for sent_back in returned:
        if sent_back.order_number == order_number:
            raise DomainRefused(_("Payment order %(order)s was returned by the bank on %(date)s: the act is paid "
                                  "again by a new payment order, with its own number.", order=order_number,
                                  date=format_day(sent_back.returned_on)))
    _check_order_number_unused(act, order_number, actor)
    if act.amount_tiyn == 0:
        # no bank issues a payment order of 0 ₸: the act is closed without one (close_without_payment)
        raise DomainRefused(_("Act %(number)s has nothing to pay (0 ₸): it is closed without a payment order.",
                              number=act.number))
    for check in PAYMENT_CHECKS:
        check(act)
    if returned:
        # paid again after a return: to the pinned account, which the records must still name — a new account is
        # pinned only by a department official's confirmation (app.payments.returns.confirm_repayment_account)
        check_repayment(act, returned[-1], paid_on)
    # Paid to the account the department accepted, even when the organisation's record (or the contract) names
    # another one by now: a state treasury pays only what was accepted, and a new account needs the department's new
    # acceptance. Refusing instead would strand the act — accepted is final and the process has no way back from
    # payment to acceptance — and would let whoever changes an IBAN hold a school's payment. The operator sees both
    # accounts on the pay page (account_change), and the event records the one on record too. Once the bank has
    # returned a payment, a new account is paid only after a department official confirms it (check_repayment).
    if act.payee_iban is not None:
        _check_pinned_payee(act)
    paid_to = payee_of(act)
    on_record = account_on_record(act)
    # The amount accepted is the amount paid: the act is still accepted at the version read (its amount was
    # final from acceptance on), and the same UPDATE marks it paid — a concurrent change makes this write nothing.
    accepted_tiyn = act.amount_tiyn
    hold_payment_order(order_number)  # from here to the commit no other use of the number is written
    _refuse_used_order_number(act, order_number, actor)  # and none was written since the check above
    try:
        guarded_write(act, ("accepted",), status="paid")
    except ConflictError:
        # Lost the race to another payment of this act: say which one (the loser read "changed by someone else,
        # for example re-verified").
        db.session.expire(act)
        paid = db.session.scalars(select(Payment).where(Payment.act_id == act.id)).first()
        if paid is None:
            raise
        from app.people.models import User

        who = db.session.get(User, paid.registered_by_id)
        raise DomainConflict(_("Act %(number)s was paid meanwhile: payment order %(order)s, registered by %(name)s.",
                               number=act.number, order=paid.order_number,
                               name=who.full_name if who else "?")) from None
    if act.amount_tiyn != accepted_tiyn:
        raise DomainConflict(_("The act's amount changed after acceptance; nothing was paid."))
    payment = Payment(act_id=act.id, order_number=order_number, paid_on=paid_on, amount_tiyn=act.amount_tiyn,
                      payee_iban=paid_to, registered_by_id=actor.id, registered_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(payment)
    except IntegrityError as err:
        # A concurrent registration won the race, or the order number is already used.
        raise DomainConflict(_("Act %(number)s has already been paid, or payment order %(order)s is already "
                               "registered.", number=act.number, order=order_number)) from err
    record_event(act_chain(act), "act.paid", "payment", payment.id, actor_id=actor.id, alongside=alongside,
                 details={"act": act.number, "order_number": order_number, "paid_on": paid_on.isoformat(),
                          "amount_tiyn": act.amount_tiyn, "iban": paid_to,
                          **({"account_on_record": on_record} if on_record != paid_to else {}),
                          **({"after_return_of": returned[-1].order_number} if returned else {})},
                 facts=payment_facts(payment))
    from app.acts.operations import tell_school

    tell_school(act, "act_paid", order=order_number, paid_on=paid_on.isoformat())
    return payment


def close_without_payment(act: Act, actor, *, alongside: bool = False) -> None:
    """The one door for an accepted act of 0 ₸ (every line excluded, or claw-backs as large as the month — a claw-back
    never makes an act negative, app.acts.adjustments): closed (status paid) without a payment order, which no bank
    issues for 0 ₸, audited with the act's facts; the "Pay act" step completes itself (``PayAct.settles_itself``).
    Refused for an act with money to pay, one not accepted, or one already paid or closed."""
    if standing_payment(act) is not None or _paid_by_the_audit_trail(act):
        raise DomainConflict(_("Act %(number)s has already been paid; a second payment is refused.", number=act.number))
    if act.status != "accepted":
        raise DomainRefused(_("Only an accepted act can be paid."))
    if act.amount_tiyn != 0:
        raise DomainRefused(_("Act %(number)s has money to pay: it is paid by a payment order.", number=act.number))
    guarded_write(act, ("accepted",), status="paid")
    record_event(act_chain(act), "act.closed_nothing_to_pay", "act", act.id, actor_id=getattr(actor, "id", None),
                 alongside=alongside,
                 details={"act": act.number, "amount_tiyn": 0, "adjustment_tiyn": act.adjustment_tiyn or 0},
                 facts=act_facts(act))
