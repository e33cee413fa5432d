"""In Chromium: a date picked in the browser's own date field is said again in words in the user's language. The
field orders day and month by the browser's language: 12/05/2026 in an English browser on a Kazakh page is
5 December, read by a Kazakh official as 12 May."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_window_of_a_new_order_is_said_in_kazakh_words(new_page):
    page = new_page("official")
    page.goto("/inbox")
    with page.expect_navigation():
        page.evaluate("document.querySelector('button[name=locale][value=kk]').click()")
    page.goto("/orders/new")
    field = page.locator("#window_opens")
    expect(field).to_have_attribute("lang", "kk")
    field.fill("2026-12-05")
    expect(page.locator("#window_opens + .date-words")).to_contain_text("5 желтоқсан")
    field.fill("")
    expect(page.locator("#window_opens + .date-words")).to_be_hidden()
