"""The embedded database's connection settings: every new SQLite connection gets them (app/database.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db


def _pragma(tmp_path, name: str, **config) -> int:
    application = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'settings.sqlite'}", "TESTING": True,
                              "BACKGROUND_MODE": "none", **config}, instance_path=str(tmp_path / "instance"))
    with application.app_context():
        try:
            return db.session.execute(text(f"PRAGMA {name}")).scalar()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_reads_go_through_a_memory_map_of_the_configured_size(tmp_path):
    # The month-wide verification probes a 300 MB NEDB index at random places (benchmarks/README.md).
    assert _pragma(tmp_path, "mmap_size", SQLITE_MMAP_MB=64) == 64 * 1024 * 1024
    assert _pragma(tmp_path, "mmap_size") == 1024 * 1024 * 1024  # the default


def test_a_memory_map_can_be_turned_off(tmp_path):
    assert _pragma(tmp_path, "mmap_size", SQLITE_MMAP_MB=0) == 0


@pytest.mark.parametrize("value", ["-1", "lots"])
def test_a_wrong_size_is_refused_at_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("SQLITE_MMAP_MB", value)
    with pytest.raises(ValueError, match="SQLITE_MMAP_MB"):
        _pragma(tmp_path, "mmap_size")


def test_the_other_settings_stay(tmp_path):
    assert _pragma(tmp_path, "journal_mode") == "wal"
    assert _pragma(tmp_path, "foreign_keys") == 1
    assert _pragma(tmp_path, "synchronous") == 1  # NORMAL
