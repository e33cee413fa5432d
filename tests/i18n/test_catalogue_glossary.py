"""The Kazakh and Russian catalogues say a domain word the way /work/shared/GLOSSARY.md does, on every screen: a
user who learnt "пішін" on the modeler's tab met "форма" in its errors, and a contract was "келісімшарт" in the menu
and "шарт" (which also means "condition") on the acts page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"

#: (the English term in a msgid, what its Kazakh words say, what its Russian words say), as patterns
GLOSSARY = [
    ("contract", "келісімшарт", "договор"),
    ("diagram", "сызба", "диаграмм"),
    ("year-end report", "қорытынды есе", "итогов"),
    ("application", "өтінім", "заяв"),
    ("education department", "білім беру басқарма", "управлени"),
    ("inbox", "кіріс тапсырма", r"входящ\w* задач"),
    ("academic year", "оқу жыл", "учебн"),
    ("process owner", "процесс ие", "владел"),
    ("(?<!study )form", "пішін", "форм"),  # a study form (full-time…) is a student's, not a task's
]


def entries(language: str) -> list[tuple[str, str]]:
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalogue = read_po(po, locale=language)
    found = []
    for message in catalogue:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, str) else message.id[0]
        said = message.string if isinstance(message.string, str) else " ".join(message.string)
        found.append((english, said))
    return found


@pytest.mark.parametrize("language", ["kk", "ru"])
@pytest.mark.parametrize(("term", "kk", "ru"), GLOSSARY, ids=[term[-20:] for term, _kk, _ru in GLOSSARY])
def test_a_glossary_term_is_said_with_the_glossarys_word(term, kk, ru, language):
    words = re.compile({"kk": kk, "ru": ru}[language], re.IGNORECASE)
    # a whole word: not a form field's machine name ("new-form-name"), nor "format"
    pattern = re.compile(rf"(?i)(?<![-\w]){term}s?(?![-\w])")
    astray = [(english, said) for english, said in entries(language)
              if pattern.search(english) and said != english and not words.search(said)]
    assert not astray, f"{language} does not say {words.pattern!r} for {term!r}: {astray[:5]}"


def test_kazakh_says_pishin_for_a_form_never_forma():
    """Users probe: the task page's file field said "формада ештеңені толтырмайды", the modeler's tab "Пішіндер"."""
    forma = re.compile(r"(?i)\bформа(?!т|л)\w*")  # формат (a format) and формула (a formula) are other words
    astray = [(english, said) for english, said in entries("kk") if forma.search(said)]
    assert not astray, astray[:5]
