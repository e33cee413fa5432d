"""Bad input gets a clear message and changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.acts.models import Act, ActLine
from app.audit.models import AuditEvent
from app.extensions import db
from tests.helpers import act_of_school, lines_form, open_task

SCHOOL_A = "Bilim Innovation School"
GOOD = {"iin": "791028302728", "full_name": "Тест Тестов", "grade": "3", "days_attended": "20"}


def _snapshot(act: Act) -> tuple:
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    return (act.status, act.revision, db.session.scalar(select(func.count(ActLine.id))),
            db.session.scalar(select(func.count(AuditEvent.id))), act.instance_id and
            db.session.get(type(open_task(act, "submit_act").instance), act.instance_id).lock_version)


def _submit(browser, form):
    act = act_of_school(SCHOOL_A)
    task = open_task(act, "submit_act")
    accountant = browser("accountant")
    accountant.get(f"/tasks/{task.id}")
    before = _snapshot(act)
    response = accountant.post(f"/tasks/{task.id}", form)
    return response, before, _snapshot(act)


def test_invalid_iin_is_a_field_error_and_nothing_is_saved(world, browser):
    bad = dict(GOOD, iin="791028302729")  # wrong check digit
    response, before, after = _submit(browser, lines_form([GOOD, bad]))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not a valid IIN" in page and 'id="f-lines-1-iin-err"' in page
    assert 'value="791028302729"' in page, "the typed value is shown again for correction"
    assert before == after


def test_invalid_iin_message_is_in_the_users_language(world, browser):
    act = act_of_school(SCHOOL_A)
    task = open_task(act, "submit_act")
    accountant = browser("accountant")
    accountant.post("/locale", {"locale": "ru", "next": "/inbox"})
    response = accountant.post(f"/tasks/{task.id}", lines_form([dict(GOOD, iin="12345")]))
    assert response.status_code == 422
    assert "Неверный ИИН" in response.get_data(as_text=True)


def test_missing_and_out_of_range_fields(world, browser):
    response, before, after = _submit(browser, lines_form([
        {"iin": "791028302728", "full_name": "", "grade": "14", "days_attended": "x"}]))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a whole number." in page
    assert before == after
    response, before, after = _submit(browser, lines_form([{"iin": "791028302728", "full_name": "Аа Бб",
                                                            "grade": "14", "days_attended": "3"}]))
    assert response.status_code == 422 and "Must be at most 11." in response.get_data(as_text=True)
    assert before == after
    response, before, after = _submit(browser, {"note": "nothing else"})
    assert response.status_code == 422 and "This field is required." in response.get_data(as_text=True)
    assert before == after


def test_tampered_fields_are_refused(world, browser):
    form = lines_form([GOOD])
    form["school_id"] = "3"  # not in the form's schema
    response, before, after = _submit(browser, form)
    assert response.status_code == 422 and "Unexpected field: school_id" in response.get_data(as_text=True)
    assert before == after
    form = lines_form([GOOD])
    form["lines.0.amount_tiyn"] = "999999999"
    response, before, after = _submit(browser, form)
    assert response.status_code == 422
    assert before == after


def test_stale_version_is_a_conflict(world, browser):
    form = lines_form([GOOD])
    form["_version"] = "0"
    response, before, after = _submit(browser, form)
    assert response.status_code == 409
    assert "Someone else has just completed this step" in response.get_data(as_text=True)
    assert before == after


def test_missing_csrf_token_is_refused(world, browser):
    act = act_of_school(SCHOOL_A)
    task = open_task(act, "submit_act")
    accountant = browser("accountant")
    before = _snapshot(act)
    response = accountant.post(f"/tasks/{task.id}", lines_form([GOOD]), csrf=False)
    assert response.status_code == 400 and "Session expired" in response.get_data(as_text=True)
    # The JSON API with its token but without the act's lines: refused by validation, nothing written.
    refused = accountant.post_json(f"/api/v1/tasks/{task.id}/complete", {"data": {}})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"lines": "This field is required."}
    assert before == _snapshot(act)


def test_task_ids_of_other_users_and_unknown_ids(world, browser):
    accountant = browser("accountant")
    lyceum = act_of_school("Alatau Lyceum")
    accept = open_task(lyceum, "accept_act")
    assert accountant.get(f"/tasks/{accept.id}").status_code == 404
    assert accountant.post(f"/tasks/{accept.id}", {"decision": "accept"}).status_code == 404
    assert accountant.get("/tasks/999999").status_code == 404
    assert accountant.post("/tasks/999999", {"decision": "accept"}).status_code == 404


def test_return_without_comment_is_refused(world, browser):
    lyceum = act_of_school("Alatau Lyceum")
    accept = open_task(lyceum, "accept_act")
    official = browser("official_almaty")
    response = official.post(f"/tasks/{accept.id}", {"decision": "return", "comment": ""})
    assert response.status_code == 422 and "This field is required." in response.get_data(as_text=True)
    assert open_task(lyceum, "accept_act").status == "open"
    response = official.post(f"/tasks/{accept.id}", {"decision": "burn"})
    assert response.status_code == 422 and "Choose one of the offered values." in response.get_data(as_text=True)


def test_api_bad_data_gets_field_errors(world, browser):
    act = act_of_school(SCHOOL_A)
    task = open_task(act, "submit_act")
    accountant = browser("accountant")
    response = accountant.post_json(f"/api/v1/tasks/{task.id}/complete",
                                    {"data": {"lines": [{"iin": "1", "full_name": "A", "grade": 0}]}})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json().get("errors", response.get_json())
    assert {"lines.0.iin", "lines.0.grade", "lines.0.days_attended"} <= set(errors), response.get_json()
