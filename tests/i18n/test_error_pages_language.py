"""Users probe, in Kazakh: a task a colleague completed meanwhile, submitted from a tab still open, answered
"409 · Conflict — A conflict happened while processing the request. The resource might have been modified while the
request was being processed." — Werkzeug's English name and words for the status, on a Kazakh page. Every error page
reads in the reader's language."""

from __future__ import annotations

import io

import pytest

from app.extensions import db
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task

WERKZEUG = ("Conflict", "A conflict happened", "Bad Request", "The browser (or proxy)", "Gone", "Request Entity",
            "Payload Too Large", "Method Not Allowed", "Not Found")


def _kazakh(app, username: str) -> Browser:
    person = Browser(app, username)
    person.post("/locale", {"locale": "kk", "next": "/"})
    return person


def _english_left(page: str) -> list[str]:
    return [words for words in WERKZEUG if words in page]


def test_a_file_sent_to_a_task_completed_meanwhile_answers_in_kazakh(world, app):
    from flask_babel import force_locale, gettext

    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    task.status = "completed"  # a colleague completed it; the accountant's tab is still open
    db.session.commit()
    page = _kazakh(app, "accountant").post(f"/tasks/{task.id}/lines-from-file",
                                           {"file": (io.BytesIO(b"iin\n"), "act.csv")},
                                           content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    assert page.status_code == 409
    assert not _english_left(text), text[text.find("<main"):][:600]
    with app.test_request_context(), force_locale("kk"):
        assert gettext("Changed meanwhile") in text


@pytest.mark.parametrize(("method", "url", "status"), [
    ("get", "/no-such-page", 404),
    ("get", "/registry", 403),
    ("delete", "/inbox", 405),
])
def test_an_error_page_names_its_status_in_kazakh(world, app, method, url, status):
    person = _kazakh(app, "accountant")
    response = getattr(person.client, method)(url)
    text = response.get_data(as_text=True)
    assert response.status_code == status
    assert not _english_left(text), text[text.find("<main"):][:600]


def test_a_file_over_the_limit_answers_in_kazakh(world, app):
    person = _kazakh(app, "operator")
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = person.post("/registry/imports", {"kind": "nedb", "file": (io.BytesIO(b"x" * (limit + 1)), "a.csv")},
                           content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 413
    assert not _english_left(text), text[text.find("<main"):][:600]
