"""A contract's money paths through the JSON API: its bank account changed by an agreement, a carried top-up paid
outside the acts, the bank's return of that payment and its payment again.

The pages could do all three (app/contracts/views.py) but the API could not: an integration reading the operator's bank
statements stopped at a returned top-up, and a department could change a contract's account only on the page. Now
POST /contracts/{id}/account, GET /contracts/{id}/outside-settlements, POST /contracts/{id}/settle-outside and
POST /contracts/{id}/settlements/{sid}/return call the same one doors as the page (change_contract_account,
settle_outside, record_settlement_return) with the same roles (403), scope (404), refusals (422 in the reader's
language, per field where the door names one, nothing written), exactly-once (409) and four eyes; session requests
need the CSRF token and API tokens may not call them, as the act's payment calls. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import OutsideSettlement
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.contracts.models import Contract
from app.extensions import db
from app.people.tokens import SCOPES, create_token
from tests.api_contract.test_errors import assert_error_document
from tests.helpers import user
from tests.money.test_outside_settlement import _carried_may

CONTRACT = "C-SHYMKENT-2026-00001"
NEW_IBAN = "KZ86125KZT5004100100"
REASON = "The bank closed the old account"
# the carried top-up of _carried_may: the May 2026 line was paid 10 of May's 31 days of the 3 850 000 tiyn norm,
# 3 850 000 * 10 // 31 = 1 241 935 tiyn; NEDB now says the whole month, so 3 850 000 - 1 241 935 = 2 608 065 is owed
CARRIED = 2_608_065
PAID_ON = "2026-11-02"


def _contract() -> Contract:
    db.session.expire_all()
    return db.session.scalars(select(Contract).where(Contract.number == CONTRACT)).one()


def _events() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _written() -> tuple:
    """What a refused call must leave as it was: the contract's account, the settlements, the audit trail."""
    db.session.expire_all()
    settlements = [(s.id, s.seq, s.kind, s.order_number, s.returned_on, s.return_reference)
                   for s in db.session.scalars(select(OutsideSettlement).order_by(OutsideSettlement.id))]
    return _contract().iban, settlements, _events()


def _settle_body(line, seen: int = 0, **extra) -> dict:
    return {"line_id": line.id, "seen": seen, "amount_tiyn": CARRIED, **extra}


# --- the contract's bank account -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["head_shymkent", "official_shymkent"])
def test_the_regions_department_changes_the_contracts_account_with_the_reason(world, browser, who):
    contract = _contract()
    old = contract.iban
    response = browser(who).post_json(f"/api/v1/contracts/{contract.id}/account",
                                      {"iban": "kz86 125K ZT50 0410 0100", "rationale": REASON})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["iban"] == NEW_IBAN and response.get_json()["number"] == CONTRACT
    assert _contract().iban == NEW_IBAN
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.account_changed")).one()
    assert (event.actor_id, event.object_id) == (user(who).id, contract.id)
    assert (event.details["from"], event.details["to"], event.details["comment"]) == (old, NEW_IBAN, REASON)
    assert [p for p in verify_all_chains()[1] if f"contract {contract.id}" in p.reason] == []
    # the reader sees it in the contract's document
    assert browser("operator").get(f"/api/v1/contracts/{contract.id}").get_json()["iban"] == NEW_IBAN


@pytest.mark.parametrize("iban, rationale, field, said", [
    ("KZ00 not an iban", REASON, "iban", "The IBAN is not a valid Kazakh IBAN."),
    (None, REASON, "iban", "is already the contract's bank account."),
    (NEW_IBAN, "short", "rationale", "Give the reason for the amendment (10 to 1000 characters)."),
])
def test_a_bad_account_change_is_refused_per_field_and_writes_nothing(world, browser, iban, rationale, field, said):
    contract, official = _contract(), browser("official_shymkent")
    before = _written()
    response = official.post_json(f"/api/v1/contracts/{contract.id}/account",
                                  {"iban": contract.iban if iban is None else iban, "rationale": rationale})
    assert response.status_code == 422
    assert_error_document(response, 422)
    assert said in response.get_json()["errors"][field]
    assert _written() == before


def test_an_unsigned_contracts_account_is_refused_in_the_readers_language(world, browser):
    contract = _contract()
    contract.status = "awaiting_head"
    db.session.commit()
    official = browser("official_shymkent")
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    before = _written()
    response = official.post_json(f"/api/v1/contracts/{contract.id}/account",
                                  {"iban": NEW_IBAN, "rationale": REASON})
    assert response.status_code == 422
    assert_error_document(response, 422)
    message = response.get_json()["message"]
    assert message != ("Only a signed contract's bank account is changed by an agreement; before the signatures the "
                       "school's application names the account.")  # not the English
    assert "Only a signed" not in message and message.strip()
    assert _written() == before


