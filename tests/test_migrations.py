"""The migrations go up to the head, all the way down and up again, and the head matches the models — on the
database the suite runs on (SQLite, or a PostgreSQL database of its own next to DATABASE_URL's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.util import CommandError
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db
from tests.conftest import _normalise, _worker_database


@contextmanager
def _empty_database(tmp_path, name: str = "migrations") -> Iterator[None]:
    """An application on a database of its own with no schema at all (SQLite file, or PostgreSQL's dropped)."""
    url = os.environ.get("DATABASE_URL")
    url = _worker_database(url, f"{name}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}") if url else \
        f"sqlite:///{tmp_path / (name + '.sqlite')}"
    application = create_app({"SQLALCHEMY_DATABASE_URI": _normalise(url), "TESTING": True, "BACKGROUND_MODE": "none"},
                             instance_path=str(tmp_path / "instance"))
    with application.app_context():
        try:
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


def test_upgrade_downgrade_to_base_and_upgrade_again_match_the_models(tmp_path):
    with _empty_database(tmp_path):
        upgrade(revision="heads")
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], diff


def _scalar(sql: str):
    with db.engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_the_dormitory_downgrade_refuses_while_dormitories_exist_and_says_what_to_delete(tmp_path):
    """Below 0013_dorm no organisation may be a dormitory: rather than a raw CHECK-constraint error half-way through,
    the downgrade refuses before it changes anything and names the rows to delete; without them it goes through."""
    with _empty_database(tmp_path, "dorm_downgrade"):
        upgrade(revision="heads")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO organisation (kind, bin, name) VALUES "
                              "('dormitory', '950440001673', 'Jastar Student Residence')"))
        head = _scalar("SELECT version_num FROM alembic_version")
        config = current_app.extensions["migrate"].migrate.get_config()
        with pytest.raises(CommandError) as refused:  # (``flask db downgrade`` prints it and exits 1)
            command.downgrade(config, "0013_speed")
        message = str(refused.value)
        assert "Cannot downgrade below 0013_dorm" in message
        assert "1 organisations of kind 'dormitory'" in message and "Delete them first" in message
        assert "IntegrityError" not in message and "constraint" not in message.lower()
        # Nothing was changed: the dormitories' tables and the organisation are still there.
        tables = set(inspect(db.engine).get_table_names())
        assert {"dormitory_order_terms", "dormitory_terms", "dorm_place_line"} <= tables
        assert _scalar("SELECT count(*) FROM organisation WHERE kind = 'dormitory'") == 1
        assert _scalar("SELECT count(*) FROM contract_signature") == 0
        # The whole downgrade is rolled back, on SQLite too (one transaction: migrations/env.py).
        assert _scalar("SELECT version_num FROM alembic_version") == head
        upgrade(revision="heads")
        assert _scalar("SELECT version_num FROM alembic_version") == head

        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM organisation WHERE kind = 'dormitory'"))
        downgrade(revision="0013_speed")
        assert _scalar("SELECT version_num FROM alembic_version") == "0013_speed"
        assert "dormitory_terms" not in inspect(db.engine).get_table_names()


def test_the_cached_public_figures_learn_their_instrument_and_are_rebuilt(tmp_path):
    """0016_dorm2: a dormitory's cached months become the dormitories' instrument's, the schools' stay theirs, and
    the stored downloads (without the instrument column) go, so the next pass builds them again."""
    with _empty_database(tmp_path, "public_instrument"):
        upgrade(revision="0015_national")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO region (id, code, name_kk, name_ru, name_en) "
                              "VALUES (1, 'ASTANA', 'Астана', 'Астана', 'Astana')"))
            conn.execute(text("INSERT INTO organisation (id, kind, bin, name, region_id) VALUES (1, 'school', "
                              "'950440001673', 'Bilim', 1), (2, 'dormitory', '791028302728', 'Jastar', 1)"))
            for org in (1, 2):
                conn.execute(text(
                    "INSERT INTO public_school_month (academic_year, period, region_id, school_id, children, "
                    "claimed_lines, accepted_tiyn, withheld_tiyn, paid_tiyn, withheld_by_rule, refreshed_at) VALUES "
                    "('2026/2027', '2026-09-01', 1, :org, 30, 30, 100, 0, 100, '{}', '2026-10-05 00:00:00+00')"),
                    {"org": org})
            conn.execute(text("INSERT INTO public_refresh (id, watermark, full_built_on, built_at) "
                              "VALUES (1, 10, '2026-10-05', '2026-10-05 00:00:00+00')"))
            conn.execute(text("INSERT INTO public_payload (key, content_type, body, built_at) "
                              "VALUES ('schools.csv|2026/2027|en', 'text/csv', 'old', '2026-10-05 00:00:00+00')"))
        upgrade(revision="0016_dorm2")
        with db.engine.connect() as conn:
            assert dict(conn.execute(text("SELECT school_id, instrument FROM public_school_month")).all()) == \
                {1: "schools", 2: "dormitory"}
        assert _scalar("SELECT count(*) FROM public_refresh") == _scalar("SELECT count(*) FROM public_payload") == 0
        downgrade(revision="0015_national")
        assert "instrument" not in {c["name"] for c in inspect(db.engine).get_columns("public_school_month")}


