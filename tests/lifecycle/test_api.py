"""The lifecycle through the REST API: the same scope checks and signing order as the pages."""

from __future__ import annotations

from app.contracts.models import Contract
from app.extensions import db
from tests.helpers import school
from tests.lifecycle.flow import allocate, apply, place_order


def read(person, contract: Contract) -> str:
    """The SHA-256 of the printable contract a client read (the X-Document-SHA256 of its bytes), sent to sign them."""
    return person.get(f"/api/v1/contracts/{contract.id}/document").headers["X-Document-SHA256"]


def api_sign(person, contract: Contract, password: str):
    return person.post_json(f"/api/v1/contracts/{contract.id}/sign",
                            {"password": password, "document_sha256": read(person, contract)})


def page_sign(person, contract: Contract, **kwargs):
    return person.post(f"/contracts/{contract.id}/sign",
                       {"confirm": "on", "password": "pw", "document_sha256": read(person, contract)}, **kwargs)


def test_contracts_are_signed_through_the_api_in_order(frozen, browser):
    official = browser("official")
    order = place_order(official)
    contract = allocate(official, apply(browser("accountant"), order, school("Bilim Innovation School"),
                                        "KZ15LAA00001234"))
    head, director = browser("head"), browser("director")

    early = api_sign(head, contract, "pw")
    assert early.status_code == 422 and "director signs first" in early.get_json()["message"]
    wrong = api_sign(director, contract, "nope")
    assert wrong.status_code == 422 and "password is not correct" in wrong.get_json()["message"]
    signed = api_sign(director, contract, "pw")
    assert signed.status_code == 200 and signed.get_json()["status"] == "awaiting_head"
    # Signed: the director's page says so, not the form again with "the school director signs first".
    page = director.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="signed-by-me"' in page and 'id="sign-form"' not in page and 'id="not-your-turn"' not in page
    page = head.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="sign-form"' in page and 'id="signed-by-me"' not in page
    done = api_sign(head, contract, "pw").get_json()
    assert done["status"] == "active" and len(done["signatures"]) == 2
    assert done["signatures"][0]["document_sha256"] == done["document_sha256"]
    assert "password" not in str(done)

    mine = browser("accountant").get("/api/v1/contracts").get_json()
    assert [c["number"] for c in mine] == [contract.number]
    assert browser("accountant2").get(f"/api/v1/contracts/{contract.id}").status_code == 404
    orders = official.get("/api/v1/orders").get_json()
    # the demo world's order and the one placed above, each with its six norms from the decision table
    assert sorted((o["academic_year"], o["status"], len(o["norms"])) for o in orders) == [
        ("2026/2027", "open", 6), ("2027/2028", "open", 6)]
    assert "/api/v1/contracts/{contract_id}/sign" in official.get("/api/openapi.json").get_data(as_text=True)


def test_guessing_the_signature_password_is_throttled_like_a_login(frozen, browser, throttled):
    # 40 wrong passwords through the API were each answered "wrong password", and the 41st signed.
    official = browser("official")
    contract = allocate(official, apply(browser("accountant"), place_order(official), school("Bilim Innovation School"),
                                        "KZ15LAA00001234"))
    director = browser("director")
    for guess in ("guess-1", "guess-2", "guess-3"):
        wrong = api_sign(director, contract, guess)
        assert wrong.status_code == 422 and "password is not correct" in wrong.get_json()["message"]
    held = api_sign(director, contract, "pw")
    assert held.status_code == 422
    assert held.get_json()["message"] == "Too many wrong passwords. Try again in 1 min; the contract was not signed."
    page = page_sign(director, contract, follow_redirects=True)
    assert "Too many wrong passwords" in page.get_data(as_text=True), "the page is the same door"
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "awaiting_director", "not signed"


def test_the_signature_and_the_password_change_forms_count_wrong_passwords_together(frozen, browser, throttled):
    """A stolen session guessed the password in three buckets, each at the login's pace (the password change page,
    the administrator's password form, the signature): they are one count now."""
    official = browser("official")
    contract = allocate(official, apply(browser("accountant"), place_order(official), school("Bilim Innovation School"),
                                        "KZ15LAA00001234"))
    director = browser("director")
    for guess in ("guess-1", "guess-2"):
        wrong = director.post("/account/password", {"current_password": guess, "new_password": "Another-Pass-42",
                                                    "confirm": "Another-Pass-42"})
        assert wrong.status_code == 422
    wrong = api_sign(director, contract, "guess-3")
    assert wrong.status_code == 422 and "password is not correct" in wrong.get_json()["message"]
    held = api_sign(director, contract, "pw")
    assert held.get_json()["message"] == "Too many wrong passwords. Try again in 1 min; the contract was not signed."
    assert director.post("/admin/password", {"current": "pw", "new": "Another-Pass-42",
                                             "repeat": "Another-Pass-42"}).status_code == 429
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "awaiting_director", "not signed"


def test_a_signature_made_meanwhile_in_another_tab_is_a_conflict_not_a_500(frozen, browser):
    """Two tabs signed at once: one signed, the other was a 500 (the signature's unique key, at an autoflush). The
    other tab's signature is written here first, as if it had won the race by a moment."""
    from datetime import UTC, datetime

    from app.contracts.documents import HTML, render_document, sha256_of
    from app.contracts.models import ContractDocument, ContractSignature
    from tests.helpers import user

    official = browser("official")
    contract = allocate(official, apply(browser("accountant"), place_order(official), school("Bilim Innovation School"),
                                        "KZ15LAA00001234"))
    # the winning tab wrote the document it signed and its signature, in one transaction
    content = render_document(contract)
    db.session.add(ContractDocument(contract_id=contract.id, state="stored", origin="signed", media_type=HTML,
                                    content=content, sha256=sha256_of(content), layout=2,
                                    stored_at=datetime(2026, 12, 1, tzinfo=UTC)))
    db.session.add(ContractSignature(contract_id=contract.id, capacity="school_director", signer_id=user("director").id,
                                     document_sha256=sha256_of(content), signed_at=datetime(2026, 12, 1, tzinfo=UTC)))
    db.session.commit()
    director = browser("director")
    lost = api_sign(director, contract, "pw")
    assert lost.status_code == 409 and "has just been signed in this capacity" in lost.get_json()["message"]
    page = page_sign(director, contract, follow_redirects=True)
    assert page.status_code == 200 and "has just been signed in this capacity" in page.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Contract, contract.id).signatures) == 1
