"""Test set-up: a real database built by the Alembic migrations, emptied between tests.

SQLite (a file in a temporary folder) by default; PostgreSQL when DATABASE_URL says so — the same
tests run on both (CI runs both).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

import app.people.models as people_models
from app import clock, create_app
from app.engine.specs import clear_spec_cache
from app.extensions import db
from app.limits import limiter

# Real argon2, cheaper parameters: hashing speed is not what these tests are about.
people_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """SQLite in this session's temporary folder (per xdist worker already), or DATABASE_URL's PostgreSQL
    database — under pytest-xdist, a database of each worker's own next to it (``test`` → ``test_gw0``)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


def _worker_database(url: str, worker: str) -> str:
    """The worker's own PostgreSQL database (created when missing): workers never share rows, locks or a schema."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    main = make_url(_normalise(url))
    name = f"{main.database}_{worker}"
    maintenance = create_engine(main.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        maintenance.dispose()
    return main.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    # English outside requests too (worker threads, CLI), so assertions read one language; pages follow
    # the user's choice or Accept-Language as in production. The instance folder (secret key, attachments,
    # imports) is temporary: tests never write into the repository's instance/.
    overrides = {"SQLALCHEMY_DATABASE_URI": _normalise(database_url), "TESTING": True,
                 "BABEL_DEFAULT_LOCALE": "en",
                 "BACKGROUND_MODE": "none",
                 # Audit keys and anchors outside the repo's instance/ folder.
                 "AUDIT_KEY_FILE": str(tmp_path_factory.mktemp("audit") / "audit_keys"),
                 "AUDIT_ANCHOR_DIR": str(tmp_path_factory.mktemp("audit") / "anchors")}
    if not database_url.startswith("sqlite"):
        # A test database need not survive a crash of the server: a commit returns without waiting for its WAL
        # flush (what other sessions see, locks and isolation are unchanged) — like SQLite's WAL with
        # synchronous=NORMAL, the embedded default. Each commit waited ~1-8 ms for an fsync, dozens per test.
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True,
                                                  "connect_args": {"options": "-c synchronous_commit=off"}}
    # The login limiter is one object for every app a process builds, and an app built while it is switched off
    # (as app.limits leaves it under TESTING) gets no limiter at all. Another module may build its own app first
    # (tests/engine/test_form_rules.py; the order depends on how pytest-xdist hands out modules), so switch it on
    # for this app's set-up: the login-throttling tests then find it wired, as they would in production.
    limiter.enabled = True
    application = create_app(overrides, instance_path=str(tmp_path_factory.mktemp("instance")))
    with application.app_context():
        if not database_url.startswith("sqlite"):
            # Start from an empty schema so a previous run cannot leak into this one: dropped, not downgraded —
            # a downgrade meets the rows the last test of the previous run left (0013_dorm cannot go below the
            # dormitory organisations it allowed). The migrations' round trip runs in tests/test_migrations.py.
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")
    yield application


def _normalise(url: str) -> str:
    from app.config import normalise_database_url

    return normalise_database_url(url)


def _empty_all_tables() -> None:
    # Children before parents, so no foreign key is ever left pointing at a deleted row.
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    for table in tables:
        db.session.execute(table.delete())
    if db.engine.dialect.name == "postgresql":
        # DELETE, not TRUNCATE: TRUNCATE gives every table and index a new file and fsyncs them, about a second
        # per test for all tables even when a test wrote nothing; deleting the rows a test left costs milliseconds.
        # The identity sequences a test advanced start again, as TRUNCATE ... RESTART IDENTITY did.
        db.session.execute(text(_RESTART_USED_SEQUENCES), {"tables": [t.name for t in tables]})
    db.session.commit()


# The sequences owned by the given tables' columns (serial: 'a', identity: 'i') that have handed out a value.
_RESTART_USED_SEQUENCES = """
SELECT setval(s.oid, ps.start_value, false)
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')
JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = s.relname
WHERE s.relkind = 'S' AND ps.last_value IS NOT NULL
  AND d.refobjid = ANY(SELECT to_regclass(quote_ident(name)) FROM unnest(CAST(:tables AS text[])) AS name)
