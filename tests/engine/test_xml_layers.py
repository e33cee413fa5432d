"""Each defence of the model XML parser on its own (issue 17: a mutation score on app/engine/xml.py).

The defences are layered: a scan of the raw bytes for ``<!DOCTYPE``/``<!ENTITY``, a parser that loads,
resolves, validates and fetches nothing, a check of the parsed tree, and an allow-list of namespaces. The
attacks in test_xml_hardening.py go through the whole stack, so one broken layer is hidden by the next;
here every layer meets the attack alone (the others switched off or bypassed), so weakening any one of them
fails a test. Assertions are about behaviour (refused or accepted, which element, which line), not wording.
"""

from __future__ import annotations

import copy
import re
from types import SimpleNamespace

import pytest
from lxml import etree

from app.engine import xml as model_xml
from app.engine.xml import ModelXmlError, foreign_content, foreign_content_of, parse_model_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"

DIAGRAM = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN}"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:bioc="http://bpmn.io/schema/bpmn/biocolor/1.0"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" name="Бастау" bioc:stroke="#000" />
    <bpmn:scriptTask id="t"><bpmn:extensionElements><spiffworkflow:postScript>x = 1</spiffworkflow:postScript>
    </bpmn:extensionElements></bpmn:scriptTask>
    <!-- a comment is not content -->
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
    <bpmndi:BPMNShape id="s" bpmnElement="start"><dc:Bounds x="1" y="2" width="3" height="4" /></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]+", text))


def _sentence(reason) -> bool:
    """A reason is readable text for the modeller: a non-empty string, not shouted in capitals."""
    return isinstance(reason, str) and bool(reason.strip()) and reason != reason.upper()


# ---- the error object ------------------------------------------------------------------------------


def test_the_error_carries_file_line_and_reason_and_reads_file_comma_line():
    err = ModelXmlError("a.bpmn", 7, "why")
    assert (err.filename, err.line, err.reason) == ("a.bpmn", 7, "why")
    assert err.args == ("a.bpmn", 7, "why")
    assert str(err) == "a.bpmn, line 7: why"


def test_an_error_without_a_line_names_only_the_file():
    err = ModelXmlError("a.bpmn", None, "why")
    assert err.args == ("a.bpmn", None, "why")
    assert str(err) == "a.bpmn: why"


# ---- layer 1: the byte scan -------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "kind", "line"), [
    (b"<!DOCTYPE a>", "DOCTYPE", 1),
    (b"<a/>\n\n<!doctype a>", "DOCTYPE", 3),
    (b"<?xml version='1.0'?>\n<!  DocType a>", "DOCTYPE", 2),
    (b'<a>\n<!ENTITY x "y">', "ENTITY", 2),
    (b'\n\n\n<!entity x "y">', "ENTITY", 4),
    (b"<!--\n-->\n<!ENTITY x 'y'><!DOCTYPE a>", "ENTITY", 3),  # the first one found is reported
])
def test_the_byte_scan_refuses_declarations_in_any_case_and_spacing_with_their_line(data, kind, line):
    with pytest.raises(ModelXmlError) as info:
        model_xml._scan_raw(data, "scan.bpmn")
    assert (info.value.filename, info.value.line) == ("scan.bpmn", line)
    assert kind in _words(info.value.reason), "the reason names the declaration in capitals"


def test_the_byte_scan_sees_through_utf16_and_counts_its_lines():
    data = "<?xml version='1.0' encoding='UTF-16'?>\n<a>\n<!DOCTYPE a>".encode("utf-16-le")
    assert not model_xml._FORBIDDEN.search(data), "the raw bytes alone do not match (NULs in between)"
    with pytest.raises(ModelXmlError) as info:
        model_xml._scan_raw(data, "wide.bpmn")
    assert info.value.line == 3
    assert "DOCTYPE" in _words(info.value.reason)


@pytest.mark.parametrize("data", [
    DIAGRAM.encode(), b"<a>DOCTYPE ENTITY</a>", b"<a><![CDATA[! DOCTYPE]]></a>", b"<a>&lt;!DOCTYPE</a>",
])
def test_the_byte_scan_lets_ordinary_documents_through(data):
    assert model_xml._scan_raw(data, "ok.bpmn") is None


# ---- layer 2: the parser (what it loads, resolves and allows), used alone ---------------------------


@pytest.fixture()
def external_dtd(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ELEMENT a (b)>\n<!ELEMENT b EMPTY>\n<!ATTLIST a injected CDATA "yes">\n'
                   '<!ENTITY ext "from-the-dtd">\n')
    return dtd