@pytest.mark.parametrize("who, status", [("operator", 403), ("accountant4", 403), ("director4", 403),
                                         ("auditor", 403), ("official_almaty", 404), ("head", 404)])
def test_only_the_regions_department_changes_the_account(world, browser, who, status):
    contract, client = _contract(), browser(who)
    before = _written()
    response = client.post_json(f"/api/v1/contracts/{contract.id}/account", {"iban": NEW_IBAN, "rationale": REASON})
    assert response.status_code == status
    assert_error_document(response, status)
    assert _written() == before


# --- a carried top-up paid outside the acts, returned by the bank, paid again --------------------------------------


def test_a_top_up_is_paid_outside_returned_by_the_bank_and_paid_again_by_another_operator(world, browser):
    contract, line, carried = _carried_may()
    assert carried == CARRIED
    operator, operator2 = browser("operator"), browser("operator2")
    listing = operator.get(f"/api/v1/contracts/{contract.id}/outside-settlements").get_json()
    assert listing["settlements"] == []
    (item,) = listing["carried"]
    assert (item["line_id"], item["amount_tiyn"], item["seen"], item["period"]) == (line.id, CARRIED, 0,
                                                                                  "2026-05-01")

    paid = operator.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                              _settle_body(line, order_number="pp-out-1", paid_on=PAID_ON))
    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["carried"] == []
    (row,) = paid.get_json()["settlements"]
    assert (row["kind"], row["amount_tiyn"], row["order_number"], row["paid_on"], row["seq"], row["returned_on"]) == (
        "paid", CARRIED, "PP-OUT-1", PAID_ON, 0, None)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settled_outside")).one()
    assert (event.actor_id, event.object_id) == (user("operator").id, row["id"])

    # exactly once: the same call again (a retry) is a conflict naming the first, nothing written
    before = _written()
    again = operator.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                               _settle_body(line, order_number="PP-OUT-1", paid_on=PAID_ON))
    assert again.status_code == 409
    assert "settled meanwhile" in again.get_json()["message"]
    assert _written() == before

    url = f"/api/v1/contracts/{contract.id}/settlements/{row['id']}/return"
    returned = operator.post_json(url, {"returned_on": "2026-11-04", "reason": "wrong_details",
                                        "reference": "BANK/OUT-9"})
    assert returned.status_code == 200, returned.get_json()
    (row_now,) = returned.get_json()["settlements"]
    assert (row_now["returned_on"], row_now["return_reason"], row_now["return_reference"],
            row_now["returned_by_id"]) == ("2026-11-04", "wrong_details", "BANK/OUT-9", user("operator").id)
    (item,) = returned.get_json()["carried"]
    assert (item["line_id"], item["amount_tiyn"], item["seen"]) == (line.id, CARRIED, 1)  # carried again
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.settlement_returned")).one()
    assert (event.actor_id, event.object_id) == (user("operator").id, row["id"])
    before = _written()
    twice = operator.post_json(url, {"returned_on": "2026-11-04", "reason": "wrong_details", "reference": "BANK/X"})
    assert twice.status_code == 409
    assert_error_document(twice, 409)
    assert "was already recorded as returned on" in twice.get_json()["message"]
    assert _written() == before

    # four eyes: the operator who recorded the return does not pay it again
    own = operator.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                             _settle_body(line, seen=1, order_number="PP-OUT-2", paid_on="2026-11-05"))
    assert own.status_code == 422
    assert_error_document(own, 422)
    assert "another operator registers the new payment order" in own.get_json()["errors"]["line_id"]
    # not by the returned order, not before the return
    for bad, field, said in (({"order_number": "PP-OUT-1", "paid_on": "2026-11-05"}, "order_number",
                              "was returned by the bank on"),
                             ({"order_number": "PP-OUT-2", "paid_on": "2026-11-03"}, "paid_on",
                              "is before the bank returned")):
        refused = operator2.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                      _settle_body(line, seen=1, **bad))
        assert refused.status_code == 422
        assert said in refused.get_json()["errors"][field]
    assert _written() == before

    again = operator2.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                _settle_body(line, seen=1, order_number="PP-OUT-2", paid_on="2026-11-05"))
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["carried"] == []
    assert [(r["seq"], r["order_number"], r["returned_on"]) for r in again.get_json()["settlements"]] == [
        (0, "PP-OUT-1", "2026-11-04"), (1, "PP-OUT-2", None)]
    assert [p.reason for p in verify_all_chains()[1] if "outside_settlement" in p.reason] == []


