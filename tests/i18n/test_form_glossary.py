"""The shipped forms' Kazakh follows the glossary: a school's student is "оқушы" (the dormitories' college and
university students are "білім алушы")."""

from __future__ import annotations

import json
import re
from pathlib import Path

FORMS = Path(__file__).resolve().parents[2] / "forms"


def _kazakh_texts(node) -> list[str]:
    if isinstance(node, dict):
        return ([node["kk"]] if isinstance(node.get("kk"), str) else []) + [
            text for value in node.values() for text in _kazakh_texts(value)]
    if isinstance(node, list):
        return [text for value in node for text in _kazakh_texts(value)]
    return []


def test_the_schools_forms_call_a_student_okushy():
    """Users probe: a Kazakh-speaking accountant's monthly act headed its lines "Білім алушылар" where every other
    page of hers (and the pilot's announcement) says "оқушылар"."""
    for path in sorted(FORMS.glob("*.json")):
        if "dorm" in path.name:
            continue
        for text in _kazakh_texts(json.loads(path.read_text(encoding="utf-8"))):
            assert "білім алушы" not in text.lower(), f"{path.name}: {text[:80]}"


def _worded(node) -> list[dict]:
    """Every text the forms give in several languages ({"en": …, "ru": …, "kk": …})."""
    if isinstance(node, dict):
        own = [node] if isinstance(node.get("en"), str) and isinstance(node.get("kk"), str) else []
        return own + [text for value in node.values() for text in _worded(value)]
    if isinstance(node, list):
        return [text for value in node for text in _worded(value)]
    return []


def test_the_forms_say_the_glossarys_words():
    """New-user probe: the official's *Accept act* offered "Түзетуге қайтару" where the glossary, the act's status
    ("пысықтауға қайтарылды") and the head's *Approve report* say "Пысықтауға қайтару"."""
    from tests.i18n.test_catalogue_glossary import GLOSSARY

    terms = [*GLOSSARY, ("return(?:ed)? for correction", "пысықтау", "доработ")]
    astray = []
    for path in sorted(FORMS.glob("*.json")):
        for text in _worded(json.loads(path.read_text(encoding="utf-8"))):
            for term, kk, ru in terms:
                if re.search(rf"(?i)(?<![-\w]){term}s?(?![-\w])", text["en"]):
                    astray += [(path.name, text[language]) for language, words in (("kk", kk), ("ru", ru))
                               if language in text and not re.search(words, text[language], re.IGNORECASE)]
    assert not astray, astray