def test_the_parser_does_not_expand_internal_entities():
    root = etree.fromstring(b'<!DOCTYPE a [<!ENTITY e "boom">]>\n<a>&e;</a>', model_xml._make_parser())
    assert root.text is None
    assert [e.name for e in root.iter(etree.Entity)] == ["e"], "the reference stays a reference"
    assert b"boom" not in etree.tostring(root)


def test_the_parser_loads_no_external_dtd_applies_no_defaults_and_validates_nothing(external_dtd):
    doc = f'<!DOCTYPE a SYSTEM "{external_dtd.as_uri()}">\n<a>&ext;</a>'.encode()
    root = etree.fromstring(doc, model_xml._make_parser())
    tree = root.getroottree()
    assert tree.docinfo.externalDTD is None, "the external DTD was not read"
    assert root.attrib == {}, "no attribute defaults from a DTD"
    assert b"from-the-dtd" not in etree.tostring(root)
    assert [e.name for e in root.iter(etree.Entity)] == ["ext"]  # kept, neither resolved nor an error


def test_the_parser_keeps_libxml2s_depth_limit():
    deep = b"<a>" * 300 + b"</a>" * 300
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(deep, model_xml._make_parser())
    shallow = b"<a>" * 200 + b"</a>" * 200
    assert etree.fromstring(shallow, model_xml._make_parser()).tag == "a"


def test_a_too_deep_model_is_refused_with_its_line():
    deep = b"<a>\n" * 300 + b"</a>" * 300
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(deep, "deep.bpmn")
    assert info.value.line == 257


def test_the_parser_keeps_whitespace_as_written():
    root = etree.fromstring(b"<a>\n  <b/>\n</a>", model_xml._make_parser())
    assert root.text == "\n  " and root[0].tail == "\n"
    tree = parse_model_xml(DIAGRAM, "ws.bpmn")
    assert tree.getroot().find(f"{{{BPMN}}}process").text == "\n    "


# ---- layer 3: the check of the parsed tree, on trees a permissive parser built ----------------------


@pytest.mark.parametrize("doc", [
    b"<!DOCTYPE a><a/>",
    b"<!DOCTYPE a [<!ELEMENT a EMPTY>]><a/>",
    b'<!DOCTYPE a SYSTEM "a.dtd"><a/>',
    b'<!DOCTYPE a PUBLIC "-//x//y" "a.dtd"><a/>',
])
def test_the_tree_check_refuses_any_doctype(doc):
    tree = etree.fromstring(doc, etree.XMLParser(resolve_entities=False)).getroottree()
    with pytest.raises(ModelXmlError) as info:
        model_xml._check_tree(tree, "dtd.bpmn")
    assert (info.value.filename, info.value.line) == ("dtd.bpmn", None)
    assert "DOCTYPE" in _words(info.value.reason) and _sentence(info.value.reason)


def test_the_tree_check_refuses_an_entity_reference_even_without_a_doctype():
    parsed = etree.fromstring(b'<!DOCTYPE a [<!ENTITY e "boom">]>\n<a><b>&e;</b></a>',
                              etree.XMLParser(resolve_entities=False))
    orphan = copy.deepcopy(parsed)  # the same elements in a new document that has no DOCTYPE
    assert orphan.getroottree().docinfo.doctype == ""
    with pytest.raises(ModelXmlError) as info:
        model_xml._check_tree(orphan.getroottree(), "ent.bpmn")
    assert info.value.filename == "ent.bpmn"
    assert "entity" in {w.lower() for w in _words(info.value.reason)}
    assert "DOCTYPE" not in _words(info.value.reason), "refused as an entity, not as a DOCTYPE"
    assert _sentence(info.value.reason)


def test_the_tree_check_passes_a_clean_tree():
    tree = etree.fromstring(DIAGRAM.encode()).getroottree()
    assert model_xml._check_tree(tree, "ok.bpmn") is None


def test_with_the_byte_scan_off_a_doctype_is_still_refused_after_parsing(monkeypatch):
    monkeypatch.setattr(model_xml, "_scan_raw", lambda data, filename: None)
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(b"<?xml version='1.0'?>\n<!DOCTYPE a>\n<a/>", "late.bpmn")
    assert (info.value.filename, info.value.line) == ("late.bpmn", None)
    assert "DOCTYPE" in _words(info.value.reason)


# ---- syntax errors and their line --------------------------------------------------------------------


