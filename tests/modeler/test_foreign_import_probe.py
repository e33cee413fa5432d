"""What the fourth foreign-model probe found importing public test models (Activiti, jBPM, Camunda, bpmn-js; the
files and their sources in tests/data/bpmn_corpus/SOURCES.md)."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.engine.models import ProcessModelVersion
from app.engine.specs import validate_files
from app.extensions import db

_CALL = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:activiti="http://activiti.org/bpmn"
             targetNamespace="Examples">
  <process id="callActivity" isExecutable="true">
    <startEvent id="start" />
    <callActivity id="callactivity" name="Check the school" calledElement="processId" />
    <endEvent id="end" />
    <sequenceFlow id="f1" sourceRef="start" targetRef="callactivity" />
    <sequenceFlow id="f2" sourceRef="callactivity" targetRef="end" />
  </process>
</definitions>
"""


def test_a_missing_called_process_is_said_once_on_its_call_activity(app_ctx):
    """Activiti's converter test model callactivity.bpmn (33 files of the probe): the problem came twice, once on
    the call activity with its line and once more in the engine's words with neither element nor line."""
    _parsed, problems = validate_files({"call.bpmn": _CALL}, lane_role="starter")
    said = [(p.element_id, p.line) for p in problems if "'processId' is not part of the model" in p.message]
    assert said == [("callactivity", 6)], [str(p) for p in problems]


def test_a_jbpm_bpmn2_file_imports_as_a_diagram(world, browser):
    """jBPM and the Eclipse BPMN2 Modeler save diagrams as .bpmn2 (343 of the probe's 395 jBPM test models): the
    import page answered "Choose a .zip model folder or a .bpmn diagram" and stored nothing."""
    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(_CALL.encode()), "BPMN2-CallActivity.bpmn2"),
                                              "lane_role": "starter"}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert "/modeler/versions/" in response.headers["Location"], response.headers["Location"]
    draft = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "draft")).one()
    assert "BPMN2-CallActivity.bpmn" in draft.files, sorted(draft.files)


def test_a_jbpm_java_script_is_refused_on_its_task(app_ctx):
    """jBPM's BPMN2-IntermediateCatchEventTimerDurationISO (and 88 more of the probe's files) write a Java script with
    no scriptFormat, System.out.println("Timer triggered"); — it reads as Python, published with a notice only, and
    the trial run failed at the script task (NameError: System)."""
    from pathlib import Path

    name = "jbpm-intermediate-catch-timer-duration-iso.bpmn"
    text = (Path(__file__).resolve().parent.parent / "data" / "bpmn_corpus" / name).read_text(encoding="utf-8")
    _parsed, problems = validate_files({name: text}, lane_role="starter")
    assert [(p.element_id, p.line) for p in problems] == [("_4", 28)], [str(p) for p in problems]
    assert "This script is Java (System...," in problems[0].message
    text = text.replace('System.out.println("Timer triggered");', "triggered = True")
    _parsed, problems = validate_files({name: text}, lane_role="starter")
    assert problems == [], [str(p) for p in problems]


def test_the_model_list_asks_the_same_queries_for_many_models(world, browser):
    """After the probe's 1,109 imports the model list (where a refused import lands) took 2-7 s: four queries per
    model, each version's files loaded to show its number. The page now asks as many queries for 13 models as for 3."""
    from app.engine.publishing import create_model
    from tests.helpers import statements_of, user

    owner = browser("owner")

    def page_queries() -> int:
        found = statements_of(lambda: owner.get("/modeler/"))
        return len(found)

    def add(n: int) -> None:
        for i in range(n):
            create_model(f"probe_model_{len(owner_models)}_{i}", f"Probe model {i}", user("owner"))
        owner_models.append(n)
        db.session.commit()

    owner_models: list[int] = []
    add(3)
    few = page_queries()
    add(10)
    many = page_queries()
    assert many == few, (few, many)
    page = owner.get("/modeler/").get_data(as_text=True)
    assert "Probe model 9" in page and "v1" in page
