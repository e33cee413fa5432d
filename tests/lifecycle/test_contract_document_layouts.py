"""The printable contract's layouts. A contract signed now is stored on the layout with dates as people write them
(01.09.2026) that fits a phone. A contract signed before the signed bytes were stored (migration 0030) gets them from
the background pass or ``flask store-signed-contracts`` — never from a page or an API read, which write nothing and
say the document is being prepared: the layout whose rendering gives its signatures' SHA-256 (the first layout, ISO
dates, for the contracts signed before the second existed) is stored and audited; when none gives it, the contract
is flagged for the operator, shown as such, and never signed again by itself."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import delete, func, select

from app.audit.models import AuditEvent
from app.contracts import documents, operations
from app.contracts.models import Contract, ContractDocument
from app.engine.errors import DomainRefused
from app.extensions import db
from tests.helpers import user

#: The SHA-256 of Samruk's contract in the demo world as the code before the second layout rendered and signed it
#: (SQLite and PostgreSQL alike). The contracts signed before migration 0030 have no stored bytes: theirs are found
#: again by rendering this layout. If this fails, a change reached layout 1's bytes (its templates, a catalogue
#: string they use, the tenge format) before every such contract was stored (``flask store-signed-contracts``).
SIGNED_ON_LAYOUT_1 = "90d6984cf039ada4b3339b772aee195441106c96f6733a067ea85479ff3eab30"
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def samruk() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()


def signed_before_0030(contract: Contract, digest: str) -> None:
    """As a contract signed before the bytes were stored: its signatures record ``digest``, no row holds its bytes."""
    db.session.execute(delete(ContractDocument).where(ContractDocument.contract_id == contract.id))
    for signature in contract.signatures:
        signature.document_sha256 = digest
    db.session.commit()


def events(action: str, contract: Contract) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                            AuditEvent.object_id == contract.id)))


def backfilled(contract: Contract) -> list[AuditEvent]:
    return [e for e in events("contract.document_stored", contract) if e.details["origin"] == "backfilled"]


def _written() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(ContractDocument.id))),
            db.session.scalar(select(func.count(AuditEvent.id))))


def test_reading_a_contract_signed_before_0030_writes_nothing_and_says_its_document_is_being_prepared(world, browser):
    """The contract page, its document and the API detail had stored the bytes (and written the audit event) on the
    first GET — an auditor's or a school's reading changed the database."""
    contract = samruk()
    signed_before_0030(contract, SIGNED_ON_LAYOUT_1)
    official, auditor = browser("official_shymkent"), browser("auditor")  # logged in (a login is audited)
    before = _written()

    for person in (official, auditor):
        page = person.get(f"/contracts/{contract.id}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert 'id="document-pending"' in text and "being prepared" in text and 'id="document-link"' not in text
        assert SIGNED_ON_LAYOUT_1 in text, "the SHA-256 the signatures record is shown"
    shown = official.get(f"/contracts/{contract.id}/document")
    assert shown.status_code == 409 and "being prepared" in shown.get_data(as_text=True)
    assert shown.headers["Retry-After"] == "60"
    doc = official.get(f"/api/v1/contracts/{contract.id}").get_json()
    assert (doc["document_state"], doc["document_sha256"]) == ("pending", None)
    api = official.get(f"/api/v1/contracts/{contract.id}/document")
    assert api.status_code == 409 and "being prepared" in api.get_json()["message"]
    db.session.expire_all()
    assert _written() == before, "a GET writes nothing"
    assert backfilled(samruk()) == []


def test_the_background_pass_stores_the_bytes_of_a_contract_signed_on_the_first_layout(world, browser, app_ctx):
    from app.background import tick

    contract = samruk()
    signed_before_0030(contract, SIGNED_ON_LAYOUT_1)
    tick(app_ctx)

    contract = samruk()
    row = db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).one()
    assert (row.state, row.origin, row.layout, row.sha256) == ("stored", "backfilled", 1, SIGNED_ON_LAYOUT_1)
    (stored,) = backfilled(contract)
    assert stored.details["document_sha256"] == SIGNED_ON_LAYOUT_1 and stored.details["layout"] == 1
    response = browser("official_shymkent").get(f"/contracts/{contract.id}/document")
    assert response.status_code == 200 and response.get_data() == row.content
    assert hashlib.sha256(response.get_data()).hexdigest() == SIGNED_ON_LAYOUT_1
    text = response.get_data(as_text=True)
    assert "2026-09-01 — 2027-05-31" in text and 'name="viewport"' not in text
    page = browser("official_shymkent").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'id="document-sha">{SIGNED_ON_LAYOUT_1}<' in page and 'id="document-verified"' in page
    tick(app_ctx)
    assert len(backfilled(samruk())) == 1, "stored once, then read"


def test_the_head_signs_the_bytes_the_director_signed_on_the_first_layout(world):
    contract = samruk()
    director, head = sorted(contract.signatures, key=lambda s: s.signed_at)
    db.session.delete(head)
    contract.status = "awaiting_head"
    db.session.flush()
    signed_before_0030(contract, SIGNED_ON_LAYOUT_1)

    operations.sign_contract(samruk(), user("head_shymkent"), "pw")  # the door the page and the API both take
    db.session.commit()
    db.session.expire_all()
    contract = samruk()
    assert contract.status == "active"
    assert [s.document_sha256 for s in contract.signatures] == [SIGNED_ON_LAYOUT_1, SIGNED_ON_LAYOUT_1]
    assert documents.document_of(contract).state == documents.INTACT


def test_a_contract_no_layout_matches_is_flagged_for_the_operator_and_never_signed_again(world, browser, app_ctx):
    contract = samruk()
    head = max(contract.signatures, key=lambda s: s.signed_at)
    db.session.delete(head)
    contract.status = "awaiting_head"
    db.session.flush()
    lost = "ab" * 32
    signed_before_0030(contract, lost)
    assert documents.store_pending() == {"stored": 0, "unmatched": 1, "failed": 0}
    assert documents.store_pending() == {"stored": 0, "unmatched": 0, "failed": 0}, "flagged once, not every pass"

    operator = browser("operator")
    page = operator.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="document-unmatched"' in page and 'id="document-link"' not in page
    assert operator.get(f"/contracts/{contract.id}/document").status_code == 409
    (flag,) = events("contract.document_unmatched", samruk())
    assert flag.details["signed_sha256"] == [lost] and set(flag.details["layouts_tried"]) == {"1", "2"}
    row = db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).one()
    assert (row.state, row.content, row.sha256) == ("unmatched", None, lost)

    with pytest.raises(DomainRefused, match="could not be found again"):
        operations.sign_contract(samruk(), user("head_shymkent"), "pw")
    db.session.rollback()
    assert samruk().status == "awaiting_head" and len(samruk().signatures) == 1

    result = app_ctx.test_cli_runner().invoke(args=["store-signed-contracts"])
    assert result.exit_code == 1 and "flagged, no layout gives the signed SHA-256: 1" in result.output
    from app.audit.operations import verify_all_chains

    assert any("no layout gives its signatures' SHA-256" in str(p) for p in verify_all_chains()[1])


def test_the_command_stores_the_bytes_of_every_contract_signed_before(world, app_ctx):
    contract = samruk()
    signed_before_0030(contract, SIGNED_ON_LAYOUT_1)
    result = app_ctx.test_cli_runner().invoke(args=["store-signed-contracts"])
    assert result.exit_code == 0, result.output
    assert "Signed documents stored: 1;" in result.output
    assert documents.document_of(samruk()).sha256 == SIGNED_ON_LAYOUT_1
    again = app_ctx.test_cli_runner().invoke(args=["store-signed-contracts"])
    assert "Signed documents stored: 0;" in again.output


def test_a_contract_signed_now_shows_its_dates_as_people_write_them_and_fits_a_phone(world, browser):
    contract = samruk()
    digests = {s.document_sha256 for s in contract.signatures}
    assert digests == {documents.document_sha256(contract)}, "both parties signed what is shown"
    text = browser("official_shymkent").get(f"/contracts/{contract.id}/document").get_data(as_text=True)
    assert 'name="viewport"' in text
    assert text.count("01.09.2026 — 31.05.2027") == 2, "in the Kazakh and the Russian text"
    assert not ISO_DAY.search(text)
    # the stored layout is the one of the day of the first signature, never chosen again by the clock or the caller
    row = db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).one()
    assert row.layout == documents.CURRENT_LAYOUT
    assert row.content == documents.render_document(contract, documents.CURRENT_LAYOUT)
    assert hashlib.sha256(documents.render_document(contract, 1)).hexdigest() == SIGNED_ON_LAYOUT_1


def _no_layout_matches(contract: Contract) -> str:
    head = max(contract.signatures, key=lambda s: s.signed_at)
    db.session.delete(head)
    contract.status = "awaiting_head"
    db.session.flush()
    lost = "cd" * 32
    signed_before_0030(contract, lost)
    return lost


def test_running_the_command_again_on_a_contract_still_unmatched_writes_no_new_event(world, app_ctx):
    """``flask store-signed-contracts`` deleted a flagged contract's flag and flagged it anew on every run: one more
    ``contract.document_unmatched`` in its chain each time, though nothing had changed. Two runs: one event."""
    contract = samruk()
    lost = _no_layout_matches(contract)
    runs = [app_ctx.test_cli_runner().invoke(args=["store-signed-contracts"]) for _ in range(2)]
    assert all("flagged, no layout gives the signed SHA-256: 1" in run.output for run in runs), runs[1].output
    db.session.expire_all()
    assert len(events("contract.document_unmatched", samruk())) == 1
    row = db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).one()
    assert (row.state, row.sha256) == ("unmatched", lost)


def test_a_flagged_contract_a_layout_gives_again_is_stored_with_one_event(world, app_ctx, monkeypatch):
    """The outcome changes (the operator restored the layout's templates): the flag gives way to the stored bytes,
    audited once; a later run writes nothing more."""
    contract = samruk()
    _no_layout_matches(contract)
    assert documents.store_pending() == {"stored": 0, "unmatched": 1, "failed": 0}
    signed = documents.render_document(samruk(), 1)
    monkeypatch.setattr(documents, "signed_hashes", lambda _c: frozenset({documents.sha256_of(signed)}))
    first = app_ctx.test_cli_runner().invoke(args=["store-signed-contracts"])
    assert "Signed documents stored: 1;" in first.output, first.output
    again = app_ctx.test_cli_runner().invoke(args=["store-signed-contracts"])
    assert "Signed documents stored: 0;" in again.output, again.output
    db.session.expire_all()
    assert len(backfilled(samruk())) == 1 and len(events("contract.document_unmatched", samruk())) == 1
    row = db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == contract.id)).one()
    assert (row.state, row.layout, bytes(row.content)) == ("stored", 1, signed)


def test_verify_audit_counts_the_contracts_still_pending_and_says_what_to_run(world, app_ctx):
    signed_before_0030(samruk(), SIGNED_ON_LAYOUT_1)
    result = app_ctx.test_cli_runner().invoke(args=["verify-audit"])
    assert "1 signed contract(s) have no stored signed document yet" in result.output, result.output
    assert "run 'flask store-signed-contracts'" in result.output
    app_ctx.test_cli_runner().invoke(args=["store-signed-contracts"])
    assert "no stored signed document yet" not in app_ctx.test_cli_runner().invoke(args=["verify-audit"]).output
