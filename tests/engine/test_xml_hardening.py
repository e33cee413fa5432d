"""Hardened model XML parsing: no DTDs, no entities, readable syntax errors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from app.engine import xml as model_xml
from app.engine.xml import ModelXmlError, parse_model_xml

HOSTNAME_FILE = Path("/etc/hostname")

MINIMAL_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="minimal" isExecutable="true">
    <bpmn:startEvent id="start" name="{name}"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

XXE_BPMN = MINIMAL_BPMN.replace(
    '<bpmn:definitions', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]>\n<bpmn:definitions', 1
).format(name="Start &e;")

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""


def _hostname() -> str:
    return HOSTNAME_FILE.read_text().strip() if HOSTNAME_FILE.exists() else ""


@pytest.fixture
def without_byte_scan(monkeypatch):
    """Disable the raw-byte pre-scan to prove the post-parse checks hold on their own."""
    monkeypatch.setattr(model_xml, "_scan_raw", lambda data, filename: None)


def test_valid_model_parses_and_feeds_spiff_parser():
    tree = parse_model_xml(MINIMAL_BPMN.format(name="Start").encode("utf-8"), "minimal.bpmn")
    assert isinstance(tree, etree._ElementTree)
    assert tree.getroot().tag == "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_xml(tree, filename="minimal.bpmn")
    spec = parser.get_spec("minimal")
    assert "start" in spec.task_specs


def test_str_input_and_non_ascii_names():
    tree = parse_model_xml(MINIMAL_BPMN.format(name="Бастау — ұсыныс"), "kk.bpmn")
    assert tree.getroot().find(".//{*}startEvent").get("name") == "Бастау — ұсыныс"


def test_external_entity_is_rejected_and_never_read():
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(XXE_BPMN.encode("utf-8"), "xxe.bpmn")
    err = info.value
    assert err.filename == "xxe.bpmn"
    assert err.line == 2
    assert "DOCTYPE" in err.reason
    assert str(err).startswith("xxe.bpmn, line 2: ")
    hostname = _hostname()
    if hostname:
        assert hostname not in str(err)


def test_external_entity_rejected_without_byte_scan(without_byte_scan):
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(XXE_BPMN.encode("utf-8"), "xxe.bpmn")
    assert "DOCTYPE" in info.value.reason
    hostname = _hostname()
    if hostname:
        assert hostname not in str(info.value)


def test_control_plain_lxml_with_entity_resolution_would_leak_the_hostname():
    """Shows the attack file is real: a permissive parser substitutes the file's content."""
    hostname = _hostname()
    if not hostname:
        pytest.skip("no /etc/hostname")
    permissive = etree.XMLParser(resolve_entities=True, no_network=True, load_dtd=True)
    root = etree.fromstring(XXE_BPMN.encode("utf-8"), permissive)  # noqa: S320 - deliberate control
    assert hostname in root.find(".//{*}startEvent").get("name")


@pytest.mark.parametrize("scan", [True, False], ids=["byte-scan", "post-parse-only"])
def test_billion_laughs_is_rejected_quickly(scan, monkeypatch):
    if not scan:
        monkeypatch.setattr(model_xml, "_scan_raw", lambda data, filename: None)
    started = time.monotonic()
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(BILLION_LAUGHS, "lol.bpmn")
    assert time.monotonic() - started < 1.0
    assert "DOCTYPE" in info.value.reason
    assert "lollol" not in str(info.value)


def test_utf16_doctype_is_caught_by_the_byte_scan():
    data = XXE_BPMN.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(data, "xxe16.bpmn")
    assert "DOCTYPE" in info.value.reason
    assert info.value.line == 2


@pytest.mark.parametrize("data", [
    b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
    b'<?xml version="1.0"?>\n<!DOCTYPE a PUBLIC "-//x//y" "a.dtd">\n<a/>',
    b"<?xml version='1.0'?><!DOCTYPE a><a/>",
])
def test_any_doctype_is_rejected(data, without_byte_scan):
    with pytest.raises(ModelXmlError):
        parse_model_xml(data, "dtd.bpmn")


def test_entity_declaration_alone_is_rejected_by_the_byte_scan():
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(b'<a>\n<!ENTITY x "y">\n</a>', "ent.bpmn")
    assert "ENTITY" in info.value.reason
    assert info.value.line == 2


def test_malformed_xml_reports_the_line():
    data = b'<?xml version="1.0"?>\n<definitions>\n  <process id="p">\n  </proces>\n</definitions>\n'
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(data, "broken.bpmn")
    err = info.value
    assert err.filename == "broken.bpmn"
    assert err.line == 4
    assert "well-formed" in err.reason
    assert str(err).startswith("broken.bpmn, line 4: ")


@pytest.mark.parametrize("data", [b"", b"   \n", b"not xml at all", b"<a>"])
def test_garbage_is_a_model_xml_error(data):
    with pytest.raises(ModelXmlError):
        parse_model_xml(data, "junk.bpmn")