def test_the_line_of_a_syntax_error_is_its_own_then_the_logs_last():
    log = SimpleNamespace(last_error=SimpleNamespace(line=9))
    assert model_xml._syntax_line(SimpleNamespace(lineno=4, error_log=log)) == 4
    assert model_xml._syntax_line(SimpleNamespace(lineno=0, error_log=log)) == 9
    assert model_xml._syntax_line(SimpleNamespace(lineno=None, error_log=log)) == 9
    assert model_xml._syntax_line(SimpleNamespace(lineno=0, error_log=[])) is None
    assert model_xml._syntax_line(SimpleNamespace(
        lineno=0, error_log=SimpleNamespace(last_error=None))) is None
    assert model_xml._syntax_line(SimpleNamespace(
        lineno=0, error_log=SimpleNamespace(last_error=SimpleNamespace(line=0)))) is None


@pytest.mark.parametrize(("data", "line"), [
    (b"<a>\n<b>\n</a>", 3),
    (b"<a>\n\n\n<b x='1' x='2'/></a>", 4),
    (b"<?xml version='1.0' encoding='no-such-encoding'?>\n<a/>", 1),
    (b"<a/>\n<b/>", 2),
])
def test_malformed_xml_is_refused_at_its_line_without_the_parsers_noise(data, line):
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(data, "bad.bpmn")
    assert (info.value.filename, info.value.line) == ("bad.bpmn", line)
    assert str(info.value).startswith(f"bad.bpmn, line {line}: ")
    assert "(<string>, line" not in info.value.reason, "libxml2's own position suffix is not repeated"
    assert info.value.__cause__ is None and info.value.__suppress_context__


# ---- input types and empty input ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [DIAGRAM, DIAGRAM.encode(), bytearray(DIAGRAM.encode()),
                                  memoryview(DIAGRAM.encode())])
def test_text_bytes_bytearray_and_memoryview_are_accepted(data):
    tree = parse_model_xml(data, "ok.bpmn")
    assert tree.getroot().tag == f"{{{BPMN}}}definitions"
    assert tree.getroot().find(".//{*}startEvent").get("name") == "Бастау"
    assert isinstance(tree, etree._ElementTree)


@pytest.mark.parametrize("data", [None, 12, ["<a/>"]])
def test_other_types_are_a_programming_error(data):
    with pytest.raises(TypeError, match=re.escape(type(data).__name__)):
        parse_model_xml(data, "x.bpmn")


@pytest.mark.parametrize("data", [b"", b"  \n\t", "", "\n"])
def test_an_empty_file_is_refused_without_a_line(data):
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(data, "empty.bpmn")
    assert (info.value.filename, info.value.line) == ("empty.bpmn", None)
    assert _sentence(info.value.reason)


def test_the_default_file_name_is_model_bpmn():
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(b"")
    assert info.value.filename == "model.bpmn"


# ---- layer 4: the namespace allow-list --------------------------------------------------------------


def test_a_bpmn_js_diagram_with_colours_di_and_spiff_extensions_is_accepted():
    tree = parse_model_xml(DIAGRAM, "ok.bpmn")
    assert foreign_content(tree) == []
    assert foreign_content(tree.getroot()) == [], "a root element is accepted as well as its tree"


def _foreign(text: str) -> list[tuple[str, str, int]]:
    return [(f.kind, f.name, f.line) for f in foreign_content(etree.fromstring(text.encode()).getroottree())]


def test_a_foreign_element_is_found_by_its_prefix_as_written_and_its_line():
    doc = DIAGRAM.replace("<!-- a comment", '<h:script xmlns:h="http://www.w3.org/1999/xhtml">x</h:script>\n'
                                            "    <!-- a comment")
    assert _foreign(doc) == [("element", "h:script", _line_of(doc, "<h:script"))]


def test_a_foreign_element_in_a_default_namespace_is_named_by_its_uri():
    doc = DIAGRAM.replace("<!-- a comment", '<svg xmlns="http://www.w3.org/2000/svg"/>\n    <!-- a comment')
    assert _foreign(doc) == [("element", "{http://www.w3.org/2000/svg}svg", _line_of(doc, "<svg"))]


def test_an_element_without_a_namespace_is_foreign_an_attribute_without_one_is_not():
    # Not script-capable, but outside any extension point: refused as misplaced ("placement").
    assert _foreign('<root/>') == [("placement", "root", 1)]
    doc = f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" name="n">\n<bpmn:process id="p"/>\n</bpmn:definitions>'
    assert _foreign(doc) == []


def test_a_foreign_attribute_is_found_on_an_allowed_element():
    doc = DIAGRAM.replace('<bpmn:process id="p"', '<bpmn:process xmlns:x="urn:evil" x:onload="alert(1)" id="p"')
    assert _foreign(doc) == [("attribute", "x:onload", _line_of(doc, "<bpmn:process"))]


