"""The migrations go up to the head, all the way down and up again, and the head matches the models — on the
database the suite runs on (SQLite, or a PostgreSQL database of its own next to DATABASE_URL's)."""

from __future__ import annotations

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app import create_app
from app.extensions import db
from tests.conftest import _normalise, _worker_database


def test_upgrade_downgrade_to_base_and_upgrade_again_match_the_models(tmp_path):
    url = os.environ.get("DATABASE_URL")
    url = _worker_database(url, f"migrations_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}") if url else \
        f"sqlite:///{tmp_path / 'migrations.sqlite'}"
    application = create_app({"SQLALCHEMY_DATABASE_URI": _normalise(url), "TESTING": True, "BACKGROUND_MODE": "none"},
                             instance_path=str(tmp_path / "instance"))
    with application.app_context():
        try:
            if db.engine.dialect.name == "postgresql":
                from sqlalchemy import text

                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            upgrade(revision="heads")
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade(revision="heads")
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert diff == [], diff
        finally:
            db.session.remove()
            db.engine.dispose()
