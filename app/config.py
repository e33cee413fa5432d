"""Configuration from the environment.

The embedded default (SQLite under ``instance/``, background work in-process) needs no variables at
all; the scale-out mode is chosen by setting ``DATABASE_URL`` to PostgreSQL and
``BACKGROUND_MODE=celery`` with ``CELERY_BROKER_URL`` pointing at Redis.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import click

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(click.ClickException, ValueError):
    """A setting the application cannot start with, said in one sentence that names it and what it must be. A
    ``flask`` command prints it as ``Error: …`` and exits 1 (a ClickException raised while the app loads); it had
    been a traceback of the int() or json.loads() that met the value, ending in "No such command"."""


def _number(name: str, default: str, kind=int, minimum: float = 0):
    value = os.environ.get(name, default).strip() or default
    try:
        number = kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what} (e.g. {default}), not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value!r}")
    return number


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _json_setting(name: str) -> dict:
    value = os.environ.get(name) or "{}"
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{name} is not valid JSON ({err.msg} at character {err.pos})") from None
    if not isinstance(parsed, dict):
        raise ConfigError(f"{name} must be a JSON object ({{...}})")
    return parsed


def _rate_limits(name: str, default: str) -> str:
    """A rate limit setting (``5/minute;20/hour``): Flask-Limiter reads it at each request and, unable to, logs an
    error and counts nothing — a mistyped LOGIN_LIMIT_ADDRESS had switched the login's throttling off."""
    from limits import parse_many

    value = os.environ.get(name, default).strip() or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be limits like {default} (a number per second, minute, hour or day; several "
                          f"separated by ;), not {value!r}") from None
    return value


def _lock_timeout() -> str:
    """MIGRATION_LOCK_TIMEOUT, as PostgreSQL's lock_timeout reads it (5s, 500ms, 1min; 0: wait for ever) — a mistyped
    one was PostgreSQL's "invalid value for parameter" traceback in the middle of ``flask db upgrade``."""
    value = os.environ.get("MIGRATION_LOCK_TIMEOUT", "5s").strip() or "5s"
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?\s*(us|ms|s|min|h|d)?", value):
        raise ConfigError(f"MIGRATION_LOCK_TIMEOUT must be a duration like 5s, 500ms or 1min (0: no limit), not "
                          f"{value!r}")
    return value


def _networks(name: str) -> str:
    """Comma-separated networks (10.0.0.0/8, 127.0.0.1): one that is not had silently refused every address."""
    import ipaddress

    value = os.environ.get(name, "")
    for network in (n.strip() for n in value.split(",")):
        if network:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"{name} must be networks like 10.0.0.0/8 or 127.0.0.1, separated by commas; "
                                  f"{network!r} is not one") from None
    return value


def _days(name: str) -> frozenset:
    """A list of days (``2026-05-27, 2026-06-01``: ISO dates separated by commas or spaces)."""
    from datetime import date

    days = set()
    for text in re.split(r"[\s,;]+", os.environ.get(name, "").strip()):
        if not text:
            continue
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError(text)
            days.add(date.fromisoformat(text))
        except ValueError:
            raise ConfigError(f"{name} must be days written as YYYY-MM-DD, separated by commas (e.g. 2026-05-27, "
                              f"2026-06-01), and {text!r} is not one") from None
    return frozenset(days)


def _announced_calendar() -> dict:
    """Kazakhstan's days off and working days announced by decree (Kurban Ait, transferred days off: app.clock),
    set by the operator each year without a code change."""
    from app.clock import announced_problems

    off, worked = _days("ANNOUNCED_DAYS_OFF"), _days("ANNOUNCED_WORKING_DAYS")
    problems = announced_problems(set(off), set(worked))
    if problems:
        raise ConfigError("ANNOUNCED_DAYS_OFF / ANNOUNCED_WORKING_DAYS: " + "; ".join(problems))
    return {"ANNOUNCED_DAYS_OFF": off, "ANNOUNCED_WORKING_DAYS": worked}


