"""In a real browser, in Kazakh (the longest words) at 1400 px: the inbox's Open button is on screen and can be
clicked, and the navigation bar keeps the log-out button in view whatever the organisation's name."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _clickable(page, locator) -> bool:
    """The element's centre is on screen and it is what a click there would hit (nothing clips or covers it)."""
    box = locator.bounding_box()
    viewport = page.viewport_size
    if box is None or box["x"] < 0 or box["x"] + box["width"] > viewport["width"]:
        return False
    return page.evaluate("([x, y, el]) => { const hit = document.elementFromPoint(x, y); "
                         "return hit === el || el.contains(hit); }",
                         [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, locator.element_handle()])


def test_kazakh_inbox_at_1400_px_keeps_open_and_log_out_in_reach(new_page, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.people.models import Organisation

    dept = db.session.scalars(select(Organisation).where(Organisation.name == "Управление образования г. Алматы")).one()
    dept.name = "Государственное учреждение «Управление образования города Алматы» акимата города Алматы"
    db.session.commit()
    page = new_page("official_almaty", locale="kk-KZ")
    page.set_viewport_size({"width": 1400, "height": 900})
    with page.expect_navigation():  # the language is set before the next page is asked for
        page.locator("button[value=kk]").first.click()
    page.goto("/inbox")
    open_button = page.locator("#inbox-table tbody tr").first.get_by_role("link", name="Ашу")
    expect(open_button).to_be_visible()
    assert _clickable(page, open_button), "the Open button is clipped or covered"
    logout = page.locator("nav form button", has_text="Шығу")
    assert _clickable(page, logout), "the log-out button is pushed out of view"
    assert page.locator(".navbar-who").get_attribute("title").endswith("акимата города Алматы")
    open_button.click()
    expect(page.locator("h1")).to_be_visible()
