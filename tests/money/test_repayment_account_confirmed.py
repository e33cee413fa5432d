"""An act paid again after a return goes to a new account only once a department official confirms it.

The payee is pinned at the department's acceptance so that an account changed afterwards needs the education
department (four eyes). Paying again after a return re-pinned the act to the account on record by an event written
by the operator at repayment time: an operator who recorded a (possibly fake) return and an administrator who edited
the IBAN sent the money to a new account with no department official involved. Now a department official of the act's
region confirms the new account on the act's page (app.payments.returns.confirm_repayment_account), and the operator
pays the pinned account — refused while the account on record differs from it. On SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act
from app.admin.operations import save_organisation
from app.audit.models import AuditEvent
from app.audit.operations import verify_chains_and_rows
from app.engine.errors import DomainConflict, DomainRefused
from app.extensions import db
from app.notifications.models import Notification
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.payments.returns import record_return
from app.people.access import scope_clause
from app.registry.synthetic import _iban
from app.reports.reconciliation import reconcile
from tests.helpers import accepted_and_paid, user

SCHOOL = "Alatau Lyceum"


def _returned(order: str, reason: str = "account_closed") -> tuple[Act, Payment]:
    act, payment = accepted_and_paid(SCHOOL, order)
    record_return(act, payment, clock.today(), reason, "BANK-R1", "", user("operator"))
    db.session.commit()
    return db.session.get(Act, act.id), payment


def _admin_changes_account(act: Act, salt: int = 0) -> str:
    """The administrator edits the organisation's IBAN (audited, as on the admin page)."""
    org = act.school
    iban = _iban(random.Random(act.id * 100 + salt))
    save_organisation(org, {"kind": org.kind, "bin": org.bin, "name": org.name, "region_id": str(org.region_id),
                            "design_capacity": str(org.design_capacity or ""), "iban": iban}, user("admin"))
    db.session.commit()
    assert db.session.get(Act, act.id).school.iban == iban
    return iban


def _state(act: Act) -> tuple:
    """What paying again or confirming would write: payments, the act's pin/status/version, the act's events."""
    db.session.expire_all()
    payments = [(p.id, p.order_number, p.returned_on, p.payee_iban)
                for p in db.session.scalars(select(Payment).where(Payment.act_id == act.id).order_by(Payment.id))]
    row = db.session.get(Act, act.id)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.chain == f"instance:{act.instance_id}"))
    return payments, row.payee_iban, row.status, row.lock_version, events


def test_the_operator_alone_cannot_pay_a_returned_act_to_an_account_the_department_has_not_confirmed(world, browser):
    act, payment = _returned("PP-FOUR-1")
    pinned = act.payee_iban
    assert payment.payee_iban == pinned
    _admin_changes_account(act)
    before = _state(act)
    with pytest.raises(DomainRefused, match="A department official of the act's region confirms the new account"):
        register_payment(db.session.get(Act, act.id), "PP-FOUR-2", clock.today(), user("operator2"))
    db.session.rollback()
    assert _state(act) == before

    operator = browser("operator2")
    page = operator.get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="account-to-confirm"' in page and 'id="confirm-account"' not in page  # told, but not theirs
    # refused: the act's page again (422), the form kept — no longer a redirect as a success is
    assert operator.post(f"/acts/{act.id}/pay-again",
                         {"order_number": "PP-FOUR-2", "paid_on": clock.today().isoformat()}).status_code == 422
    assert _state(act) == before
    assert db.session.get(Act, act.id).payee_iban == pinned


def test_only_a_department_official_of_the_acts_region_confirms_the_new_account(world, browser):
    from app.payments.returns import confirm_repayment_account

    act, _payment = _returned("PP-WHO-1")
    iban = _admin_changes_account(act)
    before = _state(act)
    url = f"/acts/{act.id}/confirm-account"
    for name, status in (("official_shymkent", 404), ("official", 404), ("operator", 403), ("admin", 403),
                         ("accountant3", 403)):
        someone = browser(name)
        someone.get("/")
        assert someone.post(url, {"iban": iban}).status_code == status, name
        assert _state(act) == before, name
    for name in ("official_shymkent", "official", "operator", "admin", "accountant3"):
        with pytest.raises(DomainRefused, match="Only a department official of the act's region"):
            confirm_repayment_account(db.session.get(Act, act.id), iban, user(name))
        db.session.rollback()
    assert _state(act) == before
    page = browser("official_almaty").get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="confirm-account"' in page