def test_the_regions_department_writes_a_carried_top_up_off(world, browser):
    contract, line, _carried = _carried_may()
    official = browser("official_shymkent")
    before = _written()
    short = official.post_json(f"/api/v1/contracts/{contract.id}/settle-outside", _settle_body(line, reason="no"))
    assert short.status_code == 422
    assert "Give the reason for the write-off" in short.get_json()["errors"]["reason"]
    assert _written() == before
    written_off = official.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                     _settle_body(line, reason="The grade was checked with the school: not owed"))
    assert written_off.status_code == 201, written_off.get_json()
    (row,) = written_off.get_json()["settlements"]
    assert (row["kind"], row["amount_tiyn"], row["order_number"]) == ("written_off", CARRIED, None)
    # nothing was paid: there is no payment for the bank to return
    operator = browser("operator")
    before = _written()
    refused = operator.post_json(
        f"/api/v1/contracts/{contract.id}/settlements/{row['id']}/return",
        {"returned_on": clock.today().isoformat(), "reason": "bank_refused", "reference": "R-1"})
    assert refused.status_code == 422
    assert "A written-off top-up was not paid" in refused.get_json()["message"]
    assert _written() == before


@pytest.mark.parametrize("change, field, said", [
    ({"amount_tiyn": CARRIED - 1}, "amount", "a top-up is settled whole"),
    ({"amount_tiyn": 0}, "amount", "Enter the amount in tenge"),
    ({"order_number": None}, "order_number", "Enter the payment order's number"),
    ({"order_number": "РР-42"}, "order_number", "Enter the payment order's number"),  # Cyrillic look-alikes
    ({"paid_on": None}, "paid_on", "Enter the day the payment order was executed as a date."),
    ({"paid_on": "2026-04-30"}, "paid_on", "is before the month it pays for"),
    ({"paid_on": "future"}, "paid_on", "is in the future"),
])
@pytest.mark.usefixtures("one_day")  # "tomorrow" is read here and "today" by the server: across midnight they met
def test_a_bad_payment_outside_the_acts_is_refused_per_field_and_writes_nothing(world, browser, change, field,
                                                                                said):
    contract, line, _carried = _carried_may()
    if change.get("paid_on") == "future":
        change = {"paid_on": (clock.today() + timedelta(days=1)).isoformat()}
    operator = browser("operator")
    before = _written()
    response = operator.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                             {**_settle_body(line, order_number="PP-OUT-7", paid_on=PAID_ON),
                                              **change})
    assert response.status_code == 422, response.get_json()
    assert_error_document(response, 422)
    assert said in response.get_json()["errors"][field]
    assert _written() == before


def test_a_refused_settlement_speaks_the_readers_language(world, browser):
    contract, line, _carried = _carried_may()
    operator = browser("operator")
    operator.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    before = _written()
    response = operator.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                  _settle_body(line, amount_tiyn=CARRIED - 1, order_number="PP-OUT-8",
                                               paid_on=PAID_ON))
    assert response.status_code == 422
    document = response.get_json()
    assert document["message"] != "The request is not valid; see the errors per field."
    assert "a top-up is settled whole" not in document["errors"]["amount"]
    assert _written() == before


@pytest.mark.parametrize("mistake, status, said", [
    ("reason", 422, "Choose why the bank returned the payment from the list."),
    ("reference", 422, "Enter the bank's reference of the return"),
    ("other_without_note", 422, "Say in the note why the bank returned the payment."),
    ("before_payment", 422, "is before the payment on"),
    ("far_ahead", 422, "is too far ahead"),
    ("unknown_settlement", 422, "The form is out of date"),
])
def test_a_bad_return_of_a_settlement_is_refused_and_writes_nothing(world, browser, mistake, status, said):
    contract, line, _carried = _carried_may()
    operator = browser("operator")
    paid = operator.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                              _settle_body(line, order_number="PP-OUT-1", paid_on=PAID_ON))
    settlement_id = paid.get_json()["settlements"][0]["id"]
    body = {"returned_on": "2026-11-04", "reason": "bank_refused", "reference": "R-2", "note": ""}
    body.update({"reason": {"reason": "lost"}, "reference": {"reference": " "},
                 "other_without_note": {"reason": "other", "note": "  "},
                 "before_payment": {"returned_on": "2026-11-01"},
                 "far_ahead": {"returned_on": (clock.today() + timedelta(days=400)).isoformat()}}.get(mistake, {}))
    if mistake == "unknown_settlement":
        settlement_id += 1000
    before = _written()
    response = operator.post_json(f"/api/v1/contracts/{contract.id}/settlements/{settlement_id}/return", body)
    assert response.status_code == status, response.get_json()
    assert_error_document(response, status)
    assert said in response.get_json()["message"]
    assert _written() == before


