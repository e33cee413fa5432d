"""API tokens (issue 13 §3): per user, scoped, hashed at rest, expiring, revocable, audited; the same
authorisation as the user; no CSRF for token requests while session requests still need it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.engine.models import ProcessInstance
from app.extensions import db
from app.people.tokens import MAX_USABLE_TOKENS, ApiToken, create_token, hash_token, revoke_token
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, seen, user

SCHOOL_A, SCHOOL_C = "Bilim Innovation School", "Alatau Lyceum"


def _bearer(app, secret: str) -> Browser:
    client = Browser(app)
    client.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def _token(username: str, scopes: list[str], days: int = 30) -> str:
    _row, secret = create_token(user(username), "integration", scopes, days)
    db.session.commit()
    return secret


def test_a_token_is_created_on_its_page_shown_once_and_stored_as_a_hash(world, browser):
    official = browser("official_almaty")
    page = official.post("/account/tokens", {"name": "1C accounting", "scopes": ["read", "tasks"], "days": "90"})

    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token">(tps_[^<]+)<', page.get_data(as_text=True)).group(1)
    row = db.session.scalars(select(ApiToken)).one()
    assert row.token_hash == hash_token(secret) and secret not in (row.prefix, row.token_hash)
    assert row.scope_set == {"read", "tasks"} and row.user_id == user("official_almaty").id
    assert secret not in official.get("/account/tokens").get_data(as_text=True)  # never shown again
    assert "api_token.created" in [e.action for e in db.session.scalars(select(AuditEvent))]


def test_bad_token_forms_are_refused_with_a_message(world, browser):
    official = browser("official_almaty")
    for form in ({"name": "", "scopes": ["read"], "days": "30"}, {"name": "x", "days": "30"},
                 {"name": "x", "scopes": ["read"], "days": "100000"}, {"name": "x", "scopes": ["root"], "days": "1"},
                 {"name": "x", "scopes": ["read"], "days": "soon"}):
        assert official.post("/account/tokens", form).status_code == 422, form
    assert db.session.scalars(select(ApiToken)).all() == []


def test_one_person_holds_a_bounded_number_of_working_tokens(world, browser):
    official = user("official_almaty")
    rows = [create_token(official, f"integration {n}", ["read"], 30)[0] for n in range(MAX_USABLE_TOKENS)]
    db.session.commit()
    client = browser("official_almaty")
    form = {"name": "one more", "scopes": ["read"], "days": "30"}
    page = client.post("/account/tokens", form)
    assert page.status_code == 422
    assert f"You already have {MAX_USABLE_TOKENS} tokens that work" in page.get_data(as_text=True)
    assert len(db.session.scalars(select(ApiToken)).all()) == MAX_USABLE_TOKENS

    revoke_token(rows[0], official)  # a revoked or an expired token no longer counts
    rows[1].expires_at = clock.now() - timedelta(days=1)
    db.session.commit()
    assert [client.post("/account/tokens", form).status_code for _ in range(3)] == [200, 200, 422]
    assert browser("official").post("/account/tokens", form).status_code == 200, "each person's own"


def test_a_token_reads_what_its_user_may_read_and_nothing_more(world, app_ctx):
    client = _bearer(app_ctx, _token("accountant", ["read"]))

    assert client.get(f"/api/v1/acts/{act_of_school(SCHOOL_A).id}").status_code == 200
    assert client.get(f"/api/v1/acts/{act_of_school(SCHOOL_C).id}").status_code == 404  # another school's
    assert client.get("/inbox").status_code == 302  # pages never accept tokens


def test_a_token_completes_a_task_without_csrf_when_its_scope_allows(world, app_ctx):
    task_id = open_task(act_of_school(SCHOOL_C), "accept_act").id
    reader = _bearer(app_ctx, _token("official_almaty", ["read"]))
    refused = reader._request("post", f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "accept"}})
    assert refused.status_code == 403 and refused.get_json()["code"] == 403

    worker = _bearer(app_ctx, _token("official_almaty", ["read", "tasks"]))
    response = worker._request("post", f"/api/v1/tasks/{task_id}/complete",
                               json={"data": {"decision": "accept"}, "seen": seen(open_task(act_of_school(SCHOOL_C),
                                                                                            "accept_act"))})

    assert response.status_code == 200, response.get_data(as_text=True)
    chain = db.session.get(ProcessInstance, act_of_school(SCHOOL_C).instance_id).audit_chain
    completed = db.session.scalars(select(AuditEvent.actor_id).where(
        AuditEvent.chain == chain, AuditEvent.action == "task.completed").order_by(AuditEvent.seq)).all()
    assert completed[-1] == user("official_almaty").id  # acts as its user, in the audit trail too


def test_session_requests_to_the_api_still_need_csrf(world, browser):
    task_id = open_task(act_of_school(SCHOOL_C), "accept_act").id
    official = browser("official_almaty")
    official.csrf = "forged"
    response = official.post_json(f"/api/v1/tasks/{task_id}/complete", {"data": {"decision": "accept"}})
    assert response.status_code == 400
    assert open_task(act_of_school(SCHOOL_C), "accept_act").id == task_id


def test_revoked_expired_and_unknown_tokens_are_refused(world, app_ctx, browser):
    secret = _token("accountant", ["read"], days=1)
    client = _bearer(app_ctx, secret)
    assert client.get("/api/v1/tasks").status_code == 200

    with clock.FrozenClock(clock.now() + timedelta(days=1, seconds=1)):
        expired = client.get("/api/v1/tasks")
    assert expired.status_code == 401 and expired.headers["WWW-Authenticate"].startswith("Bearer")

    accountant = browser("accountant")
    token_id = db.session.scalars(select(ApiToken.id)).one()
    assert browser("accountant2").post(f"/account/tokens/{token_id}/revoke").status_code == 404  # not theirs
    assert client.get("/api/v1/tasks").status_code == 200
    assert accountant.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    revoked = client.get("/api/v1/tasks")
    assert revoked.status_code == 401 and revoked.get_json()["message"]
    assert _bearer(app_ctx, secret + "x").get("/api/v1/tasks").status_code == 401
    assert "api_token.revoked" in [e.action for e in db.session.scalars(select(AuditEvent))]


def test_a_token_of_a_disabled_user_stops_working(world, app_ctx):
    client = _bearer(app_ctx, _token("accountant", ["read"]))
    user("accountant").active = False
    db.session.commit()
    assert client.get("/api/v1/tasks").status_code == 401


def test_a_token_ignores_the_session_cookie_next_to_it(world, app_ctx):
    """A bearer request is its token's user only: a cookie cannot widen what the token may do."""
    official = Browser(app_ctx, "official_almaty")
    official.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {_token('accountant', ['read'])}"
    assert official.get(f"/api/v1/acts/{act_of_school(SCHOOL_C).id}").status_code == 404


