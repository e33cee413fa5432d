"""Form editor live preview (server renderer, via htmx) and the diagram diff, in Chromium."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from app.engine.publishing import create_draft, publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import chain_model, two_step, user_task

pytestmark = pytest.mark.e2e


def test_form_editor_previews_live_and_refuses_invalid_schema(new_page):
    version, _ = publish_version(two_step("form_trial"))
    draft = create_draft(version.process_model, user("owner"), from_version=version)
    db.session.commit()
    page = new_page("owner")
    page.goto(f"/modeler/versions/{draft.id}/forms/fill.schema.json")
    expect(page.locator("#form-preview")).to_contain_text("Comment")
    schema = {"type": "object", "properties": {"school_bin": {"type": "string", "title": "School BIN",
                                                                "format": "bin"}}}
    page.fill("#schema", json.dumps(schema))
    expect(page.locator("#form-preview #f-school_bin")).to_have_attribute("maxlength", "23")  # 12 digits, in groups
    page.fill("#schema", '{"type": "object", "properties": ')
    expect(page.locator("#form-preview .alert-danger")).to_contain_text("not valid JSON")
    page.click("#save-form")
    expect(page.locator("#form-errors")).to_contain_text("not valid JSON")
    page.fill("#schema", json.dumps(schema))
    page.click("#save-form")
    expect(page.locator(".alert-success")).to_contain_text("was saved in draft version 2")


def test_diff_highlights_added_and_changed_elements(new_page):
    old, _ = publish_version(two_step("diff_trial"))
    files = chain_model("diff_trial", [("fill", "School accountant", user_task("fill", "Fill in")),
                                       ("check", "Department official", user_task("check", "Check")),
                                       ("review", "Department official", user_task("review", "Final review"))])
    new, _ = publish_version(files)
    db.session.commit()
    page = new_page("owner")
    page.goto(f"/modeler/models/{old.process_model_id}/diff?old={old.id}&new={new.id}")
    expect(page.locator("#diagram-new")).to_have_attribute("data-rendered", "true")
    expect(page.locator('#diagram-new .djs-shape[data-element-id="check"]')).to_have_class(
        re.compile("tap-added"))
    expect(page.locator('#diagram-old .djs-shape[data-element-id="review"]')).to_have_class(
        re.compile("tap-changed"))
    expect(page.locator("#diff-added")).to_contain_text("check")
