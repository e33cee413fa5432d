"""Sessions the server can end (issue 13 §3): logout, password change, idle and absolute lifetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import Browser
from tests.helpers import user


def _replay(app, cookie: str):
    """Another machine that got hold of the session cookie."""
    thief = Browser(app)
    thief.client.set_cookie("session", cookie)
    return thief.get("/inbox")


def test_a_copied_cookie_stops_working_after_logout(world, browser, app_ctx):
    accountant = browser("accountant")
    cookie = accountant.client.get_cookie("session").value
    assert _replay(app_ctx, cookie).status_code == 200  # the copy works while the session lives

    accountant.post("/logout")

    response = _replay(app_ctx, cookie)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "user.logout" in [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == f"user:{user('accountant').id}"))]


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(world, browser, app_ctx):
    laptop, phone = browser("accountant"), browser("accountant")
    phone_cookie = phone.client.get_cookie("session").value

    response = laptop.post("/account/password", {"current_password": "pw", "new_password": "steppe horses run far",
                                                 "confirm": "steppe horses run far"})

    assert response.status_code == 302
    assert laptop.get("/inbox").status_code == 200
    assert _replay(app_ctx, phone_cookie).status_code == 302
    assert user("accountant").check_password("steppe horses run far")
    assert user("accountant").password_changed_at is not None
    Browser(app_ctx, "accountant", "steppe horses run far")  # logs in with the new password
    assert Browser(app_ctx).post("/login", {"username": "accountant", "password": "pw"}).status_code == 401


def test_a_weak_new_password_is_refused_with_the_reason_and_nothing_changes(world, browser):
    accountant = browser("accountant")
    before = user("accountant").password_hash
    for new, reason in (("short1", "at least 12 characters"),
                        ("accountant-is-me-2026", "must not contain your login"),
                        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
                        ("pw", "at least 12 characters")):
        response = accountant.post("/account/password", {"current_password": "pw", "new_password": new,
                                                         "confirm": new})
        assert response.status_code == 422, new
        assert reason in response.get_data(as_text=True), new
    wrong = accountant.post("/account/password", {"current_password": "nope", "new_password": "a long good phrase",
                                                  "confirm": "a long good phrase"})
    assert "not your current password" in wrong.get_data(as_text=True)
    mismatch = accountant.post("/account/password", {"current_password": "pw", "new_password": "a long good phrase",
                                                     "confirm": "a long good phrasE"})
    assert "two new passwords differ" in mismatch.get_data(as_text=True)
    assert user("accountant").password_hash == before
    assert accountant.get("/inbox").status_code == 200


def test_a_session_ends_after_the_idle_time(world, app_ctx):
    app_ctx.config.update(SESSION_IDLE_MINUTES=30, SESSION_ABSOLUTE_HOURS=12)
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) as now:
        official = Browser(app_ctx, "official")
        now.advance(minutes=29)
        assert official.get("/inbox").status_code == 200  # activity keeps the session alive…
        now.advance(minutes=29)
        assert official.get("/inbox").status_code == 200
        now.advance(minutes=31)  # …31 idle minutes end it
        response = official.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_session_ends_after_the_absolute_lifetime_however_busy(world, app_ctx):
    app_ctx.config.update(SESSION_IDLE_MINUTES=30, SESSION_ABSOLUTE_HOURS=12)
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)) as now:
        official = Browser(app_ctx, "official")
        for _ in range(12 * 3 + 1):
            now.advance(minutes=20)
            response = official.get("/inbox")
            if response.status_code != 200:
                break
    assert response.status_code == 302
    assert now.at == datetime(2026, 11, 5, 21, 20, tzinfo=UTC)  # the first request past 12 hours


def test_a_cookie_from_before_these_checks_is_not_accepted(world, app_ctx):
    """A session without the server's stamps (forged with the key, or older than this code) logs nobody in."""
    official = Browser(app_ctx)
    with official.client.session_transaction() as session:
        session["_user_id"] = str(user("official").id)
        session["_fresh"] = True
    response = official.get("/inbox")
    assert response.status_code == 302
