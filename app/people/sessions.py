"""Login sessions that the server can end: logout, password change, idle and absolute lifetimes.

The session cookie is signed, not stored: on its own a copied cookie stays valid for as long as its
signature does. So each cookie carries the user's ``session_version`` at login and the times it was issued
and last used. The user's row (read on every request anyway, see ``load_user``) says which version is
current: logout and password change bump it, and every cookie issued before stops working — on every
device, which is also what a person who suspects a stolen cookie wants. No extra statement per request.
"""

from __future__ import annotations

import time

from flask import current_app, g, request, session

from app.people.models import User

VERSION, AUTH_AT, SEEN_AT = "_sv", "_auth_at", "_seen_at"
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", VERSION, AUTH_AT, SEEN_AT)
#: Refresh "last seen" at most this often: a new cookie on every request would be churn for nothing.
_SEEN_GRANULARITY_SECONDS = 60


def _now() -> int:
    # Wall-clock time, not app.clock: moving the business clock (tests, the time-travel demo) by days
    # must not log people out; a session's lifetime is real time.
    return int(time.time())


def stamp(user: User) -> None:
    """Mark the current session as issued now for ``user``'s current session version (after login_user).

    The form token (CSRF) starts afresh: the one in the cookie was handed out to whoever held the cookie before the
    login, and it never expires (WTF_CSRF_TIME_LIMIT) — a cookie planted in someone's browser would otherwise bring
    a token its planter knows into the signed-in session."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)
    g.pop(field, None)
    now = _now()
    session[VERSION] = user.session_version
    session[AUTH_AT] = now
    session[SEEN_AT] = now


def restamp_version(user: User) -> None:
    """Keep this session alive after a password change ended all the others (it proved the password)."""
    session[VERSION] = user.session_version


#: Requests a page makes by itself (the bell's unread count, polled every minute): they do not count as the person's
#: activity, or a tab left open on an unattended desk would never reach the idle limit.
PASSIVE_ENDPOINTS = frozenset({"notifications.unread"})


def still_valid(user: User) -> bool:
    """Is the session in the cookie still one the server accepts for ``user``?"""
    return _still_valid(user)


def _still_valid(user: User) -> bool:
    auth_at, seen_at = session.get(AUTH_AT), session.get(SEEN_AT)
    if session.get(VERSION) != user.session_version or not isinstance(auth_at, int) or not isinstance(seen_at, int):
        return False
    now = _now()
    if now - auth_at > current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600:
        return False
    if now - seen_at > current_app.config["SESSION_IDLE_MINUTES"] * 60:
        return False
    if now - seen_at >= _SEEN_GRANULARITY_SECONDS and request.endpoint not in PASSIVE_ENDPOINTS:
        session[SEEN_AT] = now
    return True


#: Left in the cookie when a login ends by itself (idle, too old, logged out elsewhere), until a page says so: the
#: bell's background poll found the end first and used the message up on a page nobody saw.
ENDED = "_ended"


def forget(ended: bool = False) -> None:
    """Drop the login from the cookie (keeps the language choice and the CSRF token); ``ended``: it ended by itself."""
    for key in _LOGIN_KEYS:
        session.pop(key, None)
    if ended:
        session[ENDED] = 1
