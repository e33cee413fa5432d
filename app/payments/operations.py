"""Register the payment of an accepted act — exactly once (application check + unique constraint)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.acts.models import Act
from app.acts.operations import guarded_write
from app.audit.facts import payment_facts
from app.audit.operations import record_event
from app.engine.errors import DomainRefused
from app.extensions import db
from app.payments.models import Payment

#: Further conditions a payment must meet (e.g. the contract's cap); each raises DomainRefused.
PAYMENT_CHECKS: list = []


def register_payment_check(check):
    PAYMENT_CHECKS.append(check)
    return check


def register_payment(act: Act, order_number: str, paid_on: date, actor) -> Payment:
    if db.session.scalars(select(Payment).where(Payment.act_id == act.id)).first() is not None:
        raise DomainRefused(_("Act %(number)s has already been paid; a second payment is refused.", number=act.number))
    if act.status != "accepted":
        raise DomainRefused(_("Only an accepted act can be paid."))
    for check in PAYMENT_CHECKS:
        check(act)
    # The amount accepted is the amount paid: the act is still accepted at the version read (its amount was
    # final from acceptance on), and the same UPDATE marks it paid — a concurrent change makes this write nothing.
    accepted_tiyn = act.amount_tiyn
    guarded_write(act, ("accepted",), status="paid")
    if act.amount_tiyn != accepted_tiyn:
        raise DomainRefused(_("The act's amount changed after acceptance; nothing was paid."))
    payment = Payment(act_id=act.id, order_number=order_number, paid_on=paid_on, amount_tiyn=act.amount_tiyn,
                      registered_by_id=actor.id, registered_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(payment)
    except IntegrityError as err:
        # A concurrent registration won the race, or the order number is already used.
        raise DomainRefused(_("Act %(number)s has already been paid, or payment order %(order)s is already registered.",
                              number=act.number, order=order_number)) from err
    record_event(f"instance:{act.instance_id}", "act.paid", "payment", payment.id, actor_id=actor.id,
                 details={"act": act.number, "order_number": order_number, "paid_on": paid_on.isoformat(),
                          "amount_tiyn": act.amount_tiyn}, facts=payment_facts(payment))
    return payment
