"""A model carries its names in every language (issue 16 §2), and the pages, e-mails and API use them.

The process owner writes ``name.kk`` / ``name.ru`` / ``name.en`` properties on an element (the modeler's side
panel does it); once the version is published, a reader of that language sees those names in the inbox, the
history, the process lists, the diagram viewer, the e-mails and the API — and the catalogue's words where the
model gives none.
"""

from __future__ import annotations

from lxml import etree
from sqlalchemy import select

from app.engine.models import ProcessModel
from app.engine.names import localized_diagram, model_names
from app.engine.publishing import create_draft, publish_draft
from app.extensions import db
from app.notifications.operations import email_fields
from tests.helpers import act_of_school, open_task, user

SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
KK_TASK, RU_TASK = "Ай сайынғы актіні тапсыру (модельден)", "Сдать ежемесячный акт (из модели)"
KK_PROCESS = "Айлық акт (модельден)"

TINY = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:spiffworkflow="{SPIFF}" id="d" targetNamespace="t">
  <bpmn:process id="p" name="Pay act" isExecutable="true">
    <bpmn:userTask id="t1" name="Accept act">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="f.schema.json" />
        <spiffworkflow:property name="name.kk" value="Қабылдау (өз атауы)" />
        <spiffworkflow:property name="name.ru" value="Принять (своё название)" />
        <spiffworkflow:property name="name.de" value="ignored: not one of our languages" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="e1" name="Written only" />
  </bpmn:process>
</bpmn:definitions>"""


def test_names_per_language_are_read_from_the_spiffworkflow_properties():
    assert model_names({"m.bpmn": TINY, "f.schema.json": "{}"}) == {
        "t1": {"": "Accept act", "kk": "Қабылдау (өз атауы)", "ru": "Принять (своё название)"}}


def test_the_viewer_gets_the_models_own_name_else_the_catalogues_else_the_written_one():
    out = etree.fromstring(localized_diagram(TINY, "kk", lambda name: f"«{name}»" if name == "Pay act" else name)
                           .encode("utf-8"))
    names = {el.get("id"): el.get("name") for el in out.iter() if isinstance(el.tag, str) and el.get("id")}
    assert names["t1"] == "Қабылдау (өз атауы)" and names["p"] == "«Pay act»" and names["e1"] == "Written only"
    assert localized_diagram(TINY, "en") == TINY, "nothing to change: the stored bytes as they are"


def _publish_monthly_act_with_own_names():
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    latest = max((v for v in model.versions if v.status == "published"), key=lambda v: v.number)
    files = dict(latest.files)
    root = etree.fromstring(files["monthly_act.bpmn"].encode("utf-8"))
    task = root.find(f".//{{{BPMN}}}userTask[@id='submit_act']")
    props = task.find(f"./{{{BPMN}}}extensionElements/{{{SPIFF}}}properties")
    for lang, value in (("kk", KK_TASK), ("ru", RU_TASK)):
        etree.SubElement(props, f"{{{SPIFF}}}property", name=f"name.{lang}", value=value)
    process = root.find(f"{{{BPMN}}}process")
    extension = etree.Element(f"{{{BPMN}}}extensionElements")
    holder = etree.SubElement(extension, f"{{{SPIFF}}}properties")
    etree.SubElement(holder, f"{{{SPIFF}}}property", name="name.kk", value=KK_PROCESS)
    process.insert(0, extension)
    files["monthly_act.bpmn"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
    draft = create_draft(model, user("owner"), files=files)
    publish_draft(draft, user("owner"))
    db.session.commit()


def _in_kazakh(browser, username):
    person = browser(username)
    person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    person.post("/locale", {"locale": "kk", "next": "/"})
    return person


def test_a_published_models_own_names_reach_the_inbox_lists_diagram_email_and_api(world, browser):
    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    _publish_monthly_act_with_own_names()

    accountant = _in_kazakh(browser, "accountant")
    assert KK_TASK in accountant.get("/inbox").get_data(as_text=True)
    assert KK_TASK in accountant.get(f"/tasks/{task.id}").get_data(as_text=True)
    diagram = accountant.get(f"/instances/{act.instance_id}/diagram.bpmn").get_data(as_text=True)
    assert f'name="{KK_TASK}"' in diagram and 'name="Submit monthly act"' not in diagram
    assert KK_PROCESS in _in_kazakh(browser, "owner").get("/modeler/").get_data(as_text=True)
    assert [t["title_localized"] for t in accountant.get("/api/v1/tasks").get_json()] == [KK_TASK]

    russian = user("accountant")
    russian.locale = "ru"
    mail = email_fields(russian, "task_created", {"spec_name": "submit_act", "task": "Submit monthly act",
                                                  "subject": act.number})
    assert mail["subject"] == f"Tapsyrys: Новая задача: {RU_TASK} — {act.number}"

    english = browser("accountant")
    english.post("/locale", {"locale": "en", "next": "/"})
    assert "Submit monthly act" in english.get("/inbox").get_data(as_text=True), "no English name: as written"


def test_the_side_panel_edits_the_names_in_every_language(world, browser):
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    page = browser("owner").get(f"/modeler/versions/{model.versions[0].id}").get_data(as_text=True)
    assert '"nameLanguages": ["kk", "ru", "en"]' in page and "bpmn-translate.js" in page


def test_the_labels_of_a_gateways_flows_are_in_the_readers_language(world, browser):
    # The acceptance gateway's flows read "accepted" and "returned" in English on a Kazakh or Russian page.
    act = act_of_school("Bilim Innovation School")
    diagram = _in_kazakh(browser, "accountant").get(f"/instances/{act.instance_id}/diagram.bpmn").get_data(as_text=True)
    assert 'name="қабылданды"' in diagram and 'name="қайтарылды"' in diagram
    assert 'name="accepted"' not in diagram and 'name="returned"' not in diagram


def test_a_shipped_step_an_owner_renamed_is_shown_by_its_new_name(app_ctx):
    """"Accept act" renamed "Accept act (checked)" and published: the inbox and the task page still said "Accept
    act" in every language (the catalogue's title for the step's id won over the model's own name)."""
    from flask_babel import force_locale

    from app.ui import task_label

    with force_locale("ru"):
        assert task_label("accept_act", "Accept act") == "Принять акт"
        assert task_label("accept_act", "Accept act (checked)") == "Accept act (checked)"
    with force_locale("en"):
        assert task_label("pay_act", "Pay the school") == "Pay the school"
        assert task_label("pay_act", "Pay act") == "Pay act"


def test_the_side_panel_names_the_lanes_roles_in_the_readers_language(world, browser):
    """Users probe: the side panel's lane list read "Department official", "Operator" … on a Russian page."""
    import json
    import re

    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "monthly_act")).one()
    owner = browser("owner")
    owner.post("/locale", {"locale": "ru", "next": "/"})
    page = owner.get(f"/modeler/versions/{model.versions[0].id}").get_data(as_text=True)
    config = json.loads(re.search(r'id="modeler-config">(.*?)</script>', page, re.S).group(1))
    labels = config["laneLabels"]
    assert set(labels) == set(config["lanes"])
    assert "Department official" in labels and re.search(r"[а-яА-Я]", labels["Department official"])
    assert not [lane for lane, label in labels.items() if label == lane and re.fullmatch(r"[A-Za-z ]+", lane)]
