"""A process owner drawing in the model editor: a login that ended meanwhile made "Save draft" read "Saving failed:
Unexpected token '<', "<!doctype "... is not valid JSON" — not that the session had ended, nor that logging in again
keeps the drawing. The save now says so; and drawing tells the server the owner is still at work, as typing into a
task's form does, so the login does not end under them."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from app.engine.models import ProcessModel
from app.extensions import db
from app.people import sessions
from tests.e2e.editor import open_new_draft

pytestmark = pytest.mark.e2e


def _editor(new_page):
    model = db.session.query(ProcessModel).filter_by(identifier="monthly_act").one()
    return open_new_draft(new_page, model.id)


def _rename_a_task(page, name: str) -> None:
    page.locator('.djs-shape[data-element-id="pay_act"]').click(position={"x": 12, "y": 12})
    field = page.locator("#panel").get_by_label("Name", exact=True)
    field.fill(name)
    field.press("Tab")


def test_a_save_after_the_login_ended_says_so_and_the_drawing_stays(new_page):
    page = _editor(new_page)
    _rename_a_task(page, "Pay the act")
    cookies = page.context.cookies()
    page.context.clear_cookies()
    page.context.add_cookies([c for c in cookies if c["name"] != "session"])
    page.click("#save-draft")
    status = page.locator("#save-status")
    expect(status).to_contain_text("your session has ended. Log in again in another tab, then save again")
    expect(status).not_to_contain_text("JSON")
    expect(page.locator('.djs-shape[data-element-id="pay_act"]')).to_contain_text("Pay the act")


def test_drawing_tells_the_server_the_owner_is_still_at_work(new_page):
    page = _editor(new_page)
    page.clock.install()
    pinged = []
    page.on("request", lambda request: pinged.append(request.url) if request.url.endswith("/session/alive") else None)
    page.clock.fast_forward("06:00")
    with page.expect_request("**/session/alive"):
        _rename_a_task(page, "Pay the act now")
    assert len(pinged) == 1


def test_a_form_sent_after_the_login_ended_comes_back_after_logging_in(new_page, monkeypatch):
    """The form editor sent after the login ended went to the login page, and the JSON the owner had written was
    gone when they came back: it is offered back, unsaved, as a task's form offers its entries."""
    page = _editor(new_page)
    page.locator("a[href*='/forms/accept-act.schema.json']").first.click()
    schema = page.locator("#schema")
    written = schema.input_value().replace('"Decision on the act"', '"Decision on the monthly act"')
    # the live preview (sent 400 ms after the typing) has answered before the clock moves: "networkidle" returned at
    # once when the page had been idle already, and the preview then went out after the login ended (401, the page
    # sent to the login page before the save was clicked)
    with page.expect_response(lambda response: "/modeler/forms/preview" in response.url):
        schema.fill(written)
    later = time.time() + 3 * 3600  # three hours without a request: the login has ended
    monkeypatch.setattr(sessions, "_now", lambda: int(later))
    form_url = page.url
    page.click("#save-form")
    page.wait_for_url("**/login**")
    expect(page.locator(".alert-warning")).to_contain_text("Your session has ended")
    page.fill("#username", "owner")
    page.fill("#password", "pw")
    page.click("#login-submit")
    page.wait_for_url(form_url)
    expect(page.locator("#unsaved-kept")).to_contain_text("Your entries from before you logged in again are back")
    expect(page.locator("#schema")).to_have_value(written)
    assert page.locator("#form-editor").get_attribute("data-dirty") == "true" or \
        page.locator("#form-editor").get_attribute("data-unsaved") == "true"


def test_what_was_typed_when_the_preview_found_the_login_ended_comes_back_after_logging_in(new_page, monkeypatch):
    """The live preview that found the login ended sent the page to the login page (or the browser asked whether to
    leave it with changes): the JSON being written was lost. It is kept, and offered back after logging in."""
    page = _editor(new_page)
    page.locator("a[href*='/forms/accept-act.schema.json']").first.click()
    form_url = page.url
    later = time.time() + 3 * 3600
    monkeypatch.setattr(sessions, "_now", lambda: int(later))
    schema = page.locator("#schema")
    written = schema.input_value().replace('"Decision on the act"', '"Decision on this act"')
    schema.fill(written)  # the preview asks the server 400 ms later
    page.wait_for_url("**/login**")
    page.fill("#username", "owner")
    page.fill("#password", "pw")
    page.click("#login-submit")
    page.wait_for_url(form_url)
    expect(page.locator("#unsaved-kept")).to_be_visible()
    expect(page.locator("#schema")).to_have_value(written)
