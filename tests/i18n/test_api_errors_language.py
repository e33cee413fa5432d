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


def amend_samruk(app, accept_language: str, **changes):
    """The Shymkent official's integration amends Samruk's contract with the values in ``changes``."""
    from app.contracts.models import Contract
    from app.extensions import db

    contract = db.session.query(Contract).filter_by(number="C-SHYMKENT-2026-00001").one()
    body = {"revision": 0, "places_primary": 2, "places_basic": 2, "places_secondary": 2,
            "amount_cap_tiyn": 400_000_000, "period_end": "2027-04-30", "effective_from": "2026-11-15",
            "rationale": "Term shortened: the school closes for renovation in May.", **changes}
    official = Browser(app, "official_shymkent")
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    answer = official.post_json(f"/api/v1/contracts/{contract.id}/amendments", body)
    assert answer.status_code == 422, answer.get_json()
    assert len(contract.amendments) == 0, "nothing amended"
    return answer.get_json()["errors"]["json"]


def spaced(message: str) -> str:
    """The language's thousands separator (a no-break space) read as a space."""
    return message.replace("\u00a0", " ").replace("\u202f", " ")


BOUNDS = {
    "ru": {"places_primary": "Введите число от 0 до 100 000.", "rationale": "Введите от 10 до 1 000 символов.",
           "page_size": "Введите число от 1 до 500."},
    "kk": {"places_primary": "Сан енгізіңіз: кемінде 0, ең көбі 100 000.",
           "rationale": "Кемінде 10, ең көбі 1 000 таңба енгізіңіз.",
           "page_size": "Сан енгізіңіз: кемінде 1, ең көбі 500."},
}


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_a_value_out_of_its_bounds_is_explained_with_the_bounds_in_the_readers_language(world, app, language):
    """New-user probe: "Must be greater than or equal to 0 and less than or equal to 100000." and "Length must be
    between 10 and 1000." stayed English in a Russian or Kazakh answer — marshmallow's sentences that carry values
    were not in the catalogue, only its fixed ones."""
    expected = BOUNDS[language]
    fields = amend_samruk(app, language, places_primary=-1, rationale="Short")
    said = {key: [spaced(message) for message in messages] for key, messages in fields.items()}
    assert said == {"places_primary": [expected["places_primary"]], "rationale": [expected["rationale"]]}

    reader = Browser(app, "official_shymkent")
    reader.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    answer = reader.get("/api/v1/tasks", query_string={"page_size": 501})
    assert answer.status_code == 422
    assert [spaced(m) for m in answer.get_json()["errors"]["query"]["page_size"]] == [expected["page_size"]]
