"""Element and process names per language, kept in the model itself.

A BPMN element has one ``name``: the one its author wrote. Its names in the other languages are properties of
the element in the spiffworkflow extension the modeler already writes, so a model carries its own words and no
new namespace has to pass the security allow-list (:data:`app.engine.xml.ALLOWED_NAMESPACES`)::

    <bpmn:userTask id="accept_act" name="Accept act">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="name.kk" value="Актіні қабылдау" />
          <spiffworkflow:property name="name.ru" value="Принять акт" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>

Processes, participants, lanes, tasks, events, gateways and flows may all carry them. :func:`model_names` reads
them when a version is published (stored on the version, so pages never parse XML to show a name);
:func:`localized_diagram` writes the reader's names into a copy of the diagram a viewer shows.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from app.engine.xml import ModelXmlError, parse_model_xml

__all__ = ["NAME_LANGUAGES", "NAME_PROPERTY", "localized_diagram", "model_names", "name_property",
           "names_shown_as_written"]

#: the property that holds an element's name in one language: ``name.kk``, ``name.ru``, ``name.en``
NAME_PROPERTY = "name."
NAME_LANGUAGES = ("kk", "ru", "en")
_SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def name_property(language: str) -> str:
    return f"{NAME_PROPERTY}{language}"


def _translations(element) -> dict[str, str]:
    found = {}
    for prop in element.iterfind(f"./{{*}}extensionElements/{{{_SPIFF}}}properties/{{{_SPIFF}}}property"):
        key, value = prop.get("name") or "", (prop.get("value") or "").strip()
        if key.startswith(NAME_PROPERTY) and key[len(NAME_PROPERTY):] in NAME_LANGUAGES and value:
            found[key[len(NAME_PROPERTY):]] = value
    return found


def model_names(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """``{element id: {"": name as written, "kk": …, "ru": …, "en": …}}`` for every element of the model's BPMN
    files that has a name in another language (an unparseable file contributes nothing: validation reports it)."""
    names: dict[str, dict[str, str]] = {}
    for filename, text in files.items():
        if not filename.endswith(".bpmn"):
            continue
        try:
            root = parse_model_xml(text, filename).getroot()
        except ModelXmlError:
            continue
        for element in root.iter():
            if not isinstance(element.tag, str) or not element.get("id"):
                continue
            words = _translations(element)
            if words:
                names[element.get("id")] = {"": element.get("name") or "", **words}
    return names


def _name_in(element, language: str, translate: Callable[[str], str] | None) -> str:
    """An element's name in ``language``: the model's own, else ``translate(name)``, else the name as written."""
    written = element.get("name")
    return _translations(element).get(language) or (translate(written) if translate and written else written)


def names_shown_as_written(text: str, language: str, translate: Callable[[str], str] | None = None) -> list[str]:
    """The names :func:`localized_diagram` leaves as written for ``language``: the model has no name of the element in
    that language and the catalogue does not know the words. A reader of the diagram is told (a Kazakh reader saw
    English names and nothing said why)."""
    try:
        root = parse_model_xml(text, "diagram.bpmn").getroot()
    except ModelXmlError:
        return []
    return [element.get("name") for element in root.iter()
            if isinstance(element.tag, str) and (element.get("name") or "").strip()
            and _name_in(element, language, translate) == element.get("name")]


def localized_diagram(text: str, language: str, translate: Callable[[str], str] | None = None) -> str:
    """The diagram with each element's name in ``language``: the model's own name in that language, else
    ``translate(name)`` (the application's catalogue of known words), else the name as written
    (:func:`names_shown_as_written` lists those). The XML is the one stored (already checked at upload); only
    ``name`` attributes change."""
    try:
        tree = parse_model_xml(text, "diagram.bpmn")
    except ModelXmlError:
        return text
    changed = False
    for element in tree.getroot().iter():
        if not isinstance(element.tag, str) or element.get("name") is None:
            continue
        written = element.get("name")
        name = _name_in(element, language, translate)
        if name != written:
            element.set("name", name)
            changed = True
    if not changed:
        return text
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8").decode("utf-8")
