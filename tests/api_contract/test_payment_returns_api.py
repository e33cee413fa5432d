"""A payment the bank returned, through the JSON API: recorded, paid again, its new account confirmed.

The API paid acts (the "Pay act" step, POST /tasks/{id}/complete) but had no way to record that the bank sent the money
back, nor to pay the act again or confirm its new account: an integration of the operator's bank statements stopped
at the first return (404). Now POST /acts/{act_id}/payments/{payment_id}/return, /acts/{act_id}/pay-again and
/acts/{act_id}/confirm-account call the same one doors as the act's page — the operator records and pays, a department
official of the act's region confirms — with the same refusals (422 in the reader's language, nothing written) and are
in the OpenAPI document. On SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.audit.operations import verify_chains_and_rows
from app.extensions import db
from app.payments.models import Payment
from app.registry.synthetic import _iban
from tests.api_contract.test_errors import assert_error_document
from tests.helpers import accepted_and_paid, user

SCHOOL = "Alatau Lyceum"


def _state(act_id: int) -> tuple:
    db.session.expire_all()
    payments = [(p.id, p.order_number, p.returned_on, p.return_reason, p.payee_iban)
                for p in db.session.scalars(select(Payment).where(Payment.act_id == act_id).order_by(Payment.id))]
    row = db.session.get(Act, act_id)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.chain == f"instance:{row.instance_id}"))
    return payments, row.status, row.payee_iban, row.lock_version, events


def _return_url(act: Act, payment: Payment) -> str:
    return f"/api/v1/acts/{act.id}/payments/{payment.id}/return"


def test_the_operator_records_a_return_the_official_confirms_the_account_and_the_act_is_paid_again(world, browser):
    act, payment = accepted_and_paid(SCHOOL, "PP-API-R1")
    operator = browser("operator")
    today = clock.today().isoformat()

    response = operator.post_json(_return_url(act, payment), {
        "returned_on": today, "reason": "account_closed", "reference": "BANK/API-1"})
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert document["status"] == "accepted" and document["payment"] is None
    (returned,) = document["payments"]
    assert (returned["id"], returned["order_number"], returned["returned_on"], returned["return_reason"],
            returned["return_reference"]) == (payment.id, "PP-API-R1", today, "account_closed", "BANK/API-1")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.returned")).one()
    assert event.actor_id == user("operator").id and event.object_id == payment.id

    # the bank closed the account: the school's new one is paid only once the department confirms it
    iban = _iban(random.Random(act.id))
    db.session.get(Act, act.id).school.iban = iban
    db.session.commit()
    assert operator.get(f"/api/v1/acts/{act.id}").get_json()["account_to_confirm"] == iban
    operator2 = browser("operator2")  # another operator pays it again (four eyes)
    refused = operator2.post_json(f"/api/v1/acts/{act.id}/pay-again", {"order_number": "PP-API-R2",
                                                                       "paid_on": today})
    assert refused.status_code == 422
    assert "A department official of the act's region confirms the new account" in refused.get_json()["message"]

    official = browser("official_almaty")
    confirmed = official.post_json(f"/api/v1/acts/{act.id}/confirm-account", {"iban": iban})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["payee_iban"] == iban and confirmed.get_json()["account_to_confirm"] is None

    paid = operator2.post_json(f"/api/v1/acts/{act.id}/pay-again", {"order_number": "pp-api-r2", "paid_on": today})
    assert paid.status_code == 200, paid.get_json()
    document = paid.get_json()
    assert document["status"] == "paid"
    assert document["payment"]["order_number"] == "PP-API-R2" and document["payment"]["payee_iban"] == iban
    assert [p["order_number"] for p in document["payments"]] == ["PP-API-R1", "PP-API-R2"]
    assert verify_chains_and_rows().problems == []

    # exactly once: a third payment is a conflict, nothing written
    before = _state(act.id)
    again = operator2.post_json(f"/api/v1/acts/{act.id}/pay-again", {"order_number": "PP-API-R3", "paid_on": today})
    assert again.status_code == 409
    assert_error_document(again, 409)
    assert _state(act.id) == before


@pytest.mark.parametrize("who, path, status", [
    ("official_almaty", "return", 403), ("accountant3", "return", 403), ("auditor", "return", 403),
    ("official_almaty", "pay-again", 403), ("accountant3", "pay-again", 403),
    ("operator", "confirm-account", 403), ("accountant3", "confirm-account", 403),
    ("head", "confirm-account", 404), ("official", "confirm-account", 404)])
def test_only_the_operator_records_and_pays_and_only_the_regions_official_confirms(world, browser, who, path,
                                                                                   status):
    act, payment = accepted_and_paid(SCHOOL, "PP-API-A1")
    if path != "return":
        from app.payments.returns import record_return

        record_return(act, payment, clock.today(), "bank_refused", "BANK-A", "", user("operator"))
        db.session.commit()
    before = _state(act.id)
    url = {"return": _return_url(act, payment), "pay-again": f"/api/v1/acts/{act.id}/pay-again",
           "confirm-account": f"/api/v1/acts/{act.id}/confirm-account"}[path]
    body = {"return": {"returned_on": clock.today().isoformat(), "reason": "bank_refused", "reference": "BANK-B"},
            "pay-again": {"order_number": "PP-API-A2", "paid_on": clock.today().isoformat()},
            "confirm-account": {"iban": act.payee_iban}}[path]
    response = browser(who).post_json(url, body)
    assert response.status_code == status
    assert_error_document(response, status)
    assert _state(act.id) == before


@pytest.mark.parametrize("language, said", [
    ("en", "Say in the note why the bank returned the payment."),
    ("ru", "Укажите в примечании, почему банк вернул платёж."),
])
def test_a_refused_return_says_why_in_the_readers_language_and_writes_nothing(world, browser, language, said):
    act, payment = accepted_and_paid(SCHOOL, "PP-API-B1")
    before = _state(act.id)
    operator = browser("operator")
    operator.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    response = operator.post_json(_return_url(act, payment), {
        "returned_on": clock.today().isoformat(), "reason": "other", "reference": "BANK-C", "note": "  "})
    assert response.status_code == 422
    assert_error_document(response, 422)
    assert response.get_json()["message"] == said
    assert _state(act.id) == before


@pytest.mark.parametrize("mistake, status, said", [
    ("reason", 422, "Choose why the bank returned the payment from the list."),
    ("reference", 422, "Enter the bank's reference of the return as its notice gives it"),
    ("before_payment", 422, "is before the payment on"),
    ("twice", 409, "was already recorded as returned on"),
    ("not_returned", 422, "is paid through its process's \"Pay act\" step"),
    ("returned_order", 422, "the act is paid again by a new payment order, with its own number"),
    ("no_account_to_confirm", 422, "has no new account to confirm"),
])
def test_bad_returns_repayments_and_confirmations_are_refused_and_change_nothing(world, browser, mistake, status,
                                                                                 said):
    from datetime import timedelta

    from app.payments.returns import record_return

    act, payment = accepted_and_paid(SCHOOL, "PP-API-C1")
    today = clock.today()
    if mistake in ("twice", "returned_order", "no_account_to_confirm"):
        record_return(act, payment, today, "bank_refused", "BANK-D", "", user("operator"))
        db.session.commit()
    before = _state(act.id)
    ret = {"returned_on": today.isoformat(), "reason": "bank_refused", "reference": "BANK-E"}
    url, body, who = {
        "reason": (_return_url(act, payment), {**ret, "reason": "lost"}, "operator"),
        "reference": (_return_url(act, payment), {**ret, "reference": "  "}, "operator"),
        "before_payment": (_return_url(act, payment),
                           {**ret, "returned_on": (payment.paid_on - timedelta(days=1)).isoformat()}, "operator"),
        "twice": (_return_url(act, payment), ret, "operator"),
        "not_returned": (f"/api/v1/acts/{act.id}/pay-again", {"order_number": "PP-API-C2",
                                                              "paid_on": today.isoformat()}, "operator"),
        "returned_order": (f"/api/v1/acts/{act.id}/pay-again", {"order_number": "PP-API-C1",
                                                                "paid_on": today.isoformat()}, "operator2"),
        "no_account_to_confirm": (f"/api/v1/acts/{act.id}/confirm-account", {"iban": act.payee_iban},
                                  "official_almaty"),
    }[mistake]
    response = browser(who).post_json(url, body)
    assert response.status_code == status, response.get_json()
    assert_error_document(response, status)
    assert said in response.get_json()["message"]
    assert _state(act.id) == before


def test_the_openapi_document_describes_the_three_calls(world, browser):
    spec = browser("operator").get("/api/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/acts/{act_id}/payments/{payment_id}/return", "/api/v1/acts/{act_id}/pay-again",
                 "/api/v1/acts/{act_id}/confirm-account"):
        post = paths[path]["post"]
        assert {"200", "403", "422"} <= set(post["responses"]), path
        assert post["requestBody"]["required"] is True
    schemas = spec["components"]["schemas"]
    assert set(schemas["PaymentReturn"]["required"]) == {"returned_on", "reason", "reference"}
    assert schemas["PaymentReturn"]["properties"]["reason"]["enum"] == [
        "account_closed", "wrong_details", "bank_refused", "other"]
    assert {"payments", "account_to_confirm"} <= set(schemas["Act"]["properties"])
