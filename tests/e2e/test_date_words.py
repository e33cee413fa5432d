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


@pytest.mark.parametrize(("language", "words"), [("kk", "қараша 2026"), ("ru", "ноябрь 2026")])
def test_a_picked_month_is_said_in_the_users_words(new_page, language, words):
    """A month field (type="month") names the picked month in the browser's own language — "November 2026" under
    the Kazakh and the Russian acts list — so the month is said again in the page's words, as a date is."""
    page = new_page("official")
    with page.expect_navigation():
        page.evaluate(f"document.querySelector('button[name=locale][value={language}]').click()")
    page.goto("/acts?month=2026-11")
    field = page.locator("#acts-month")
    expect(page.locator("#acts-month + .date-words")).to_have_text(words)
    field.fill("2026-12")
    expect(page.locator("#acts-month + .date-words")).to_contain_text("2026")
    expect(page.locator("#acts-month + .date-words")).not_to_contain_text("December")
    field.fill("")
    expect(page.locator("#acts-month + .date-words")).to_be_hidden()
