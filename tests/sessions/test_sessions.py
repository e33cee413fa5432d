"""Sessions the server can end (issue 13 §3): logout, password change, idle and absolute lifetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.extensions import db
from app.people import sessions
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


class WallClock:
    """Stands in for the wall clock sessions are timed by (not app.clock: business time may jump)."""

    def __init__(self, at: datetime):
        self.at = at

    def advance(self, **kwargs) -> None:
        self.at += timedelta(**kwargs)

    def __call__(self) -> int:
        return int(self.at.timestamp())


@pytest.fixture()
def wall_clock(monkeypatch):
    now = WallClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(sessions, "_now", now)
    return now


def test_a_session_ends_after_the_idle_time(world, app_ctx, wall_clock):
    app_ctx.config.update(SESSION_IDLE_MINUTES=30, SESSION_ABSOLUTE_HOURS=12)
    official = Browser(app_ctx, "official")
    wall_clock.advance(minutes=29)
    assert official.get("/inbox").status_code == 200  # activity keeps the session alive…
    wall_clock.advance(minutes=29)
    assert official.get("/inbox").status_code == 200
    wall_clock.advance(minutes=31)  # …31 idle minutes end it
    response = official.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_session_ends_after_the_absolute_lifetime_however_busy(world, app_ctx, wall_clock):
    app_ctx.config.update(SESSION_IDLE_MINUTES=30, SESSION_ABSOLUTE_HOURS=12)
    official = Browser(app_ctx, "official")
    for _ in range(12 * 3 + 1):
        wall_clock.advance(minutes=20)
        response = official.get("/inbox")
        if response.status_code != 200:
            break
    assert response.status_code == 302
    assert wall_clock.at == datetime(2026, 11, 5, 21, 20, tzinfo=UTC)  # the first request past 12 hours


def test_the_bells_poll_is_not_activity_but_typing_into_a_form_is(world, app_ctx, wall_clock):
    """The page polls the unread count every minute while it is visible: that kept an unattended desk's session
    alive for ever. The poll no longer counts; the task form's keep-alive (sent while typing) does."""
    app_ctx.config.update(SESSION_IDLE_MINUTES=30, SESSION_ABSOLUTE_HOURS=12)
    official = Browser(app_ctx, "official")
    for _ in range(40):  # forty minutes of polls, nobody at the desk
        wall_clock.advance(minutes=1)
        answer = official.get("/notifications/unread.json")
    # The poll itself finds the session ended: a 401 for the script, not a login page that would use up the
    # message nobody saw — the next page the person opens says why.
    assert answer.status_code == 401
    ended = official.get("/inbox")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    login_page = official.get(ended.headers["Location"]).get_data(as_text=True)
    assert "Your session has ended (30 minutes without activity" in login_page

    # A page's other background requests (the diagram's fetch) leave it for the page too.
    late = Browser(app_ctx, "official")
    wall_clock.advance(minutes=31)
    assert late.get("/inbox", headers={"Sec-Fetch-Mode": "cors"}).status_code == 401
    assert "Your session has ended" in late.get(late.get("/inbox").headers["Location"]).get_data(as_text=True)

    typist = Browser(app_ctx, "official")
    for _ in range(3):  # an hour and a half of typing, a keep-alive every 25 minutes
        wall_clock.advance(minutes=25)
        assert typist.post("/session/alive").status_code == 200
    assert typist.get("/inbox").status_code == 200


