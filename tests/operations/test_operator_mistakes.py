"""An operator on a fresh machine: a mistyped setting, an instance folder that cannot be written, a SQLite file in
a folder that is not there or locked by another process, a background pass whose parts fail. Each ends in one
sentence naming the cause and a non-zero exit — they had been tracebacks (ending in "No such command"), or "fired 0"
with exit 0 while every part had failed."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from app import create_app
from app.audit.keys import AuditKeyError
from app.config import ConfigError

WORKTREE = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("name", "value", "said"), [
    ("SLA_ACCEPT_WORKING_DAYS", "five", "SLA_ACCEPT_WORKING_DAYS must be a whole number (e.g. 5), not 'five'"),
    ("TICKER_INTERVAL_SECONDS", "30s", "TICKER_INTERVAL_SECONDS must be a number (e.g. 30), not '30s'"),
    ("JOB_LEASE_SECONDS", "-5", "JOB_LEASE_SECONDS must be at least 0, not '-5'"),
    ("SERVICE_RETRY", "{registry: 3}", "SERVICE_RETRY is not valid JSON (Expecting property name enclosed in double "
                                       "quotes at character 1)"),
    ("BACKGROUND_MODE", "celary", "BACKGROUND_MODE must be one of inprocess, celery, none, not 'celary'"),
    ("RATELIMIT_STRATEGY", "moving", "RATELIMIT_STRATEGY must be one of moving-window, fixed-window, "
                                     "sliding-window-counter, not 'moving'"),
    ("DATABASE_URL", "mysql://root:hunter2@db/tapsyrys", "DATABASE_URL must be a PostgreSQL (postgresql://…) or "
                                                          "SQLite (sqlite:///…) address, not 'mysql'…"),
    ("RATELIMIT_STORAGE_URI", "redis//:hunter2@cache", "RATELIMIT_STORAGE_URI is not an address the rate limiter "
                                                       "can count in (redis://host:port/db, or memory:// for one "
                                                       "process), not an address without a scheme (…://)"),
    # Flask-Limiter logged an error per request and counted nothing: the login's throttling was off.
    ("LOGIN_LIMIT_ADDRESS", "30 a minute", "LOGIN_LIMIT_ADDRESS must be limits like 30/minute;200/hour;500/day (a "
                                           "number per second, minute, hour or day; several separated by ;), not "
                                           "'30 a minute'"),
    # Babel's UnknownLocaleError: a 500 on every page of a browser asking for none of the three languages.
    ("DEFAULT_LOCALE", "kz", "DEFAULT_LOCALE must be one of kk, ru, en, not 'kz'"),
    # PostgreSQL's "invalid value for parameter lock_timeout" traceback, in the middle of `flask db upgrade`.
    ("MIGRATION_LOCK_TIMEOUT", "5 seconds", "MIGRATION_LOCK_TIMEOUT must be a duration like 5s, 500ms or 1min (0: no "
                                            "limit), not '5 seconds'"),
    ("MAIL_PORT", "smtp", "MAIL_PORT must be a whole number (e.g. 25), not 'smtp'"),
    # One network that is not refused every address, the good ones too: Prometheus got 404.
    ("METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,monitoring", "METRICS_ALLOWED_NETWORKS must be networks like "
                                                          "10.0.0.0/8 or 127.0.0.1, separated by commas; "
                                                          "'monitoring' is not one"),
    # prometheus_client's FileNotFoundError traceback, on every command and every gunicorn worker.
    ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics", "PROMETHEUS_MULTIPROC_DIR must be a folder this user can "
                                                         "write to (create it, empty, before the processes start), "
                                                         "not '/nonexistent/metrics'"),
    # Kazakhstan's days off announced by decree (app.clock): had to be typed into the code; a typo there is a setting
    # that counts the decree's day the other way, silently.
    ("ANNOUNCED_DAYS_OFF", "2026-05-27, 27.05.2026", "ANNOUNCED_DAYS_OFF must be days written as YYYY-MM-DD, "
                                                     "separated by commas (e.g. 2026-05-27, 2026-06-01), and "
                                                     "'27.05.2026' is not one"),
    ("ANNOUNCED_WORKING_DAYS", "2026-05-29", "ANNOUNCED_DAYS_OFF / ANNOUNCED_WORKING_DAYS: 2026-05-29 is a weekday, a "
                                             "working day already: a working day announced by decree is a Saturday, "
                                             "a Sunday or a holiday made a working day"),
    # Only "1" counted: "true" left the session cookie without Secure, unsaid.
    ("SESSION_COOKIE_SECURE", "ture", "SESSION_COOKIE_SECURE must be 1 (on) or 0 (off), not 'ture'"),
])
def test_a_mistyped_setting_is_one_sentence_naming_it(name, value, said, monkeypatch, tmp_path):
    from app.limits import limiter

    monkeypatch.setenv(name, value)
    # switched on as in production: an app built while an earlier test's app left it off never reads its store
    monkeypatch.setattr(limiter, "enabled", True)
    with pytest.raises(ConfigError) as refused:
        create_app(instance_path=str(tmp_path))
    assert str(refused.value) == said and "hunter2" not in str(refused.value)


def test_an_instance_folder_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "data").write_text("a file where the folder should be")
    with pytest.raises(ConfigError, match=f"^The instance folder {tmp_path}/data/instance \\(INSTANCE_PATH\\) cannot "
                                          "be used: Not a directory$"):
        create_app(instance_path=str(tmp_path / "data" / "instance"))


def test_an_empty_secret_key_file_is_named_not_served_as_a_500_on_every_page(monkeypatch, tmp_path):
    """What a full disk at the first start left: an empty instance/secret_key. The application had started with an
    empty key and answered every page 500 ("no secret key was set") while /readyz said ready."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(ConfigError, match=f"^{tmp_path}/secret_key holds no usable secret key \\(empty or cut "
                                          "short\\): delete it to have a new one made"):
        create_app(instance_path=str(tmp_path))


