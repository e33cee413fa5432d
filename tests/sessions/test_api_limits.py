"""The JSON API's request limit: per API token, per user on a session, per address without a credential; 429 with
Retry-After beyond it; off under TESTING unless a test switches the limiter on (the ``throttled`` fixture)."""

from __future__ import annotations

from app.extensions import db
from app.people.tokens import create_token
from tests.conftest import Browser
from tests.helpers import act_of_school, user

SCHOOL_A = "Bilim Innovation School"


def _client(app, address: str = "192.0.2.10", secret: str | None = None) -> Browser:
    client = Browser(app)
    client.client.environ_base["REMOTE_ADDR"] = address
    if secret is not None:
        client.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _token(username: str) -> str:
    _row, secret = create_token(user(username), "integration", ["read"], 30)
    db.session.commit()
    return secret


def _assert_throttled(response) -> int:
    assert response.status_code == 429
    assert response.is_json and response.get_json()["code"] == 429
    retry = int(response.headers["Retry-After"])
    assert 1 <= retry <= 61
    return retry


def test_each_token_has_its_own_limit_with_retry_after(world, throttled):
    throttled.config["API_LIMIT"] = "3/minute;100/hour"
    url = f"/api/v1/acts/{act_of_school(SCHOOL_A).id}"
    first, second = _token("accountant"), _token("accountant")
    client = _client(throttled, secret=first)
    answers = [client.get(url) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    _assert_throttled(client.get(url))
    _assert_throttled(_client(throttled, "198.51.100.5", secret=first).get(url))  # another address: the same token
    assert _client(throttled, secret=second).get(url).status_code == 200  # the user's other token is its own


def test_a_session_is_limited_per_user_and_pages_do_not_count(world, throttled):
    throttled.config["API_LIMIT"] = "2/minute"
    accountant = Browser(throttled, "accountant")
    assert [accountant.get("/api/v1/tasks").status_code for _ in range(2)] == [200, 200]
    _assert_throttled(accountant.get("/api/v1/tasks"))
    assert accountant.get("/account/tokens").status_code == 200, "the pages are not the API"
    assert Browser(throttled, "accountant").get("/api/v1/tasks").status_code == 429, "the same user elsewhere"
    assert Browser(throttled, "official").get("/api/v1/tasks").status_code == 200  # another user


def test_calls_without_a_valid_credential_are_limited_per_address(world, throttled):
    throttled.config["API_LIMIT_ANONYMOUS"] = "2/minute"
    guesser = _client(throttled, "203.0.113.7")
    for n in range(2):
        guesser.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer tps_guess{n}"
        assert guesser.get("/api/v1/tasks").status_code == 401
    guesser.client.environ_base["HTTP_AUTHORIZATION"] = "Bearer tps_guess-again"
    _assert_throttled(guesser.get("/api/v1/tasks"))
    del guesser.client.environ_base["HTTP_AUTHORIZATION"]
    _assert_throttled(guesser.get("/api/v1/tasks"))  # nor without a token
    assert _client(throttled, "198.51.100.20").get("/api/v1/tasks").status_code == 401  # another address
    assert _client(throttled, "203.0.113.7", secret=_token("accountant")).get("/api/v1/tasks").status_code == 200


def test_the_limit_is_off_under_testing_unless_switched_on(world, app_ctx):
    app_ctx.config["API_LIMIT"] = "1/minute"
    try:
        client = _client(app_ctx, secret=_token("accountant"))
        assert {client.get("/api/v1/tasks").status_code for _ in range(5)} == {200}
    finally:
        app_ctx.config["API_LIMIT"] = "300/minute;6000/hour"


def test_the_defaults_parse_as_limits(app_ctx):
    from limits import parse_many

    for setting in ("API_LIMIT", "API_LIMIT_ANONYMOUS"):
        assert parse_many(app_ctx.config[setting]), setting


def test_the_api_answers_and_still_limits_when_the_counters_store_is_down(world, counters_store_down):
    """With Redis down every API request was a 500: the limit called the store directly. Now it counts in this
    process meanwhile, so the API answers and the limit holds."""
    counters_store_down.config["API_LIMIT"] = "2/minute"
    url = f"/api/v1/acts/{act_of_school(SCHOOL_A).id}"
    client = _client(counters_store_down, secret=_token("accountant"))
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    _assert_throttled(client.get(url))