def test_a_contracts_one_year_end_report_becomes_the_report_of_its_last_academic_year(tmp_path):
    """0016_dorm2: a report made when a contract had one report is its last academic year's, linked to its
    instance; a downgrade with two years reported for one contract refuses and says what to delete."""
    with _empty_database(tmp_path, "year_end_per_year"):
        upgrade(revision="0015_national")
        now = {"now": datetime(2029, 9, 5, tzinfo=UTC)}
        with db.engine.begin() as conn:
            for sql in (
                    "INSERT INTO region (id, code, name_kk, name_ru, name_en) VALUES (1, 'ASTANA', 'А', 'А', 'Astana')",
                    "INSERT INTO organisation (id, kind, bin, name, region_id) "
                    "VALUES (1, 'dormitory', '791028302728', 'Jastar', 1)",
                    "INSERT INTO state_order (id, number, instrument, region_id, academic_year, budget_tiyn, "
                    "period_start, period_end, window_opens, window_closes, status, placed_at) VALUES (1, "
                    "'DO-ASTANA-2027', 'dormitory', 1, '2027/2028', 1000, '2027-09-01', '2029-08-31', '2027-05-01', "
                    "'2027-06-30', 'open', :now)",
                    "INSERT INTO application (id, number, instrument, order_id, school_id, region_id, status, "
                    "locality, students_primary, students_basic, students_secondary, places_primary, places_basic, "
                    "places_secondary, created_at) VALUES (1, 'A-1', 'dormitory', 1, 1, 1, 'allocated', 'urban', "
                    "0, 0, 0, 0, 0, 0, :now)",
                    "INSERT INTO contract (id, number, instrument, order_id, application_id, school_id, region_id, "
                    "period_start, period_end, places_primary, places_basic, places_secondary, locality, "
                    "monthly_cap_tiyn, amount_cap_tiyn, status, created_at) VALUES (1, 'DC-1', 'dormitory', 1, 1, 1, "
                    "1, '2027-09-01', '2029-08-31', 0, 0, 0, 'urban', 100, 2400, 'active', :now)",
                    "INSERT INTO year_end_report (id, contract_id, status, months, total_paid_tiyn) "
                    "VALUES (1, 1, 'submitted', '[]', 2400)"):
                conn.execute(text(sql), now)
        upgrade(revision="0016_dorm2")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT academic_year, instance_id FROM year_end_report")).one() == \
                ("2028/2029", None)
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO year_end_report (id, contract_id, academic_year, status, months, "
                              "total_paid_tiyn) VALUES (2, 1, '2027/2028', 'approved', '[]', 1200)"))
        config = current_app.extensions["migrate"].migrate.get_config()
        with pytest.raises(CommandError, match="1 contracts have year-end reports for more than one academic year"):
            command.downgrade(config, "0015_national")
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM year_end_report WHERE academic_year = '2027/2028'"))
        downgrade(revision="0015_national")
        assert _scalar("SELECT count(*) FROM year_end_report WHERE contract_id = 1") == 1


def test_every_registry_import_kind_fits_the_jobs_kind_column(app):
    """CI on PostgreSQL: importing dormitory documents failed — 'dormitory_documents' is 19 characters and the job's
    kind column held 16 (SQLite does not enforce a length, so only PostgreSQL said so)."""
    import app.dormitories.registry  # noqa: F401 - adds the dormitories' kinds
    from app.registry.importers import KINDS
    from app.registry.models import RegistryImport

    width = RegistryImport.__table__.c.kind.type.length
    assert [name for name in KINDS if len(name) > width] == []
    assert "dormitory_documents" in KINDS


