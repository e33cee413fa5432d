"""The contract workflow's task handlers act only on the contract their process instance is about."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.contracts import documents, handlers
from app.contracts.models import Contract
from app.engine.errors import DomainRefused
from app.extensions import db


def _ctx(subject_type: str, subject_id: int):
    return SimpleNamespace(instance=SimpleNamespace(subject_type=subject_type, subject_id=subject_id), actor=None)


@pytest.fixture()
def contract(world) -> Contract:
    """The demo world's signed contract (Samruk Private School, Shymkent)."""
    return db.session.scalars(select(Contract).order_by(Contract.id)).first()


def test_a_task_reaches_the_contract_its_instance_is_about(contract):
    assert handlers.contract_of(_ctx("contract", contract.id)) is contract
    for subject_type in ("act", "application", "order"):
        with pytest.raises(DomainRefused, match="^This task is not linked to a contract.$"):
            handlers.contract_of(_ctx(subject_type, contract.id))
    with pytest.raises(DomainRefused, match="^This task is not linked to a contract.$"):
        handlers.contract_of(_ctx("contract", 10**9))


def test_the_signing_panel_shows_the_contract_and_its_document_hash(contract):
    context = handlers.SignContract().context(_ctx("contract", contract.id))
    assert context == {"contract": contract, "document": documents.document_of(contract)}
    assert len(context["document"].sha256) == 64


def test_service_operators_refuse_a_contract_of_another_instance(contract):
    assert handlers._contract(_ctx("contract", contract.id), contract.id) is contract
    for ctx in (_ctx("contract", contract.id + 1), _ctx("act", contract.id)):
        with pytest.raises(LookupError, match=f"^Contract {contract.id} does not belong to this process instance$"):
            handlers._contract(ctx, contract.id)
    with pytest.raises(LookupError):
        handlers._contract(_ctx("contract", 10**9), 10**9)


def test_signing_needs_the_confirmation_first(contract):
    for data in ({}, {"confirm": ""}, {"password": "pw"}):
        with pytest.raises(DomainRefused) as info:
            handlers.SignContract().submit(_ctx("contract", contract.id), data)
        assert str(info.value) == "Confirm that you have read the contract."