def test_a_form_sent_after_the_session_ended_goes_to_the_login_page_which_says_why(world, app_ctx, wall_clock):
    from tests.helpers import act_of_school, open_task

    app_ctx.config.update(SESSION_IDLE_MINUTES=30, SESSION_ABSOLUTE_HOURS=12)
    task = open_task(act_of_school("Alatau Lyceum"), "accept_act")
    official = Browser(app_ctx, "official_almaty")
    wall_clock.advance(minutes=31)
    sent = official.post(f"/tasks/{task.id}", {"decision": "return", "comment": "Please recheck line 4"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/login?next=/tasks/{task.id}")
    page = official.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Your session has ended (30 minutes without activity" in page and "was not saved" in page
    assert open_task(act_of_school("Alatau Lyceum"), "accept_act").id == task.id, "nothing was saved"


def test_moving_the_business_clock_does_not_end_sessions(world, app_ctx):
    """Tests and the time-travel demo jump app.clock by days; people stay logged in."""
    official = Browser(app_ctx, "official")
    with clock.FrozenClock(clock.now() + timedelta(days=40)):
        assert official.get("/inbox").status_code == 200


def test_a_cookie_from_before_these_checks_is_not_accepted(world, app_ctx):
    """A session without the server's stamps (forged with the key, or older than this code) logs nobody in."""
    official = Browser(app_ctx)
    with official.client.session_transaction() as session:
        session["_user_id"] = str(user("official").id)
        session["_fresh"] = True
    response = official.get("/inbox")
    assert response.status_code == 302


def test_an_htmx_request_on_an_ended_session_sends_the_page_to_the_login(world, app_ctx, wall_clock):
    app_ctx.config.update(SESSION_IDLE_MINUTES=30, SESSION_ABSOLUTE_HOURS=12)
    official = Browser(app_ctx, "official")
    wall_clock.advance(minutes=31)
    answer = official.get("/inbox", headers={"HX-Request": "true", "Sec-Fetch-Mode": "cors",
                                             "Referer": "http://localhost/inbox?view=mine"})
    assert answer.status_code == 401 and answer.headers["HX-Redirect"] == "/login?next=/inbox?view%3Dmine"


def test_logging_out_clears_what_the_browser_kept_of_the_work(world, browser):
    """A submitted act's entries (every child's IIN and name) stay in the tab's session storage once sent — kept so
    that a submission the ended login swallowed can be offered back — and nothing removed them when the person
    logged out: the next person at a school's shared computer found them there. Logging out asks the browser to
    clear this site's storage; its cookies stay (the language, the device the login limits know)."""
    accountant = browser("accountant")
    response = accountant.post("/logout")
    assert response.status_code == 302
    cleared = {part.strip() for part in response.headers.get("Clear-Site-Data", "").split(",")}
    assert '"storage"' in cleared
    assert '"cookies"' not in cleared and '"*"' not in cleared


def test_logging_in_gives_the_browser_a_new_form_token(world, app_ctx):
    """The form token (CSRF) lived in the session cookie from the first anonymous page on, never expired, and stayed
    through login: someone who planted their own anonymous cookie in a victim's browser (a shared computer, a cookie
    set over plain HTTP or by a sibling host) knew the token the victim's signed-in session accepted, and could send
    forms in the victim's name from any site. Logging in now starts a new token; the old one is refused."""
    attacker = Browser(app_ctx)
    attacker.get("/login")
    planted, known_token = attacker.client.get_cookie("session").value, attacker.csrf

    victim = Browser(app_ctx)
    victim.client.set_cookie("session", planted)
    victim.login("official")
    assert victim.csrf != known_token

    forged = victim.post("/notifications/read-all", {"csrf_token": known_token})
    assert forged.status_code == 400
    assert victim.post("/notifications/read-all").status_code == 302


def test_a_page_whose_address_ends_in_json_goes_to_the_login_page_when_the_login_ended(world, app_ctx, wall_clock):
    """The modeler's form editor is a page at …/forms/accept-act.schema.json: opened or sent after the login ended,
    it answered {"code": 401, "message": "Log in, or send a valid API token."} — the page's ".json" read as a
    script's request — and the owner's JSON was lost. A person's page goes to the login page; a script's fetch of a
    file still gets its 401."""
    from app.engine.models import ProcessModelVersion

    app_ctx.config.update(SESSION_IDLE_MINUTES=30)
    version = db.session.query(ProcessModelVersion).filter_by(status="published") \
        .order_by(ProcessModelVersion.id).first()
    url = f"/modeler/versions/{version.id}/forms/accept-act.schema.json"
    owner = Browser(app_ctx, "owner")
    wall_clock.advance(minutes=31)
    opened = owner.get(url, headers={"Sec-Fetch-Mode": "navigate"})
    assert opened.status_code == 302 and "/login" in opened.headers["Location"]
    owner = Browser(app_ctx, "owner")
    wall_clock.advance(minutes=31)
    sent = owner.post(url, {"schema": "{}", "uischema": "{}"})
    assert sent.status_code == 302 and "/login" in sent.headers["Location"]
    owner = Browser(app_ctx, "owner")
    wall_clock.advance(minutes=31)
    assert owner.get(f"/modeler/versions/{version.id}/files/x.bpmn", headers={"Sec-Fetch-Mode": "cors"}).status_code \
        == 401
    assert owner.get(url).status_code == 401, "no header to tell: read as a script's, as before"