def test_the_acts_there_are_get_their_students_from_their_lines(tmp_path):
    """0025_act_students: every act's distinct students, claimed and paid for, are counted from its lines (a student
    on two lines is one; an excluded line is claimed, not paid for); an act without lines has none."""
    with _empty_database(tmp_path, "act_students"):
        upgrade(revision="0024_public_students")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO region (id, code, name_kk, name_ru, name_en) "
                              "VALUES (1, 'ASTANA', 'Астана', 'Астана', 'Astana')"))
            conn.execute(text("INSERT INTO organisation (id, kind, bin, name, region_id) VALUES (1, 'school', "
                              "'950440001673', 'Bilim', 1)"))
            for act_id, period in ((1, "2026-09-01"), (2, "2026-10-01")):
                conn.execute(text(
                    "INSERT INTO act (id, number, school_id, region_id, period, status, revision, total_lines, "
                    "accepted_lines, amount_tiyn, withheld_tiyn, created_at) VALUES (:id, :number, 1, 1, :period, "
                    "'paid', 1, 4, 3, 0, 0, '2026-11-01 00:00:00+00')"),
                    {"id": act_id, "number": f"ACT-{act_id}", "period": period})
            for no, (iin, outcome) in enumerate((("010101500011", "accepted"), ("010101500011", "accepted"),
                                                 ("010101500022", "accepted"), ("010101500033", "excluded")), 1):
                conn.execute(text(
                    "INSERT INTO act_line (act_id, period, school_id, line_no, iin, full_name, grade, days_attended, "
                    "outcome, amount_tiyn) VALUES (1, '2026-09-01', 1, :no, :iin, 'Student', 5, 20, :outcome, 0)"),
                    {"no": no, "iin": iin, "outcome": outcome})
        upgrade(revision="0025_act_students")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT id, total_students, accepted_students FROM act ORDER BY id")).all() == \
                [(1, 3, 2), (2, 0, 0)]
        downgrade(revision="0024_public_students")
        assert "total_students" not in {c["name"] for c in inspect(db.engine).get_columns("act")}


def test_the_verified_acts_pin_the_capacity_their_repricing_read_and_the_others_pin_theirs_when_verified(tmp_path):
    """0037_act_capacity: a school's verified, accepted or paid act is pinned to the capacity its repricing read until
    then (a school without a contract: the organisation's, 120 here; one with none: no limit, pinned all the same); an
    act not verified yet and a dormitory's act are not (verification pins theirs). Down again, the columns go."""
    with _empty_database(tmp_path, "act_capacity"):
        upgrade(revision="0036_settlement_returns")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO region (id, code, name_kk, name_ru, name_en) "
                              "VALUES (1, 'ASTANA', 'Астана', 'Астана', 'Astana')"))
            conn.execute(text("INSERT INTO organisation (id, kind, bin, name, region_id, design_capacity) VALUES "
                              "(1, 'school', '950440001673', 'Bilim', 1, 120), "
                              "(2, 'school', '791028302728', 'Unlimited', 1, NULL)"))
            for act_id, school, status, instrument in ((1, 1, "paid", "schools"), (2, 1, "accepted", "schools"),
                                                       (3, 1, "verified", "schools"), (4, 2, "paid", "schools"),
                                                       (5, 2, "paid", "dormitories"), (6, 2, "submitted", "schools")):
                conn.execute(text(
                    "INSERT INTO act (id, number, instrument, school_id, region_id, period, status, revision, "
                    "total_lines, accepted_lines, amount_tiyn, withheld_tiyn, created_at) VALUES (:id, :number, "
                    ":instrument, :school, 1, :period, :status, 1, 0, 0, 0, 0, '2026-11-01 00:00:00+00')"),
                    {"id": act_id, "number": f"ACT-{act_id}", "instrument": instrument, "school": school,
                     "status": status, "period": f"2026-{act_id + 1:02d}-01"})
        upgrade(revision="0037_act_capacity")
        with db.engine.connect() as conn:
            assert [tuple(row) for row in conn.execute(text(
                "SELECT id, verified_capacity, capacity_pinned FROM act ORDER BY id"))] == \
                [(1, 120, True), (2, 120, True), (3, 120, True), (4, None, True), (5, None, False), (6, None, False)]
        downgrade(revision="0036_settlement_returns")
        assert {"verified_capacity", "capacity_pinned"}.isdisjoint(
            c["name"] for c in inspect(db.engine).get_columns("act"))


_FAILING_MIGRATION = '''"""a migration that fails half-way (the test's own)"""
import sqlalchemy as sa
from alembic import op

revision = "9999_fails"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("organisation", sa.Column("half_way", sa.Integer(), nullable=True))
    op.create_table("half_way", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO half_way (id) VALUES (1)")
    with op.batch_alter_table("region") as batch:
        batch.add_column(sa.Column("half_way", sa.Integer(), nullable=True))
    raise RuntimeError("the migration failed half-way")


def downgrade():
    pass
'''


