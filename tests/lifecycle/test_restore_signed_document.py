"""A contract signed before the signed bytes were kept, whose SHA-256 no layout renders, is flagged "unmatched" — and
had no place for the operator. The contracts list now marks and filters them, and the operator restores one from the
file its signers hold: taken only if its SHA-256 is the one the signatures record (then it is the signed document,
byte for byte), stored and audited; anything else is refused with the reason and changes nothing."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import delete, func, select

from app.audit.models import AuditEvent
from app.contracts import documents
from app.contracts.models import Contract, ContractDocument
from app.extensions import db

SAMRUK = "C-SHYMKENT-2026-00001"
#: the file the signers kept: a rendering no layout of the code gives any more
KEPT = "<!doctype html><html><body><h1>Келісімшарт / Договор C-SHYMKENT-2026-00001</h1></body></html>".encode()


def samruk() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == SAMRUK)).one()


def row() -> ContractDocument:
    db.session.expire_all()
    return db.session.scalars(select(ContractDocument).where(ContractDocument.contract_id == samruk().id)).one()


def restored_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.document_restored")))


@pytest.fixture()
def flagged(world) -> Contract:
    """Samruk's contract as signed before 0030 on a rendering no layout gives again: flagged by the background pass."""
    contract = samruk()
    db.session.execute(delete(ContractDocument).where(ContractDocument.contract_id == contract.id))
    for signature in contract.signatures:
        signature.document_sha256 = hashlib.sha256(KEPT).hexdigest()
    db.session.commit()
    assert documents.store_pending()["unmatched"] == 1
    return samruk()


def upload(person, contract: Contract, content: bytes, **kwargs):
    return person.post(f"/contracts/{contract.id}/signed-document",
                       {"document": (io.BytesIO(content), "contract.html")}, **kwargs)


def test_the_contracts_list_marks_and_filters_the_flagged_contracts(flagged, browser):
    for person in ("operator", "official_shymkent"):
        listing = browser(person).get("/contracts").get_data(as_text=True)
        assert listing.count("document-unmatched-badge") == 1 and 'id="unmatched-filter-link"' in listing
        only = browser(person).get("/contracts?document=unmatched").get_data(as_text=True)
        assert 'id="unmatched-filter"' in only and SAMRUK in only
        assert only.count('href="/contracts/') == 1, "only the flagged contract"
    assert "document-unmatched-badge" not in browser("official").get("/contracts").get_data(as_text=True)
    assert SAMRUK not in browser("official").get("/contracts?document=unmatched").get_data(as_text=True)


def test_the_operator_restores_it_from_the_signers_file(flagged, browser):
    operator = browser("operator")
    page = operator.get(f"/contracts/{flagged.id}").get_data(as_text=True)
    assert 'id="restore-document-form"' in page and hashlib.sha256(KEPT).hexdigest() in page
    assert 'id="restore-document-form"' not in browser("official_shymkent").get(f"/contracts/{flagged.id}") \
        .get_data(as_text=True), "the form is the operator's"

    done = upload(operator, flagged, KEPT, follow_redirects=True)
    assert "The signed document is restored" in done.get_data(as_text=True)
    stored = row()
    assert (stored.state, stored.origin, stored.content, stored.layout) == ("stored", "uploaded", KEPT, None)
    (event,) = restored_events()
    assert event.actor_id is not None and event.details["document_sha256"] == hashlib.sha256(KEPT).hexdigest()
    assert event.details["filename"] == "contract.html"
    assert documents.document_of(samruk()).state == documents.INTACT
    served = operator.get(f"/contracts/{flagged.id}/document?download=1")
    assert served.get_data() == KEPT and served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    page = operator.get(f"/contracts/{flagged.id}").get_data(as_text=True)
    assert 'id="document-verified"' in page and 'id="restore-document-form"' not in page

    from app.audit.operations import verify_all_chains

    # (the fixture's rewritten signatures differ from their events' facts: only the document's own check here)
    assert not [p for p in verify_all_chains()[1] if "signed document" in str(p) or "no layout" in str(p)]
    again = upload(operator, flagged, KEPT, follow_redirects=True)
    assert "not flagged as missing" in again.get_data(as_text=True) and len(restored_events()) == 1


@pytest.mark.parametrize("content, words", [
    (KEPT + b"\n", "This file is not the signed document: its SHA-256 is"),
    (b"", "the printable contract the signers downloaded"),
    (b"x" * (2 * 1024 * 1024 + 1), "The file is larger than 2 MB"),
])
def test_any_other_file_is_refused_with_the_reason_and_nothing_changes(flagged, browser, content, words):
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    refused = upload(browser("operator"), flagged, content, follow_redirects=True)
    assert words in refused.get_data(as_text=True)
    assert (row().state, row().content) == ("unmatched", None)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before + 1, "only the operator's login"


def test_only_the_operator_restores_and_only_with_the_forms_token(flagged, browser):
    for person in ("official_shymkent", "head_shymkent", "auditor"):
        assert upload(browser(person), flagged, KEPT).status_code == 403
    assert upload(browser("accountant"), flagged, KEPT).status_code == 404, "a school that cannot see it"
    assert upload(browser("operator"), flagged, KEPT, csrf=False).status_code == 400
    assert row().state == "unmatched" and restored_events() == []