"""


def clear_compiled_scripts() -> None:
    """Scripts compile afresh in every test: a warm cache (e.g. inherited by a forked mutation-testing worker)
    would otherwise hide a change to the compilation policy."""
    from app.engine.scripting import _compile

    _compile.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_script_compilation():
    clear_compiled_scripts()


@pytest.fixture()
def app_ctx(app, tmp_path, monkeypatch):
    # Every test starts from empty tables, so from no audit anchors either.
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_DIR", str(tmp_path / "audit_anchors"))
    with app.app_context():
        _empty_all_tables()
        clear_spec_cache()
        yield app
        db.session.rollback()
        db.session.remove()
        # A background job a test dispatched in a thread (BACKGROUND_MODE=inprocess) must not outlive it: still
        # writing, it held the next tests' database (SQLite's one writer) or changed their rows under them.
        from app.registry.jobs import wait_for_inprocess_jobs

        assert wait_for_inprocess_jobs(timeout=60), "a background job this test started is still running"
    clock.reset_clock()


@pytest.fixture()
def one_day():
    """The clock stands still at the test's start, for tests that read the day once for what they send and again for
    what they expect (clock.today() twice): run across midnight in Kazakhstan (19:00 UTC), such a test compared
    yesterday with today. Only for tests that do not depend on time passing."""
    with clock.FrozenClock(clock.now()):
        yield


@pytest.fixture()
def country(app_ctx):
    """A tiny hand-made world (regions, schools, NEDB rows, acts): ``tests.registry.conftest.Country``."""
    from tests.registry.conftest import Country

    return Country()


@pytest.fixture(scope="session")
def _world_copies() -> dict:
    """The seeded worlds of this pytest session (see ``seeded``): in-memory SQLite copies, or the PostgreSQL schemas
    their rows were copied into.

    Kept per session, never on disk or in a module global: a mutation-testing child (a new pytest session forked
    from a process that already ran the tests) seeds again with its mutant instead of inheriting a world that
    the unmutated code built."""
    copies: dict = {}
    yield copies
    for saved, *_ in copies.values():
        if hasattr(saved, "close"):
            saved.close()


@pytest.fixture()
def world(app_ctx, _world_copies):
    """The demo world: 3 schools in 2 regions, NEDB with anomalies, open acts for last month (see ``seeded``)."""
    from app.demo.seed import seed_demo

    def seed():
        with clock.FrozenClock(_demo_now()):
            return seed_demo(password="pw")

    return seeded(_world_copies, "demo", seed)


def seeded(copies: dict, key: str, seed):
    """What ``seed()`` writes into the (emptied) database and returns, seeded in the session's first test that asks
    for ``key`` and copied back in every later one: the same rows, ids and audit chain as a seed of their own (a
    seed is deterministic and its clock frozen), for milliseconds instead of a second or more.

    On SQLite the seeded database is copied page by page (sqlite3's backup API) into memory and back; on PostgreSQL
    its rows are kept in a schema of their own (``_snapshot_postgresql``) and copied back with one INSERT ... SELECT
    per table."""
    import copy
    import sqlite3

    from app.engine import runtime, specs

    sqlite = db.engine.dialect.name == "sqlite"
    if key in copies:
        saved, result, parsed, forms = copies[key]
        if sqlite:
            _copy_sqlite(saved, into_app_database=True)
        else:
            _restore_postgresql(saved)
        # What the seed leaves in the process as well: the published versions' parsed specs and forms (the
        # same ids, so the same objects), so a test's first step costs what it costs after a seed of its own.
        specs._cache.update(parsed)
        runtime._forms_cache.clear()
        runtime._forms_cache.update(forms)
        return _loaded(copy.deepcopy(result))
    result = _as_references(seed())
    if sqlite:
        saved = sqlite3.connect(":memory:")
        _copy_sqlite(saved, into_app_database=False)
    else:
        saved = _snapshot_postgresql(f"seeded_{key}")
    copies[key] = (saved, copy.deepcopy(result), dict(specs._cache), dict(runtime._forms_cache))
    return _loaded(result)


class _Row(tuple):
    """A database row a seed returned (an Act, an Organisation), kept as its class and primary key."""


def _as_references(value):
    from sqlalchemy import inspect as inspected

    if hasattr(value, "__mapper__"):
        return _Row((type(value), inspected(value).identity))
    if isinstance(value, dict):
        return {key: _as_references(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_as_references(item) for item in value)
    return value


def _loaded(value):
    if isinstance(value, _Row):
        model, identity = value
        return db.session.get(model, identity)
    if isinstance(value, dict):
        return {key: _loaded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_loaded(item) for item in value)
    return value


def _copy_sqlite(memory, into_app_database: bool) -> None:
    """Copy the app's SQLite database into ``memory``, or ``memory`` back into it, within one pooled connection."""
    db.session.commit()
    db.session.close()
    raw = db.engine.raw_connection()
    try:
        app_database = raw.driver_connection
        if into_app_database:
            memory.backup(app_database)
        else:
            app_database.backup(memory)
    finally:
        raw.close()


# PostgreSQL: seeded rows are kept server-side, in a schema of their own, and copied back with one INSERT ... SELECT
# per table — the values never pass through Python, so every type (JSON null vs SQL NULL, timestamps, numerics)
# comes back exactly as the seed wrote it.

_USED_SEQUENCES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname), ps.last_value
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace
JOIN pg_sequences ps ON ps.schemaname = n.nspname AND ps.sequencename = s.relname
WHERE s.relkind = 'S' AND n.nspname = 'public' AND ps.last_value IS NOT NULL
"""


def _snapshot_postgresql(schema: str) -> tuple[str, list[str], list[tuple[str, int]]]:
    """Copy every table that holds rows into ``schema``; return it, those tables (parents first) and the sequences'
    values."""
    db.session.commit()
    db.session.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    db.session.execute(text(f"CREATE SCHEMA {schema}"))
    filled = []
    for table in db.metadata.sorted_tables:
        name = f'"{table.name}"'
        if db.session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {name})")).scalar():  # noqa: S608 - our tables
            db.session.execute(text(f"CREATE TABLE {schema}.{name} AS TABLE public.{name}"))
            filled.append(name)
    sequences = [tuple(row) for row in db.session.execute(text(_USED_SEQUENCES))]
    db.session.commit()
    return schema, filled, sequences


def _restore_postgresql(saved) -> None:
    """The snapshot's rows back into the (emptied) tables, and the sequences where the seed left them."""
    schema, filled, sequences = saved
    for name in filled:
        db.session.execute(text(f"INSERT INTO public.{name} OVERRIDING SYSTEM VALUE "  # noqa: S608 - our tables
                                f"SELECT * FROM {schema}.{name}"))
    for sequence, value in sequences:
        db.session.execute(text("SELECT setval(CAST(:s AS regclass), :v, true)"), {"s": sequence, "v": value})
    db.session.commit()


