"""The modeler's side panel describes each service operator in the process owner's language.

It showed the operator's Python docstring, in English, to a Kazakh- or Russian-speaking process owner; each
operator now has a short description for process owners (a lazy string), read in the page's language.
"""

from __future__ import annotations

import html
import json
import re

from flask_babel import force_locale

from app.engine.operators import all_operators


def _operators_on_page(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="modeler-config">(.*?)</script>', page, re.S)
    return json.loads(html.unescape(found.group(1)))["operators"]


def test_every_operator_is_described_for_process_owners_in_kazakh_russian_and_english(app):
    # the application's operators (tests register their own)
    operators = {op_id: op for op_id, op in all_operators().items() if op.func.__module__.startswith("app.")}
    assert len(operators) >= 19
    with app.test_request_context():
        for op in operators.values():
            with force_locale("en"):
                english = str(op.description)
            assert english and english != (op.func.__doc__ or "").strip(), f"{op.id}: no description for owners"
            for language in ("kk", "ru"):
                with force_locale(language):
                    assert str(op.description) != english, f"{op.id}: no {language} words"


def test_the_side_panels_operators_are_described_in_the_pages_language(trial_v1, browser):
    owner = browser("owner")
    expected = {"kk": "Актінің әр жолын Ұлттық білім беру дерекқоры", "ru": "Проверяет каждую строку акта по НОБД",
                "en": "Checks every line of the act against NEDB"}
    for language, words in expected.items():
        owner.post("/locale", {"locale": language, "next": "/"})
        operators = _operators_on_page(owner.get(f"/modeler/versions/{trial_v1.id}").get_data(as_text=True))
        assert operators["acts/verify"]["description"].startswith(words), operators["acts/verify"]
        assert operators["acts/verify"]["params"] == {"act_id": "int"}
