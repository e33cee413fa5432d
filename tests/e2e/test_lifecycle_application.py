"""In a real browser: the official places an order, one school's application is ineligible (reasons shown),
another's is allocated and its contract waits for the director's signature."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from app import clock

pytestmark = pytest.mark.e2e


@pytest.fixture()
def june_2027(live_server):
    clock.set_clock(clock.FrozenClock(datetime(2027, 6, 1, 5, 0, tzinfo=UTC)))
    yield
    clock.reset_clock()


def test_order_placed_application_checked_and_allocated_in_the_browser(new_page, june_2027):
    official = new_page("official")
    official.get_by_role("link", name="State orders").click()
    official.click("#place-order")
    official.fill("#academic_year", "2027/2028")
    official.fill("#budget", "750000000")
    official.fill("#window_opens", "2027-06-01")
    official.fill("#window_closes", "2027-08-15")
    official.get_by_role("button", name="Place the order").click()
    expect(official.locator(".alert-success")).to_contain_text("SO-ASTANA-2027")
    expect(official.locator("#order-status")).to_have_text("open for applications")
    expect(official.locator("#norms-table")).to_contain_text("38,500.00")

    # Bilim claims more students than its building holds: ineligible, and the school sees why.
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="State orders").click()
    accountant.get_by_role("link", name="SO-ASTANA-2027").click()
    accountant.click("#apply")
    expect(accountant.locator("#f-licence_number")).to_have_value("KZ15LAA00001234")
    accountant.fill("#f-design_capacity", "10")
    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Submit application")
    accountant.goto("/orders")
    accountant.get_by_role("link", name="SO-ASTANA-2027").click()
    accountant.locator("#applications-table a").first.click()
    expect(accountant.locator("#application-status")).to_have_text("ineligible")
    expect(accountant.locator("#ineligible-reasons")).to_contain_text("exceed the building")

    # Nur applies with its registry data as prefilled: eligible, the official allocates places.
    accountant2 = new_page("accountant2")
    accountant2.goto("/orders")
    accountant2.get_by_role("link", name="SO-ASTANA-2027").click()
    accountant2.click("#apply")
    accountant2.get_by_role("button", name="Submit").click()
    expect(accountant2.locator(".alert-success")).to_contain_text("Submit application")

    official.goto("/inbox")
    official.get_by_role("link", name="Review and allocate places").click()
    expect(official.locator("#eligible")).to_be_visible()
    official.check('input[name="decision"][value="allocate"]')  # radio ids are the option's place, not its value
    official.get_by_role("button", name="Submit").click()
    expect(official.locator(".alert-success")).to_contain_text("Review and allocate places")

    director = new_page("director2")
    director.get_by_role("link", name="Sign contract (school director)").click()
    expect(director.locator("#contract-terms")).to_contain_text("Nur Private School")
    expect(director.locator("#contract-status")).to_contain_text("awaiting the school director")
