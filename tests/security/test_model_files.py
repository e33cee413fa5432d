"""Issue 13 §2: no script from a model runs in a user's browser.

A diagram may only use the BPMN, DMN and spiffworkflow vocabularies; anything else is refused at save
and import with the element and its line, and model files are always served as downloads.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from app.engine.models import ProcessModelVersion
from app.engine.publishing import create_draft
from app.engine.xml import ModelXmlError, foreign_content, parse_model_xml
from app.extensions import db
from app.modeler.operations import ImportRefused, export_zip, import_zip
from tests.helpers import user

XHTML_SCRIPT = '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(document.cookie)</h:script>'


def _with_script(xml: str) -> str:
    """The diagram with an XHTML script inserted as the last child of <definitions> (its own line)."""
    return xml.replace("</bpmn:definitions>", f"\n{XHTML_SCRIPT}\n</bpmn:definitions>")


def _line_of_script(xml: str) -> int:
    return xml[: xml.index("<h:script")].count("\n") + 1


@pytest.fixture()
def draft(trial_v1):
    version = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    return version


def test_script_element_is_refused_at_save_with_its_line_and_nothing_is_stored(draft, browser):
    owner = browser("owner")
    before = dict(draft.files)
    evil = _with_script(draft.files["trial.bpmn"])
    response = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": evil}})
    assert response.status_code == 422
    message = response.get_json()["error"]
    assert f"trial.bpmn, line {_line_of_script(evil)}" in message and "h:script" in message
    db.session.refresh(draft)
    assert draft.files == before, "nothing of the refused save is stored"


def test_foreign_attribute_and_stylesheet_instruction_are_refused_at_save(draft, browser):
    owner = browser("owner")
    xml = draft.files["trial.bpmn"]
    with_attr = xml.replace('<bpmn:process id="trial"',
                            '<bpmn:process xmlns:x="urn:evil" x:onload="alert(1)" id="trial"', 1)
    assert with_attr != xml
    response = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": with_attr}})
    assert response.status_code == 422 and "x:onload" in response.get_json()["error"]
    with_pi = xml.replace("<bpmn:definitions", '<?xml-stylesheet type="text/xsl" href="x.xsl"?>\n<bpmn:definitions', 1)
    response = owner.post_json(f"/modeler/versions/{draft.id}/save", {"files": {"trial.bpmn": with_pi}})
    assert response.status_code == 422 and "xml-stylesheet" in response.get_json()["error"]


def test_clean_diagram_still_saves(draft, browser):
    owner = browser("owner")
    clean = {"files": {"trial.bpmn": draft.files["trial.bpmn"]}}
    response = owner.post_json(f"/modeler/versions/{draft.id}/save", clean)
    assert response.status_code == 200 and response.get_json()["saved"] is True


def test_script_element_is_refused_at_zip_import(trial_v1, browser):
    data = export_zip(trial_v1)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            content = src.read(info).decode("utf-8")
            out.writestr(info.filename, _with_script(content) if info.filename.endswith(".bpmn") else content)
    count = db.session.query(ProcessModelVersion).count()
    with pytest.raises(ImportRefused) as err:
        import_zip(buf.getvalue(), user("owner"))
    assert "h:script" in str(err.value) and "trial.bpmn, line" in str(err.value)
    db.session.rollback()
    assert db.session.query(ProcessModelVersion).count() == count

    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(buf.getvalue()), "evil.zip")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200 and "h:script" in response.get_data(as_text=True)


def test_the_engine_parser_refuses_foreign_elements_too():
    xml = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n'
           f'<bpmn:process id="p" isExecutable="true"/>\n{XHTML_SCRIPT}</bpmn:definitions>')
    with pytest.raises(ModelXmlError) as err:
        parse_model_xml(xml.encode(), "p.bpmn")
    assert err.value.line == 3 and "h:script" in str(err.value)


@pytest.mark.parametrize("model_ns,dmndi_ns", [
    ("http://www.omg.org/spec/DMN/20151101/dmn.xsd", None),  # DMN 1.1
    ("http://www.omg.org/spec/DMN/20180521/MODEL/", "http://www.omg.org/spec/DMN/20180521/DMNDI/"),  # 1.2
    ("https://www.omg.org/spec/DMN/20191111/MODEL/", "https://www.omg.org/spec/DMN/20191111/DMNDI/"),  # 1.3
])
def test_dmn_versions_and_their_diagram_namespaces_are_accepted(model_ns, dmndi_ns):
    di = ""
    if dmndi_ns:
        di = (f'<dmndi:DMNDI xmlns:dmndi="{dmndi_ns}" xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/">'
              '<dmndi:DMNDiagram><dmndi:DMNShape dmnElementRef="d"><dc:Bounds x="1" y="1" width="1" height="1"/>'
              '</dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>')
    xml = (f'<definitions xmlns="{model_ns}" xmlns:biodi="http://bpmn.io/schema/dmn/biodi/2.0" id="x" name="x" '
           f'namespace="n"><decision id="d" name="d"><decisionTable id="t"><input id="i" biodi:width="150">'
           f'<inputExpression id="e" typeRef="string"><text>a</text></inputExpression></input>'
           f'<output id="o" name="r" typeRef="string"/></decisionTable></decision>{di}</definitions>')
    assert foreign_content(parse_model_xml(xml.encode(), "t.dmn")) == []


def test_shipped_models_use_only_allowed_namespaces(project_root):
    for path in sorted((project_root / "bpmn").iterdir()):
        tree = etree.parse(str(path))
        assert foreign_content(tree) == [], path.name


def test_draft_file_and_instance_diagram_are_downloads_with_nosniff(world, draft, browser):
    from app.engine.models import ProcessInstance

    owner = browser("owner")
    response = owner.get(f"/modeler/versions/{draft.id}/files/trial.bpmn")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    instance = db.session.query(ProcessInstance).order_by(ProcessInstance.id).first()
    auditor = browser("auditor")
    response = auditor.get(f"/instances/{instance.id}/diagram.bpmn")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("stored", ['ev\r\nSet-Cookie: a=b.bpmn', 'ev"il;x=.bpmn'])
def test_a_published_diagram_with_a_hostile_stored_name_downloads_under_a_safe_name(trial_v1, browser, stored):
    """Found by a security probe: the analytics download put the stored file name into its header raw — a line
    break made it a 500 for every role, a quote ended the file name early. Names stored before the import checked
    them are made safe by the helper every model download uses."""
    files = dict(trial_v1.files)
    files[stored] = files.pop(trial_v1.bpmn_filename)
    trial_v1.files, trial_v1.primary_file = files, stored
    db.session.commit()
    response = browser("owner").get(f"/analytics/processes/{trial_v1.id}/diagram.bpmn")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.count('"') == 2
    assert "\r" not in disposition and "\n" not in disposition and ";x=" not in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
