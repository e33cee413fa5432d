"""Per-dialect connection settings."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db


def init_database_events(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine: Engine = db.engine
    synchronous = app.config.get("SQLITE_SYNCHRONOUS", "NORMAL")
    if synchronous not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError("SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA")

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        # WAL lets readers proceed while one writer commits; busy_timeout makes a second writer wait for
        # the lock instead of failing, so optimistic locking (not "database is locked") decides conflicts.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL is SQLite's recommended setting: commits are atomic and the database cannot be
        # corrupted; only the last moments before an OS crash or power loss may be lost (no fsync per commit).
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
