"""A payment replayed after the act was set back: one transfer per act, whatever the rows say now.

A database writer who deleted an act's payment row and set the act back to "accepted" had the operator's next
payment go through — a second transfer for the same act; verify-audit named the missing row only afterwards. The
act's audit chain already says it was paid: that is what the payment checks. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from app import clock
from app.acts.models import Act
from app.engine.errors import DomainConflict
from app.engine.runtime import complete_task
from app.extensions import db
from app.payments.models import Payment
from app.payments.operations import register_payment
from tests.audit.helpers import tamper
from tests.helpers import act_of_school, open_task, user


def test_an_act_set_back_after_its_payment_row_was_deleted_is_not_paid_again(world):
    act = act_of_school("Alatau Lyceum")
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-ONCE-1", "paid_on": clock.today().isoformat()})
    db.session.commit()
    tamper(delete(Payment).where(Payment.act_id == act.id))
    tamper(update(Act).where(Act.id == act.id).values(status="accepted"))

    with pytest.raises(DomainConflict, match="has already been paid; a second payment is refused"):
        register_payment(db.session.get(Act, act.id), "PP-TWICE-2", clock.today(), user("operator"))
    db.session.rollback()
    assert db.session.scalars(select(Payment).where(Payment.act_id == act.id)).all() == []
    assert db.session.get(Act, act.id).status == "accepted"


def test_acts_without_a_process_instance_are_each_paid_once(world):
    """The synthetic country's acts have no process instance: their events are on a chain of their own. The payment
    event of such an act went to one chain "instance:None" shared by all of them, and the check above then refused
    every such act after the first as "already paid"."""
    acts = [act_of_school("Alatau Lyceum"), act_of_school("Bilim Innovation School")]
    for act in acts:
        # with money to pay: an act of 0 ₸ is closed without a payment order (app.payments.returns)
        tamper(update(Act).where(Act.id == act.id).values(status="accepted", instance_id=None, payee_iban=None,
                                                           amount_tiyn=1_000_000))
    for n, act in enumerate(acts):
        register_payment(db.session.get(Act, act.id), f"PP-OWN-{n}", clock.today(), user("operator"))
        db.session.commit()
    assert sorted(p.act_id for p in db.session.scalars(select(Payment))
                  if p.act_id in {a.id for a in acts}) == sorted(a.id for a in acts)
    with pytest.raises(DomainConflict, match="has already been paid"):
        register_payment(db.session.get(Act, acts[0].id), "PP-OWN-9", clock.today(), user("operator"))
