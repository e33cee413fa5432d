"""A citizen reads the portal's open-data section in Kazakh or Russian (walk8, 390 px): its heading read "Ашық деректер
(Open Contracting Data Standard 1.1)" / "Открытые данные (Open Contracting Data Standard 1.1)" and its sentence "сомалар
KZT-мен" / "суммы в KZT" — an English name and a currency code among the reader's words. The standard is named in
the reader's language (its acronym, OCDS, kept: the files say it) and the money is in tenge. Needs the kk/ru lines of
TRANSLATIONS.jsonl (they replace the catalogues' translations of these two msgids)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Browser
from tests.helpers import add_paid_history


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


@pytest.mark.parametrize("language, tenge", [("kk", "теңгемен"), ("ru", "в тенге")])
def test_the_open_data_section_speaks_the_readers_language(world, app, language, tenge):
    visitor = Browser(app)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = visitor.get("/public/").get_data(as_text=True)
    section = re.search(r'<section aria-labelledby="open-data-h".*?</section>', page, re.S).group(0)
    words = re.sub(r"<[^>]+>", " ", section)
    assert "Open Contracting" not in words and "KZT" not in words
    assert "OCDS 1.1" in words and tenge in words
