"""An act under a contract whose payment the bank returned is paid again to the contract's new account.

An act under a contract is paid to the IBAN the contract names; nothing could change that IBAN. When the bank returned
the payment because the account was closed, every payment again was refused ("the records still name that account:
the organisation's bank account (or its contract's, by an amendment) is corrected first") — an amendment that did not
exist: the school's money stayed unpaid for good. Now the department records the agreement changing the contract's
account (app.contracts.payee_account, audited, its facts covering the IBAN); the department officials of the region
who can confirm it are told once per waiting act — not its author, not a deputy who may not confirm — and another
official confirms it before the operator pays (four eyes). On SQLite and PostgreSQL."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act
from app.audit.models import AuditEvent
from app.audit.operations import verify_chains_and_rows
from app.contracts.models import Contract
from app.contracts.payee_account import change_contract_account
from app.engine.errors import DomainRefused, FormInvalid
from app.engine.runtime import complete_task
from app.extensions import db
from app.notifications.models import Notification
from app.payments.models import Payment
from app.payments.operations import register_payment
from app.payments.returns import confirm_repayment_account, record_return
from app.people.substitutions import Substitution
from tests.helpers import open_task, submitted_and_accepted, user

CONTRACT = "C-SHYMKENT-2026-00001"
NEW_IBAN = "KZ86125KZT5004100100"


def _contract() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == CONTRACT)).one()


def _returned_october() -> tuple[Act, Payment]:
    """Samruk's October act under its contract, accepted, paid, and returned by the bank: the account is closed."""
    act = db.session.scalars(select(Act).where(Act.number == "ACT-190643003326-202610")).one()
    submitted_and_accepted(act, "accountant4", "official_shymkent")
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-SAMRUK-1", "paid_on": clock.today().isoformat()})
    db.session.commit()
    payment = db.session.scalars(select(Payment).where(Payment.act_id == act.id)).one()
    assert payment.payee_iban == _contract().iban
    record_return(db.session.get(Act, act.id), payment, clock.today(), "account_closed", "BANK-SAM-1", "",
                  user("operator"))
    db.session.commit()
    return db.session.get(Act, act.id), payment


def _told(username: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user(username).id, Notification.kind == "account_to_confirm"))


def test_the_department_changes_the_contracts_account_another_official_confirms_and_the_act_is_paid_again(
        world, browser):
    act, payment = _returned_october()
    old = _contract().iban
    with pytest.raises(DomainRefused, match="the records still name that account"):
        register_payment(act, "PP-SAMRUK-2", clock.today(), user("operator2"))
    db.session.rollback()
    told_before = _told("official_shymkent")

    head = browser("head_shymkent")
    page = head.get(f"/contracts/{_contract().id}").get_data(as_text=True)
    assert 'id="change-account-form"' in page and old in page
    response = head.post(f"/contracts/{_contract().id}/account",
                         {"iban": "kz86 125K ZT50 0410 0100", "rationale": "The bank closed the old account"})
    assert response.status_code == 303
    assert _contract().iban == NEW_IBAN
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.account_changed")).one()
    assert event.actor_id == user("head_shymkent").id
    assert (event.details["from"], event.details["to"]) == (old, NEW_IBAN)
    assert verify_chains_and_rows().problems == []
    # the official who can confirm is told once; the head who changed it (and cannot confirm) is not
    assert _told("official_shymkent") == told_before + 1
    assert _told("head_shymkent") == 0

    official = browser("official_shymkent")
    page = html.unescape(official.get(f"/acts/{act.id}").get_data(as_text=True))
    assert NEW_IBAN in page and "Changed by" in page
    confirm_repayment_account(db.session.get(Act, act.id), NEW_IBAN, user("official_shymkent"))
    db.session.commit()
    again = register_payment(db.session.get(Act, act.id), "PP-SAMRUK-2", clock.today(), user("operator2"))
    db.session.commit()
    assert again.payee_iban == NEW_IBAN and db.session.get(Act, act.id).status == "paid"
    assert verify_chains_and_rows().problems == []


