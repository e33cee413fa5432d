"""Hardened parsing of uploaded BPMN / DMN model XML.

``parse_model_xml(data, filename="model.bpmn") -> lxml.etree._ElementTree``
    Parses with ``XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
    huge_tree=False, remove_blank_text=False, remove_comments=True)`` and rejects any document type
    declaration (``<!DOCTYPE``) or entity declaration (``<!ENTITY``): first by scanning the raw bytes (also with
    NUL bytes removed, which covers UTF-16/UTF-32 encodings) *before* lxml sees them, then by checking
    ``tree.docinfo`` (doctype, internal/external DTD) and looking for entity-reference nodes after
    parsing. Any rejection or syntax error raises :class:`ModelXmlError` (``filename``, ``line``,
    ``reason``; ``str()`` reads ``"model.bpmn, line 3: reason"``). ``data`` may also be ``str``
    (encoded as UTF-8 first).

Handing the tree to SpiffWorkflow 3.2 (signatures verified in ``SpiffWorkflow/bpmn/parser/BpmnParser.py``
and ``SpiffWorkflow/dmn/parser/BpmnDmnParser.py``):

* BPMN: ``SpiffBpmnParser.add_bpmn_xml(bpmn, filename=None)`` - accepts the ``_ElementTree`` returned
  here or its root element; it runs the parser's XSD validator (if any) on it, then adds processes,
  collaborations, messages, signals, errors, escalations and correlations.
* DMN: ``add_dmn_xml(node, filename=None)`` needs the *root element* (it reads ``node.nsmap``), so
  pass ``tree.getroot()``.

Never use the parser's ``add_bpmn_file(s)``/``add_bpmn_str``/``add_dmn_*`` for uploads: they call
lxml with default settings.

A CDATA section or comment containing the literal text ``<!DOCTYPE`` or ``<!ENTITY`` is rejected too
(the raw scan cannot tell); real models do not need either.

Namespaces (issue 16 §1): the BPMN, BPMN DI, DC, DI, DMN 1.1-1.5 with DMNDI, spiffworkflow, XML Schema
instance and bpmn.io colour/column-width namespaces (:data:`ALLOWED_NAMESPACES`) may be used anywhere. Other
tools' *harmless* extensions are kept as the tool wrote them, so a model round-trips through import and
export: elements of any other namespace inside ``extensionElements``, a DI ``extension`` or a
``documentation`` (the only places BPMN 2.0 and DMN allow foreign elements: camunda:, zeebe:, signavio:,
bizagi:, adonis: ...), and attributes of any other namespace on any element (``camunda:asyncBefore``,
``modeler:executionPlatform``). Refused everywhere, with the element and its line:

* elements and attributes of a *script-capable* vocabulary - XHTML, SVG, XSLT, XInclude, XLink, MathML,
  XForms, XUL, XML Events (:data:`DANGEROUS_NAMESPACE`): an ``<h:script>`` or ``<svg:svg onload>`` would
  run in a browser that renders the file, wherever it sits; and foreign attributes named like an event
  handler (``x:onload``);
* foreign elements outside those extension points (not valid BPMN/DMN, and nothing would ever read them);
* processing instructions (``<?xml-stylesheet?>`` would make a browser run XSLT).

:func:`foreign_content` lists what is refused for the save/import checks.

Size limits are left to the caller (e.g. Flask's ``MAX_CONTENT_LENGTH``); ``huge_tree=False`` keeps
lxml's own depth/text-size limits.
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = ["ALLOWED_NAMESPACES", "DANGEROUS_NAMESPACE", "EXTENSION_POINTS", "ForeignContent", "ModelXmlError",
           "foreign_content", "foreign_content_of", "parse_model_xml"]

if etree.LXML_VERSION < (5, 0):  # pragma: no cover - lxml 4.9 resolved external entities by default
    raise ImportError("app.engine.xml requires lxml >= 5")

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

# What bpmn-js/dmn-js write and SpiffWorkflow reads. Data-only vocabularies: none of them has an
# element a browser executes. The DMN model namespaces: the three SpiffWorkflow's DMN parser has schemas for,
# and DMN 1.4 and 1.5, whose decision tables are written the same way: the parser reads the table in whatever
# namespace the file's root declares (``BpmnDmnParser.add_dmn_xml`` maps it to its ``dmn:`` prefix) and the app
# parses without the XSD validator, so it runs them as it runs DMN 1.3.
ALLOWED_NAMESPACES = frozenset({
    "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
    "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/XML/1998/namespace",  # xml:lang, xml:space
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1
    "http://www.omg.org/spec/DMN/20151101",  # DMN 1.1 as Flowable writes it (without the schema's file name)
    "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3
    "https://www.omg.org/spec/DMN/20211108/MODEL/",  # DMN 1.4
    "https://www.omg.org/spec/DMN/20230324/MODEL/",  # DMN 1.5
    "http://www.omg.org/spec/DMN/20180521/DMNDI/",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/",  # DMN 1.3 and 1.4
    "https://www.omg.org/spec/DMN/20230324/DMNDI/",  # DMN 1.5
    "http://www.omg.org/spec/DMN/20180521/DC/",
    "http://www.omg.org/spec/DMN/20180521/DI/",
    "http://bpmn.io/schema/bpmn/biocolor/1.0",  # bpmn-js colours
    "http://www.omg.org/spec/BPMN/non-normative/color/1.0",
    "http://bpmn.io/schema/dmn/biodi/1.0",  # dmn-js column widths
    "http://bpmn.io/schema/dmn/biodi/2.0",
})


#: Namespace URIs of vocabularies a browser (or an XML pipeline) acts on: XHTML, SVG, XSLT, XInclude, XLink,
#: MathML, XForms, XUL, XML Events. Matched loosely (any URI that mentions them, whatever the scheme, case or
#: version), so a near-miss spelling of a dangerous URI is refused too.
DANGEROUS_NAMESPACE = re.compile(
    r"xhtml|/svg|xsl|xinclude|xlink|mathml|xforms|there\.is\.only\.xul|xml-events|/1999/xhtml",
    re.IGNORECASE)

#: A foreign attribute named like an event handler (``x:onload``) is refused whatever its namespace: no tool
#: needs one, and it is the shape an injected script takes.
_EVENT_HANDLER = re.compile(r"on[a-z]", re.IGNORECASE)

#: The namespace of a DMN model (``…/spec/DMN/<date>/MODEL/``, ``…/<date>/dmn.xsd`` or ``…/<date>``), whatever its
#: version: a file in a version that is not allowed is refused once, as a whole, not element by element (Flowable's
#: DMN 1.0 drafts, ``…/DMN/20130901``, met one refusal per element, each naming ``{namespace}definitions``…).
_DMN_MODEL = re.compile(r"omg\.org/spec/DMN/[0-9]+(?:/MODEL/?|/dmn\.xsd)?/?$", re.IGNORECASE)

#: Elements under which BPMN 2.0 / DMN allow foreign (other-namespace) content: a tool's extensions.
EXTENSION_POINTS = frozenset({"extensionElements", "extension", "documentation"})


class ModelXmlError(Exception):
    """A model file that is not acceptable XML; ``line`` is 1-based or None."""

    def __init__(self, filename: str, line: int | None, reason: str):
        self.filename = filename
        self.line = line
        self.reason = reason
        super().__init__(filename, line, reason)

    def __str__(self) -> str:
        where = f"{self.filename}, line {self.line}" if self.line else self.filename
        return f"{where}: {self.reason}"


class ForeignContent:
    """One element, attribute or processing instruction outside :data:`ALLOWED_NAMESPACES`."""

    __slots__ = ("kind", "line", "name")

    def __init__(self, kind: str, name: str, line: int | None):
        self.kind, self.name, self.line = kind, name, line

    def __str__(self) -> str:
        if self.kind == "version":
            return (f"the decision table is written in a DMN version the engine does not know ({self.name}): save it "
                    "as DMN 1.3 (DMN 1.1 to 1.5 are supported)")
        if self.kind == "pi":
            return f"processing instruction <?{self.name}?> is not allowed in model files"
        what = "element" if self.kind in ("element", "placement") else "attribute"
        if self.kind == "placement":
            return (f"element {self.name} is not allowed here: other tools' elements belong inside "
                    "extensionElements")
        return f"{what} {self.name} is not allowed in model files (its namespace can carry scripts)"


def _qualified(tag: str, nsmap: dict) -> str:
    """``{uri}local`` → ``prefix:local`` as the author wrote it (falls back to the URI)."""
    if not tag.startswith("{"):
        return tag
    uri, local = tag[1:].split("}", 1)
    prefix = next((p for p, u in nsmap.items() if u == uri), None)
    return f"{prefix}:{local}" if prefix else f"{{{uri}}}{local}"


def _in_extension_point(node) -> bool:
    """Whether a BPMN/DMN ancestor of ``node`` is an extension point (foreign content is allowed there)."""
    parent = node.getparent()
    while parent is not None:
        uri = etree.QName(parent).namespace
        if uri in ALLOWED_NAMESPACES:
            return etree.QName(parent).localname in EXTENSION_POINTS
        parent = parent.getparent()
    return False


def _dangerous(uri: str | None) -> bool:
    return uri is not None and bool(DANGEROUS_NAMESPACE.search(uri))


def foreign_content(tree) -> list[ForeignContent]:
    """Everything the namespace policy refuses (see the module docstring), in document order.

    ``kind`` is ``"element"``/``"attribute"`` for a script-capable vocabulary, ``"placement"`` for a foreign
    element outside an extension point (an element without a namespace counts as foreign: BPMN and DMN
    have none), ``"pi"`` for a processing instruction. Un-prefixed attributes (``id``, ``name``) are the
    normal case; prefixed attributes of other tools are kept. A DMN file of a version not in
    :data:`ALLOWED_NAMESPACES` is one ``"version"`` entry (its root), not one entry per element it holds;
    script-capable content in it is still listed.
    """
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    found: list[ForeignContent] = []
    root_uri = etree.QName(root).namespace
    unknown_version = root_uri not in ALLOWED_NAMESPACES and bool(_DMN_MODEL.search(root_uri or ""))
    if unknown_version:
        found.append(ForeignContent("version", root_uri, root.sourceline))
    for node in root.getroottree().iter():
        if isinstance(node, etree._ProcessingInstruction):
            found.append(ForeignContent("pi", node.target, node.sourceline))
            continue
        if not isinstance(node.tag, str):  # comments
            continue
        uri = etree.QName(node).namespace
        if _dangerous(uri):
            found.append(ForeignContent("element", _qualified(node.tag, node.nsmap), node.sourceline))
        elif uri not in ALLOWED_NAMESPACES and not unknown_version and not _in_extension_point(node):
            found.append(ForeignContent("placement", _qualified(node.tag, node.nsmap), node.sourceline))
        for attr in node.attrib:
            attr_name = etree.QName(attr)
            foreign = attr_name.namespace not in (None, *ALLOWED_NAMESPACES)
            if _dangerous(attr_name.namespace) or (foreign and _EVENT_HANDLER.match(attr_name.localname)):
                found.append(ForeignContent("attribute", _qualified(attr, node.nsmap), node.sourceline))
    # Siblings of the root (a PI before <definitions>) are not in root.iter().
    for sibling in (*root.itersiblings(preceding=True), *root.itersiblings()):
        if isinstance(sibling, etree._ProcessingInstruction):
            found.append(ForeignContent("pi", sibling.target, sibling.sourceline))
    return found


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_blank_text=False,
        # A comment inside a script or condition (a note a tool or a person left there) ended the text the engine
        # read: "amount = 0<!-- was 5 -->\namount = 5" ran as "amount = 0", the rest skipped without a word. The
        # stored file keeps its comments; the trees read from it have none.
        remove_comments=True,
    )


def _scan_raw(data: bytes, filename: str) -> None:
    """Reject DOCTYPE / ENTITY declarations before lxml parses anything."""
    for candidate in (data, data.replace(b"\x00", b"")):
        match = _FORBIDDEN.search(candidate)
        if match:
            kind = match.group(1).decode("ascii").upper()
            line = candidate.count(b"\n", 0, match.start()) + 1
            raise ModelXmlError(filename, line, f"<!{kind}> declarations are not allowed in model files")


def _check_tree(tree: etree._ElementTree, filename: str) -> None:
    """Second line of defence, independent of the byte scan (e.g. exotic encodings)."""
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ModelXmlError(filename, None, "a DOCTYPE is not allowed in model files")
    for entity in tree.iter(etree.Entity):
        raise ModelXmlError(filename, entity.sourceline, "entity references are not allowed in model files")


def _syntax_line(err: etree.XMLSyntaxError) -> int | None:
    """Line of the error that stopped this parse.

    ``err.error_log`` can also hold entries of earlier parses in the same thread, so prefer the
    exception's own position, then the log's last entry.
    """
    if err.lineno:
        return err.lineno
    last = err.error_log.last_error if err.error_log else None
    return last.line if last is not None and last.line else None


def parse_model_xml(data: bytes, filename: str = "model.bpmn") -> etree._ElementTree:
    """Parse one uploaded model file; raise :class:`ModelXmlError` on anything unsafe or malformed."""
    tree = _parse(data, filename)
    foreign = foreign_content(tree)
    if foreign:
        raise ModelXmlError(filename, foreign[0].line, str(foreign[0]))
    return tree


def foreign_content_of(data: bytes | str, filename: str = "model.bpmn") -> list[ForeignContent]:
    """What :func:`foreign_content` finds in a file; ``[]`` for malformed XML (validation reports that)."""
    try:
        return foreign_content(_parse(data, filename))
    except ModelXmlError:
        return []


def _parse(data: bytes, filename: str) -> etree._ElementTree:
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"model XML must be bytes, not {type(data).__name__}")
    if not data.strip():
        raise ModelXmlError(filename, None, "the file is empty")
    _scan_raw(data, filename)
    parser = _make_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        reason = err.msg or str(err)
        raise ModelXmlError(filename, _syntax_line(err), f"not well-formed XML: {reason}") from None
    except ValueError as err:  # e.g. unsupported encoding declarations
        raise ModelXmlError(filename, None, f"not well-formed XML: {err}") from None
    if root is None:
        raise ModelXmlError(filename, None, "the file contains no XML element")
    tree = root.getroottree()
    _check_tree(tree, filename)
    return tree


# -- what a save must not lose ----------------------------------------------------------------------------------
_DIAGRAM_NAMESPACES = frozenset({
    "http://www.omg.org/spec/BPMN/20100524/MODEL", "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC", "http://www.omg.org/spec/DD/20100524/DI"})
SPIFF_NAMESPACE = "http://spiffworkflow.org/bpmn/schema/1.0/core"
#: Multi-instance data references: SpiffWorkflow writes them as variable names, which the diagram editor
#: cannot resolve as element ids and drops on save.
_DATA_REFERENCES = frozenset({"loopDataInputRef", "loopDataOutputRef", "inputDataItem", "outputDataItem"})


def kept_content(data: bytes | str, editable: frozenset[str] = frozenset()) -> dict[tuple[str, str], int]:
    """What a save of ``data`` must keep, per (owning element id, ``{uri}local`` tag): how many elements of other
    vocabularies (a tool's extensions) and multi-instance data references each element holds — all but the
    SpiffWorkflow extensions the editor's side panel edits (``editable``: local names), which the owner may
    remove there. Malformed XML counts nothing (validation reports it)."""
    try:
        tree = _parse(data, "model")
    except (ModelXmlError, TypeError):
        return {}
    counts: dict[tuple[str, str], int] = {}
    for node in tree.iter():
        if not isinstance(node.tag, str):
            continue
        qname = etree.QName(node)
        foreign = qname.namespace not in _DIAGRAM_NAMESPACES
        if (foreign and qname.namespace == SPIFF_NAMESPACE and qname.localname in editable) or (
                not foreign and qname.localname not in _DATA_REFERENCES):
            continue
        owner = node.getparent()
        while owner is not None and not (owner.get("id") and etree.QName(owner).namespace in _DIAGRAM_NAMESPACES):
            owner = owner.getparent()
        if owner is not None:
            key = (owner.get("id"), node.tag)
            counts[key] = counts.get(key, 0) + 1
    return counts


def lost_content(before: bytes | str, after: bytes | str, editable: frozenset[str] = frozenset(),
                 ) -> list[tuple[str, str, int]]:
    """(element id, tag, how many) that ``after`` no longer holds of what :func:`kept_content` counts in
    ``before``, for elements still in ``after`` (deleting an element takes its extensions with it). Tags are
    compared by namespace URI, whatever prefix each file gives it, and reported as ``prefix:local``."""
    old = kept_content(before, editable)
    if not old:
        return []
    try:
        ids = {el.get("id") for el in _parse(after, "model").iter() if isinstance(el.tag, str)}
    except (ModelXmlError, TypeError):
        return []
    new = kept_content(after, editable)
    prefixes = {v: k for k, v in _parse(before, "model").getroot().nsmap.items() if k}
    lost = []
    for (owner, tag), count in sorted(old.items()):
        if owner in ids and new.get((owner, tag), 0) < count:
            uri, local = tag[1:].split("}", 1) if tag.startswith("{") else ("", tag)
            shown = f"{prefixes[uri]}:{local}" if uri in prefixes else local
            lost.append((owner, shown, count - new.get((owner, tag), 0)))
    return lost
