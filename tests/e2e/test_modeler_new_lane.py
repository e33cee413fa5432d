"""In a real browser: choosing a role the diagram has no lane for puts the task in a new lane of that role.

Process-owner probe (finding 5): "Add user task after" a task in the Operator lane, then choosing "Department head"
(no such lane) gave an alert and left the task in the Operator lane; the validator showed no problem and at runtime
the step went to the operator."""

from __future__ import annotations

import pytest
from lxml import etree
from playwright.sync_api import expect
from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.engine.publishing import publish_version
from app.extensions import db
from tests.e2e.editor import open_new_draft
from tests.modeler.factory import chain_model, user_task

pytestmark = pytest.mark.e2e


def test_choosing_a_role_without_a_lane_adds_its_lane_and_moves_the_task_there(new_page):
    version, _ = publish_version(chain_model("one_lane", [("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    page = open_new_draft(new_page, version.process_model_id)
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))

    page.locator('.djs-shape[data-element-id="check"]').click(position={"x": 12, "y": 12})
    panel = page.locator("#panel")
    page.click("#append-user-task")
    expect(panel).to_contain_text("User task")
    new_id = panel.locator("code").inner_text()
    expect(panel.get_by_label("Lane (role)")).to_have_value("Operator")  # placed where it was drawn
    panel.get_by_label("Lane (role)").select_option("Department head")
    expect(panel.get_by_label("Lane (role)")).to_have_value("Department head")
    assert asked == []

    page.click("#save-draft")
    expect(page.locator("#save-status")).to_contain_text("Draft saved")
    db.session.expire_all()
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    root = etree.fromstring(draft.files["one_lane.bpmn"].encode())
    lanes = {lane.get("name"): [ref.text for ref in lane.iter("{*}flowNodeRef")] for lane in root.iter("{*}lane")}
    assert new_id in lanes["Department head"]
    assert new_id not in lanes["Operator"] and "check" in lanes["Operator"]