def test_a_migration_failing_half_way_changes_nothing(tmp_path):
    """An upgrade that fails in the middle of a migration leaves the database as it was, on SQLite too: SQLite ran
    each DDL statement in a transaction of its own, so a column and a table the failed migration had added stayed,
    under the old revision — the next upgrade then failed on them ("duplicate column"), and the embedded
    installation could neither start nor be upgraded without repairing its schema by hand."""
    import shutil
    from pathlib import Path

    directory = tmp_path / "migrations"
    shutil.copytree(Path(__file__).resolve().parents[1] / "migrations", directory,
                    ignore=shutil.ignore_patterns("__pycache__"))
    with _empty_database(tmp_path, "half_way"):
        upgrade(revision="heads")
        head = _scalar("SELECT version_num FROM alembic_version")
        (directory / "versions" / "9999_fails.py").write_text(_FAILING_MIGRATION.replace("{head}", head))
        with pytest.raises(SystemExit):  # flask db upgrade: the error's line, exit 1
            upgrade(directory=str(directory), revision="heads")
        db.engine.dispose()
        inspector = inspect(db.engine)
        assert "half_way" not in inspector.get_table_names()
        assert "half_way" not in {c["name"] for c in inspector.get_columns("organisation")}
        assert "half_way" not in {c["name"] for c in inspector.get_columns("region")}
        assert _scalar("SELECT version_num FROM alembic_version") == head
        upgrade(revision="heads")  # the real head again: nothing in the way
        assert _scalar("SELECT version_num FROM alembic_version") == head


def test_the_signed_documents_table_comes_empty_and_its_downgrade_keeps_the_stored_bytes(tmp_path):
    """0030_signed_documents: the table comes empty (nothing is rendered in a migration: a contract signed before gets
    its bytes on first use, app/contracts/documents.py); going below it refuses while a signed document is stored
    only there, changes nothing, and says how to save them; without them it goes through and up again."""
    with _empty_database(tmp_path, "signed_documents"):
        upgrade(revision="0029_liquidation")
        now = {"now": datetime(2026, 9, 5, tzinfo=UTC)}
        with db.engine.begin() as conn:
            for sql in (
                    "INSERT INTO region (id, code, name_kk, name_ru, name_en) VALUES (1, 'ASTANA', 'А', 'А', 'Astana')",
                    "INSERT INTO organisation (id, kind, bin, name, region_id) "
                    "VALUES (1, 'school', '950440001673', 'Bilim', 1)",
                    "INSERT INTO state_order (id, number, region_id, academic_year, budget_tiyn, period_start, "
                    "period_end, window_opens, window_closes, status, placed_at) VALUES (1, 'SO-ASTANA-2026', 1, "
                    "'2026/2027', 1000, '2026-09-01', '2027-05-31', '2026-05-01', '2026-06-30', 'open', :now)",
                    "INSERT INTO application (id, number, order_id, school_id, region_id, status, locality, "
                    "students_primary, students_basic, students_secondary, places_primary, places_basic, "
                    "places_secondary, created_at) VALUES (1, 'A-1', 1, 1, 1, 'allocated', 'urban', 0, 0, 0, 1, 0, 0, "
                    ":now)",
                    "INSERT INTO contract (id, number, order_id, application_id, school_id, region_id, period_start, "
                    "period_end, places_primary, places_basic, places_secondary, locality, monthly_cap_tiyn, "
                    "amount_cap_tiyn, status, created_at) VALUES (1, 'C-1', 1, 1, 1, 1, '2026-09-01', '2027-05-31', "
                    "1, 0, 0, 'urban', 100, 900, 'active', :now)"):
                conn.execute(text(sql), now)
        upgrade(revision="0030_signed_documents")
        assert _scalar("SELECT count(*) FROM contract_document") == 0
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO contract_document (contract_id, state, origin, media_type, content, sha256, "
                              "layout, stored_at) VALUES (1, 'stored', 'signed', 'text/html; charset=utf-8', :content, "
                              ":sha, 2, :now)"), {"content": b"<p>signed</p>", "sha": "a" * 64, **now})
            with pytest.raises(Exception, match="stored_has_content|check constraint|CHECK constraint"):
                with conn.begin_nested():  # a stored document without its bytes cannot be written
                    conn.execute(text("UPDATE contract_document SET content = NULL"))
        config = current_app.extensions["migrate"].migrate.get_config()
        with pytest.raises(CommandError, match="1 contracts' signed documents are stored only in contract_document"):
            command.downgrade(config, "0029_liquidation")
        assert _scalar("SELECT version_num FROM alembic_version") == "0030_signed_documents"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT content FROM contract_document")).scalar() == b"<p>signed</p>"

        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM contract_document"))
        downgrade(revision="0029_liquidation")
        assert "contract_document" not in inspect(db.engine).get_table_names()
        upgrade(revision="heads")
        assert "contract_document" in inspect(db.engine).get_table_names()