def _demo_now():
    from datetime import UTC, datetime

    return datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


class Browser:
    """A logged-in person using the pages through the Flask test client, CSRF and all."""

    def __init__(self, app, username: str | None = None, password: str = "pw"):  # noqa: S107 - demo test password
        self.app = app
        self.client = app.test_client()
        # Tests read English texts unless they switch language like a person would.
        self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.csrf: str | None = None
        if username:
            self.login(username, password)

    def _request(self, method: str, url: str, **kwargs):
        # Each request gets its own application context (own ``g``, own database session), as in
        # production; otherwise it would reuse the test's context and share login and CSRF state.
        db.session.commit()
        with self.app.app_context():
            return getattr(self.client, method)(url, **kwargs)

    def get(self, url: str, **kwargs):
        response = self._request("get", url, **kwargs)
        if not response.content_type.startswith("text/html"):
            return response  # a file (a spreadsheet, a PDF): no page, no token in it
        match = CSRF_RE.search(response.get_data(as_text=True))
        if match:
            self.csrf = match.group(1)
        return response

    def post(self, url: str, data: dict | None = None, csrf: bool = True, **kwargs):
        if csrf and self.csrf is None:
            self.get("/login")
        payload = dict(data or {})
        if csrf:
            payload.setdefault("csrf_token", self.csrf)
        response = self._request("post", url, data=payload, **kwargs)
        db.session.expire_all()
        return response

    def login(self, username: str, password: str = "pw"):  # noqa: S107 - the demo world's test password
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, f"login of {username} failed"
        self.get("/inbox")
        return response

    def post_json(self, url: str, payload: dict):
        response = self._request("post", url, json=payload, headers={"X-CSRFToken": self.csrf or ""})
        db.session.expire_all()
        return response


@pytest.fixture()
def browser(app_ctx):
    def make(username: str | None = None) -> Browser:
        return Browser(app_ctx, username)

    return make


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture()
def throttled(app_ctx):
    """The limiter on (tests run without it), with small limits and empty counters."""
    saved = {key: app_ctx.config[key] for key in
             ("LOGIN_LIMIT_ACCOUNT_ADDRESS", "LOGIN_LIMIT_ACCOUNT", "LOGIN_LIMIT_ADDRESS", "API_LIMIT",
              "API_LIMIT_ANONYMOUS")}
    app_ctx.config.update(LOGIN_LIMIT_ACCOUNT_ADDRESS="3/minute;10/hour", LOGIN_LIMIT_ACCOUNT="6/minute",
                          LOGIN_LIMIT_ADDRESS="8/minute")
    limiter.reset()
    limiter.enabled = True
    yield app_ctx
    limiter.enabled = False
    limiter.reset()
    app_ctx.config.update(saved)


@pytest.fixture()
def counters_store_down(throttled, monkeypatch):
    """The limiter on, and the store its counters live in (Redis in production) not answering: every call on it
    raises, as a refused connection does. The counters kept in this process meanwhile start empty."""
    def unreachable(*_args, **_kwargs):
        raise ConnectionError("Redis is not answering")

    # the store's own strategy: ``limiter.limiter`` is Flask-Limiter's in-memory fallback while it deems the store down
    for name in ("hit", "test", "get_window_stats"):
        monkeypatch.setattr(limiter._limiter, name, unreachable)
    monkeypatch.setattr(limiter, "_storage_dead", False)
    if getattr(limiter, "_fallback_limiter", None) is not None:
        limiter._fallback_limiter.storage.reset()
    monkeypatch.setattr("app.limits._fallback_counters", None)
    return throttled
