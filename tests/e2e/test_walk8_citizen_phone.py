"""A citizen of Almaty on a 390 px phone, in Kazakh, without logging in (walk8): from the portal's first page to their
region's page by the list of every region (only regions with decided acts were linked), no sideways scroll, and the
first page passes axe-core (serious and critical)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.people.models import Region
from tests.e2e.test_public_portal import AXE, _serious_violations
from tests.helpers import add_paid_history

pytestmark = pytest.mark.e2e


@pytest.fixture()
def world(world):
    add_paid_history()
    return world


def test_a_citizen_finds_their_region_on_a_phone_in_kazakh(chromium, live_server):
    almaty = db.session.scalars(select(Region).where(Region.code == "ALMATY")).one()
    context = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, locale="kk-KZ")
    try:
        context.route("**/__axe__/axe.min.js", lambda route: route.fulfill(
            path=str(AXE), content_type="application/javascript"))
        page = context.new_page()
        page.goto("/public/")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        region_list = page.locator("#every-region")
        expect(region_list.get_by_role("link")).to_have_count(20)
        # each link is a target a thumb can hit (WCAG 2.2's 24 px)
        heights = region_list.get_by_role("link").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().height)")
        assert min(heights) >= 24, heights
        assert _serious_violations(page) == []
        region_list.get_by_role("link", name=almaty.name_kk).click()
        expect(page.locator("h1")).to_have_text(almaty.name_kk)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        context.close()
