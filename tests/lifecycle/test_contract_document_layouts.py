"""The printable contract is signed by the SHA-256 of its bytes, rendered again whenever it is shown (not stored):
a contract signed on the first layout (ISO dates, no room for a phone) keeps those exact bytes, while a contract
signed now is on the layout with dates as people write them (01.09.2026) that fits a phone."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from app.contracts import operations
from app.contracts.models import Contract
from app.extensions import db
from tests.helpers import user

#: The SHA-256 of Samruk's contract in the demo world as the code before the second layout rendered and signed it
#: (SQLite and PostgreSQL alike): a signature of those days must still match the document shown today. If this
#: fails, a change reached the bytes of signed contracts (layout 1's templates, a catalogue string they use, the
#: tenge format): every contract signed before no longer verifies.
SIGNED_ON_LAYOUT_1 = "90d6984cf039ada4b3339b772aee195441106c96f6733a067ea85479ff3eab30"
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def samruk() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()


def test_a_contract_signed_on_the_first_layout_still_verifies_byte_for_byte(world, browser):
    contract = samruk()
    assert operations.document_sha256(contract) != SIGNED_ON_LAYOUT_1, "the demo world signs on today's layout"
    for signature in contract.signatures:  # as signed before the second layout existed
        signature.document_sha256 = SIGNED_ON_LAYOUT_1
    db.session.commit()

    contract = samruk()
    assert operations.document_sha256(contract) == SIGNED_ON_LAYOUT_1
    response = browser("official_shymkent").get(f"/contracts/{contract.id}/document")
    assert response.status_code == 200
    assert hashlib.sha256(response.get_data()).hexdigest() == SIGNED_ON_LAYOUT_1
    text = response.get_data(as_text=True)
    assert "2026-09-01 — 2027-05-31" in text and 'name="viewport"' not in text
    page = browser("official_shymkent").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'id="document-sha">{SIGNED_ON_LAYOUT_1}<' in page


def test_the_head_signs_the_bytes_the_director_signed_on_the_first_layout(world):
    contract = samruk()
    director, head = sorted(contract.signatures, key=lambda s: s.signed_at)
    director.document_sha256 = SIGNED_ON_LAYOUT_1
    db.session.delete(head)
    contract.status = "awaiting_head"
    db.session.commit()

    operations.sign_contract(samruk(), user("head_shymkent"), "pw")  # the door the page and the API both take
    db.session.commit()
    db.session.expire_all()
    contract = samruk()
    assert contract.status == "active"
    assert [s.document_sha256 for s in contract.signatures] == [SIGNED_ON_LAYOUT_1, SIGNED_ON_LAYOUT_1]


def test_a_contract_signed_now_shows_its_dates_as_people_write_them_and_fits_a_phone(world, browser):
    contract = samruk()
    digests = {s.document_sha256 for s in contract.signatures}
    assert digests == {operations.document_sha256(contract)}, "both parties signed what is shown"
    text = browser("official_shymkent").get(f"/contracts/{contract.id}/document").get_data(as_text=True)
    assert 'name="viewport"' in text
    assert text.count("01.09.2026 — 31.05.2027") == 2, "in the Kazakh and the Russian text"
    assert not ISO_DAY.search(text)
    # the layout is chosen by the signatures, never by the clock or the caller
    assert operations.document_html(contract) == operations.document_html(contract, operations.CURRENT_LAYOUT)
    assert hashlib.sha256(operations.document_html(contract, 1).encode()).hexdigest() == SIGNED_ON_LAYOUT_1
