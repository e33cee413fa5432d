"""Events around the payment, as an auditor reads them (guards: each was found right on 5 December 2026).

Between the department's acceptance and the operator's payment the business register may say the school was
liquidated: the accepted amount is paid, to the tiyn, once, to the account accepted — and what the month no longer
earns is a claw-back of its own, listed for the school's next act, never taken from the payment."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.adjustments import unsettled_corrections
from app.audit.models import AuditEvent
from app.extensions import db
from app.payments.models import Payment
from app.registry.models import BusinessRecord
from tests.money.test_payee_pinned import ACCEPTED_WITH, _accepted, _pay, _payments


def test_a_school_liquidated_after_acceptance_is_paid_the_accepted_amount_once(world):
    act = _accepted()
    accepted_tiyn = act.amount_tiyn
    assert accepted_tiyn > 0
    record = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == act.school.bin)).one()
    record.status, record.liquidated_on = "liquidated", act.period  # liquidated on its month's first day
    db.session.commit()
    _pay(act)
    (payment,) = _payments(act)
    assert (payment.amount_tiyn, payment.payee_iban) == (accepted_tiyn, ACCEPTED_WITH)
    paid = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid",
                                                       AuditEvent.object_id == payment.id)).one()
    assert paid.details["amount_tiyn"] == accepted_tiyn
    # The month earned nothing: every accepted line is owed back, as a claw-back of its own.
    owed = unsettled_corrections(act.school)
    assert {u.correction.rule_code for u in owed} == {"liquidated"}
    assert -sum(u.amount_tiyn for u in owed) == sum(ln.amount_tiyn for ln in act.lines if ln.outcome == "accepted")
    assert db.session.scalar(select(Payment.amount_tiyn).where(Payment.act_id == act.id)) == accepted_tiyn