def _flag(name: str) -> bool:
    """An on/off setting: 1, true, yes, on — or 0, false, no, off, empty. Anything else is refused: a secure cookie
    asked for with SESSION_COOKIE_SECURE=true had been silently off (only "1" counted)."""
    value = (os.environ.get(name) or "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 (on) or 0 (off), not {value!r}")


def _demo_data() -> bool:
    """DEMO_DATA: whether ``flask serve`` seeds the demo world (regions, schools, people who share a published
    password) into a database that has none. Unset: on for the embedded default (no DATABASE_URL), off for a
    database named by DATABASE_URL — serve had put the demo's operator and officials, with the password the README
    prints, into a fresh production database."""
    if (os.environ.get("DEMO_DATA") or "").strip() == "":
        return not os.environ.get("DATABASE_URL")
    return _flag("DEMO_DATA")


def _metrics_dir() -> None:
    """PROMETHEUS_MULTIPROC_DIR, read by prometheus_client when the metrics are made: a folder that is not there or
    cannot be written was its FileNotFoundError traceback on every command."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if value and not (os.path.isdir(value) and os.access(value, os.W_OK | os.X_OK)):
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR must be a folder this user can write to (create it, empty, "
                          f"before the processes start), not {value!r}")


def address_scheme(address: str) -> str:
    """How a mistyped address is named back: its scheme only — the rest may hold a password."""
    scheme, sep, _rest = address.partition("://")
    return f"{scheme!r}…" if sep and scheme else "an address without a scheme (…://)"


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'tapsyrys.sqlite'}"
    scheme, sep, _rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("sqlite", "postgres", "postgresql"):
        raise ConfigError(f"DATABASE_URL must be a PostgreSQL (postgresql://…) or SQLite (sqlite:///…) address, not "
                          f"{address_scheme(url)}")
    return normalise_database_url(url)


def _secret_key(instance_path: Path) -> str:
    """Use SECRET_KEY when given; otherwise a random key kept in instance/ (never a fixed default).

    The file appears whole or not at all, readable by this user only from its first byte, and the first process to
    make it wins (two gunicorn workers starting at once read the same key). It had been written under its own name:
    a full disk at the first start left it empty — and every later start served every page as a 500 ("no secret key
    was set") while /readyz said ready."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        temporary = key_file.with_name(f".secret_key.{os.getpid()}-{secrets.token_hex(4)}.part")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temporary, key_file)  # never over another process's key: theirs is read below
            except FileExistsError:
                pass
        except OSError as err:
            raise ConfigError(f"{key_file}: the secret key could not be written ({err.strerror or err}); free the "
                              f"space or fix the folder's permissions, or set SECRET_KEY") from None
        finally:
            temporary.unlink(missing_ok=True)
    key = key_file.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{key_file} holds no usable secret key (empty or cut short): delete it to have a new one "
                          f"made (everyone is logged out), or set SECRET_KEY")
    return key


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _proxy_hops() -> int:
    """TRUSTED_PROXY_HOPS: how many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host."""
    value = os.environ.get("TRUSTED_PROXY_HOPS", "0").strip() or "0"
    if not (value.isascii() and value.isdigit()):  # "²" passed isdigit and broke int()
        raise ConfigError(f"TRUSTED_PROXY_HOPS must be a whole number of proxies (0 or more), not {value!r}")
    return int(value)


def _trusted_hosts() -> list[str] | None:
    """TRUSTED_HOSTS: ``name`` or ``name:port`` (a leading dot admits the subdomains), comma-separated."""
    from app.security import split_host

    hosts = [host.strip() for host in os.environ.get("TRUSTED_HOSTS", "").split(",") if host.strip()]
    for host in hosts:
        if split_host(host.removeprefix(".")) is None:
            raise ConfigError(f"TRUSTED_HOSTS must list host names, each with an optional port 1–65535 "
                              f"(tapsyrys.example.kz, tapsyrys.example.kz:8443), not {host!r}")
    return hosts or None


