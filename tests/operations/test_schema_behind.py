"""A database not migrated to this code: the commands say what to run and exit 1 (never a traceback), readiness
fails. Real ``flask`` processes on a database of their own (SQLite: what is checked is alembic's revision, the same
on every dialect)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKTREE = Path(__file__).resolve().parents[2]


def _previous_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(WORKTREE / "migrations"))
    script = ScriptDirectory.from_config(config)
    (head,) = script.get_heads()
    return script.get_revision(head).down_revision


@pytest.fixture()
def flask_cli(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SECRET_KEY": "test-cli", "BACKGROUND_MODE": "none",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'behind.sqlite'}", "INSTANCE_PATH": str(tmp_path / "instance"),
           "AUDIT_KEY_FILE": str(tmp_path / "audit_keys"), "AUDIT_KEY": "k" * 40,  # the pass anchors: exit 0
           "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors"),
           "REGISTRY_UPLOAD_DIR": str(tmp_path / "imports")}

    def run(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args], cwd=WORKTREE,
                              env={**env, **({"DATABASE_URL": database_url} if database_url else {})},
                              capture_output=True, text=True, timeout=300)

    return run


COMMANDS = [("ticker", "--once"), ("seed",), ("verify-audit",), ("import-nedb", "README.md"),
            ("verify-month", "--period", "2026-10")]


def test_commands_on_a_database_one_migration_behind_say_to_upgrade(flask_cli):
    previous = _previous_revision()
    migrated = flask_cli("db", "upgrade", previous)
    assert migrated.returncode == 0, migrated.stderr
    for command in COMMANDS:
        answer = flask_cli(*command)
        assert answer.returncode == 1, (command, answer.stdout, answer.stderr)
        assert "Traceback" not in answer.stderr, (command, answer.stderr)
        assert f"The database is at migration {previous}" in answer.stderr, (command, answer.stderr)
        assert "db upgrade" in answer.stderr
    upgraded = flask_cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    after = flask_cli("ticker", "--once")
    assert after.returncode == 0 and "fired 0" in after.stdout, after.stderr


def test_commands_on_an_empty_or_unreachable_database_say_so(flask_cli):
    for command in (("ticker", "--once"), ("seed",), ("verify-audit",)):
        empty = flask_cli(*command)
        assert empty.returncode == 1, (command, empty.stdout, empty.stderr)
        assert "Traceback" not in empty.stderr
        assert "no tables of this application yet" in empty.stderr and "db upgrade" in empty.stderr
    gone = flask_cli("seed", database_url="postgresql://nobody@127.0.0.1:1/nothing")  # nothing listens on port 1
    assert gone.returncode == 1 and "Traceback" not in gone.stderr
    assert "The database cannot be reached (postgresql+psycopg://nobody@127.0.0.1:1/nothing)" in gone.stderr


def test_readiness_fails_while_the_database_is_behind_the_code(app_ctx, browser, monkeypatch):
    """The database answers SELECT 1, but the code expects a migration not run: every page that reads the new
    column would answer 500, so the process is not ready."""
    from app import schema

    heads, known = schema._script(str(app_ctx.extensions["migrate"].directory))
    monkeypatch.setattr(schema, "_script", lambda _directory: (("9999_next",), known | {"9999_next"}))
    answer = browser().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["schema"] is False and answer.get_json()["checks"]["database"] is True
    # a database ahead of the code (a newer release migrated it first) is still served by the older code
    monkeypatch.setattr(schema, "_script", lambda _directory: (("0001_older",), frozenset({"0001_older"})))
    assert browser().get("/readyz").get_json()["checks"]["schema"] is True