def test_a_secret_key_that_cannot_be_written_whole_leaves_no_file(monkeypatch, tmp_path):
    """A quota or a full disk as the key is made (here the process's file-size limit, RLIMIT_FSIZE, smaller than the
    key): one sentence naming the file and no part of it left — a key cut to 16 characters had been kept and used
    from the next start on. Once the space is there, the key is made whole, readable by this user only."""
    import resource
    import signal

    from app.config import _secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a quota
    resource.setrlimit(resource.RLIMIT_FSIZE, (16, hard))
    try:
        with pytest.raises(ConfigError, match="secret_key: the secret key could not be written"):
            _secret_key(tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert list(tmp_path.iterdir()) == [], "no key cut short, no temporary file"
    key = _secret_key(tmp_path)
    assert len(key) == 64 and _secret_key(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_the_command_line_says_it_in_one_line_with_exit_1(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "INSTANCE_PATH": str(tmp_path), "SLA_ACCEPT_WORKING_DAYS": "x",
           "BACKGROUND_MODE": "none"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "verify-audit"], cwd=WORKTREE,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == "Error: SLA_ACCEPT_WORKING_DAYS must be a whole number (e.g. 5), not 'x'"


@pytest.mark.parametrize("command", [["flask", "--app", "wsgi", "--help"],
                                     ["flask", "--app", "wsgi", "ticker", "--help"],
                                     ["celery", "-A", "app.celery_worker", "worker", "--pool=solo"]],
                         ids=["flask --help", "flask ticker --help", "celery worker"])
def test_every_command_line_says_a_mistyped_setting_in_one_line_with_exit_1(command, tmp_path):
    """Flask's help and command listing printed any exception while loading the app as a traceback, then the help,
    and exited 0 (``flask --help`` with RATELIMIT_STRATEGY=bogus); a Celery worker printed its own traceback."""
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "INSTANCE_PATH": str(tmp_path), "BACKGROUND_MODE": "celery",
           "RATELIMIT_STRATEGY": "bogus", "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([str(Path(sys.executable).parent / command[0]), *command[1:]], cwd=WORKTREE, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == ("Error: RATELIMIT_STRATEGY must be one of moving-window, fixed-window, "
                                   "sliding-window-counter, not 'bogus'")
    assert "Usage:" not in done.stdout


def test_flags_and_languages_that_are_right_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("MAIL_USE_TLS", "0")
    monkeypatch.setenv("DEFAULT_LOCALE", "kk")
    monkeypatch.setenv("LOGIN_LIMIT_ADDRESS", "10 per minute")
    config = create_app(instance_path=str(tmp_path)).config
    assert config["SESSION_COOKIE_SECURE"] is True and config["MAIL_USE_TLS"] is False, "\"0\" had turned TLS on"
    assert (config["BABEL_DEFAULT_LOCALE"], config["LOGIN_LIMIT_ADDRESS"]) == ("kk", "10 per minute")


def test_a_sqlite_file_whose_folder_is_missing_or_locked_says_so(tmp_path):
    import click

    from app.cli import check_schema, database_reason

    missing = tmp_path / "not-made" / "tapsyrys.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}", "TESTING": True, "BACKGROUND_MODE": "none"},
                     instance_path=str(tmp_path / "instance"))
    with app.app_context():
        with pytest.raises(click.ClickException) as refused:
            check_schema()
        assert refused.value.message.endswith(f"unable to open database file: the folder {missing.parent} does "
                                              "not exist")
        migrating = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert migrating.exit_code == 1 and migrating.output == (
            f"Error: The database failed (sqlite:///{missing}): unable to open database file: the folder "
            f"{missing.parent} does not exist\n"), "the first command on a fresh machine: one line, no traceback"
        locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        assert database_reason(locked) == (f"database is locked: another process (the server, the ticker, another "
                                           f"command) is writing to {missing} and did not finish in time; try again "
                                           "once it has")


@pytest.mark.parametrize(("error", "reason"), [
    (OperationalError("PRAGMA wal_checkpoint(PASSIVE)", {}, sqlite3.OperationalError("database is locked")),
     "database is locked"),
    (AuditKeyError("No audit key: set AUDIT_KEY (and AUDIT_KEY_ID) or AUDIT_KEY_FILE."),
     "No audit key: set AUDIT_KEY (and AUDIT_KEY_ID) or AUDIT_KEY_FILE."),
])
def test_ticker_once_exits_1_naming_the_parts_that_failed(error, reason, app_ctx, monkeypatch, caplog):
    import app.database

    def failing():
        raise error

    monkeypatch.setattr(app.database, "checkpoint", failing)
    with caplog.at_level(logging.ERROR, logger="app.background"):
        result = app_ctx.test_cli_runner().invoke(args=["ticker", "--once"])
    assert result.exit_code == 1, result.output
    assert f"1 part(s) of the pass failed: checkpoint ({reason})" in result.output
    said = [r for r in caplog.records if r.name == "app.background"]
    assert [r.getMessage() for r in said] == [f"background pass: checkpoint failed: {reason}; the other parts go on"]
    assert said[0].exc_info is None, "the moment's condition or a missing setting, not a bug: no traceback"
