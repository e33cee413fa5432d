"""Login throttling with Flask-Limiter.

Only failed logins count (``deduct_when``), against three keys: the address and the account together
(one person mistyping, or one guesser at one account), the account from anywhere (a guesser spread over
many addresses) and the address for any account (one address trying many accounts). Each limit has
several windows (per minute, hour, day): a guesser who keeps going waits longer and longer, a person who
mistyped waits a minute. The good login from another address still works, because the per-account limit
is set well above the per-address one.

A browser that has logged in to the account before (a signed *device cookie*, set at every good login; OWASP's
"device cookies") is counted on its own: its failed logins at that account go to a count of that browser and
account (``LOGIN_LIMIT_ACCOUNT_ADDRESS``'s pace), and none of the three counts above holds it back or counts it. A
guesser could otherwise lock the owner out for the rest of the day: spread over many addresses with about 150 wrong
passwords (the account-wide limit), or — a school's staff share one public address — from any other computer behind
the school's address, using up the address's limit (every account of the school) or the address-and-account one.
The guesser's own attempts still count in all three; a stolen device cookie buys its holder one browser's pace at
one account, no more.

The JSON API (``/api/v1/``) has a request limit of its own (:func:`api_throttle`): per API token, per user for
calls riding on a login session, and per address for calls that bring no valid credential (``API_LIMIT``,
``API_LIMIT_ANONYMOUS``); beyond it a 429 with ``Retry-After``, and every counted answer says where its caller
stands (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``).

The public portal (``/public/``: pages, open data files, OCDS packages) is counted per address
(:func:`public_limits`, ``PUBLIC_LIMIT``): it answers anyone, without a login.

What a person can post again and again on a case — comments, attached files — is counted per user
(:func:`take_posting_allowance`, ``COMMENT_LIMIT``, ``ATTACHMENT_LIMIT``): one account could otherwise fill task pages
and the database with thousands of comments. The operation that stores the post refuses it with a message in the
person's language (the page shows it where it shows any refusal), not a bare 429 page.

Counters live in memory when embedded (one process) and in Redis in the scale-out mode
(``RATELIMIT_STORAGE_URI``, see app/config.py). Tests log in constantly, so under ``TESTING`` the limiter
is off unless a test switches it on (``limiter.enabled = True``).
"""

from __future__ import annotations

import os

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.user_input import login_name

# If Redis is unreachable the counters fall back to this process's memory: logins keep working, throttled.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, default_limits=[], in_memory_fallback_enabled=True)


def _account() -> str:
    # The account the login form names (app.user_input.login_name): case, spaces and full-width letters do not make a
    # new account to guess at; the length is capped like the form's field.
    return login_name(request.form.get("username"))


def _failed(response) -> bool:
    return response.status_code == 401


DEVICE_COOKIE = "login_device"
DEVICE_DAYS = 180
_DEVICE_ACCOUNTS = 5  # a browser shared by a school's accountant and director knows both


def _device_signer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.secret_key, salt="login-device")


def _device() -> tuple[str, list[str]]:
    """This browser's device id and the accounts it has logged in to within :data:`DEVICE_DAYS` (the device cookie,
    signed with the application's secret; a forged or expired one is no device and knows none). A cookie of the
    first kind (a bare list of accounts) is identified by its own hash until the next good login renews it."""
    import hashlib

    from itsdangerous import BadSignature

    token = request.cookies.get(DEVICE_COOKIE)
    if not token:
        return "", []
    try:
        payload = _device_signer().loads(token, max_age=DEVICE_DAYS * 24 * 3600)
    except BadSignature:
        return "", []
    if isinstance(payload, list):
        device, accounts = hashlib.sha256(token.encode()).hexdigest()[:32], payload
    elif isinstance(payload, dict) and isinstance(payload.get("device"), str):
        device, accounts = payload["device"], payload.get("accounts")
    else:
        return "", []
    return device, [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def _device_accounts() -> list[str]:
    return _device()[1]


def _known_device() -> bool:
    return bool(_account()) and _account() in _device_accounts()


def _unknown_device() -> bool:
    return not _known_device()


def _device_account() -> str:
    return f"{_device()[0]}|{_account()}"


def remember_device(response, username: str):
    """After a good login: this browser knows the account (kept first), for :data:`DEVICE_DAYS`; it keeps its device
    id (a new one for a browser that had none)."""
    import secrets

    account = login_name(username)
    device, known = _device()
    accounts = [account, *(a for a in known if a != account)][:_DEVICE_ACCOUNTS]
    from app.security import cookie_secure

    token = _device_signer().dumps({"device": device or secrets.token_urlsafe(16), "accounts": accounts})
    response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_DAYS * 24 * 3600, httponly=True, samesite="Lax",
                        secure=cookie_secure())
    return response


