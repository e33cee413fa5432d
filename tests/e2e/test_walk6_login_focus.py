"""An official who logs in with the keyboard (Russian) mistypes the password.

The page put the focus on the red alert ("Wrong login or password…"): two Tabs back to the password field, which was
empty, to type it again. Now the alert is announced (role=alert), the password field takes the focus and is
described by it, and the page still passes axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_public_portal import AXE, _serious_violations

pytestmark = pytest.mark.e2e


def test_a_wrong_password_puts_the_focus_back_in_the_password_field_described_by_the_alert(chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="ru-RU")
    try:
        context.route("**/__axe__/axe.min.js", lambda route: route.fulfill(
            path=str(AXE), content_type="application/javascript"))
        page = context.new_page()
        page.goto("/login")
        page.keyboard.type("official")
        page.keyboard.press("Tab")
        page.keyboard.type("not-my-password")
        page.keyboard.press("Enter")

        alert = page.locator("#login-refused")
        expect(alert).to_have_attribute("role", "alert")
        expect(alert).to_contain_text("Caps Lock")
        expect(page.locator("#password")).to_be_focused()
        expect(page.locator("#password")).to_have_attribute("aria-describedby", "login-refused")
        expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#username")).to_have_value("official")
        assert _serious_violations(page) == []

        page.keyboard.type("pw")  # straight away, no Tab
        page.keyboard.press("Enter")
        page.wait_for_url("**/inbox**")
    finally:
        context.close()
