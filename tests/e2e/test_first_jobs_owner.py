"""A first job in Chromium, by the keyboard, in Russian: the process owner changes a field's title in a draft's form,
saves it with a JSON mistake, fixes it and saves. The refused save came back with the focus nowhere (on the page's
body): the problem was read by no screen reader, and the schema was sixteen Tabs away through the menu. The list
of problems takes the focus, and the next Tab is the schema it is about."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.engine.publishing import create_draft, publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import two_step

pytestmark = pytest.mark.e2e


def test_a_refused_form_save_takes_the_focus_to_the_problem_then_the_schema(new_page):
    version, _ = publish_version(two_step("first_job_form"))
    draft = create_draft(version.process_model, user("owner"), from_version=version)
    db.session.commit()
    page = new_page("owner", locale="ru-RU")
    page.locator("button[name=locale][value=ru]").click()
    page.goto(f"/modeler/versions/{draft.id}/forms/fill.schema.json")
    schema = page.locator("#schema")
    good = schema.input_value()
    schema.fill(good.replace('"Comment"', '"Комментарий школы",', 1))  # a comma too many: not JSON
    page.locator("#save-form").focus()
    page.keyboard.press("Enter")
    problems = page.locator("#form-errors")
    expect(problems).to_contain_text("недопустимый JSON")
    expect(problems).to_be_focused()
    page.keyboard.press("Tab")
    expect(schema).to_be_focused()
    expect(schema).to_have_accessible_description(problems.inner_text())

    schema.fill(good.replace('"Comment"', '"Комментарий школы"', 1))
    page.locator("#save-form").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("#form-preview")).to_contain_text("Комментарий школы")
