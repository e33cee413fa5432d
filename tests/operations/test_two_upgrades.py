"""Two ``flask db upgrade`` at once on one database — two deploy jobs, replicas that migrate as they start. Both read
the database's revision and ran the same migrations: the second failed on what the first had created (PostgreSQL:
"duplicate key value violates unique constraint pg_type_typname_nsp_index", "column … already exists"; SQLite:
"table … already exists"), with a traceback and exit 1 — and on SQLite, whose migrations run their DDL outside a
transaction, two at once could each apply part of one. Now the second waits for the first and finds nothing left
to do. Real processes, a database of the test's own.

On PostgreSQL the first upgrade is held mid-migration by a long transaction on the table it alters, and the second
is started only once both wait — the overlap is certain, not a matter of timing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import scratch_postgresql
from tests.operations.test_schema_behind import _previous_revision

WORKTREE = Path(__file__).resolve().parents[2]


@pytest.fixture()
def own_database(database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'upgrades.sqlite'}"
        return
    yield from scratch_postgresql(database_url, "upgrades")


def test_two_upgrades_at_once_the_second_waits_and_finds_nothing_left(own_database, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "SECRET_KEY": "test-migrate", "DATABASE_URL": own_database,
           "INSTANCE_PATH": str(tmp_path / "instance"), "MIGRATION_LOCK_TIMEOUT": "0"}
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "wsgi"]

    def upgrade(*revision: str) -> subprocess.Popen:
        return subprocess.Popen([*flask, "db", "upgrade", *revision], cwd=WORKTREE, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    engine = create_engine(own_database)
    postgres = engine.dialect.name == "postgresql"
    try:
        if postgres:
            assert subprocess.run([*flask, "db", "upgrade", _previous_revision()], cwd=WORKTREE, env=env,
                                  capture_output=True, timeout=120).returncode == 0
            with engine.connect() as long_transaction:
                long_transaction.execute(text("SELECT count(*) FROM act"))  # the last migration alters act: it waits
                first = upgrade()
                _wait_for_waiting_sessions(engine, 1, first)
                second = upgrade()
                _wait_for_waiting_sessions(engine, 2, second)
                long_transaction.rollback()
        else:
            first, second = upgrade(), upgrade()
        outcomes = [process.communicate(timeout=180) + (process.returncode,) for process in (first, second)]
    finally:
        for process in locals().get("first"), locals().get("second"):
            if process is not None:
                process.kill()
    for _out, err, code in outcomes:
        assert code == 0 and "Traceback" not in err, err
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(WORKTREE / "migrations"))
    with engine.connect() as conn:
        at = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert at == list(ScriptDirectory.from_config(config).get_heads())
    engine.dispose()


def _wait_for_waiting_sessions(engine, count: int, process: subprocess.Popen) -> None:
    """Until ``count`` sessions of this database wait for a lock (the upgrades under way), or the process ended."""
    while process.poll() is None:
        with engine.connect() as conn:
            waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND wait_event_type = 'Lock'")).scalar()
        if waiting >= count:
            return
        time.sleep(0.1)
