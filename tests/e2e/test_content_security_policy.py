"""Under the Content-Security-Policy nothing on the main pages breaks: Chromium reports no violation.

Each role opens its main pages (the pages its menu bar leads to, a task, the diagram viewer, the bpmn-js/dmn-js
editor with a save, htmx fragments), and a visitor the login, the public portal and the API's docs; every
``securitypolicyviolation`` event and every console error is collected. The policy allows no inline script and no
inline style (app/content_policy.py).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.acts.models import Act
from app.contracts.models import Contract
from app.engine.models import HumanTask, ProcessInstance, ProcessModel
from app.extensions import db

pytestmark = pytest.mark.e2e

LISTEN = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || ''));
});
"""


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.add_init_script(LISTEN)
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def _visit(page, url: str, errors: list[str], allow_status=(200,)) -> None:
    response = page.goto(url)
    assert response is not None and response.status in allow_status, (url, response and response.status)
    page.wait_for_load_state("networkidle")
    errors.extend(f"{url}: {v}" for v in page.evaluate("window.__cspViolations || []"))


def _page_for(new_page, role: str) -> tuple:
    page = new_page()
    errors = _watch(page)
    page.goto("/login")
    page.fill("#username", role)
    page.fill("#password", "pw")
    page.click("#login-submit")
    page.wait_for_url("**/inbox")
    return page, errors


def _csp_problems(errors: list[str]) -> list[str]:
    return [e for e in errors if "Content Security Policy" in e or "securitypolicy" in e.lower()
            or e.split(": ", 1)[-1].split(" ")[0] in ("script-src-elem", "script-src", "style-src-elem",
                                                       "img-src", "font-src", "connect-src", "style-src-attr")]


ROLES = ["accountant", "director", "official", "head", "operator", "owner", "auditor", "admin"]


def _menu_pages(page) -> list[str]:
    """The pages the role's menu bar leads to (its main pages), as paths."""
    hrefs = page.eval_on_selector_all("nav.navbar a[href^='/']", "links => links.map(a => a.getAttribute('href'))")
    return sorted({h for h in hrefs if not h.startswith(("/logout", "/static/", "/vendor/"))})


def test_main_pages_of_every_role_run_without_csp_violations(new_page):
    """No page applies an inline style the policy refuses: the policy has no 'unsafe-inline' for styles any more, and
    a style attribute (a progress bar's width, a diagram's height) or an injected <style> (htmx's indicator rules)
    was dropped by the browser — reported here as a violation."""
    instance_id = db.session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)).first()
    extra = {
        "official": ["/reports/discrepancies", "/orders/new"],
        "operator": ["/registry", "/registry/lookup?q=791028302728", "/reports/discrepancies", "/reports/verification"],
        "auditor": ["/modeler/", f"/instances/{instance_id}"],
    }
    problems: list[str] = []
    for role in ROLES:
        page, errors = _page_for(new_page, role)
        task = db.session.scalars(select(HumanTask).where(HumanTask.status == "open").order_by(HumanTask.id)).first()
        urls = [*_menu_pages(page), *extra.get(role, []), f"/tasks/{task.id}"]
        assert len(urls) >= 3, (role, urls)
        for url in urls:
            _visit(page, url, errors, allow_status=(200, 403))
        problems += [f"{role} {e}" for e in errors]
    anonymous = new_page()
    errors = _watch(anonymous)
    for url in ("/login", "/public/", "/api/docs"):
        _visit(anonymous, url, errors)
    problems += [f"anonymous {e}" for e in errors]
    # Every violation is a failure; other console errors (e.g. a 403 a page fetches on purpose) are listed
    # only if they come from the policy.
    assert _csp_problems(problems) == [], problems


def test_no_page_allows_inline_style_or_script(new_page):
    """The policy itself: neither scripts nor styles may come inline ('unsafe-inline'), on the pages and on the
    printable documents (whose own <style> is allowed by its hash only)."""
    page = new_page("operator")
    act = db.session.scalars(select(Act).order_by(Act.id)).first()
    contract = db.session.scalars(select(Contract).order_by(Contract.id)).first()
    errors = _watch(page)
    for url in ("/inbox", "/acts", f"/acts/{act.id}/document", f"/contracts/{contract.id}/document"):
        response = page.goto(url)
        assert response.status == 200, url
        policy = response.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (url, policy)
        page.wait_for_load_state("networkidle")
        errors.extend(f"{url}: {v}" for v in page.evaluate("window.__cspViolations || []"))
        if "/document" in url:  # the document's own rules apply: its tables have borders
            border = page.eval_on_selector("td, th", "c => getComputedStyle(c).borderTopStyle")
            assert border == "solid", url
    assert _csp_problems(errors) == [], errors


def test_diagram_viewer_and_modeler_work_under_the_policy(new_page):
    page, errors = _page_for(new_page, "owner")
    instance_id = db.session.scalars(select(ProcessInstance.id).order_by(ProcessInstance.id)).first()
    _visit(page, f"/instances/{instance_id}", errors)
    expect(page.locator("#diagram svg").first).to_be_visible()

    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).first() \
        or db.session.scalars(select(ProcessModel).order_by(ProcessModel.id)).first()
    _visit(page, f"/modeler/models/{model.id}", errors)
    page.locator("button.new-draft").first.click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    dmn_tabs = page.locator("button", has_text=".dmn")
    if dmn_tabs.count():
        dmn_tabs.first.click()
        expect(page.locator("#dmn-canvas .tjs-table, #dmn-canvas table").first).to_be_visible()
    errors.extend(page.evaluate("window.__cspViolations || []"))
    _visit(page, f"/modeler/models/{model.id}/diff", errors)
    assert _csp_problems(errors) == [] and not [e for e in errors if e.startswith("pageerror")], errors
