"""Walk 7: people new to Tapsyrys, in Russian, on the pages the earlier walks passed by, and axe-core on each.

The head opening a contract the director has not signed read its "the school director signs first" in Bootstrap's
yellow on white (1.9:1); the director signing from the inbox read the printable contract's link and its SHA-256 in
blue and pink on the light-blue box (under 4.5:1), and the diagram under it was a role="img" holding the viewer's
focusable parts (nested-interactive); the accountant correcting a returned act met "Убрать" in red on the excluded
line's yellow row; the operator read an excluded line's IIN link in blue on its red row, and "Приостановить" on an
act's process page in yellow on white."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_public_portal import AXE, _serious_violations
from tests.e2e.test_words_and_rough_edges import _submit_with_a_phantom_and_return

pytestmark = pytest.mark.e2e


# axe reads each page with its diagram drawn: diagram.js marks #diagram data-rendered="true" once bpmn-js has drawn it
# ("networkidle" was a guess from the network: bpmn-js draws after its last request, and the wait returns at once on a
# page already idle)


def _russian(chromium, live_server, username: str):
    context = chromium.new_context(base_url=live_server, locale="ru-RU")
    context.set_default_timeout(15000)
    context.route("**/__axe__/axe.min.js", lambda route: route.fulfill(
        path=str(AXE), content_type="application/javascript"))
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("#login-submit")
    page.wait_for_url("**/inbox")
    return context, page


def test_signing_a_contract_head_and_director_read_every_word_on_it(chromium, live_server, contract_to_sign):
    context, head = _russian(chromium, live_server, "head")
    try:
        head.goto(f"/contracts/{contract_to_sign.id}")
        expect(head.locator("#not-your-turn")).to_contain_text("Сначала подписывает директор школы")
        assert _serious_violations(head) == []
    finally:
        context.close()
    context, director = _russian(chromium, live_server, "director2")
    try:
        director.get_by_role("link", name="Подписать договор (директор школы)").click()
        expect(director.locator("#document-sha")).to_be_visible()
        expect(director.locator("#diagram")).to_have_attribute("data-rendered", "true")  # the diagram drawn
        assert _serious_violations(director) == []
    finally:
        context.close()


def test_a_returned_act_reads_clearly_for_the_accountant_and_the_operator(chromium, live_server, browser):
    act = _submit_with_a_phantom_and_return(browser)
    context, accountant = _russian(chromium, live_server, "accountant")
    try:
        accountant.locator("#inbox-table tr", has_text=act.number).locator("a[href*='/tasks/']").first.click()
        expect(accountant.locator("#return-comment")).to_contain_text("Возвращено на доработку")
        expect(accountant.locator("tr.row-excluded [data-remove-row]")).to_have_count(1)
        expect(accountant.locator("#diagram")).to_have_attribute("data-rendered", "true")  # the diagram drawn
        assert _serious_violations(accountant) == []
    finally:
        context.close()
    context, operator = _russian(chromium, live_server, "operator")
    try:
        operator.goto(f"/acts/{act.id}")
        expect(operator.locator("tr.table-danger a")).to_have_count(1)
        assert _serious_violations(operator) == []
        operator.goto(f"/instances/{act.instance_id}")
        expect(operator.locator("#suspend")).to_be_visible()
        expect(operator.locator("#diagram")).to_have_attribute("data-rendered", "true")  # the diagram drawn
        assert _serious_violations(operator) == []
    finally:
        context.close()
