"""Diagrams of other tools with constructs beyond the basic shapes (tests/data/bpmn_corpus, tapsyrys-*): those the
engine runs do what their author drew — a terminate end ends its subprocess only, a loop stops where its condition
says, a default flow is taken when no condition holds, a timer event subprocess starts while the main flow waits —
and those it cannot run are refused on the element, with the line, in the owner's language.
"""

from __future__ import annotations

import io
from pathlib import Path

from app.engine.specs import validate_files

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bpmn_corpus"


# ---- cancel end events: the engine ended the transaction as if it had succeeded ------------------------------

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"')


def _cancel_model(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" targetNamespace="http://x">\n'
            f'<bpmn:process id="p" isExecutable="true">\n<bpmn:startEvent id="s" />\n{body}\n'
            '<bpmn:userTask id="after" name="After" />\n<bpmn:endEvent id="e" />\n'
            '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="tx" />\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="tx" targetRef="after" />\n'
            '<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e" />\n</bpmn:process>\n</bpmn:definitions>\n')


def test_a_cancel_end_event_nothing_catches_is_refused_in_the_owners_language(app_ctx):
    """Published, the transaction ended at the cancel end event as if it had succeeded and the step after it ran."""
    xml = _cancel_model('<bpmn:transaction id="tx" name="Pay the act"><bpmn:startEvent id="ts" />\n'
                        '<bpmn:endEvent id="cancel"><bpmn:cancelEventDefinition /></bpmn:endEvent>\n'
                        '<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="cancel" /></bpmn:transaction>')
    _parsed, problems = validate_files({"m.bpmn": xml})
    found = [p for p in problems if p.element_id == "cancel"]
    assert len(found) == 1 and found[0].line == 6 and "'Pay the act'" in found[0].message, [str(p) for p in problems]
    with_boundary = xml.replace('<bpmn:userTask id="after"', '<bpmn:boundaryEvent id="b" attachedToRef="tx">'
                                '<bpmn:cancelEventDefinition /></bpmn:boundaryEvent>\n<bpmn:endEvent id="e2" />\n'
                                '<bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="e2" />\n<bpmn:userTask id="after"')
    _parsed, problems = validate_files({"m.bpmn": with_boundary})
    assert not [p for p in problems if p.element_id == "cancel"], [str(p) for p in problems]


def test_a_cancel_end_event_outside_a_transaction_is_refused(app_ctx):
    xml = _cancel_model('<bpmn:subProcess id="tx"><bpmn:startEvent id="ts" />\n'
                        '<bpmn:endEvent id="cancel"><bpmn:cancelEventDefinition /></bpmn:endEvent>\n'
                        '<bpmn:sequenceFlow id="t1" sourceRef="ts" targetRef="cancel" /></bpmn:subProcess>')
    _parsed, problems = validate_files({"m.bpmn": xml})
    assert any(p.element_id == "cancel" and p.line == 6 and "directly inside a transaction" in p.message
               for p in problems), [str(p) for p in problems]


# ---- files that are not BPMN 2.0: one sentence, not one line per element ------------------------------------

def _beta() -> bytes:
    """As Eclipse BPMN2 Modeler 0.x wrote it: the ``bpmn2:`` prefix bound to the beta's namespace."""
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<bpmn2:definitions xmlns:bpmn2="http://schema.omg.org/spec/BPMN/2.0" id="Defs" '
            b'targetNamespace="http://www.jboss.org/drools">\n'
            b'<bpmn2:process id="p" name="Old" isExecutable="true"><bpmn2:startEvent id="s" />'
            b'<bpmn2:userTask id="u" name="Do" /><bpmn2:endEvent id="e" />'
            b'<bpmn2:sequenceFlow id="f1" sourceRef="s" targetRef="u" />'
            b'<bpmn2:sequenceFlow id="f2" sourceRef="u" targetRef="e" /></bpmn2:process>\n'
            b'</bpmn2:definitions>\n')


def test_a_bpmn_beta_file_is_refused_in_one_sentence_naming_the_namespace(world, browser):
    """The BPMN 2.0 beta's namespace (Eclipse BPMN Modeler, early jBPM 5): every element of the file was listed as
    "not allowed here; other tools' elements are kept only inside extensionElements"."""
    owner = browser("owner")
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(_beta()), "old.bpmn"), "lane_role": "starter"},
                          content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "draft of BPMN 2.0" in page and "http://schema.omg.org/spec/BPMN/2.0" in page, page[:3000]
    assert "extensionElements" not in page
    assert "old.bpmn, line 2" in page


def test_a_diagram_without_a_namespace_is_said_to_be_no_bpmn(world, browser):
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n<definitions id="d" targetNamespace="http://x">\n'
            '<process id="p" isExecutable="true"><startEvent id="s" /></process>\n</definitions>\n')
    owner = browser("owner")
    page = owner.post("/modeler/import", {"archive": (io.BytesIO(text.encode()), "plain.bpmn"),
                                          "lane_role": "starter"},
                      content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "not a BPMN 2.0 diagram" in page and "has no namespace" in page, page[:3000]
    assert "extensionElements" not in page

