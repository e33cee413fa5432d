"""Paying again after a return takes two operators (four eyes).

A new account after a return needed a department official's confirmation, but paying again to the same account
needed no one else: one operator could record a return that never happened (any reference string) and pay the act
again — a one-person double payment of the act's amount; the same for a carried top-up paid outside the acts. Now the
operator who recorded the return does not register the repayment (app.payments.returns.check_repayer,
app.contracts.settlements.own_return_refusal): refused with the reason and what to do, nothing written, through the
one door (so the act's page, the JSON API and the "Pay act" step alike); another operator pays, and the audit trail
names both. The act's and the contract's pages say who recorded the return and offer the form only to those who may
use it; the other operators are told. On SQLite and PostgreSQL."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select, update

from app import clock
from app.acts.models import Act, OutsideSettlement
from app.audit.models import AuditEvent
from app.audit.operations import verify_chains_and_rows
from app.contracts.settlements import OutsideRequest, record_settlement_return, settle_outside
from app.engine.errors import DomainRefused, FormInvalid
from app.extensions import db
from app.notifications.models import Notification
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.payments.returns import record_return
from tests.audit.helpers import tamper
from tests.helpers import accepted_and_paid, user
from tests.money.test_outside_settlement import _carried_may, _form

SCHOOL = "Alatau Lyceum"
OWN_RETURN = ("You recorded the bank's return of payment order {order} yourself: another operator registers the new "
              "payment order of act {number} (four eyes).")
OWN_TOP_UP_RETURN = ("You recorded the bank's return of payment order {order} yourself: another operator registers the "
                     "new payment order of this top-up (four eyes).")


def _returned(order: str) -> tuple[Act, Payment]:
    """The act paid by ``operator`` and its payment returned by the bank, as ``operator`` recorded it (the bank's own
    refusal: the same account is paid again, no department confirmation needed)."""
    act, payment = accepted_and_paid(SCHOOL, order)
    record_return(act, payment, clock.today(), "bank_refused", "BANK/4E-1", "", user("operator"))
    db.session.commit()
    return db.session.get(Act, act.id), db.session.get(Payment, payment.id)


def _state(act_id: int) -> tuple:
    db.session.expire_all()
    act = db.session.get(Act, act_id)
    payments = db.session.scalars(select(Payment.order_number, Payment.returned_on).where(Payment.act_id == act_id)
                                  .order_by(Payment.id)).all()
    return act.status, act.lock_version, tuple(payments), db.session.scalar(select(func.count(AuditEvent.id)))


def test_the_operator_who_recorded_the_return_cannot_pay_the_act_again_another_operator_does(world):
    act, payment = _returned("PP-4E-1")
    before = _state(act.id)
    with pytest.raises(DomainRefused) as refused:
        register_payment(act, "PP-4E-2", clock.today(), user("operator"), alongside=True)
    assert str(refused.value) == OWN_RETURN.format(order="PP-4E-1", number=act.number)
    db.session.rollback()
    assert _state(act.id) == before
    # the "Pay act" step calls the same door without ``alongside``: refused alike
    with pytest.raises(DomainRefused, match="another operator registers the new payment order"):
        register_payment(db.session.get(Act, act.id), "PP-4E-2", clock.today(), user("operator"))
    db.session.rollback()
    assert _state(act.id) == before

    again = register_payment(db.session.get(Act, act.id), "PP-4E-2", clock.today(), user("operator2"),
                             alongside=True)
    db.session.commit()
    assert db.session.get(Act, act.id).status == "paid" and again.registered_by_id == user("operator2").id
    returned = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.returned")).one()
    repaid = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid",
                                                         AuditEvent.object_id == again.id)).one()
    assert (returned.object_id, returned.actor_id) == (payment.id, user("operator").id)
    assert (repaid.actor_id, repaid.details["after_return_of"]) == (user("operator2").id, "PP-4E-1")
    assert verify_chains_and_rows().problems == []


def test_the_operator_who_paid_may_record_the_return_and_then_pays_again_after_another_records_it(world):
    """The rule chosen (returns.py's docstring): the original payer may record the return; whoever recorded
    the last return is the one refused — the second return is the other operator's, so the first one pays."""
    act, first = _returned("PP-4E-10")
    second = register_payment(act, "PP-4E-11", clock.today(), user("operator2"), alongside=True)
    db.session.commit()
    record_return(db.session.get(Act, act.id), second, clock.today(), "bank_refused", "BANK/4E-2", "",
                  user("operator2"))
    db.session.commit()
    with pytest.raises(DomainRefused, match="PP-4E-11 yourself"):
        register_payment(db.session.get(Act, act.id), "PP-4E-12", clock.today(), user("operator2"), alongside=True)
    db.session.rollback()
    third = register_payment(db.session.get(Act, act.id), "PP-4E-12", clock.today(), user("operator"),
                             alongside=True)
    db.session.commit()
    assert third.registered_by_id == user("operator").id and first.registered_by_id == user("operator").id


def test_a_recorder_written_into_the_row_behind_the_app_does_not_make_the_recorder_a_second_person(world):
    act, payment = _returned("PP-4E-20")
    tamper(update(Payment).where(Payment.id == payment.id).values(returned_by_id=user("operator2").id))
    with pytest.raises(DomainRefused, match="another operator registers the new payment order"):
        register_payment(db.session.get(Act, act.id), "PP-4E-21", clock.today(), user("operator"), alongside=True)
    db.session.rollback()


def test_the_act_page_names_who_recorded_the_return_and_refuses_them_the_repayment(world, browser):
    act, payment = _returned("PP-4E-30")
    operator = browser("operator")
    page = html.unescape(operator.get(f"/acts/{act.id}").get_data(as_text=True))
    own = OWN_RETURN.format(order="PP-4E-30", number=act.number)
    assert 'id="pay-again"' not in page and f'<div class="alert alert-info" id="repay-own-return">{own}</div>' in page
    assert f'data-returned-by="{payment.id}"' in page and "Return recorded by Әсем Төлеуова on" in page

    before = _state(act.id)
    refused = operator.post(f"/acts/{act.id}/pay-again", {"order_number": "PP-4E-31",
                                                          "paid_on": clock.today().isoformat()})
    assert refused.status_code == 422
    assert own in html.unescape(refused.get_data(as_text=True))
    assert _state(act.id) == before

    operator2 = browser("operator2")
    page = html.unescape(operator2.get(f"/acts/{act.id}").get_data(as_text=True))
    assert 'id="pay-again"' in page and 'id="repay-own-return"' not in page
    assert ("Another operator than Әсем Төлеуова, who recorded the return, registers the new payment order "
            "(four eyes).") in page
    paid = operator2.post(f"/acts/{act.id}/pay-again", {"order_number": "PP-4E-31",
                                                        "paid_on": clock.today().isoformat()})
    assert paid.status_code == 303
    assert _state(act.id)[0] == "paid"


def test_the_api_refuses_the_recorder_the_repayment_and_another_operator_pays(world, browser):
    act, _payment = _returned("PP-4E-40")
    operator = browser("operator")
    operator.get(f"/api/v1/acts/{act.id}")  # signed in (its event) before the state is read
    before = _state(act.id)
    refused = operator.post_json(f"/api/v1/acts/{act.id}/pay-again",
                                 {"order_number": "PP-4E-41", "paid_on": clock.today().isoformat()})
    assert refused.status_code == 422
    assert refused.get_json()["message"] == OWN_RETURN.format(order="PP-4E-40", number=act.number)
    assert _state(act.id) == before
    paid = browser("operator2").post_json(f"/api/v1/acts/{act.id}/pay-again",
                                          {"order_number": "PP-4E-41", "paid_on": clock.today().isoformat()})
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["status"] == "paid"


def test_the_other_operators_are_told_of_a_return_and_the_recorder_is_not(world):
    act, _payment = _returned("PP-4E-50")
    told = db.session.scalars(select(Notification).where(Notification.kind == "repayment_to_register")).all()
    assert [n.user_id for n in told] == [user("operator2").id]
    assert told[0].params["order"] == "PP-4E-50" and told[0].params["act_id"] == act.id
    assert told[0].params["by"] == "Әсем Төлеуова"


# --- a carried top-up paid outside the acts ----------------------------------------------------------------------


def _top_up_returned(browser):
    contract, line, carried = _carried_may()
    assert browser("operator").post(f"/contracts/{contract.id}/settle-outside",
                                    _form(line, carried, order_number="PP-4E-OUT-1",
                                          paid_on="2026-11-02")).status_code == 303
    row = db.session.scalars(select(OutsideSettlement)).one()
    record_settlement_return(contract, row.id, clock.today(), "bank_refused", "BANK/4E-OUT", "", user("operator"))
    db.session.commit()
    return contract, line, carried, row


def _settlements() -> list[tuple]:
    db.session.expire_all()
    return [(s.seq, s.order_number, s.returned_on is not None, s.recorded_by_id)
            for s in db.session.scalars(select(OutsideSettlement).order_by(OutsideSettlement.id))]


def test_the_operator_who_recorded_a_top_ups_return_cannot_settle_it_again_another_operator_does(world, browser):
    contract, line, carried, row = _top_up_returned(browser)
    own = OWN_TOP_UP_RETURN.format(order="PP-4E-OUT-1")
    operator = browser("operator")
    page = html.unescape(operator.get(f"/contracts/{contract.id}").get_data(as_text=True))
    before = _settlements(), db.session.scalar(select(func.count(AuditEvent.id)))
    assert f'data-settle-line="{line.id}"' not in page and f'data-own-return="{line.id}"' in page and own in page
    assert f'data-returned-by="{row.id}"' in page and "Return recorded by Әсем Төлеуова on" in page
    refused = operator.post(f"/contracts/{contract.id}/settle-outside",
                            _form(line, carried, seen=1, order_number="PP-4E-OUT-2", paid_on=clock.today().isoformat()))
    assert refused.status_code == 422 and own in html.unescape(refused.get_data(as_text=True))
    assert (_settlements(), db.session.scalar(select(func.count(AuditEvent.id)))) == before
    with pytest.raises(FormInvalid) as invalid:
        settle_outside(contract, user("operator"), OutsideRequest(line.id, 1, "paid", carried, "PP-4E-OUT-2",
                                                                  clock.today()))
    assert invalid.value.errors == {"line_id": own}
    db.session.rollback()

    operator2 = browser("operator2")
    page = operator2.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'data-settle-line="{line.id}"' in page and f'data-own-return="{line.id}"' not in page
    paid = operator2.post(f"/contracts/{contract.id}/settle-outside",
                          _form(line, carried, seen=1, order_number="PP-4E-OUT-2", paid_on=clock.today().isoformat()))
    assert paid.status_code == 303
    assert _settlements() == [(0, "PP-4E-OUT-1", True, user("operator").id),
                              (1, "PP-4E-OUT-2", False, user("operator2").id)]
    returned = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settlement_returned")).one()
    settled = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settled_outside")
                                 .order_by(AuditEvent.id)).all()
    assert returned.actor_id == user("operator").id
    assert [(e.details["order_number"], e.actor_id) for e in settled] == [
        ("PP-4E-OUT-1", user("operator").id), ("PP-4E-OUT-2", user("operator2").id)]


def test_the_other_operators_are_told_of_a_top_ups_return(world, browser):
    contract, _line, _carried, _row = _top_up_returned(browser)
    told = db.session.scalars(select(Notification).where(
        Notification.kind == "settlement_repayment_to_register")).all()
    assert [(n.user_id, n.params["contract_id"], n.params["order"]) for n in told] == [
        (user("operator2").id, contract.id, "PP-4E-OUT-1")]
    page = html.unescape(browser("operator2").get("/notifications").get_data(as_text=True))
    assert (f"Contract {contract.number}: Әсем Төлеуова recorded that the bank returned payment order PP-4E-OUT-1"
            in page)