def build_config(instance_path: Path, overrides: dict | None = None) -> dict:
    config = {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLITE_SYNCHRONOUS": os.environ.get("SQLITE_SYNCHRONOUS", "NORMAL"),
        "SQLITE_MMAP_MB": os.environ.get("SQLITE_MMAP_MB", "1024"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        # every page of a reader whose browser asks for none of the three (an unknown one was a 500 on every page)
        "BABEL_DEFAULT_LOCALE": _choice("DEFAULT_LOCALE", "ru", ("kk", "ru", "en")),
        "BABEL_DEFAULT_TIMEZONE": "Asia/Almaty",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "translations"),
        "LANGUAGES": ["kk", "ru", "en"],
        "BPMN_DIR": str(PROJECT_ROOT / "bpmn"),
        "FORMS_DIR": str(PROJECT_ROOT / "forms"),
        "NODE_MODULES_DIR": str(PROJECT_ROOT / "node_modules"),
        # "inprocess": a daemon thread fires due timers; "celery": workers do (see app/background.py).
        "BACKGROUND_MODE": _choice("BACKGROUND_MODE", "inprocess", ("inprocess", "celery", "none")),
        "TICKER_INTERVAL_SECONDS": _number("TICKER_INTERVAL_SECONDS", "30", float),
        # SLA of "Accept act": working days before the department head is notified (a process variable
        # ``sla_working_days`` overrides it per instance).
        "SLA_ACCEPT_WORKING_DAYS": _number("SLA_ACCEPT_WORKING_DAYS", "5"),
        # Working days are Kazakhstan's (app.clock): the days off and working days the government announces each year
        # by decree (Kurban Ait, a Saturday worked for a bridge day), as ISO dates separated by commas.
        **_announced_calendar(),
        # A payment is registered after its order was executed: a date further ahead than this is a typo.
        "PAYMENT_DATE_MAX_DAYS_AHEAD": _number("PAYMENT_DATE_MAX_DAYS_AHEAD", "31"),
        # Claw-backs reach the act's own academic year and this many before it (app/acts/adjustments.py): a stated
        # limit on claiming money back for an old month, shown with the unsettled corrections.
        "CLAWBACK_LOOKBACK_YEARS": _number("CLAWBACK_LOOKBACK_YEARS", "1", minimum=1),
        # The month from which schools move their pupils up a grade in NEDB for the coming academic year (June: the
        # school year ends in May; 9: on 1 September): until 1 September a grade one above a month's is no mismatch.
        "NEDB_PROMOTION_MONTH": _number("NEDB_PROMOTION_MONTH", "6", minimum=1),
        "DEMO_DATA": _demo_data(),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        "API_TITLE": "Tapsyrys API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        # The two ways in (README "API"): the browser's session cookie (state changes send X-CSRFToken), or an API
        # token from Account → API tokens, sent as a bearer token.
        "API_SPEC_OPTIONS": {"components": {"securitySchemes": {
            "bearerToken": {"type": "http", "scheme": "bearer", "description": "An API token (tps_…) with its scopes"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session",
                        "description": "The browser's login session; state changes also send the X-CSRFToken header"},
        }}, "security": [{"bearerToken": []}, {"session": []}]},
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
        # The host names this deployment answers to (comma-separated; Flask answers any other Host with a 400). Set
        # it wherever the app is reachable from outside: absolute links (open data's "uri" and "next", e-mails) are
        # built from the request's Host, and a forged one would otherwise be written into them.
        # An entry without a port admits the scheme's default port only, one with a port exactly that port
        # (app.security.host_admitted).
        "TRUSTED_HOSTS": _trusted_hosts(),
        # Reverse proxies in front of the app whose X-Forwarded-For, -Proto and -Host are believed (app.security).
        # 0: none — a client reaching the app directly could otherwise forge its address (a fresh rate-limit bucket per
        # request) or claim HTTPS. Behind one TLS-terminating proxy, 1: the client's address, https and the public host
        # name then come from the proxy (rate limits per client, Secure cookies, https in absolute links).
        "TRUSTED_PROXY_HOPS": _proxy_hops(),
        # Open data (OCDS 1.1): the ocid prefix registered with the Open Contracting Partnership, and the publisher.
        "OCDS_OCID_PREFIX": os.environ.get("OCDS_OCID_PREFIX", "ocds-tpsrys"),
        "OCDS_PUBLISHER": os.environ.get("OCDS_PUBLISHER", "Financial Center JSC"),
        # Operations (app/observability.py, app/jobs.py, app/engine/operators.py): /metrics is allowed only with
        # the token or from the networks; job leases; automatic retries of service tasks per operator (JSON).
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        "METRICS_ALLOWED_NETWORKS": _networks("METRICS_ALLOWED_NETWORKS"),
        "LOG_FORMAT": _choice("LOG_FORMAT", "text", ("text", "json")),
        "MIGRATION_LOCK_TIMEOUT": _lock_timeout(),
        "JOB_LEASE_SECONDS": _number("JOB_LEASE_SECONDS", "120"),
        "JOB_QUEUE_TIMEOUT_SECONDS": _number("JOB_QUEUE_TIMEOUT_SECONDS", "600"),
        "JOB_MAX_ATTEMPTS": _number("JOB_MAX_ATTEMPTS", "3"),
        "JOB_TIME_LIMIT_SECONDS": _number("JOB_TIME_LIMIT_SECONDS", "7200"),
        # How long a background job's statement waits for a row another transaction holds (PostgreSQL's lock_timeout,
        # app.database.limit_lock_waits; 0: for ever): an act an official's acceptance left open had held the month-wide
        # verification, silently, for as long as it stayed open.
        "JOB_LOCK_TIMEOUT_SECONDS": _number("JOB_LOCK_TIMEOUT_SECONDS", "10"),
        # The same for a request (an official's acceptance, the operator's payment): past it the person is told that
        # someone else is saving the record and to try again (503), nothing written — it had held a worker thread, and
        # the person, for as long as the other transaction stayed open. 0: for ever.
        "REQUEST_LOCK_TIMEOUT_SECONDS": _number("REQUEST_LOCK_TIMEOUT_SECONDS", "5"),
        # PostgreSQL: how long one statement of a web request may run (statement_timeout; 0: for ever): a slow query
        # had held a web worker with no bound; past it the person is told to try again (503), nothing written.
        # Background jobs, imports, commands and migrations are not bounded by it (app.database).
        "DATABASE_STATEMENT_TIMEOUT_SECONDS": _number("DATABASE_STATEMENT_TIMEOUT_SECONDS", "120", kind=float),
        # PostgreSQL: how long opening a connection may take (libpq's connect_timeout) — a server that accepts and never
        # answers (hung, a half-open network, a stuck pooler) had held /readyz and every request for ever
        "DATABASE_CONNECT_TIMEOUT_SECONDS": _number("DATABASE_CONNECT_TIMEOUT_SECONDS", "10", minimum=1),
        "SERVICE_RETRY": _json_setting("SERVICE_RETRY"),
        "REGISTRY_UPLOAD_DIR": os.environ.get("REGISTRY_UPLOAD_DIR", ""),
        # The share of a school's NEDB rows a complete register (import-nedb --snapshot) may take out without the
        # operator's confirmation: more is a file cut short until they say otherwise (app.registry.snapshot).
        "NEDB_SNAPSHOT_MAX_REMOVED_SHARE": _number("NEDB_SNAPSHOT_MAX_REMOVED_SHARE", "0.2", kind=float),
        # Sessions end after this long without a request, and this long after login whatever happens.
        "SESSION_IDLE_MINUTES": _number("SESSION_IDLE_MINUTES", "30"),
        "SESSION_ABSOLUTE_HOURS": _number("SESSION_ABSOLUTE_HOURS", "12"),
        "PASSWORD_MIN_LENGTH": _number("PASSWORD_MIN_LENGTH", "12"),
        "API_TOKEN_MAX_DAYS": _number("API_TOKEN_MAX_DAYS", "365"),
        # CSRF is checked by app.people.tokens for every request except API calls with a bearer token
        # (a browser cannot attach one cross-site); Flask-WTF's own blanket check would refuse those.
        "WTF_CSRF_CHECK_DEFAULT": False,
        # Failed logins: per address+account, per account (from anywhere), per address (any account); a browser that
        # has logged in to the account before instead per browser+account, at the address+account pace. Several
        # windows each, so a persistent guesser waits longer and longer (see app/limits.py).
        "LOGIN_LIMIT_ACCOUNT_ADDRESS": _rate_limits("LOGIN_LIMIT_ACCOUNT_ADDRESS", "5/minute;20/hour;50/day"),
        "LOGIN_LIMIT_ACCOUNT": _rate_limits("LOGIN_LIMIT_ACCOUNT", "20/minute;60/hour;150/day"),
        "LOGIN_LIMIT_ADDRESS": _rate_limits("LOGIN_LIMIT_ADDRESS", "30/minute;200/hour;500/day"),
        # The JSON API (/api/v1/): requests per API token, or per user on a login session; and per address for calls
        # without a valid credential (see app/limits.py). 429 with Retry-After beyond.
        "API_LIMIT": _rate_limits("API_LIMIT", "300/minute;6000/hour"),
        "API_LIMIT_ANONYMOUS": _rate_limits("API_LIMIT_ANONYMOUS", "30/minute;300/hour"),
        # The public portal and its open data (/public/: pages, CSV/JSON files, OCDS packages), answered without a
        # login: requests per address (see app/limits.py). 429 with Retry-After beyond.
        "PUBLIC_LIMIT": _rate_limits("PUBLIC_LIMIT", "120/minute;2000/hour"),
        # Posts per user on cases (see app/limits.py): comments, and files attached. Beyond it the page says when the
        # person can post again.
        "COMMENT_LIMIT": _rate_limits("COMMENT_LIMIT", "10/minute;100/hour;500/day"),
        "ATTACHMENT_LIMIT": _rate_limits("ATTACHMENT_LIMIT", "10/minute;50/hour;200/day"),
        "LINES_FILE_LIMIT": _rate_limits("LINES_FILE_LIMIT", "10/minute;60/hour;300/day"),
        # Audit trail (app/audit/keys.py, anchors.py): HMAC keys and signed anchors live outside the database.
        "AUDIT_KEY": os.environ.get("AUDIT_KEY"),
        "AUDIT_KEY_ID": os.environ.get("AUDIT_KEY_ID"),
        "AUDIT_KEY_CURRENT_ID": os.environ.get("AUDIT_KEY_CURRENT_ID"),
        "AUDIT_KEY_FILE": os.environ.get("AUDIT_KEY_FILE") or str(instance_path / "audit_keys"),
        "AUDIT_KEY_CREATE": not os.environ.get("AUDIT_KEY_FILE"),  # embedded mode: generate it on first use
        "AUDIT_ANCHOR_DIR": os.environ.get("AUDIT_ANCHOR_DIR") or str(instance_path / "audit_anchors"),
        "AUDIT_ANCHOR_INTERVAL_SECONDS": _number("AUDIT_ANCHOR_INTERVAL_SECONDS", "3600", float),
    }
    # Every limit above is a moving window: at most N in any span of its length. Flask-Limiter's default, a fixed
    # window that starts at the first hit, lets N more in the moment it ends: 2N guesses or posts in a second.
    config["RATELIMIT_STRATEGY"] = _choice("RATELIMIT_STRATEGY", "moving-window",
                                           ("moving-window", "fixed-window", "sliding-window-counter"))
    # Login counters live in the process when embedded, in Redis when several processes serve requests.
    config["RATELIMIT_STORAGE_URI"] = os.environ.get("RATELIMIT_STORAGE_URI") or (
        config["CELERY_BROKER_URL"] if config["BACKGROUND_MODE"] == "celery" else "memory://")
    for key in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM"):
        if os.environ.get(key):
            config[key] = os.environ[key]
    if os.environ.get("MAIL_PORT"):
        config["MAIL_PORT"] = _number("MAIL_PORT", "25", minimum=1)
    # how long the outbox waits for the mail server's answer to each command (its greeting, each mail)
    config["MAIL_TIMEOUT_SECONDS"] = _number("MAIL_TIMEOUT_SECONDS", "20", float, minimum=0.1)
    config["MAIL_USE_TLS"] = _flag("MAIL_USE_TLS")  # "0" or "false" had turned STARTTLS on (any value counted)
    if _flag("SESSION_COOKIE_SECURE"):
        config["SESSION_COOKIE_SECURE"] = True
    _metrics_dir()
    config.update(overrides or {})
    return config
