"""In a real browser: the director signs the contract from the inbox (password asked again), the head
signs on the contract page, the contract becomes active and its history shows both signatures' hash."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.contracts.documents import document_sha256
from app.contracts.models import Contract
from app.extensions import db

pytestmark = pytest.mark.e2e


def test_director_then_head_sign_the_contract_with_their_password(new_page, contract_to_sign, tmp_path):
    contract_id = contract_to_sign.id
    head = new_page("head")
    head.goto(f"/contracts/{contract_id}")
    expect(head.locator("#not-your-turn")).to_contain_text("The school director signs first")

    director = new_page("director2")
    director.get_by_role("link", name="Sign contract (school director)").click()
    expect(director.locator("#contract-terms")).to_contain_text("Nur Private School")
    sha = director.locator("#document-sha").inner_text()
    assert len(sha) == 64
    expect(director.locator("#f-password")).to_have_attribute("type", "password")
    director.check("#f-confirm")
    director.fill("#f-password", "not-my-password")
    director.get_by_role("button", name="Submit").click()
    expect(director.locator("#refusal")).to_contain_text("password is not correct")
    expect(director.locator("#f-password")).to_have_value("")  # a password is never echoed back
    director.check("#f-confirm")
    director.fill("#f-password", "pw")
    director.get_by_role("button", name="Submit").click()
    expect(director.locator(".alert-success")).to_contain_text("Sign contract (school director)")

    head.goto(f"/contracts/{contract_id}")
    expect(head.locator("#contract-status")).to_contain_text("awaiting the department head")
    expect(head.locator("#not-your-turn")).to_have_count(0)
    head.check("#sign-confirm")
    head.fill("#sign-password", "pw")
    head.click("#sign-submit")
    expect(head.locator(".alert-success")).to_contain_text("SHA-256")
    expect(head.locator("#contract-status")).to_have_text("active")
    expect(head.locator("#signatures li")).to_have_count(2)
    expect(head.locator("#history")).to_contain_text("Contract signed")
    expect(head.locator("#history")).to_contain_text("Contract active")
    expect(head.locator("#history .sha").first).to_have_text(sha)
    head.screenshot(path=str(tmp_path / "contract-signed.png"), full_page=True)

    with head.expect_popup() as popup:
        head.click("#document-link")
    expect(popup.value.locator("#contract-kk h1")).to_contain_text("Келісімшарт №")  # the state language first
    expect(popup.value.locator("#contract-ru h1")).to_contain_text("Договор №")

    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    assert contract.status == "active" and [s.document_sha256 for s in contract.signatures] == [sha, sha]
    assert document_sha256(contract) == sha