def login_limits(view):
    """Decorate the login view with the three failed-login limits, and for a browser that has logged in to the
    account before, in their place, the one of that browser and account."""
    for key, setting, scope, exempt in (
            (lambda: f"{get_remote_address()}|{_account()}", "LOGIN_LIMIT_ACCOUNT_ADDRESS", None, _known_device),
            (_account, "LOGIN_LIMIT_ACCOUNT", None, _known_device),
            (get_remote_address, "LOGIN_LIMIT_ADDRESS", None, _known_device),
            (_device_account, "LOGIN_LIMIT_ACCOUNT_ADDRESS", "login_limit_device", _unknown_device)):
        view = limiter.limit(lambda setting=setting: current_app.config[setting], key_func=key, methods=["POST"],
                             deduct_when=_failed, scope=scope or setting.lower(), override_defaults=False,
                             exempt_when=exempt)(view)
    return view


def _user_key() -> str:
    from flask_login import current_user

    return f"user:{current_user.get_id()}"


def _wrong_current_password(_response) -> bool:
    return bool(g.get("wrong_current_password"))


#: One count of the wrong passwords a signed-in person types (the password change forms, a contract's signature): a
#: stolen session guessed in three buckets, each at the login's pace — the two change forms and the signature.
SESSION_PASSWORD_SCOPE = "session_password"  # noqa: S105 - a counter's name


def password_change_limits(view):
    """Guessing the current password through a change form, with a stolen session: the login's backoff, in the one
    count a signature's password shares (:func:`session_password_retry_after`)."""
    return limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT_ADDRESS"],
                                scope=SESSION_PASSWORD_SCOPE,
                                key_func=_user_key, methods=["POST"], deduct_when=_wrong_current_password,
                                override_defaults=False)(view)


API_PATH = "/api/v1/"


def api_throttle(key: str, setting: str):
    """Count one API request against ``key`` ("token:7", "user:3", "address:203.0.113.7") and the windows of the
    setting ``setting``; a 429 response with ``Retry-After`` when any window is used up, else None. Called by the
    request guard (app.people.tokens) once it knows who is asking; off where the limiter is (tests, unless a test
    switches it on) and for anything outside the JSON API."""
    if not limiter.enabled or not request.path.startswith(API_PATH):
        return None
    import time

    from flask_babel import gettext as _
    from limits import parse_many

    from app.api.errors import error_response

    scope = f"api:{setting.lower()}"
    items = parse_many(current_app.config[setting])

    def count(strategy):
        over = [item for item in items if not strategy.hit(item, scope, key)]
        return over, [(item, strategy.get_window_stats(item, scope, key)) for item in items]

    over, stats = _counted(count)
    now = time.time()
    if not stats:
        return None
    tightest, window = min(stats, key=lambda s: (s[1].remaining, s[1].reset_time))
    g.api_rate_headers = {"X-RateLimit-Limit": str(tightest.amount), "X-RateLimit-Remaining": str(window.remaining),
                          "X-RateLimit-Reset": str(int(window.reset_time))}
    if not over:
        return None
    wait = max(max(1, int(window.reset_time - now) + 1) for item, window in stats if item in over)
    return error_response(429, _("Too many API requests. Try again in %(seconds)s s.", seconds=wait),
                          headers={"Retry-After": str(wait), **g.api_rate_headers})


def public_limits(blueprint) -> None:
    """The public portal (pages, open data files, OCDS packages) answers anyone without a login: its requests are
    counted per address, all its routes together (``PUBLIC_LIMIT``) — one address asking again and again for files
    built from the figures (a year's bulk OCDS file is many megabytes at country scale) kept the web processes busy
    for everyone. Beyond it a 429 with ``Retry-After`` (app/errors.py says it in the reader's language)."""
    limiter.shared_limit(lambda: current_app.config["PUBLIC_LIMIT"], scope="public",
                         key_func=get_remote_address)(blueprint)


def _api_rate_headers(response):
    for name, value in (g.pop("api_rate_headers", None) or {}).items():
        response.headers.setdefault(name, value)
    return response


