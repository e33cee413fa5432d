"""A process owner edits a model in the browser: adds a user task with lane and form, sees a validation
error next to it (a due time that is not a number), fixes it, publishes, and starts an instance on the new
version."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessInstance, ProcessModelVersion
from app.engine.publishing import publish_version
from app.extensions import db
from tests.modeler.factory import two_step

pytestmark = pytest.mark.e2e


def _screenshots(tmp_path) -> Path:
    """A temporary folder unless E2E_SCREENSHOTS names one: never the repository's instance/."""
    return Path(os.environ.get("E2E_SCREENSHOTS", tmp_path))


def _new_draft_in_the_editor(new_page, files: dict[str, str], pid: str):
    """Publish ``files`` (process ``pid``), then open a new draft of it in the editor as the process owner."""
    publish_version(files)
    db.session.commit()
    page = new_page("owner")
    page.click("#nav-modeler")
    page.get_by_role("link", name=f"Test {pid}").click()
    page.locator("button.new-draft").first.click()
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    return page


def test_owner_adds_a_task_fixes_validation_publishes_and_starts(new_page, tmp_path):
    page = _new_draft_in_the_editor(new_page, two_step("e2e_trial"), "e2e_trial")

    page.locator('.djs-shape[data-element-id="fill"]').click(position={"x": 12, "y": 12})
    panel = page.locator("#panel")
    expect(panel).to_contain_text("fill")
    page.click("#append-user-task")
    expect(panel).to_contain_text("User task")
    new_id = panel.locator("code").inner_text()
    assert new_id != "fill"
    panel.get_by_label("Name", exact=True).fill("Approve the request")
    panel.get_by_label("Name", exact=True).press("Tab")
    panel.get_by_label("Lane (role)").select_option("Department official")
    expect(panel.get_by_label("Lane (role)")).to_have_value("Department official")
    panel.get_by_label("Due in working days").fill("soon")
    panel.get_by_label("Due in working days").press("Tab")

    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    problem = page.locator(f'#problems li[data-element="{new_id}"]')
    expect(problem).to_contain_text("whole number of days")
    expect(page.locator("#problem-count")).to_have_class(re.compile(r"\bbg-danger\b"))
    expect(page.locator(f'.djs-shape[data-element-id="{new_id}"]')).to_have_class(re.compile("tap-problem"))
    expect(page.locator("#publish")).to_be_disabled()
    shots = _screenshots(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "modeler-validation-error.png"), full_page=True)

    problem.get_by_role("link").click()
    expect(panel.locator("code")).to_have_text(new_id)
    panel.get_by_label("Due in working days").fill("5")
    panel.get_by_label("Due in working days").press("Tab")
    panel.get_by_label("Form (JSON Schema)").select_option("fill.schema.json")
    page.click("#save-draft")
    expect(page.locator("#problem-count")).to_have_text("0")
    # no problems is good news: the count is green, not the red of an error
    expect(page.locator("#problem-count")).not_to_have_class(re.compile(r"\bbg-danger\b"))
    expect(page.locator("#problem-count")).to_have_class(re.compile(r"\bbg-success\b"))
    expect(page.locator("#no-problems")).to_be_visible()
    expect(page.locator("#publish")).to_be_enabled()
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click("#publish")
    expect(page.locator(".alert-success")).to_contain_text("Version 2 is published")
    assert questions == ["Publish version 2? Published versions cannot be changed; new instances start on it."]

    page.click("#start-instance")
    expect(page.locator(".alert-success")).to_contain_text("version 2")
    expect(page.locator("dl")).to_contain_text("version 2")
    page.screenshot(path=str(shots / "modeler-started-instance.png"), full_page=True)

    db.session.expire_all()
    version = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.number == 2)).one()
    bpmn = version.files["e2e_trial.bpmn"]
    assert 'name="Approve the request"' in bpmn and 'value="fill.schema.json"' in bpmn
    lane = re.search(r'<bpmn:lane id="[^"]+" name="Department official">(.*?)</bpmn:lane>', bpmn, re.S).group(1)
    assert new_id in lane
    instance = db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()
    assert instance.model_version_id == version.id


def test_a_step_nothing_follows_is_shown_as_a_notice_and_publishing_stays_open(new_page):
    # "Pay act" led nowhere once its end event was deleted, and the editor said "Problems 0".
    from tests.modeler.test_implicit_end import _without_end

    page = _new_draft_in_the_editor(new_page, _without_end("e2e_notice"), "e2e_notice")
    expect(page.locator("#notices-box")).to_be_visible()
    expect(page.locator("#notices")).to_contain_text("Archive")
    expect(page.locator("#notices")).to_contain_text("Nothing follows this step")
    expect(page.locator("#problem-count")).to_have_text("0")
    expect(page.locator("#problem-count")).not_to_have_class(re.compile(r"\bbg-danger\b"))
    expect(page.locator("#publish")).to_be_enabled()


def test_a_second_tab_saving_an_older_copy_is_told_and_the_first_save_stays(new_page):
    """Two editors on one draft: the later save of an older copy had silently put the colleague's change back."""
    page = _new_draft_in_the_editor(new_page, two_step("e2e_tabs"), "e2e_tabs")
    other = page.context.new_page()
    other.goto(page.url)
    expect(other.locator("#canvas")).to_have_attribute("data-ready", "true")

    page.locator('.djs-shape[data-element-id="fill"]').click(position={"x": 12, "y": 12})
    page.locator("#panel").get_by_label("Name", exact=True).fill("Fill in, renamed in the first tab")
    page.locator("#panel").get_by_label("Name", exact=True).press("Tab")
    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")

    other.click("#save-draft")
    expect(other.locator("#save-status")).to_contain_text("saved by someone else")
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    db.session.refresh(draft)
    assert "Fill in, renamed in the first tab" in draft.files[draft.bpmn_filename]
    page.click("#save-draft")  # the tab that saved goes on saving on what it stored
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
