"""Walk 7: a process owner, new to Tapsyrys, opens a draft of the application model (in Russian) to change its form.

The row of the draft's files (application.bpmn, student_norms.dmn, …) called itself a tab list with no tab in it: axe
found it critical (aria-required-children, listitem), and a screen reader heard neither which file was shown nor that
the others could be opened. The files are toggle buttons now, the one shown pressed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_public_portal import AXE, _serious_violations

pytestmark = pytest.mark.e2e


def test_the_drafts_files_say_which_one_is_shown_and_pass_axe(chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="ru-RU")
    context.set_default_timeout(15000)
    context.route("**/__axe__/axe.min.js", lambda route: route.fulfill(
        path=str(AXE), content_type="application/javascript"))
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", "owner")
        page.fill("#password", "pw")
        page.click("#login-submit")
        page.wait_for_url("**/inbox")
        page.goto("/modeler/")
        page.get_by_role("link", name="Заявка на государственный заказ").click()
        page.locator(".new-draft").first.click()
        page.wait_for_url("**/modeler/versions/**")
        bpmn = page.locator("#file-tabs [data-file='application.bpmn']")
        dmn = page.locator("#file-tabs [data-file='student_norms.dmn']")
        expect(bpmn).to_have_attribute("aria-pressed", "true")
        expect(dmn).to_have_attribute("aria-pressed", "false")
        # axe reads the drawn diagram: wait for the editor to say it is drawn ("networkidle" is a guess from the
        # network; bpmn-js draws after its last request)
        expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
        assert _serious_violations(page) == []

        dmn.focus()
        page.keyboard.press("Enter")
        expect(dmn).to_have_attribute("aria-pressed", "true")
        expect(bpmn).to_have_attribute("aria-pressed", "false")
    finally:
        context.close()
