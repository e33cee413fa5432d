"""Every form a person can reach, sent back with hostile values, is answered without a server error.

Each role walks the pages it can reach from its home page (links within the site), collects every POST form on
them, and sends each one back with one field at a time replaced by a value of a hostile class: empty, very long,
a NUL or a hidden direction mark, digits of another script, a number beyond any range, a list where one value is
expected, markup. The app must answer each with a page (a refusal, a form error, a redirect) — never a 500. The
forms are found by walking the pages, so a new form is covered the day it is added."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from app.acts.operations import prefill_lines
from app.engine.runtime import complete_task
from app.extensions import db
from tests.helpers import act_of_school, open_task, user

ROLES = ["accountant", "director", "official", "head", "operator", "owner", "auditor", "admin"]
#: Pages that end the walk's session or switch its language, and files (nothing to parse).
SKIP_ACTIONS = ("/logout", "/locale", "/session/alive")
SKIP_LINKS = ("/logout", "/static/", "/vendor/", "/api/", "/public/")
HOSTILE = [
    "",
    "x" * 70_000,
    "a\x00b",
    "\u202eevil",
    "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic digits
    "１２３",  # full-width digits
    "99999999999999999999999999",
    "-1",
    "1e309",
    "NaN",
    "<script>alert(1)</script>",
    "2026-02-30",
]
MAX_PAGES = 45
FIELDS_PER_FORM = 6
VALUES_PER_FIELD = 4


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                          "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            name = a["name"]
            kind = (a.get("type") or "").lower()
            if tag == "select":
                self._select = name
                self._form["fields"].setdefault(name, "")
            elif kind in ("checkbox", "radio"):
                if "checked" in a or name not in self._form["fields"]:
                    self._form["fields"][name] = a.get("value", "on")
            elif kind == "file":
                return
            elif tag == "button" or kind == "submit":
                self._form["fields"].setdefault(name, a.get("value", ""))
            else:
                self._form["fields"][name] = a.get("value", "")
        elif tag == "option" and self._form is not None and self._select:
            if not self._form["fields"].get(self._select) or "selected" in a:
                self._form["fields"][self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _walk(person) -> list[tuple[str, dict]]:
    """The POST forms on the pages the person reaches from the home page: (absolute action, fields)."""
    seen: set[str] = set()
    queue = ["/", "/inbox"]
    forms: dict[tuple[str, tuple], tuple[str, dict]] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen:
            continue
        seen.add(url)
        response = person.get(url)
        assert response.status_code < 500, (url, response.status_code)
        if "text/html" not in response.content_type:
            continue
        page = _Page()
        page.feed(response.get_data(as_text=True))
        for form in page.forms:
            action = urljoin(url, form["action"] or path)
            if form["method"] != "post" or urlsplit(action).netloc or action.startswith(SKIP_ACTIONS):
                continue
            key = (urlsplit(action).path, tuple(sorted(form["fields"])))
            forms.setdefault(key, (action, form["fields"]))
        for href in page.links:
            target = urljoin(url, href.split("#", 1)[0])
            parts = urlsplit(target)
            if parts.netloc or not target or target.startswith(SKIP_LINKS) or target in seen:
                continue
            # one page per route shape is enough: /acts/3 stands for /acts/4
            shape = "/".join("#" if p.isdigit() else p for p in parts.path.split("/"))
            if any("/".join("#" if p.isdigit() else p for p in urlsplit(s).path.split("/")) == shape
                   for s in seen | set(queue)):
                continue
            queue.append(target)
    return list(forms.values())


def _acts_in_every_state() -> None:
    """One school's act waits for the department (the accept form, the line reviews), another's for the operator
    (the pay form): the demo world alone has every act still with its school."""
    waiting, accepted = act_of_school("Bilim Innovation School"), act_of_school("Nur Private School")
    for act, accountant in ((waiting, "accountant"), (accepted, "accountant2")):
        complete_task(open_task(act, "submit_act").id, user(accountant), data={"lines": prefill_lines(act)})
        db.session.commit()
    complete_task(open_task(accepted, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()


@pytest.mark.parametrize("role", ROLES)
def test_every_reachable_form_survives_hostile_values(world, browser, role):
    if role != "accountant":  # the accountant's walk finds the act still to submit: its lines' form
        _acts_in_every_state()
    person = browser(role)
    forms = _walk(person)
    assert forms or role == "auditor", f"the walk found no form for {role}"
    sent = 0
    for action, fields in forms:
        names = [n for n in fields if n != "csrf_token"]
        if len(names) > FIELDS_PER_FORM:  # a table of lines: its first and last fields stand for the rest
            names = names[: FIELDS_PER_FORM // 2] + names[-FIELDS_PER_FORM // 2 :]
        for i, name in enumerate(names):
            # each field gets a few of the classes in turn, so that every class reaches every form
            for value in (HOSTILE[(i * VALUES_PER_FIELD + k) % len(HOSTILE)] for k in range(VALUES_PER_FIELD)):
                data = dict(fields, **{name: value})
                response = person.post(action, data)
                assert response.status_code < 500, (role, action, name, value[:40], response.status_code)
                sent += 1
                if response.status_code in (302, 303) and "/login" in response.headers.get("Location", ""):
                    person.login(role)
        # a list where one value is expected, for every field at once
        response = person.post(action, {n: [v, v + "1"] for n, v in fields.items() if n != "csrf_token"})
        assert response.status_code < 500, (role, action, "lists")
    assert sent or not forms
