"""In a real browser: the Shymkent department amends Samruk's contract (a wrong field first, then right), the
director sees the amendment on the contract page, and axe-core finds no serious or critical violation on the form
with its errors shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.contracts.models import Contract
from app.extensions import db
from tests.e2e.test_public_portal import AXE, _serious_violations

pytestmark = pytest.mark.e2e


def test_the_department_amends_the_contract_and_the_director_sees_it(new_page):
    contract = db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()
    official = new_page("official_shymkent")
    official.context.route("**/__axe__/axe.min.js", lambda route: route.fulfill(
        path=str(AXE), content_type="application/javascript"))
    official.goto(f"/contracts/{contract.id}")
    official.click("#amend-link")
    expect(official.locator("h1")).to_contain_text("Amend contract")
    reason = "Fewer students enrolled after the building was partly closed."
    official.fill("#places_basic", "ten")
    official.fill("#rationale", reason)
    official.check("#amend-confirm")
    official.click("#amend-submit")
    expect(official.locator("#places_basic-error")).to_contain_text("whole number")
    expect(official.locator("#rationale")).to_have_value(reason)
    assert _serious_violations(official) == []
    official.fill("#places_basic", "4")
    official.fill("#amount", "5000000")
    official.check("#amend-confirm")
    official.click("#amend-submit")
    expect(official.locator(".alert-success")).to_contain_text("the school has been notified")
    expect(official.locator("#contract-amendments")).to_contain_text("partly closed")
    assert _serious_violations(official) == []

    director = new_page("director4")
    director.goto(f"/contracts/{contract.id}")
    expect(director.locator("#contract-amendments")).to_contain_text("10 → 4")
    expect(director.locator("#amend-link")).to_have_count(0)