def test_the_official_who_changed_the_account_does_not_confirm_it_and_is_not_asked_to(world):
    act, _payment = _returned_october()
    told_before = _told("official_shymkent")
    change_contract_account(_contract(), NEW_IBAN, "The bank closed the old account", user("official_shymkent"))
    db.session.commit()
    assert _told("official_shymkent") == told_before
    with pytest.raises(DomainRefused, match="You changed the account of act .* yourself: another department "
                                            "official of the region confirms it"):
        confirm_repayment_account(db.session.get(Act, act.id), NEW_IBAN, user("official_shymkent"))
    db.session.rollback()
    assert db.session.get(Act, act.id).payee_iban != NEW_IBAN


def test_a_deputy_who_may_not_confirm_is_not_told(world):
    """A standing-in recorded for the official whose deputy is (now) the department head: the head cannot confirm,
    so the notice would be a task they cannot do."""
    official, head = user("official_shymkent"), user("head_shymkent")
    db.session.add(Substitution(principal_id=official.id, deputy_id=head.id, starts_on=clock.today(),
                                ends_on=clock.today(), created_by_id=official.id, created_at=clock.now()))
    db.session.commit()
    act, _payment = _returned_october()
    assert _told("official_shymkent") == 1
    assert _told("head_shymkent") == 0


@pytest.mark.parametrize("who, iban, rationale, expected", [
    ("official_shymkent", "KZ00 not an iban", "The bank closed the old account", "not a valid Kazakh IBAN"),
    ("official_shymkent", None, "The bank closed the old account", "is already the contract's bank account"),
    ("official_shymkent", NEW_IBAN, "short", "Give the reason for the amendment"),
    ("official_almaty", NEW_IBAN, "The bank closed the old account", "Only the education department of the "
                                                                      "contract's region"),
    ("operator", NEW_IBAN, "The bank closed the old account", "Only the education department of the contract's "
                                                               "region"),
])
def test_a_bad_account_change_is_refused_and_changes_nothing(world, who, iban, rationale, expected):
    contract = _contract()
    before = contract.iban
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises((DomainRefused, FormInvalid)) as refused:
        change_contract_account(contract, before if iban is None else iban, rationale, user(who))
    said = " ".join(refused.value.errors.values()) if isinstance(refused.value, FormInvalid) else str(refused.value)
    assert expected in said
    db.session.rollback()
    assert _contract().iban == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_only_the_regions_department_sees_the_form_and_others_are_refused(world, browser):
    contract = _contract()
    for username, status in (("operator", 403), ("accountant4", 403), ("official_almaty", 404)):
        client = browser(username)
        if status == 403:
            assert 'id="change-account-form"' not in client.get(f"/contracts/{contract.id}").get_data(as_text=True)
        assert client.post(f"/contracts/{contract.id}/account",
                           {"iban": NEW_IBAN, "rationale": "The bank closed the old account"}).status_code == status
    assert _contract().iban != NEW_IBAN
    refused = browser("official_shymkent").post(f"/contracts/{contract.id}/account",
                                                {"iban": "KZ12", "rationale": "The bank closed the old account"})
    assert refused.status_code == 422
    assert "The IBAN is not a valid Kazakh IBAN." in refused.get_data(as_text=True)


def test_the_payments_read_who_changed_the_contracts_account_through_a_provider_not_an_import(world):
    """app.payments.operations.account_change asked app.contracts.payee_account directly (an import inside the
    function: the payments package reaching up into a funding instrument's); now the contracts package registers its
    reader (app.acts.payee.register_account_change), as it registers the account itself (register_payee_account)."""
    import ast
    import inspect

    import app.payments.operations as payments
    from app.acts.payee import ACCOUNT_CHANGES
    from app.contracts.payee_account import account_changed_by

    imported = {node.module for node in ast.walk(ast.parse(inspect.getsource(payments)))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.startswith("app.contracts")}
    assert account_changed_by in ACCOUNT_CHANGES
