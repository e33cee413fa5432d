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


def _published_and_started(files: dict[str, str], pid: str, title: str):
    version, _ = publish_version(files)
    db.session.commit()
    instance = runtime.start_instance(pid, title=title, actor=user("owner"))
    db.session.commit()
    return version, instance


def test_a_diagram_without_layout_is_explained_in_the_editor_and_on_the_instance_page(new_page):
    files = two_step("nodi")
    files["nodi.bpmn"] = re.sub(r"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", "", files["nodi.bpmn"], flags=re.S)
    assert "BPMNShape" not in files["nodi.bpmn"]
    version, instance = _published_and_started(files, "nodi", "No layout")

    page = new_page("operator")
    page.goto(f"/instances/{instance.id}")
    expect(page.locator("#diagram")).to_contain_text(NO_LAYOUT)

    owner = new_page("owner")
    owner.goto(f"/modeler/versions/{version.id}")
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "error")
    expect(owner.locator("#canvas")).to_contain_text(NO_LAYOUT)


def test_a_file_with_several_diagrams_opens_on_its_main_one(new_page):
    """An ADONIS export opened on its first diagram, a 7-shape page, with the main 200-shape collaboration out of
    sight and no way to switch: the diagram with the most shapes is the one drawn."""
    files = two_step("twodi")
    small = ('<bpmndi:BPMNDiagram id="small"><bpmndi:BPMNPlane id="small_plane" bpmnElement="twodi">'
             '<bpmndi:BPMNShape id="start_small" bpmnElement="start"><dc:Bounds x="10" y="10" width="36" height="36" />'
             '</bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram>')
    files["twodi.bpmn"] = files["twodi.bpmn"].replace("<bpmndi:BPMNDiagram", small + "<bpmndi:BPMNDiagram", 1)
    assert files["twodi.bpmn"].count("<bpmndi:BPMNDiagram") == 2
    version, instance = _published_and_started(files, "twodi", "Two diagrams")

    page = new_page("operator")
    page.goto(f"/instances/{instance.id}")
    expect(page.locator("#diagram")).to_have_attribute("data-rendered", "true")
    expect(page.locator('#diagram [data-element-id="review"]')).to_have_count(1)

    owner = new_page("owner")
    owner.goto(f"/modeler/versions/{version.id}")
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "true")
    expect(owner.locator('#canvas [data-element-id="review"]')).to_have_count(1)