@pytest.mark.parametrize("who, path, status", [
    ("accountant4", "settle", 403), ("director4", "settle", 403), ("auditor", "settle", 403),
    ("official_almaty", "settle", 404), ("head", "settle", 404),
    ("official_shymkent", "return", 403), ("head_shymkent", "return", 403), ("accountant4", "return", 403),
    ("auditor", "return", 403), ("official_almaty", "return", 404),
    ("official_almaty", "list", 404), ("accountant", "list", 404),
])
def test_only_the_operator_pays_and_records_returns_and_outsiders_see_nothing(world, browser, who, path, status):
    contract, line, _carried = _carried_may()
    browser("operator").post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                  _settle_body(line, order_number="PP-OUT-1", paid_on=PAID_ON))
    row = db.session.scalars(select(OutsideSettlement)).one()
    client = browser(who)
    before = _written()
    if path == "list":
        response = client.get(f"/api/v1/contracts/{contract.id}/outside-settlements")
    elif path == "settle":
        response = client.post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                    _settle_body(line, seen=1, order_number="PP-OUT-2", paid_on=PAID_ON))
    else:
        response = client.post_json(f"/api/v1/contracts/{contract.id}/settlements/{row.id}/return",
                                    {"returned_on": "2026-11-04", "reason": "bank_refused", "reference": "R-3"})
    assert response.status_code == status
    assert_error_document(response, status)
    assert _written() == before


def test_the_school_and_the_auditor_read_the_settlements(world, browser):
    contract, line, _carried = _carried_may()
    for who in ("accountant4", "auditor", "official_shymkent"):
        listing = browser(who).get(f"/api/v1/contracts/{contract.id}/outside-settlements")
        assert listing.status_code == 200
        assert [c["line_id"] for c in listing.get_json()["carried"]] == [line.id]


# --- the API's rules of every POST: the session's CSRF token, no API token --------------------------------------


@pytest.mark.parametrize("path", ["account", "settle", "return"])
def test_a_session_call_needs_the_csrf_token_and_an_api_token_may_not_call(world, browser, app_ctx, path):
    contract, line, _carried = _carried_may()
    browser("operator").post_json(f"/api/v1/contracts/{contract.id}/settle-outside",
                                  _settle_body(line, order_number="PP-OUT-1", paid_on=PAID_ON))
    row = db.session.scalars(select(OutsideSettlement)).one()
    who, url, body = {
        "account": ("official_shymkent", f"/api/v1/contracts/{contract.id}/account",
                    {"iban": NEW_IBAN, "rationale": REASON}),
        "settle": ("official_shymkent", f"/api/v1/contracts/{contract.id}/settle-outside",
                   _settle_body(line, seen=1, reason="The grade was checked with the school: not owed")),
        "return": ("operator2", f"/api/v1/contracts/{contract.id}/settlements/{row.id}/return",
                   {"returned_on": "2026-11-04", "reason": "bank_refused", "reference": "R-4"}),
    }[path]
    client = browser(who)
    _token, secret = create_token(user(who), "bank statements", list(SCOPES), 5)
    db.session.commit()
    before = _written()
    client.csrf = "forged"
    assert client.post_json(url, body).status_code == 400
    assert _written() == before
    with app_ctx.test_client() as machine:
        response = machine.post(url, json=body, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.get_json()["message"] == "This API token does not allow this operation."
    assert _written() == before


def test_the_openapi_document_describes_the_calls(world, browser):
    spec = browser("operator").get("/api/openapi.json").get_json()
    paths = spec["paths"]
    for path, success in (("/api/v1/contracts/{contract_id}/account", "200"),
                          ("/api/v1/contracts/{contract_id}/settle-outside", "201"),
                          ("/api/v1/contracts/{contract_id}/settlements/{settlement_id}/return", "200")):
        post = paths[path]["post"]
        assert {success, "403", "422"} <= set(post["responses"]), path
        assert post["requestBody"]["required"] is True
    assert "200" in paths["/api/v1/contracts/{contract_id}/outside-settlements"]["get"]["responses"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["ChangeAccount"]["required"]) == {"iban", "rationale"}
    assert set(schemas["SettleOutside"]["required"]) == {"line_id", "seen", "amount_tiyn"}
    assert "iban" in schemas["ContractDetail"]["properties"]
