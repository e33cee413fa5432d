"""One error document for every API error (issue 13 §6); a lost race is always 409."""

from __future__ import annotations

import pytest

from app.engine.models import ProcessInstance
from app.extensions import db
from app.people.tokens import create_token
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, seen, user

SCHOOL_C = "Alatau Lyceum"


def assert_error_document(response, code: int) -> dict:
    document = response.get_json()
    assert response.status_code == code, response.get_data(as_text=True)
    assert isinstance(document["code"], int) and document["code"] == code
    assert isinstance(document["status"], str) and document["status"]
    assert isinstance(document["message"], str) and document["message"]
    assert set(document) <= {"code", "status", "message", "errors"}
    assert isinstance(document.get("errors", {}), dict)
    return document


def _official_with_token(app) -> Browser:
    _row, secret = create_token(user("official_almaty"), "race", ["read", "tasks"], 1)
    db.session.commit()
    client = Browser(app)
    client.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def test_the_loser_of_a_race_gets_409_with_the_error_document(world, app_ctx, browser):
    task_id = open_task(act_of_school(SCHOOL_C), "accept_act").id
    by_token, by_session = _official_with_token(app_ctx), browser("official_almaty")
    url = f"/api/v1/tasks/{task_id}/complete"

    version = seen(open_task(act_of_school(SCHOOL_C), "accept_act"))
    assert by_token._request("post", url, json={"data": {"decision": "accept"}, "seen": version}).status_code == 200
    assert_error_document(by_session.post_json(url, {"data": {"decision": "return", "comment": "late"}}), 409)


def test_a_stale_lock_version_is_409_with_the_error_document(world, app_ctx):
    act = act_of_school(SCHOOL_C)
    task_id = open_task(act, "accept_act").id
    stale = db.session.get(ProcessInstance, act.instance_id).lock_version - 1
    response = _official_with_token(app_ctx)._request(
        "post", f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "accept"}, "lock_version": stale})
    assert_error_document(response, 409)


@pytest.mark.parametrize("logged_in, method, path, code", [
    (False, "get", "/api/v1/tasks", 401),        # not logged in
    (False, "post", "/api/v1/tasks/1/complete", 401),  # not logged in: 401, not a CSRF complaint
    (True, "get", "/api/v1/acts/999999", 404),   # no such record
    (True, "get", "/api/v1/no-such-thing", 404),  # no such route
    (True, "delete", "/api/v1/orders", 405),     # wrong method
])
def test_anonymous_and_routing_errors_use_the_error_document(world, app_ctx, logged_in, method, path, code):
    client = _official_with_token(app_ctx) if logged_in else Browser(app_ctx)
    assert_error_document(client._request(method, path), code)


def test_an_invalid_body_is_422_with_errors_per_field(world, app_ctx):
    task_id = open_task(act_of_school(SCHOOL_C), "accept_act").id
    response = _official_with_token(app_ctx)._request("post", f"/api/v1/tasks/{task_id}/complete",
                                                      json={"lock_version": "soon"})
    document = assert_error_document(response, 422)
    assert document["errors"]
