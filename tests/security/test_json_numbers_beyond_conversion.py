"""A JSON body with an integer of more digits than Python converts (4,300: ``sys.get_int_max_str_digits``): the
JSON parser raised a plain ``ValueError``, which the request guard's silent parse swallowed and the API's argument
parser (webargs) did not expect — a 500 for one request body, on every JSON route. Refused as bad input instead,
in the API's one error document, and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.people.tokens import create_token
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, user

DIGITS = "1" + "0" * 5000


@pytest.fixture()
def official(world, app_ctx) -> Browser:
    _row, secret = create_token(user("official"), "integration", ["read", "tasks", "contracts"], 30)
    db.session.commit()
    client = Browser(app_ctx)
    client.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


@pytest.mark.parametrize("body", [
    '{"data": {"decision": "accept"}, "seen": ' + DIGITS + "}",
    '{"data": {"decision": "accept", "comment": ' + DIGITS + "}}",
    '{"data": {"decision": "accept"}, "seen": -' + DIGITS + "}",
])
def test_a_number_beyond_conversion_is_refused_and_nothing_changes(official, body):
    task = open_task(act_of_school("Bilim Innovation School"), "submit_act")
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for url in (f"/api/v1/tasks/{task.id}/complete", "/api/v1/contracts/1/amendments",
                "/api/v1/acts/1/lines/1/review"):
        response = official._request("post", url, data=body, content_type="application/json")
        assert response.status_code == 400, (url, response.status_code, response.get_data(as_text=True)[:300])
        assert response.get_json()["message"] == "The request was not understood."
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert open_task(act_of_school("Bilim Innovation School"), "submit_act").status == "open"


def test_json_that_is_not_json_is_still_the_views_to_answer(official):
    task = open_task(act_of_school("Bilim Innovation School"), "submit_act")
    response = official._request("post", f"/api/v1/tasks/{task.id}/complete", data='{"data": ',
                                 content_type="application/json")
    assert response.status_code == 400 and response.get_json()["code"] == 400
