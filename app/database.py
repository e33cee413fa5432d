"""Per-dialect connection settings."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import Select, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.extensions import db


def init_database_events(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
    event.listen(engine, "commit", _commit_sent)
    # first of all: a request starts with no commit sent (the tests' requests share one application context)
    app.before_request_funcs.setdefault(None, []).insert(0, forget_commits_sent)
    # and waits a bounded time for a row another transaction holds, before its first statement
    app.before_request_funcs[None].insert(1, _limit_request_lock_waits)
    # and lets none of its statements run longer than DATABASE_STATEMENT_TIMEOUT_SECONDS (PostgreSQL)
    app.before_request_funcs[None].insert(2, _limit_request_statements)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    synchronous = app.config.get("SQLITE_SYNCHRONOUS", "NORMAL")
    autocheckpoint = int(app.config.get("SQLITE_WAL_AUTOCHECKPOINT", 20000))
    mmap_megabytes = str(app.config.get("SQLITE_MMAP_MB", 1024))
    from app.config import ConfigError

    if not mmap_megabytes.isascii() or not mmap_megabytes.isdigit():
        raise ConfigError(f"SQLITE_MMAP_MB must be a whole number of megabytes (0 turns the memory map off), "
                         f"not {mmap_megabytes!r}")
    mmap_bytes = int(mmap_megabytes) * 1024 * 1024
    if synchronous not in ("NORMAL", "FULL", "EXTRA"):
        raise ConfigError(f"SQLITE_SYNCHRONOUS must be NORMAL, FULL or EXTRA, not {synchronous!r}")

    @event.listens_for(engine, "savepoint")
    def _savepoint_inside_a_transaction(connection, _name) -> None:
        # pysqlite begins a transaction only before an INSERT, UPDATE or DELETE: a savepoint opened before the first
        # one began the transaction itself, and SQLite's RELEASE of the outermost savepoint is a COMMIT — what was
        # written in it stayed when the request failed after it (the director's stored contract document with no
        # signature). Under the write lock the savepoint is one inside the transaction, as on PostgreSQL; it is
        # taken now rather than at the savepoint's write, which follows (see take_write_lock).
        take_write_lock(connection)

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
        # The background pass checkpoints the WAL (see checkpoint()); a request only does it when the WAL
        # has grown past this many pages (SQLite's default is 1,000, i.e. every few dozen steps).
        cursor.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Reads through a memory map of the file instead of a read() into SQLite's own 2 MB page cache per
        # page: a month-wide verification probes the NEDB index once per act line in act order, i.e. at random
        # places of a 300 MB index (benchmarks/README.md: the lines statement 4.4 → 3.0 s at country scale).
        # The mapped pages are the OS's file cache, shared by every connection; writes still go through the
        # WAL. 0 turns it off.
        cursor.execute(f"PRAGMA mmap_size={mmap_bytes}")
        cursor.close()


_HOLD_KEY = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
#: SQLite: a write that changes nothing takes the database's one write lock (held to the transaction's end)
_HOLD_SQLITE = text("UPDATE payment SET id = id WHERE 0 = 1")


def hold_key(key: str) -> None:
    """Hold ``key`` until the transaction ends: another transaction that holds it first makes this one wait for its
    commit, so a check of what is stored under the key and the write that follows happen with no other such write
    in between — where no unique constraint spans the tables the writes go to (a payment order's number, used by an
    act's payment or by a settlement outside the acts). PostgreSQL: a transaction-scoped advisory lock; SQLite: its
    single write lock, taken now rather than at the first write."""
    connection = db.session.connection()
    connection.execute(_HOLD_KEY if connection.dialect.name == "postgresql" else _HOLD_SQLITE, {"key": key})


def take_write_lock(connection) -> None:
    """SQLite: take the database's one write lock now — BEGIN IMMEDIATE's effect — for a transaction about to read
    something it will write after (the head of an audit chain), unless it holds the lock already; PostgreSQL: nothing.

    pysqlite (Python's default, "legacy" transaction control, which we keep) sends a deferred BEGIN only before a
    transaction's first INSERT, UPDATE or DELETE, and that statement takes the write lock. So a transaction that has
    written holds the lock (no statement is sent for it here — the usual case: a step's guarded UPDATE comes first),
    and one that has not yet reads outside any transaction: two such readers saw the same value, and the second one's
    write, after waiting ``busy_timeout`` for the first's commit, met a row the first had written since. The lock
    taken here waits the same ``busy_timeout`` — before the read, not after it. WAL readers (a report, a verification
    reading the events) are not blocked by it; another writer waits, as it would for the write that follows."""
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.execute(_HOLD_SQLITE)


def error_first_line(err: BaseException) -> str:
    """The database driver's own first line of an error (SQLAlchemy's wrapper adds the statement and a link)."""
    lines = str(getattr(err, "orig", None) or err).strip().splitlines()
    return lines[0] if lines else type(getattr(err, "orig", None) or err).__name__


_COMMIT_SENT = "tapsyrys_commit_sent"


def _commit_sent(_connection) -> None:
    """The COMMIT is about to go to the server. From here on a broken connection leaves the outcome unknown: the
    server may have stored the transaction and only its answer been lost. The session's own ``after_commit`` cannot
    tell: a failure there comes after the server answered, and one in the flush before it is no commit at all."""
    if has_app_context():
        g.setdefault(_COMMIT_SENT, True)


def forget_commits_sent() -> None:
    """A request, or a command, starts with nothing sent to be committed."""
    if has_app_context():
        g.pop(_COMMIT_SENT, None)


def commit_was_sent() -> bool:
    """Whether this request or command sent a COMMIT: after one, a failure cannot say "nothing was saved" — the
    commit may have landed (or an earlier one did)."""
    return has_app_context() and bool(g.get(_COMMIT_SENT))


def checkpoint() -> None:
    """Copy the SQLite write-ahead log back into the database file (PASSIVE: never waits for readers or
    writers). Run by the background pass, so that requests seldom pay for it; nothing to do elsewhere."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def get_by_id(statement: Select, model, ident: int):
    """``Session.get`` through ``statement`` (``select(model)… .where(model.id == bindparam("id"))``, built
    once at import): the identity map first, else one SELECT. A prebuilt statement's compiled form and cache
    key are reused, where ``Session.get`` rebuilds its query on every call (a third of a request's lookup
    time); the statement may also carry eager loads the caller needs."""
    found = db.session.identity_map.get(identity_key(model, ident))
    if found is not None:
        return found
    return db.session.execute(statement, {"id": ident}).scalar_one_or_none()


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds, for a request that only builds its response after
    the commit (a redirect's message, an API document): what it read and wrote in the transaction is what
    was committed, so reloading it would repeat every row once more."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


_LOCK_WAIT = "tapsyrys_lock_wait_seconds"


def limit_lock_waits(seconds: float) -> None:
    """From now on in this application context (a background job's own, the background pass's, ``flask verify-month``'s,
    a request's), every transaction waits at most ``seconds`` for a lock another transaction holds (PostgreSQL's
    ``lock_timeout``; 0: no limit). The statement then fails ("canceling statement due to lock timeout") and the job
    treats it as the failure of what it was writing — an act checked alone becomes an incident, the others go on; a
    request answers "someone else is saving this, try again" (app.errors). Without it, a month-wide verification met an
    act whose acceptance an official had left open (a transaction holding the row) and waited for as long as it stayed
    open, with nothing said anywhere. SQLite waits its ``busy_timeout`` anyway."""
    if has_app_context():
        setattr(g, _LOCK_WAIT, seconds)


def lock_wait_limit() -> float:
    """The limit :func:`limit_lock_waits` set in this application context (0: none)."""
    return (g.get(_LOCK_WAIT) or 0) if has_app_context() else 0


def _limit_request_lock_waits() -> None:
    """A request waits at most ``REQUEST_LOCK_TIMEOUT_SECONDS`` for a row another transaction holds: an official's
    acceptance, the operator's payment meeting an act a transaction left open (a stuck request, a job, a psql session)
    had held its worker thread — and the person in front of a page that never came back — for as long as it stayed
    open."""
    limit_lock_waits(current_app.config.get("REQUEST_LOCK_TIMEOUT_SECONDS", 5))


_STATEMENT_LIMIT = "tapsyrys_statement_seconds"


def _limit_request_statements() -> None:
    """A request's statements run at most ``DATABASE_STATEMENT_TIMEOUT_SECONDS`` each (PostgreSQL's
    ``statement_timeout``; 0: no limit): a slow query — a report at country scale, a plan gone wrong — had held a web
    worker, and the person in front of the page, with no bound; past it the request is rolled back whole and answered
    "try again" (503, app.errors). Requests only: background jobs, the background pass, imports, commands and
    migrations run in application contexts no request set it in, and may run long."""
    setattr(g, _STATEMENT_LIMIT, current_app.config.get("DATABASE_STATEMENT_TIMEOUT_SECONDS", 120))


def statement_timed_out(err: BaseException) -> bool:
    """A statement cancelled by PostgreSQL's statement_timeout (SQLSTATE 57014, query_canceled; see
    :func:`_limit_request_statements`)."""
    return any(getattr(seen, "sqlstate", None) == "57014" or getattr(seen, "pgcode", None) == "57014"
               for seen in _chain(err))


def _chain(err: BaseException):
    """``err`` and what it wraps (SQLAlchemy's ``orig``, the exceptions it was raised from or during)."""
    seen, depth = err, 0
    while seen is not None and depth < 20:
        yield seen
        seen, depth = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__, depth + 1


def lock_wait_given_up(err: BaseException) -> bool:
    """The statement gave up waiting for a lock (PostgreSQL's lock_timeout, SQLSTATE 55P03; see limit_lock_waits)."""
    return any(getattr(seen, "sqlstate", None) == "55P03" or getattr(seen, "pgcode", None) == "55P03"
               for seen in _chain(err))


def database_busy(err: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY): another connection held the file's one write lock past
    ``busy_timeout`` (a month-wide verification's chunk, an import's batch, another command) — SQLite's form of a
    lock wait given up."""
    import sqlite3

    def busy(seen) -> bool:
        code = getattr(seen, "sqlite_errorcode", None)  # its primary code: SQLITE_BUSY, or an extended one of it
        return isinstance(seen, sqlite3.OperationalError) and (
            (code is not None and code & 0xFF == sqlite3.SQLITE_BUSY) or str(seen) == "database is locked")

    return any(busy(seen) for seen in _chain(err))


def held_elsewhere(err: BaseException) -> bool:
    """What ``err`` met was held by another transaction past the wait allowed: a row past PostgreSQL's lock limit
    (:func:`lock_wait_given_up`) or SQLite's file past its busy timeout (:func:`database_busy`) — the moment's, not
    the work's failure: a request answers "try again", a timer waits for the next pass."""
    return lock_wait_given_up(err) or database_busy(err)


@event.listens_for(Session, "after_begin")
def _set_lock_timeout(_session, _transaction, connection) -> None:
    if not has_app_context() or connection.dialect.name != "postgresql":
        return
    # Both limits in one statement (set_config(..., true) is SET LOCAL): a transaction's fixed cost stays one
    # statement whatever limits it carries (tests/test_query_budget.py counts it).
    limits = [(name, g.get(key))
              for name, key in (("lock_timeout", _LOCK_WAIT), ("statement_timeout", _STATEMENT_LIMIT))]
    settings = [f"set_config('{name}', '{int(seconds * 1000)}ms', true)" for name, seconds in limits if seconds]
    if settings:
        connection.exec_driver_sql(f"SELECT {', '.join(settings)}")


_NEW_FILES = "files_written"  # session.info: files written for this transaction, removed unless it commits


def remove_unless_committed(path: Path) -> None:
    """A file written for the transaction under way (an attachment, an uploaded registry file) goes with it if
    it ends without a commit (a refusal, a lost race, a failed commit): no file is left on disk with no row."""
    db.session.info.setdefault(_NEW_FILES, []).append(path)


@event.listens_for(Session, "after_commit")
def _keep_new_files(session) -> None:
    session.info.pop(_NEW_FILES, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session, transaction) -> None:
    if transaction.parent is None:  # the transaction itself, not a savepoint: it ended without a commit
        for path in session.info.pop(_NEW_FILES, []):
            path.unlink(missing_ok=True)


#: bound parameters per ``IN (…)`` on SQLite (its limit is 999 in older builds)
IN_CHUNK = 900


def in_sets(column, values) -> list:
    """``column IN values`` as the fewest clauses the database takes: on PostgreSQL one ``column = ANY(:array)`` —
    a single bound parameter, however many values (the reconciliation's look-ups of ~36,000 lines as 40 chunks of
    900 bound parameters each spent ≈ 40 ms a statement expanding and parsing the IN list in Python, ≈ 10 s of a
    country request) —, elsewhere chunks of :data:`IN_CHUNK` values. No values: no clause (the caller asks
    nothing)."""
    from sqlalchemy import ARRAY, any_, bindparam

    values = list(values)
    if not values:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return [column == any_(bindparam(None, values, type_=ARRAY(column.type)))]
    return [column.in_(values[i : i + IN_CHUNK]) for i in range(0, len(values), IN_CHUNK)]
