"""In a real browser: leaving the model editor with unsaved decision-table edits, or the form editor with unsaved
form edits, asks first; a successful save clears that.

Process-owner probe (finding 4): edits in the decision-table tab did not set the editor's unsaved-changes flag (only
diagram changes did), and the form editor had no warning at all: navigating away lost them without a prompt."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.engine.publishing import publish_version
from app.extensions import db
from tests.e2e.editor import open_new_draft
from tests.e2e.test_modeler_dmn import DMN, _draft_in_the_editor
from tests.modeler.factory import two_step

pytestmark = pytest.mark.e2e

#: would leaving the page now ask? (the page's beforeunload handlers cancel a cancelable beforeunload event)
WOULD_ASK = "() => { const ev = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(ev); " \
            "return ev.defaultPrevented; }"


def test_a_decision_table_edit_asks_before_leaving_until_it_is_saved(new_page):
    page, _version = _draft_in_the_editor(new_page, "dmn_unsaved", DMN)
    assert page.evaluate(WOULD_ASK) is False
    page.get_by_role("button", name="norms.dmn").click()
    cell = page.locator('#dmn-canvas [data-element-id="r1_out"]')
    expect(cell).to_contain_text("100")
    assert page.evaluate(WOULD_ASK) is False, "opening a table is no edit"
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("250")
    page.locator("#dmn-canvas").click(position={"x": 5, "y": 5})  # leave the cell: dmn-js commits the edit
    page.wait_for_function(WOULD_ASK, timeout=5000)  # dmn-js applies the edit a moment later
    assert page.evaluate(WOULD_ASK) is True

    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    assert page.evaluate(WOULD_ASK) is False


def test_the_form_editor_asks_before_leaving_unsaved_changes(new_page):
    version, _ = publish_version(two_step("form_unsaved"))
    db.session.commit()
    page = open_new_draft(new_page, version.process_model_id)
    draft_id = re.search(r"/versions/(\d+)", page.url)[1]
    page.goto(f"/modeler/versions/{draft_id}/forms/fill.schema.json")
    assert page.evaluate(WOULD_ASK) is False
    schema = page.locator("#schema")
    original = schema.input_value()
    schema.fill(original.replace('"Comment"', '"Your comment"'))
    assert page.evaluate(WOULD_ASK) is True

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    # the browser's own "leave site?" prompt; dismissed, the page stays. close(run_before_unload=True) does not wait
    # for the prompt: the test waits for the dialog event itself (300 ms of waiting could end before it came on a
    # loaded machine); the handler above, registered first, has run when the wait returns
    with page.expect_event("dialog"):
        page.close(run_before_unload=True)
    assert asked == ["beforeunload"]

    page.click("#save-form")
    expect(page.locator(".alert-success")).to_contain_text("was saved")
    page.wait_for_load_state("load")
    assert page.evaluate(WOULD_ASK) is False

    schema.fill("{ not json")  # refused: the page comes back with the entries, still unsaved
    page.click("#save-form")
    expect(page.locator("#form-errors")).to_be_visible()
    page.wait_for_load_state("load")  # the refused page's own script has run (a CI run under load asked before it had)
    assert page.evaluate(WOULD_ASK) is True
