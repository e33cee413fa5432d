"""The account an act is paid to, function by function (``app.acts.payee``), without a database: the providers asked
in order, the first that answers wins, the organisation's IBAN when none does, and the account pinned at acceptance
before any of them. Written for the survivors of its mutation run (benchmarks/MUTATION.md, ninth round); the whole
path (accept, edit the IBAN, pay, verify-audit) is tested in ``test_payee_pinned.py``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.acts import payee

ORGANISATION = "KZ563190000012344567"
CONTRACT = "KZ77125KZT9999999999"
PINNED = "KZ86125KZT5004100100"


def _act(pinned: str | None = None, own: str | None = ORGANISATION):
    return SimpleNamespace(id=41, payee_iban=pinned, school=SimpleNamespace(iban=own))


@pytest.fixture()
def providers(monkeypatch):
    """An empty list of providers for the test (the real one is filled when app.contracts.handlers is imported)."""
    registered: list = []
    monkeypatch.setattr(payee, "PAYEE_ACCOUNTS", registered)
    return registered


def test_a_provider_is_registered_in_order_and_handed_back_unchanged(providers):
    def first(act):
        return None

    def second(act):
        return CONTRACT

    assert payee.register_payee_account(first) is first
    assert payee.register_payee_account(second) is second
    assert providers == [first, second]


def test_without_providers_the_organisations_account_is_on_record(providers):
    assert payee.account_on_record(_act()) == ORGANISATION
    assert payee.account_on_record(_act(own=None)) is None


def test_the_first_provider_that_answers_names_the_account_and_each_is_asked_about_this_act(providers):
    asked: list = []
    act = _act()

    def silent(a):
        asked.append(("silent", a))
        return None

    def empty(a):
        asked.append(("empty", a))
        return ""

    def contract(a):
        asked.append(("contract", a))
        return CONTRACT

    def never(a):
        asked.append(("never", a))
        return "KZ000000000000000000"

    providers.extend([silent, empty, contract, never])
    assert payee.account_on_record(act) == CONTRACT
    assert asked == [("silent", act), ("empty", act), ("contract", act)]


def test_when_no_provider_answers_the_organisations_account_is_on_record(providers):
    providers.extend([lambda a: None, lambda a: ""])
    assert payee.account_on_record(_act()) == ORGANISATION


def test_the_account_pinned_at_acceptance_is_paid_whatever_the_records_say_now(providers):
    providers.append(lambda a: CONTRACT)
    assert payee.payee_of(_act(pinned=PINNED)) == PINNED
    assert payee.payee_of(_act(pinned=PINNED, own=None)) == PINNED


def test_an_act_accepted_before_payees_were_pinned_is_paid_to_the_account_on_record(providers):
    assert payee.payee_of(_act(pinned=None)) == ORGANISATION
    providers.append(lambda a: CONTRACT if a.id == 41 else None)
    assert payee.payee_of(_act(pinned=None)) == CONTRACT
    assert payee.payee_of(_act(pinned="")) == CONTRACT