def test_xml_lang_and_xsi_attributes_are_allowed():
    doc = DIAGRAM.replace('<bpmn:process id="p"', '<bpmn:process xml:lang="kk" '
                          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="bpmn:tProcess" id="p"')
    assert _foreign(doc) == []


def test_processing_instructions_inside_and_beside_the_root_are_found():
    doc = DIAGRAM.replace("<bpmn:definitions", '<?xml-stylesheet href="x.xsl"?>\n<bpmn:definitions', 1)
    doc = doc.replace("<!-- a comment", "<?php echo 1; ?>\n    <!-- a comment")
    doc = doc + "<?after x?>\n"
    assert _foreign(doc) == [
        ("pi", "php", _line_of(doc, "<?php")),
        ("pi", "xml-stylesheet", 2),
        ("pi", "after", _line_of(doc, "<?after")),
    ]


def test_the_search_goes_on_after_comments_and_instructions():
    doc = DIAGRAM.replace("<!-- a comment is not content -->",
                          '<!-- c1 -->\n<?pi one?>\n<!-- c2 -->\n<h:b xmlns:h="http://www.w3.org/1999/xhtml"/>')
    assert _foreign(doc) == [("pi", "pi", _line_of(doc, "<?pi")), ("element", "h:b", _line_of(doc, "<h:b"))]


def test_the_first_foreign_thing_is_refused_with_its_line_and_name():
    doc = DIAGRAM.replace('<bpmn:startEvent id="start"',
                          '<bpmn:startEvent xmlns:x="urn:evil" x:onclick="1" id="start"')
    doc = doc.replace("<!-- a comment", '<h:script xmlns:h="http://www.w3.org/1999/xhtml"/>\n    <!-- a comment')
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(doc, "evil.bpmn")
    assert (info.value.filename, info.value.line) == ("evil.bpmn", _line_of(doc, "x:onclick"))
    assert "x:onclick" in info.value.reason
    assert [f.name for f in foreign_content_of(doc, "evil.bpmn")] == ["x:onclick", "h:script"]


def test_foreign_content_of_malformed_xml_is_nothing():
    assert foreign_content_of(b"<a><b></a>", "bad.bpmn") == []
    assert foreign_content_of(b"", "bad.bpmn") == []


def test_each_kind_of_foreign_content_says_what_it_is():
    element = model_xml.ForeignContent("element", "h:script", 3)
    attribute = model_xml.ForeignContent("attribute", "x:onload", 4)
    pi = model_xml.ForeignContent("pi", "xml-stylesheet", 5)
    assert (element.kind, element.name, element.line) == ("element", "h:script", 3)
    assert "h:script" in str(element) and "element" in _words(str(element))
    assert "attribute" not in _words(str(element))
    assert "x:onload" in str(attribute) and "attribute" in _words(str(attribute))
    assert "element" not in _words(str(attribute))
    assert "<?xml-stylesheet?>" in str(pi)
    assert _words(str(pi)).isdisjoint({"element", "attribute"})


def test_qualified_names_use_the_authors_prefix_or_the_uri():
    assert model_xml._qualified("plain", {}) == "plain"
    assert model_xml._qualified("{urn:a}x", {"p": "urn:b", "q": "urn:a"}) == "q:x"
    assert model_xml._qualified("{urn:a}x", {None: "urn:a"}) == "{urn:a}x"
    assert model_xml._qualified("{urn:a}x}y", {"p": "urn:a"}) == "p:x}y"
    assert model_xml._qualified("{urn:a}x", {}) == "{urn:a}x"


# ---- the parser's other ways out, forced (lxml does not take them for bytes today) ------------------


def test_a_value_error_from_the_parser_is_a_model_error_naming_the_file(monkeypatch):
    def refuse(data, parser):
        raise ValueError("unsupported encoding declaration")

    monkeypatch.setattr(model_xml.etree, "fromstring", refuse)
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(b"<a/>", "odd.bpmn")
    assert (info.value.filename, info.value.line) == ("odd.bpmn", None)
    assert "unsupported encoding declaration" in info.value.reason
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_parse_without_a_root_element_is_a_model_error_naming_the_file(monkeypatch):
    monkeypatch.setattr(model_xml.etree, "fromstring", lambda data, parser: None)
    with pytest.raises(ModelXmlError) as info:
        parse_model_xml(b"<a/>", "rootless.bpmn")
    assert (info.value.filename, info.value.line) == ("rootless.bpmn", None)
    assert _sentence(info.value.reason) and "XML" in _words(info.value.reason)
