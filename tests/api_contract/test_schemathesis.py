"""The API behaves the same for everyone (issue 13 §6): a bounded schemathesis run against
/api/openapi.json as several roles — with API tokens and with a session cookie plus CSRF header — finds
no server error and no response that contradicts the schema.

Bounded for CI: a few generated requests per operation and role (``API_CONTRACT_EXAMPLES``, default 8),
derandomised so a run is reproducible. The long run (≥ 50,000 requests) is ``benchmarks/api_contract.py``.
"""

from __future__ import annotations

import os

import pytest

from tests.api_contract.contract import credentials, run_contract

EXAMPLES = int(os.environ.get("API_CONTRACT_EXAMPLES", "8"))


def test_no_server_errors_and_no_schema_violations_for_any_role(world, app_ctx):
    run = run_contract(app_ctx, EXAMPLES, credentials(app_ctx))

    assert run.sent >= 5 * EXAMPLES  # the run really exercised the API…
    for role, statuses in run.answered.items():  # …as each role, logged in (the anonymous one never is)
        assert (200 in statuses) == (role != "anonymous"), (role, statuses)
    assert run.problems == [], "\n\n".join(sorted(set(run.problems))[:20])


@pytest.mark.parametrize("path, method", [("/api/v1/tasks", "DELETE"), ("/api/v1/contracts/1/sign", "GET")])
def test_a_wrong_method_is_405_with_allow_and_the_error_document(world, browser, path, method):
    official = browser("official")
    response = official._request(method.lower(), path)
    assert response.status_code == 405
    assert response.headers["Allow"]
    assert method not in response.headers["Allow"]
    assert set(response.get_json()) >= {"code", "status", "message"} and response.get_json()["code"] == 405
