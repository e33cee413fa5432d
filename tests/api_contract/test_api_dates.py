"""A date sent to the API is ISO 8601 (YYYY-MM-DD), and a refused one says so: the shared form check told an API
client "Enter a real date as dd.mm.yyyy" — the page's format, which the API refuses in turn. The page keeps its own."""

from __future__ import annotations

import json

import pytest

from app.acts.models import Act
from app.engine.runtime import complete_task
from app.extensions import db
from tests.api_contract.test_errors import assert_error_document
from tests.helpers import act_of_school, open_task, user

ALATAU = "Alatau Lyceum"
SAID = {"en": "Enter a date as YYYY-MM-DD.", "ru": "Введите дату в формате ГГГГ-ММ-ДД.",
        "kk": "Күнді ЖЖЖЖ-АА-КК форматында енгізіңіз."}


def _payable() -> Act:
    act = act_of_school(ALATAU)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), data={"decision": "accept"})
    db.session.commit()
    return act


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
@pytest.mark.parametrize("paid_on", ["05.03.2026", "2026-02-30"])
def test_a_payment_date_the_api_refuses_is_asked_for_as_yyyy_mm_dd(world, browser, language, paid_on):
    act = _payable()
    operator = browser("operator")
    operator.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    task = open_task(act, "pay_act")
    response = operator.post_json(f"/api/v1/tasks/{task.id}/complete",
                                  {"data": {"order_number": "PP-1", "paid_on": paid_on}})
    document = assert_error_document(response, 422)
    assert document["errors"] == {"paid_on": SAID[language]}
    assert db.session.get(Act, act.id).status == "accepted", "nothing paid"
    assert open_task(act, "pay_act").id == task.id


def test_the_page_still_asks_for_the_date_as_it_is_typed(world, browser):
    act = _payable()
    refused = browser("operator").post(f"/tasks/{open_task(act, 'pay_act').id}",
                                       {"order_number": "PP-1", "paid_on": "31.02.2026"})
    assert refused.status_code == 422
    assert "Enter a real date as dd.mm.yyyy, for example 05.03.2026." in refused.get_data(as_text=True)


def test_the_openapi_document_gives_the_api_dates_as_format_date(world, browser):
    document = json.loads(browser("operator").get("/api/openapi.json").get_data(as_text=True))
    schemas = document["components"]["schemas"]
    dates = {(name, field): spec for name, schema in schemas.items()
             for field, spec in schema.get("properties", {}).items() if field in ("paid_on", "period", "period_end")
             and (name, field) != ("Reconciliation", "period")}  # a month (YYYY-MM), not a date
    assert ("AmendContract", "period_end") in dates, sorted(dates)  # a request body, as the task data below
    assert dates and all(spec.get("format") == "date" for spec in dates.values()), dates
    data = schemas["CompleteTask"]["properties"]["data"]
    assert "YYYY-MM-DD" in data.get("description", ""), "the form data's dates are said to be ISO"