def init_limits(app: Flask) -> None:
    from limits.errors import ConfigurationError

    try:
        limiter.init_app(app)
    except ConfigurationError:  # a mistyped address: the setting named (its scheme only: the rest may hold a password)
        from app.config import ConfigError, address_scheme

        uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
        setting = "RATELIMIT_STORAGE_URI" if os.environ.get("RATELIMIT_STORAGE_URI") else "CELERY_BROKER_URL"
        raise ConfigError(f"{setting} is not an address the rate limiter can count in (redis://host:port/db, or "
                          f"memory:// for one process), not {address_scheme(uri)}") from None

    app.after_request(_api_rate_headers)
    if app.config.get("TESTING") and not app.config.get("RATELIMIT_ENABLED_IN_TESTS"):
        limiter.enabled = False



_fallback_counters = None


def _counted(call):
    """``call(strategy)`` against the limiter's store; when that store (Redis) cannot be reached, against counters in
    this process's memory instead — what Flask-Limiter's in-memory fallback does for the decorated routes (the login),
    done here for the limits counted by hand (the API, posting, a signature's password). A store that went down made
    every API request a 500, and a password-guessing limit must not simply stop counting meanwhile."""
    try:
        return call(limiter.limiter)
    except Exception as err:  # noqa: BLE001 - whatever the store's client raises (connection refused, timeout)
        current_app.logger.warning("rate limits: their store failed (%s); counting in this process meanwhile", err)
        return call(_in_process_counters())


def _in_process_counters():
    """Flask-Limiter's own in-memory fallback where it keeps one: once a decorated route has met the store down,
    ``limiter.limiter`` *is* that fallback (until a later check finds the store back), so a post is counted in one
    place whichever noticed first. Counters of our own beside it had split the count in two, and let through twice the
    limit while the store was down."""
    global _fallback_counters
    shared = getattr(limiter, "_fallback_limiter", None)
    if shared is not None:
        return shared
    if _fallback_counters is None:
        from limits.storage import MemoryStorage

        _fallback_counters = type(limiter.limiter)(MemoryStorage())
    return _fallback_counters


def take_posting_allowance(setting: str, who: object) -> int | None:
    """Count one post by ``who`` (a comment, a file: what a person can post again and again) against the windows of
    the setting ``setting`` (``COMMENT_LIMIT``, ``ATTACHMENT_LIMIT``); None when it was counted, else the seconds
    until every window has room again — and nothing is counted, so waiting is enough. Called by the operation that
    stores the post, after its own checks (a refused post costs nothing), so the page, a task and any later API door
    share the one count. Off where the limiter is (tests, unless a test switches it on)."""
    if not limiter.enabled:
        return None
    import time

    from limits import parse_many

    scope, key = f"post:{setting.lower()}", str(who)
    items = parse_many(current_app.config[setting])

    def take(strategy) -> int | None:
        full = [item for item in items if not strategy.test(item, scope, key)]
        if full:
            now = time.time()
            return max(max(1, int(strategy.get_window_stats(item, scope, key).reset_time - now) + 1) for item in full)
        for item in items:
            strategy.hit(item, scope, key)
        return None

    return _counted(take)


def _password_limits():
    from limits import parse_many

    return parse_many(current_app.config["LOGIN_LIMIT_ACCOUNT_ADDRESS"])


def password_retry_after(scope: str, who: object) -> int | None:
    """Seconds until ``who`` may try a password again in ``scope`` (a password asked inside an operation, such as
    the re-authentication of a signature, reachable from the page, the API and the task), None: now. The login's
    per-account windows and backoff, counted by :func:`count_wrong_password`; off where the limiter is."""
    if not limiter.enabled:
        return None
    import time

    waits = _counted(lambda strategy: [strategy.get_window_stats(item, scope, str(who)).reset_time - time.time()
                                       for item in _password_limits() if not strategy.test(item, scope, str(who))])
    return max(1, int(max(waits)) + 1) if waits else None


def count_wrong_password(scope: str, who: object) -> None:
    if limiter.enabled:
        _counted(lambda strategy: [strategy.hit(item, scope, str(who)) for item in _password_limits()])


def session_password_retry_after(user_id: int) -> int | None:
    """Seconds until the signed-in person ``user_id`` may type their password again (a signature), None: now — the
    count the password change forms keep too (the limiter's key and scope, in its order)."""
    return password_retry_after(f"user:{user_id}", SESSION_PASSWORD_SCOPE)


def count_wrong_session_password(user_id: int) -> None:
    count_wrong_password(f"user:{user_id}", SESSION_PASSWORD_SCOPE)
