"""The API behaves the same for everyone (issue 13 §6): a bounded schemathesis run against
/api/openapi.json as several roles — with API tokens and with a session cookie plus CSRF header — finds
no server error and no response that contradicts the schema.

Bounded for CI: a few generated requests per operation and role (``API_CONTRACT_EXAMPLES``, default 8),
derandomised so a run is reproducible. The long run (≥ 50,000 requests) is ``benchmarks/api_contract.py``.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import db
from app.people.tokens import SCOPES, create_token
from tests.conftest import Browser
from tests.helpers import user

EXAMPLES = int(os.environ.get("API_CONTRACT_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TOKEN_ROLES = ("accountant", "official", "operator")  # a school, a department, a national role
SESSION_ROLE = "director"


def _credentials(app) -> dict[str, dict]:
    """Per role: the headers (and cookies) a client of that role sends."""
    found = {}
    for username in TOKEN_ROLES:
        _row, secret = create_token(user(username), "contract test", list(SCOPES), 1)
        found[f"{username} (token)"] = {"headers": {"Authorization": f"Bearer {secret}"}}
    db.session.commit()
    person = Browser(app, SESSION_ROLE)
    found[f"{SESSION_ROLE} (session)"] = {"headers": {"X-CSRFToken": person.csrf},
                                          "cookies": {"session": person.client.get_cookie("session").value}}
    found["anonymous"] = {"headers": {}}
    return found


def run_contract(app, examples: int) -> tuple[int, list[str], dict[str, set[int]]]:
    """Run every operation as every role; returns (requests made, problems found, statuses seen per role)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    credentials = _credentials(app)
    problems: list[str] = []
    answered: dict[str, set[int]] = {}
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for role, creds in credentials.items():
            sent += _exercise(app, operation, role, creds, examples, problems, answered)
    return sent, problems, answered


def _exercise(app, operation, role: str, creds: dict, examples: int, problems: list[str],
              answered: dict[str, set[int]]) -> int:
    calls = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def exercise(case):
        with app.app_context():
            response = case.call(headers=creds["headers"], cookies=creds.get("cookies"))
            db.session.remove()
        calls.append(1)
        answered.setdefault(role, set()).add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=creds["headers"])
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - every failure is collected, then reported
            problems.append(f"{role} {operation.label}: {str(failure)[:600]}")

    exercise()
    return len(calls)


def test_no_server_errors_and_no_schema_violations_for_any_role(world, app_ctx):
    sent, problems, answered = run_contract(app_ctx, EXAMPLES)

    assert sent >= 5 * EXAMPLES  # the run really exercised the API…
    for role, statuses in answered.items():  # …as each role, logged in (the anonymous one never is)
        assert (200 in statuses) == (role != "anonymous"), (role, statuses)
    assert problems == [], "\n\n".join(sorted(set(problems))[:20])


@pytest.mark.parametrize("path, method", [("/api/v1/tasks", "DELETE"), ("/api/v1/contracts/1/sign", "GET")])
def test_a_wrong_method_is_405_with_allow_and_the_error_document(world, browser, path, method):
    official = browser("official")
    response = official._request(method.lower(), path)
    assert response.status_code == 405
    assert response.headers["Allow"]
    assert method not in response.headers["Allow"]
    assert set(response.get_json()) >= {"code", "status", "message"} and response.get_json()["code"] == 405
