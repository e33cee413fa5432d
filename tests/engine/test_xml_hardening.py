"""Hardened model XML parsing: no DTDs, no entities, readable syntax errors."""

from __future__ import annotations

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
    if len(hostname) >= 4:  # a very short hostname could appear in any message by chance
        assert hostname not in str(err)


SECRET = "TOP-SECRET-7d1c9a"


def _xxe_text_bpmn(secret_file: Path) -> bytes:
    """External entity used in element text (lxml >= 5 already refuses it inside attributes)."""
    doc = MINIMAL_BPMN.format(name="Start").replace(
        "<bpmn:definitions",
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret_file.as_uri()}">]>\n<bpmn:definitions', 1,
    ).replace('isExecutable="true">', 'isExecutable="true">\n<bpmn:documentation>&e;</bpmn:documentation>', 1)
    return doc.encode("utf-8")


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def test_control_permissive_lxml_would_leak_the_file(secret_file):
    """Shows the attack file is real: a parser resolving entities substitutes the file's content."""
    permissive = etree.XMLParser(resolve_entities=True, load_dtd=True)
    root = etree.fromstring(_xxe_text_bpmn(secret_file), permissive)  # noqa: S320 - deliberate control
    assert SECRET in etree.tostring(root, encoding="unicode")


@pytest.mark.parametrize("scan", [True, False], ids=["byte-scan", "post-parse-only"])
def test_external_entity_in_text_is_rejected_and_never_read(scan, secret_file, monkeypatch):
    if not scan:
        monkeypatch.setattr(model_xml, "_scan_raw", lambda data, filename: None)
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(_xxe_text_bpmn(secret_file), "xxe.bpmn")
    assert "DOCTYPE" in info.value.reason
    assert SECRET not in str(info.value)


def test_external_entity_in_attribute_rejected_without_byte_scan(without_byte_scan):
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(XXE_BPMN.encode("utf-8"), "xxe.bpmn")
    assert info.value.line == 6  # lxml itself refuses the attribute reference
    hostname = _hostname()
    if len(hostname) >= 4:  # a very short hostname could appear in any message by chance
        assert hostname not in str(info.value)


@pytest.mark.parametrize("scan", [True, False], ids=["byte-scan", "post-parse-only"])
def test_billion_laughs_is_rejected_quickly(scan, monkeypatch):
    """A size budget, not a stopwatch: no expanded tree is ever built, whatever the machine's load."""
    parsed_sizes: list[int] = []
    check_tree = model_xml._check_tree

    def measuring_check(tree, filename):
        parsed_sizes.append(len(etree.tostring(tree)))
        return check_tree(tree, filename)

    monkeypatch.setattr(model_xml, "_check_tree", measuring_check)
    if not scan:
        monkeypatch.setattr(model_xml, "_scan_raw", lambda data, filename: None)
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(BILLION_LAUGHS, "lol.bpmn")
    if scan:
        assert (info.value.line, info.value.reason) == (2, "<!DOCTYPE> declarations are not allowed in model files")
        assert parsed_sizes == [], "refused from the bytes: lxml never parsed the file"
    else:
        # without the scan libxml2's amplification limit stops the parse: no tree is ever built
        assert info.value.reason.startswith("not well-formed XML: Maximum entity amplification factor exceeded")
        assert parsed_sizes == []
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
