"""The printable contract on a phone (390×844): a contract signed today is on the layout that fits the screen (its
table was 63 px wider than the phone, the page scrolled sideways) and says its dates as people write them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.contracts.models import Contract
from app.extensions import db

pytestmark = pytest.mark.e2e


def test_the_signed_contract_fits_a_phone(new_page):
    contract = db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()
    page = new_page("official_shymkent")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/contracts/{contract.id}/document")
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 390, "the contract scrolls sideways"
    assert page.locator("#contract-kk").inner_text().count("01.09.2026") == 1
