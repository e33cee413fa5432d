"""Run schemathesis against /api/openapi.json as several roles and collect every problem it finds.

Used by the bounded CI test (tests/api_contract/test_schemathesis.py) and by the long run
(benchmarks/api_contract.py). Roles: a school, a department and a national role with API tokens (every
scope), a school director with a session cookie and the CSRF header, and an anonymous client.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
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

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TOKEN_ROLES = ("accountant", "official", "operator")  # a school, a department, a national role
SESSION_ROLE = "director"


def credentials(app) -> dict[str, dict]:
    """Per role: the headers (and cookies) a client of that role sends."""
    found = {}
    with app.app_context():
        for username in TOKEN_ROLES:
            _row, secret = create_token(user(username), "contract test", list(SCOPES), 1)
            found[f"{username} (token)"] = {"headers": {"Authorization": f"Bearer {secret}"}}
        db.session.commit()
        person = Browser(app, SESSION_ROLE)
        found[f"{SESSION_ROLE} (session)"] = {"headers": {"X-CSRFToken": person.csrf},
                                              "cookies": {"session": person.client.get_cookie("session").value}}
    found["anonymous"] = {"headers": {}}
    return found


class ContractRun:
    def __init__(self):
        self.sent = 0
        self.problems: list[str] = []
        self.answered: dict[str, dict[int, int]] = {}  # role -> status -> count


def run_contract(app, examples: int, creds_by_role: dict[str, dict], seed: int | None = None,
                 run: ContractRun | None = None) -> ContractRun:
    """Every operation as every role, ``examples`` generated requests each (fewer when the operation has
    fewer distinct inputs). ``seed=None``: derandomised, the same requests every time."""
    run = run or ContractRun()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        for role, creds in creds_by_role.items():
            _exercise(app, operation, role, creds, examples, seed, run)
    return run


def _exercise(app, operation, role: str, creds: dict, examples: int, seed: int | None, run: ContractRun) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def exercise(case):
        with app.app_context():
            response = case.call(headers=creds["headers"], cookies=creds.get("cookies"))
            db.session.remove()
        run.sent += 1
        statuses = run.answered.setdefault(role, {})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS, headers=creds["headers"])
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - every failure is collected, then reported
            run.problems.append(f"{role} {operation.label}: {str(failure)[:600]}")

    if seed is not None:
        exercise = hypothesis_seed(seed)(exercise)
    exercise()
