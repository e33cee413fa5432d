"""In a real browser, the dormitory-places order from placement to a contract in force: the department's official
places the order (rate from the rates decision table), a dormitory's accountant applies, the official allocates
places, the dormitory's director signs from the inbox and the department head signs on the contract page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.contracts.models import Contract
from app.extensions import db

pytestmark = pytest.mark.e2e


@pytest.fixture()
def world(app_ctx):
    """The demo world with the dormitories' demo (its applicant dormitory has no contract yet); the clock stands
    the day after the demo was seeded."""
    from app.demo.seed import seed_demo
    from tests.conftest import _demo_now

    with clock.FrozenClock(_demo_now()):
        seeded = seed_demo(password="pw", dormitories=True)
    clock.set_clock(clock.FrozenClock(datetime(2026, 11, 6, 5, 0, tzinfo=UTC)))
    yield seeded
    clock.reset_clock()


def test_an_order_for_dormitory_places_to_a_contract_signed_on_screen(world, new_page):
    official = new_page("official")
    official.goto("/orders")
    official.click("#place-dorm-order")
    official.fill("#first_year", "2027")
    official.fill("#years", "3")
    official.fill("#places", "30")
    official.fill("#budget", "50000000")
    official.fill("#window_closes", "2027-06-30")
    official.get_by_role("button", name="Place the order").click()
    expect(official.locator(".alert-success")).to_contain_text("for dormitory places placed")
    expect(official.locator("#order-instrument")).to_have_text("State order for student dormitory places")
    expect(official.locator("#order-rate")).to_contain_text("19,000.00")
    order_url = official.url

    accountant = new_page("dorm_applicant")
    accountant.goto(order_url)
    accountant.click("#apply")
    expect(accountant.locator("#beds-registered")).to_have_text("24")
    expect(accountant.locator("#f-places_requested")).to_have_value("24")  # the beds, fewer than the order's 30
    accountant.fill("#f-places_requested", "20")
    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator(".alert-success")).to_be_visible()

    official.goto("/inbox")
    official.get_by_role("link", name="Review and allocate places").first.click()
    expect(official.locator("#places-left")).to_have_text("30")
    official.fill("#f-places_allocated", "15")
    official.get_by_role("button", name="Submit").click()
    expect(official.locator(".alert-success")).to_be_visible()

    director = new_page("dorm_applicant_director")
    director.get_by_role("link", name="Sign contract (dormitory director)").click()
    expect(director.locator("#contract-terms")).to_contain_text("Qazyna Student Residence")
    expect(director.locator("#contract-places")).to_contain_text("15")
    director.check("#f-confirm")
    director.fill("#f-password", "pw")
    director.get_by_role("button", name="Submit").click()
    expect(director.locator(".alert-success")).to_contain_text("Sign contract (dormitory director)")

    db.session.expire_all()
    contract = db.session.scalars(select(Contract).where(Contract.instrument == "dormitory",
                                                         Contract.status == "awaiting_head")).one()
    head = new_page("head")
    head.goto(f"/contracts/{contract.id}")
    expect(head.locator("#contract-status")).to_contain_text("awaiting the department head")
    head.check("#sign-confirm")
    head.fill("#sign-password", "pw")
    head.click("#sign-submit")
    expect(head.locator("#contract-status")).to_have_text("active")
    expect(head.locator("#signatures li")).to_have_count(2)
    expect(head.locator("#signatures")).to_contain_text("Dormitory director")

    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "active"
