"""A diagram without layout (no BPMN DI: IBM BlueWorks Live and Process Designer export such files) imports and
runs, but bpmn-js has nothing to draw: the editor and the instance page said only "Error: no diagram to display".
They now say what it means."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.engine import runtime
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import user
from tests.modeler.factory import two_step

pytestmark = pytest.mark.e2e

NO_LAYOUT = "This diagram has no layout (no BPMN DI), so it cannot be drawn here"


def test_a_diagram_without_layout_is_explained_in_the_editor_and_on_the_instance_page(new_page):
    files = two_step("nodi")
    files["nodi.bpmn"] = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", files["nodi.bpmn"], flags=re.S)
    assert "BPMNShape" not in files["nodi.bpmn"]
    version, _ = publish_version(files)
    db.session.commit()
    instance = runtime.start_instance("nodi", title="No layout", actor=user("owner"))
    db.session.commit()

    page = new_page("operator")
    page.goto(f"/instances/{instance.id}")
    expect(page.locator("#diagram")).to_contain_text(NO_LAYOUT)

    owner = new_page("owner")
    owner.goto(f"/modeler/versions/{version.id}")
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "error")
    expect(owner.locator("#canvas")).to_contain_text(NO_LAYOUT)
