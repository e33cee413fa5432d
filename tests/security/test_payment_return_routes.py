"""Attacker probes of the payment-return forms (record a return, pay again, confirm the new account), beside what
tests/money/ holds (the operator alone may record and pay, the act's region's official alone confirms, CSRF on the
return and the confirmation): a payment id of another act in the address, the other operator-only form from another
region's official, and a page kept open while the person's role or region was changed."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from app import clock
from app.acts.models import Act
from app.admin.operations import save_organisation, update_user
from app.audit.models import AuditEvent
from app.extensions import db
from app.payments.models import Payment
from app.payments.returns import record_return
from app.registry.synthetic import _iban
from tests.helpers import accepted_and_paid, act_of_school, open_task, submitted_and_accepted, user


def _astana_act_paid(order: str) -> tuple[Act, Payment]:
    """An act of another school (Astana), submitted, accepted and paid: its payment is not Alatau Lyceum's."""
    from app.engine.runtime import complete_task

    act = act_of_school("Bilim Innovation School")
    submitted_and_accepted(act)
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": order, "paid_on": clock.today().isoformat()})
    db.session.commit()
    return db.session.get(Act, act.id), db.session.scalars(select(Payment).where(Payment.act_id == act.id)).one()


def _state(*acts: Act) -> list:
    db.session.expire_all()
    out = []
    for act in acts:
        row = db.session.get(Act, act.id)
        out.append(([(p.id, p.order_number, p.returned_on, p.payee_iban) for p in db.session.scalars(
            select(Payment).where(Payment.act_id == act.id).order_by(Payment.id))],
            row.payee_iban, row.status, row.lock_version,
            db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.chain == f"instance:{act.instance_id}"))))
    return out


def _return_form() -> dict:
    return {"returned_on": clock.today().isoformat(), "reason": "bank_refused", "reference": "BANK-X", "note": ""}


def test_a_payment_of_another_act_named_in_the_address_is_refused_and_neither_act_changes(world, browser):
    """Guard: /acts/<A>/payments/<B's payment>/return — A's page, B's payment: nothing is returned on either."""
    act_a, _payment_a = accepted_and_paid("Alatau Lyceum", "PP-MIX-A")
    act_b, payment_b = _astana_act_paid("PP-MIX-B")
    before = _state(act_a, act_b)
    operator = browser("operator")
    operator.get("/")
    answer = operator.post(f"/acts/{act_a.id}/payments/{payment_b.id}/return", _return_form())
    assert answer.status_code == 422
    assert _state(act_a, act_b) == before


def test_another_regions_official_reaches_neither_operator_form(world, browser):
    """Guard: the act's region's official may see the act but not record a return or pay it; another region's
    official does not see it at all."""
    act, payment = accepted_and_paid("Alatau Lyceum", "PP-OTHER-1")
    before = _state(act)
    for name, status in (("official_shymkent", 404), ("official", 404), ("official_almaty", 403)):
        someone = browser(name)
        someone.get("/")
        assert someone.post(f"/acts/{act.id}/payments/{payment.id}/return", _return_form()).status_code == status
        assert someone.post(f"/acts/{act.id}/pay-again", {"order_number": "PP-OTHER-2",
                                                           "paid_on": clock.today().isoformat()}).status_code == status
        assert _state(act) == before, name


def test_pay_again_needs_the_form_token(world, browser):
    """Guard: the one payment-return form whose CSRF refusal tests/money did not hold."""
    act, payment = accepted_and_paid("Alatau Lyceum", "PP-CSRF-1")
    record_return(act, payment, clock.today(), "bank_refused", "BANK-C", "", user("operator"))
    db.session.commit()
    before = _state(act)
    operator = browser("operator")
    operator.get(f"/acts/{act.id}")
    form = {"order_number": "PP-CSRF-2", "paid_on": clock.today().isoformat()}
    assert operator.post(f"/acts/{act.id}/pay-again", form, csrf=False).status_code == 400
    assert _state(act) == before


def test_a_page_kept_open_after_the_operator_became_an_auditor_records_nothing(world, browser):
    """Guard: the return form was opened as operator; the administrator made the person an auditor meanwhile."""
    act, payment = accepted_and_paid("Alatau Lyceum", "PP-ROLE-1")
    before = _state(act)
    operator = browser("operator")
    assert operator.get(f"/acts/{act.id}").status_code == 200
    person = user("operator")
    update_user(person, {"full_name": person.full_name, "email": person.email or "", "role": "auditor",
                         "organisation_id": str(person.organisation_id)}, user("admin"))
    db.session.commit()
    answer = operator.post(f"/acts/{act.id}/payments/{payment.id}/return", _return_form())
    assert answer.status_code == 403
    assert _state(act) == before


def test_a_confirmation_kept_open_after_the_official_moved_region_confirms_nothing(world, browser):
    """Guard: the Almaty official opened the act whose new account waits for confirmation, then was moved to the
    Astana department: the confirmation sent from the old page is refused and the account stays unconfirmed."""
    act, payment = accepted_and_paid("Alatau Lyceum", "PP-MOVE-1")
    record_return(act, payment, clock.today(), "account_closed", "BANK-M", "", user("operator"))
    db.session.commit()
    org = db.session.get(Act, act.id).school
    iban = _iban(random.Random(act.id * 7))
    save_organisation(org, {"kind": org.kind, "bin": org.bin, "name": org.name, "region_id": str(org.region_id),
                            "design_capacity": str(org.design_capacity or ""), "iban": iban}, user("admin"))
    db.session.commit()
    before = _state(act)
    official = browser("official_almaty")
    assert 'id="confirm-account"' in official.get(f"/acts/{act.id}").get_data(as_text=True)
    person = user("official_almaty")
    update_user(person, {"full_name": person.full_name, "email": person.email or "", "role": person.role,
                         "organisation_id": str(user("official").organisation_id)}, user("admin"))
    db.session.commit()
    assert official.post(f"/acts/{act.id}/confirm-account", {"iban": iban}).status_code == 404
    assert _state(act) == before
