"""A process owner imports diagrams drawn in other tools (issue 16 §1): a zip of two diagrams (a call activity
across files) and a descriptive Signavio export; both open in the modeler, every diagram in its own tab, the
problems listed with element id, name and line."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bpmn_corpus"


def test_owner_imports_other_tools_diagrams(new_page, tmp_path):
    archive = tmp_path / "tenants.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("camunda-multi-tenancy-tenant-identifier-shared-definitions-mainProcess.bpmn",
                     "camunda-multi-tenancy-tenant-identifier-shared-definitions-subProcess.bpmn"):
            zf.writestr(f"tenants/{name}", (CORPUS / name).read_bytes())
    page = new_page("owner")
    page.click("#nav-modeler")
    page.set_input_files("#archive", str(archive))
    page.select_option("#import-lane-role", "starter")
    page.click("#import-model")
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    tabs = page.locator("#file-tabs [data-file$='.bpmn']")
    expect(tabs).to_have_count(2)
    expect(page.locator("#problem-count")).to_have_text("0")
    expect(page.locator(".djs-shape[data-element-id='CallActivity_0ahffuc']")).to_have_count(1)
    tabs.nth(1).click()
    expect(page.locator(".djs-shape[data-element-id='CallActivity_0ahffuc']")).to_have_count(0)
    expect(page.locator(".djs-shape[data-element-id='UserTask_0zlyiaz']")).to_have_count(1)

    page.click("#nav-modeler")
    page.set_input_files("#archive", str(CORPUS / "miwg-sap-signavio-process-man-a.1.0-export.bpmn"))
    page.click("#import-model")
    expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
    problem = page.locator("#problems li").first
    expect(problem).to_contain_text("not executable")
    expect(page.locator("#publish")).to_be_disabled()
    page.locator("#panel-executable").check()
    page.click("#save-draft")
    expect(page.locator("#problem-count")).to_have_text("0")
    expect(page.locator("#publish")).to_be_enabled()


def test_owner_imports_bare_iso_timers_and_publishes(new_page, tmp_path):
    """Activiti's test models write timers bare: an event-based gateway's PT1S (act1623) and an intermediate timer's
    PT5M, the latter saved under jBPM's and the Eclipse BPMN2 Modeler's .bpmn2. Each opens with no problem and the
    owner can publish it (were refused: "must be quoted", and the .bpmn2 file was not taken at all)."""
    page = new_page("owner")
    bpmn2 = tmp_path / "IntermediateTimerEventTest.bpmn2"
    bpmn2.write_bytes((CORPUS / "activiti-intermediate-timer-catching-event.bpmn").read_bytes())
    for path in (CORPUS / "flowable-activiti-act1623-event-gateway-timer.bpmn", bpmn2):
        page.click("#nav-modeler")
        page.set_input_files("#archive", str(path))
        page.select_option("#import-lane-role", "starter")
        page.click("#import-model")
        expect(page.locator("#canvas")).to_have_attribute("data-ready", "true")
        expect(page.locator("#problem-count")).to_have_text("0")
        expect(page.locator("#publish")).to_be_enabled()