def _password_form(current: str, new: str) -> dict:
    return {"current_password": current, "new_password": new, "confirm": new}


def test_a_password_change_or_reset_revokes_the_tokens_made_before_it(world, app_ctx, browser):
    # A token made on a compromised account outlived the recovery: the password change and the administrator's
    # reset ended the sessions, and the token went on reading.
    secret = _token("director", ["read"])
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 200
    director = browser("director")
    changed = director.post("/account/password", _password_form("pw", "a-new-long-password-2026"))
    assert changed.status_code == 302, changed.get_data(as_text=True)[:500]
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 401
    assert director.get("/inbox").status_code == 200, "the session that changed it goes on"
    revoked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_tokens.revoked")).one()
    assert revoked.details == {"count": 1, "because": "user.password_changed"}

    second = _token("director", ["read"])
    assert browser("admin").post(f"/admin/users/{user('director').id}/reset-password").status_code == 200
    assert _bearer(app_ctx, second).get("/api/v1/tasks").status_code == 401
    assert db.session.get(ApiToken, db.session.scalars(select(ApiToken.id).order_by(ApiToken.id.desc())).first()) \
        .revoked_at is not None, "revoked, not only held until the user chooses a new password"


def test_the_forced_change_of_password_also_revokes_the_tokens_and_ends_other_sessions(world, app_ctx, browser):
    secret = _token("director", ["read"])
    elsewhere, here = browser("director"), browser("director")
    page = here.post("/admin/password", {"current": "pw", "new": "a-new-long-password-2026",
                                          "repeat": "a-new-long-password-2026"})
    assert page.status_code == 302, page.get_data(as_text=True)[:500]
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 401
    assert elsewhere.get("/inbox").status_code == 302, "the other device is signed out"
    assert here.get("/inbox").status_code == 200


def test_an_auditor_changes_their_password_and_makes_a_token_that_only_reads(world, app_ctx, browser):
    """An auditor reads everything and changes nothing — but their own password and read-only tokens are theirs
    (both were a bare 403 page)."""
    auditor = browser("auditor")
    page = auditor.get("/account/tokens").get_data(as_text=True)
    assert 'value="read"' in page and 'value="tasks"' not in page and 'value="contracts"' not in page
    assert auditor.post("/account/tokens", {"name": "audit", "scopes": ["read", "tasks"], "days": "30"}
                        ).status_code == 422
    made = auditor.post("/account/tokens", {"name": "audit", "scopes": ["read"], "days": "30"})
    assert made.status_code == 200
    token = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user("auditor").id)).one()
    assert token.scopes == "read"
    assert auditor.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    changed = auditor.post("/account/password", _password_form("pw", "a-new-long-password-2026"))
    assert changed.status_code == 302
    db.session.expire_all()
    assert user("auditor").check_password("a-new-long-password-2026")


def test_the_api_says_how_to_authenticate(world, app, browser):
    """A 401 without any token named no scheme (only a refused token's did), and the OpenAPI document declared
    none: a client generated from it did not know to send the bearer token."""
    response = app.test_client().get("/api/v1/tasks")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    spec = browser("operator").get("/api/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http", "scheme": "bearer", "description": "An API token (tps_…) with its scopes"}
    assert {"bearerToken": []} in spec["security"]


def test_moving_a_person_to_another_organisation_or_role_revokes_their_tokens(world, app_ctx, browser):
    # A school's integration held its accountant's token; the administrator moved the accountant to another school,
    # and the same token read — and could have submitted — the new school's acts.
    admin = browser("admin")
    accountant = user("accountant")
    secret = _token("accountant", ["read", "tasks"])
    other_school = user("accountant2").organisation
    moved = admin.post(f"/admin/users/{accountant.id}", {"full_name": accountant.full_name, "role": accountant.role,
                                                        "organisation_id": str(other_school.id)})
    assert moved.status_code == 302, moved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert user("accountant").organisation_id == other_school.id
    assert _bearer(app_ctx, secret).get("/api/v1/tasks").status_code == 401
    revoked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_tokens.revoked")).one()
    assert revoked.details == {"count": 1, "because": "user.moved"}

    kept = _token("operator", ["read"])
    operator = user("operator")
    admin.post(f"/admin/users/{operator.id}", {"full_name": "Renamed Operator", "role": operator.role,
                                               "organisation_id": str(operator.organisation_id)})
    assert _bearer(app_ctx, kept).get("/api/v1/tasks").status_code == 200, "a new name is not a move"
