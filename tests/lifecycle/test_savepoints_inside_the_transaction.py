"""A savepoint (the unique index deciding between two tabs: a contract's stored document, its signature, a settlement)
is part of the request's transaction: when the request fails after it, nothing it wrote stays.

On SQLite a savepoint opened before the transaction's first write *was* the transaction — pysqlite begins one only
before an INSERT, UPDATE or DELETE, and SQLite's RELEASE of the outermost savepoint is a COMMIT. The director's first
signature stored the contract's document that way, committed on its own: when the signature was then lost (the other
tab's won, a failed commit), the document stayed with no signature, and the contract could be signed by nobody ("This
contract has just been signed in this capacity") whenever its rendering had changed since."""

from __future__ import annotations

from sqlalchemy import func, select, text

from app.audit.operations import verify_all_chains
from app.contracts import operations
from app.contracts.models import Contract, ContractDocument, ContractSignature
from app.extensions import db
from tests.helpers import school, user
from tests.lifecycle.flow import allocate, apply, place_order, sign


def stored_and_signed(contract_id: int) -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(ContractDocument.id)).where(ContractDocument.contract_id ==
                                                                             contract_id)),
            db.session.scalar(select(func.count(ContractSignature.id)).where(ContractSignature.contract_id ==
                                                                              contract_id)))


def test_a_signature_whose_request_fails_leaves_no_stored_document(frozen, browser):
    official = browser("official")
    contract = allocate(official, apply(browser("accountant"), place_order(official),
                                        school("Bilim Innovation School"), "KZ15LAA00001234"))
    contract_id = contract.id
    db.session.commit()  # the request's transaction starts afresh, as the signing page's does

    operations.sign_contract(db.session.get(Contract, contract_id), user("director"), "pw")
    db.session.rollback()  # the request failed after the signature (its commit, the other tab's win)

    assert stored_and_signed(contract_id) == (0, 0), "the document went with its signature"
    assert db.session.get(Contract, contract_id).status == "awaiting_director"
    assert sign(browser("director"), db.session.get(Contract, contract_id)).status_code == 303, "signed again"
    assert stored_and_signed(contract_id) == (1, 1)
    assert verify_all_chains()[1] == []


def test_a_savepoint_before_any_write_is_released_into_the_transaction(world):
    """The rule itself, on any table: the row written in the savepoint goes when the transaction is rolled back."""
    db.session.commit()
    with db.session.begin_nested():
        db.session.execute(text("INSERT INTO registry_business (bin, name, status, oked) "
                                "VALUES ('999999999990', 'Savepoint LLP', 'active', '85.31')"))
    db.session.rollback()
    assert db.session.scalar(text("SELECT count(*) FROM registry_business WHERE name = 'Savepoint LLP'")) == 0
