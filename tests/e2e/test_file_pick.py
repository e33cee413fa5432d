"""In Chromium: a file field speaks the user's language — the browser drew its own "Choose File · No file chosen" in
the browser's language on a Kazakh page. Clicking it still opens the file chooser, and the chosen file is named."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from tests.helpers import act_of_school, open_task

pytestmark = pytest.mark.e2e


def test_a_file_field_says_choose_and_names_the_file_in_the_users_language(new_page):
    page = new_page("accountant")
    page.goto("/inbox")
    with page.expect_navigation():
        page.evaluate("document.querySelector('button[name=locale][value=kk]').click()")
    page.goto(f"/tasks/{open_task(act_of_school('Bilim Innovation School'), 'submit_act').id}")
    with force_locale("kk"):
        choose, none = gettext("Choose a file"), gettext("No file chosen")
    face = page.locator("#lines-file-form .file-pick-face")
    expect(face).to_have_text(f"{choose}{none}")
    expect(page.locator("#lines-file")).to_have_attribute("lang", "kk")
    with page.expect_file_chooser() as chooser:
        box = face.bounding_box()  # the person clicks what they see: the browser's field over it takes the click
        page.mouse.click(box["x"] + 20, box["y"] + box["height"] / 2)
    chooser.value.set_files(files=[{"name": "lines.csv", "mimeType": "text/csv", "buffer": b"iin\n"}])
    expect(face.locator(".file-pick-name")).to_have_text("lines.csv")
