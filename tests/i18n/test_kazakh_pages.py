"""Every page in Kazakh: no sentence from the English catalogue and no raw key left on it.

The crawl logs in as each demo role with Kazakh chosen, opens every page reachable without parameters and the
demo's records, and looks at the text a person reads (tags, scripts and attribute values stripped). A phrase of
the English catalogue that has a Kazakh translation must not appear — it would mean a string was not passed
through gettext, or was translated at import time in another language; audit keys and rule codes must not
appear either (they have labels).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from app.acts.models import Act
from app.acts.rules import RULES
from app.contracts.models import Contract
from app.engine.models import ProcessInstance, ProcessModelVersion
from app.extensions import db
from app.ui import AUDIT_ACTIONS
from tests.conftest import Browser

ROLES = ["accountant", "director", "official", "head", "operator", "owner", "auditor", "admin"]
CATALOGUE = Path(__file__).resolve().parents[2] / "translations" / "kk" / "LC_MESSAGES" / "messages.po"
#: pages that show texts written for someone else, in that person's language (the e-mail outbox holds each
#: e-mail as it was sent to its recipient)
WRITTEN_FOR_OTHERS = {"/notifications/outbox"}
TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


def _translated_ids() -> set[str]:
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh, locale="kk")
    return {m.id for m in catalogue if isinstance(m.id, str) and m.string and m.string != m.id
            and "%(" not in m.id and "{" not in m.id}


def _english_phrases() -> list[str]:
    return sorted({i for i in _translated_ids() if len(i.split()) >= 2}, key=len, reverse=True)


def _english_words() -> set[str]:
    """Single English words of the catalogue: a cell, a label or a badge that reads exactly one of them."""
    return {i for i in _translated_ids() if len(i.split()) == 1 and len(i) > 2} - NAMES


#: names written the same in every language (the product's own name)
NAMES = {"Tapsyrys"}


CELL = re.compile(r">\s*([^<>]+?)\s*<")


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(TAG.sub(" ", page)))


def _urls(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(("/api", "/static", "/vendor",
                                                                                       "/metrics")) \
                and not rule.rule.endswith((".csv", ".json", ".xlsx", ".bpmn", ".ico", "/logout")):
            urls.append(rule.rule)
    urls += [f"/acts/{a.id}{tail}" for a in db.session.scalars(select(Act)) for tail in ("", "/document")]
    urls += [f"/contracts/{c.id}{tail}" for c in db.session.scalars(select(Contract)) for tail in ("", "/document")]
    urls += [f"/modeler/versions/{v.id}" for v in db.session.scalars(select(ProcessModelVersion))]
    urls += [f"/instances/{i.id}" for i in db.session.scalars(select(ProcessInstance).limit(12))]
    return sorted(set(urls))


@pytest.mark.parametrize("username", ROLES)
def test_no_english_sentence_or_raw_key_on_any_kazakh_page(world, app, username):
    phrases = _english_phrases()
    words = _english_words()
    raw_keys = [key for key in AUDIT_ACTIONS] + [code for code in RULES if "_" in code]
    person = Browser(app, username)
    person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    person.post("/locale", {"locale": "kk", "next": "/"})
    problems = []
    for url in _urls(app):
        response = person.get(url)
        if response.status_code != 200 or not response.mimetype.startswith("text/html") or url in WRITTEN_FOR_OTHERS:
            continue
        page = response.get_data(as_text=True)
        text = _text(page)
        bare = TAG.sub(lambda m: m.group(0) if not m.group(1) else "", page)  # scripts and styles out
        # <code> holds identifiers a file or a model must spell as they are (a column named grade), not words
        bare = re.sub(r"<code>[^<]*</code>", "<code></code>", bare)
        for cell in CELL.findall(bare):
            if html.unescape(cell) in words:
                problems.append(f"{url}: English word “{html.unescape(cell)}”")
        for phrase in phrases:
            if phrase in text:
                problems.append(f"{url}: English “{phrase}”")
        for key in raw_keys:
            if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", text):
                problems.append(f"{url}: raw key “{key}”")
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_name_in_the_shipped_models_is_a_translated_model_word():
    from lxml import etree

    from app.words import MODEL_WORDS

    root = Path(__file__).resolve().parents[2]
    names = set()
    for path in (root / "bpmn").glob("*.bpmn"):
        for element in etree.parse(str(path)).iter():
            if isinstance(element.tag, str) and element.get("name") and etree.QName(element).localname in (
                    "process", "participant", "lane", "userTask", "serviceTask", "scriptTask", "businessRuleTask",
                    "manualTask", "task", "callActivity", "subProcess", "sendTask", "receiveTask", "startEvent",
                    "endEvent", "boundaryEvent", "intermediateCatchEvent", "intermediateThrowEvent",
                    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "sequenceFlow"):
                names.add(element.get("name"))
    assert names - MODEL_WORDS == set(), "add these names to app/words.py and translate them"
    for language in ("kk", "ru"):
        with (root / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalogue = read_po(fh, locale=language)
        untranslated = {w for w in MODEL_WORDS if not (catalogue.get(w) and catalogue.get(w).string)}
        assert untranslated == set(), language


def test_the_chosen_language_outlives_the_session(world, browser):
    """A session that expired brought the "session expired" and login pages back in the browser's language, not the
    one the person had chosen: the choice is kept in its own cookie too."""
    person = browser("official_almaty")
    person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    person.post("/locale", {"locale": "kk", "next": "/"})
    person.client.delete_cookie("session")  # the session expired (or was ended on the server)
    expired = person.post("/logout", {"csrf_token": "stale"}, csrf=False)
    assert expired.status_code == 400 and '<html lang="kk"' in expired.get_data(as_text=True)
    assert '<html lang="kk"' in person.get("/login").get_data(as_text=True)


ATTRIBUTE = re.compile(r'\b(aria-label|placeholder|alt)="([^"{}]+)"')


@pytest.mark.parametrize("username", ["accountant", "official", "owner"])
def test_no_english_word_is_read_out_on_a_kazakh_page(world, app, username):
    """What a screen reader says of a control or a landmark is in Kazakh too: every task page and the model editor
    called their breadcrumb trail "breadcrumb" (the public and analytics pages already said "Навигация жолы")."""
    from app.engine.models import HumanTask

    english = {i.casefold() for i in _translated_ids()} - {n.casefold() for n in NAMES}
    person = Browser(app, username)
    person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    person.post("/locale", {"locale": "kk", "next": "/"})
    urls = _urls(app) + [f"/tasks/{t.id}" for t in db.session.scalars(select(HumanTask).limit(20))]
    problems = []
    for url in urls:
        response = person.get(url)
        if response.status_code != 200 or not response.mimetype.startswith("text/html") or url in WRITTEN_FOR_OTHERS:
            continue
        for name, value in ATTRIBUTE.findall(response.get_data(as_text=True)):
            if html.unescape(value).strip().casefold() in english:
                problems.append(f"{url}: {name}=“{value}”")
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_browsers_own_date_month_and_file_fields_are_marked_with_the_users_language(world, browser):
    """A date or file field is drawn by the browser: marked lang="kk" it is at least read out and spell-checked in
    Kazakh (they had no lang of their own; a task form's dates are typed as dd.mm.yyyy: tests/test_decisive_forms)."""
    operator = browser("operator")
    operator.post("/locale", {"locale": "kk", "next": "/inbox"})
    for url in ("/registry", "/acts", "/inbox"):
        page = operator.get(url).get_data(as_text=True)
        fields = re.findall(r'<input[^>]*type="(?:date|month|file)"[^>]*>', page)
        assert fields and all('lang="kk"' in f for f in fields), (url, fields)
