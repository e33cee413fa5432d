"""An API client reads why its data was refused in the user's language, as on the pages: the saved language first,
else Accept-Language. A task's data that does not fit its form was answered "The form has errors" in English."""

from __future__ import annotations

import pytest

from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, user

REFUSED = {"en": "The request is not valid; see the errors per field.",
           "ru": "Запрос некорректен; см. ошибки по каждому полю.",
           "kk": "Сұрау жарамсыз; әр өрістегі қателерді қараңыз."}


def refuse_a_decision(app, accept_language: str) -> dict:
    """The Almaty official sends a decision the *Accept act* form does not offer."""
    task_id = open_task(act_of_school("Alatau Lyceum"), "accept_act").id
    official = Browser(app, "official_almaty")
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    response = official.post_json(f"/api/v1/tasks/{task_id}/complete", {"data": {"decision": "maybe"}})
    assert response.status_code == 422
    document = response.get_json()
    assert document["errors"], "and what is wrong, per field"
    return document


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_invalid_task_data_is_explained_in_the_requested_language(world, app, language):
    assert refuse_a_decision(app, language)["message"] == REFUSED[language]


def test_the_saved_language_comes_before_accept_language(world, app):
    user("official_almaty").locale = "kk"
    assert refuse_a_decision(app, "ru")["message"] == REFUSED["kk"]
