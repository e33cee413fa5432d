"""``flask db upgrade`` while the application serves (PostgreSQL): a long transaction reads the table the migration
alters. The migration waited for its lock, and every query on that table — the inbox, every act page — waited behind
it for as long as the long transaction held on. It now gives up after MIGRATION_LOCK_TIMEOUT, changes nothing, says
so in one sentence (exit 1), and the same command run again later migrates. Real processes, a database of the
test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import scratch_postgresql
from tests.operations.test_schema_behind import _previous_revision

WORKTREE = Path(__file__).resolve().parents[2]


@pytest.fixture()
def own_database(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("lock timeouts are PostgreSQL's (DATABASE_URL)")
    yield from scratch_postgresql(database_url, "locks")


def test_a_migration_behind_a_long_transaction_gives_up_and_runs_again_later(own_database, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SECRET_KEY": "test-migrate", "DATABASE_URL": own_database,
           "INSTANCE_PATH": str(tmp_path / "instance"), "MIGRATION_LOCK_TIMEOUT": "1s"}

    def flask(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", *args], cwd=WORKTREE,
                              env=env, capture_output=True, text=True, timeout=timeout)

    previous = _previous_revision()
    assert flask("db", "upgrade", previous).returncode == 0
    engine = create_engine(own_database)
    try:
        with engine.connect() as long_transaction:
            # It holds the act table until it ends, in a mode every migration touching act waits for — and the
            # revision table, which every migration updates as it ends: a plain reader's lock on act held back only a
            # migration that alters act (0025 did), act alone only one that touches it (0026 referred to it, 0028
            # does not) — the test is of the timeout, whatever the newest migration does.
            long_transaction.execute(text("LOCK TABLE act, alembic_version IN SHARE MODE"))
            # without the timeout the migration waits for this transaction, which waits for it: subprocess's timeout
            blocked = flask("db", "upgrade", timeout=40)
            long_transaction.rollback()
        assert blocked.returncode == 1, blocked.stderr
        assert "Traceback" not in blocked.stderr
        assert "could not take a table's lock within MIGRATION_LOCK_TIMEOUT (1s)" in blocked.stderr
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == previous, "nothing changed"
        again = flask("db", "upgrade")
        assert again.returncode == 0, again.stderr
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() != previous
    finally:
        engine.dispose()
