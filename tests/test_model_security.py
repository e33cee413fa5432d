"""Hostile models are rejected cleanly at publish time and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.engine.errors import ModelInvalid
from app.engine.models import ProcessModelVersion
from app.engine.publishing import gather_files, publish_version
from app.extensions import db

SCRIPT_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="evil" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script" name="Script"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script" />
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _versions() -> int:
    return db.session.scalar(select(func.count(ProcessModelVersion.id)))


def _rejected(files: dict) -> list:
    before = _versions()
    with pytest.raises(ModelInvalid) as err:
        publish_version(files)
    db.session.rollback()
    assert _versions() == before
    return err.value.problems


def test_external_entity_is_rejected_and_never_read(app_ctx):
    xml = SCRIPT_MODEL.format(script="x = 1").replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/hostname">]>',
    ).replace('name="Script"', 'name="&e;"')
    problems = _rejected({"evil.bpmn": xml})
    text = " ".join(str(p) for p in problems)
    assert "DOCTYPE" in text or "entit" in text.lower()
    assert open("/etc/hostname").read().strip() not in text


def test_entity_bomb_is_rejected(app_ctx):
    bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10)
    ) + "]>" + SCRIPT_MODEL.split("?>", 1)[1].replace('name="Script"', 'name="&lol9;"')
    problems = _rejected({"bomb.bpmn": bomb})
    assert [(p.filename, p.line, p.element_id, p.message) for p in problems] == [
        ("bomb.bpmn", 1, None, "<!DOCTYPE> declarations are not allowed in model files")]


@pytest.mark.parametrize(("script", "reasons"), [
    ("import os", ["import statements are not allowed"]),
    ("data = open('/etc/hostname').read()", ['calling "open" is not allowed']),
    ("x = ().__class__.__base__.__subclasses__()", ['"__subclasses__" is not allowed: names that start with "_"',
                                                    '"__base__" is not allowed: names that start with "_"',
                                                    '"__class__" is not allowed: names that start with "_"']),
    ("x = __import__('os').system('true')", ['"__import__" is not allowed: names that start with "_"']),
])
def test_dangerous_scripts_are_rejected_with_line(app_ctx, script, reasons):
    problems = _rejected({"evil.bpmn": SCRIPT_MODEL.format(script=script)})
    # every problem is this script task's, on the script's line, and says what was refused
    assert [(p.filename, p.line, p.element_id) for p in problems] == [("evil.bpmn", 5, "script")] * len(reasons)
    for problem, reason in zip(problems, reasons, strict=True):
        assert problem.message.startswith("Script rejected: ") and reason in problem.message, problem.message


def test_the_sandboxs_reasons_are_in_the_readers_language(app_ctx):
    from flask_babel import force_locale

    with force_locale("ru"):
        problems = _rejected({"evil.bpmn": SCRIPT_MODEL.format(script="x = ().__class__")})
    assert [p.message for p in problems] == [
        'Скрипт отклонён: "__class__" не допускается: имена, начинающиеся с "_", — внутренние имена интерпретатора.']


def test_malformed_xml_names_the_line(app_ctx):
    problems = _rejected({"broken.bpmn": "<?xml version='1.0'?>\n<a>\n<b>\n</a>"})
    assert problems[0].line is not None and problems[0].line >= 3


def test_shipped_model_publishes_once_and_is_deduplicated(app_ctx, project_root):
    files = gather_files(project_root / "bpmn" / "monthly_act.bpmn", project_root / "forms")
    assert set(files) >= {"monthly_act.bpmn", "submit-act.schema.json", "accept-act.schema.json", "pay-act.schema.json"}
    version, created = publish_version(files)
    again, created_again = publish_version(files)
    assert created and not created_again and again.id == version.id


def test_unknown_operator_lane_and_form_are_reported(app_ctx, project_root):
    files = gather_files(project_root / "bpmn" / "monthly_act.bpmn", project_root / "forms")
    bpmn = files["monthly_act.bpmn"]
    files["monthly_act.bpmn"] = (bpmn.replace('id="acts/verify"', 'id="acts/nonexistent"')
                                 .replace('name="Operator"', 'name="Janitor"')
                                 .replace('value="pay-act.schema.json"', 'value="missing.schema.json"'))
    messages = " | ".join(p.message for p in _rejected(files))
    assert "Unregistered service operator 'acts/nonexistent'" in messages
    assert "lane 'Janitor'" in messages
    assert "missing.schema.json" in messages