def test_the_official_confirms_on_the_act_page_and_the_operator_pays_the_new_account_once(world, browser):
    act, payment = _returned("PP-OK-1", "wrong_details")
    old = act.payee_iban
    iban = _admin_changes_account(act)
    officials = [n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.kind == "account_to_confirm"))]
    assert user("official_almaty").id in officials and user("official_shymkent").id not in officials
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "payment_returned", Notification.user_id == user("accountant3").id)) == 1

    official = browser("official_almaty")
    page = official.get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="confirm-account"' in page and "Confirm the new account for the repayment" in page
    assert "PP-OK-1" in page and "Wrong payee details (IBAN, BIN or name)" in page
    assert old in page and iban in page and 'id="confirm-changed-by"' in page
    assert "System Administrator" in page  # who changed the IBAN, from the organisation's audit trail
    before = _state(act)
    assert official.post(f"/acts/{act.id}/confirm-account", {"iban": iban}, csrf=False).status_code == 400
    assert _state(act) == before
    assert official.post(f"/acts/{act.id}/confirm-account", {"iban": iban}).status_code == 303
    act = db.session.get(Act, act.id)
    assert act.payee_iban == iban and act.status == "accepted"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.payee_changed",
                                                        AuditEvent.object_id == act.id)).one()
    assert event.actor_id == user("official_almaty").id
    assert (event.details["from"], event.details["to"], event.details["after_return_of"]) == (old, iban, "PP-OK-1")
    assert 'id="confirm-account"' not in official.get(f"/acts/{act.id}").get_data(as_text=True)

    operator = browser("operator2")
    # the operator hears it (no task waits in the inbox: the act's process ended with its first payment)
    told = operator.get("/notifications").get_data(as_text=True)
    assert f"Act {act.number}: the education department confirmed account {iban}" in told
    operator.get(f"/acts/{act.id}")
    assert operator.post(f"/acts/{act.id}/pay-again",
                         {"order_number": "PP-OK-2", "paid_on": clock.today().isoformat()}).status_code == 303
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    standing = db.session.scalars(select(Payment).where(Payment.act_id == act.id,
                                                        Payment.returned_on.is_(None))).all()
    assert [(p.order_number, p.payee_iban) for p in standing] == [("PP-OK-2", iban)]
    assert act.status == "paid"
    assert verify_chains_and_rows().problems == []
    everything = scope_clause(user("operator"), Act.region_id, Act.school_id)
    rows, _total = reconcile(act.period, everything, instrument=act.instrument)
    (region,) = [r for r in rows if r.region_id == act.region_id]
    assert region.paid_tiyn == standing[0].amount_tiyn and region.returned_tiyn == payment.amount_tiyn
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "act_paid", Notification.user_id == user("accountant3").id)) == 2


def test_an_account_changed_again_after_the_confirmation_is_refused_again(world, browser):
    from app.payments.returns import confirm_repayment_account

    act, _payment = _returned("PP-AGAIN-1")
    iban = _admin_changes_account(act)
    confirm_repayment_account(db.session.get(Act, act.id), iban, user("official_almaty"))
    db.session.commit()
    _admin_changes_account(act, salt=7)
    before = _state(act)
    with pytest.raises(DomainRefused, match="A department official of the act's region confirms the new account"):
        register_payment(db.session.get(Act, act.id), "PP-AGAIN-2", clock.today(), user("operator2"))
    db.session.rollback()
    assert _state(act) == before
    # a form read before the second edit confirms nothing: the official confirms the account they were shown
    with pytest.raises(DomainConflict, match="changed since you opened the page"):
        confirm_repayment_account(db.session.get(Act, act.id), iban, user("official_almaty"))
    db.session.rollback()
    assert _state(act) == before


def test_paid_again_to_the_same_account_needs_no_confirmation(world, browser):
    """Guard: the bank's own refusal, the records unchanged — the operator pays the pinned account again at once."""
    act, _payment = _returned("PP-SAME-1", "bank_refused")
    pinned = act.payee_iban
    assert 'id="account-to-confirm"' not in browser("official_almaty").get(f"/acts/{act.id}").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "account_to_confirm")) == 0
    again = register_payment(db.session.get(Act, act.id), "PP-SAME-2", clock.today(), user("operator2"))
    db.session.commit()
    assert again.payee_iban == pinned and db.session.get(Act, act.id).status == "paid"
    assert verify_chains_and_rows().problems == []


def test_the_officials_are_told_when_the_account_is_changed_after_a_return(world):
    """The bank refused the payment (no confirmation asked for then); the administrator edits the IBAN afterwards:
    the act's region's officials find it in their bell, linked to the act's page."""
    act, _payment = _returned("PP-TOLD-1", "bank_refused")
    told = select(Notification).where(Notification.kind == "account_to_confirm")
    assert db.session.scalars(told).all() == []
    _admin_changes_account(act)
    notes = db.session.scalars(told).all()
    assert {n.user_id for n in notes} >= {user("official_almaty").id}
    assert user("official_shymkent").id not in {n.user_id for n in notes}
    assert all(n.params["act_id"] == act.id and n.params["order"] == "PP-TOLD-1" for n in notes)
