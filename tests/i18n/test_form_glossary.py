"""The shipped forms' Kazakh follows the glossary: a school's student is "оқушы" (the dormitories' college and
university students are "білім алушы")."""

from __future__ import annotations

import json
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
