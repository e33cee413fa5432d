import contextlib
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging — without switching off the loggers that already exist:
# the default (disable_existing_loggers=True) silenced every app logger (the ticker, incidents, jobs) for the
# rest of the process whenever migrations ran in it (``flask serve`` upgrades first).
fileConfig(config.config_file_name, disable_existing_loggers=False)
if current_app.config.get("LOG_FORMAT") == "json":  # fileConfig replaced the root handlers: JSON lines again
    from app.observability import configure_json_logs

    configure_json_logs()
logger = logging.getLogger('alembic.env')


def get_engine():
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return current_app.extensions['migrate'].db.engine
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


#: PostgreSQL's advisory lock held by a running ``db upgrade`` ("tapsyrys" in ASCII)
UPGRADE_LOCK_KEY = 0x7461707379727973


@contextlib.contextmanager
def one_upgrade_at_a_time(url):
    """A SQLite file: a second ``db upgrade`` waits for the first (an exclusive lock on ``<file>-upgrade.lock`` beside
    it, never on the database file, whose own locks SQLite keeps) and then finds nothing left to do — rather than
    give up after SQLite's busy timeout while the first holds the upgrade's transaction. PostgreSQL waits in the
    migration's transaction instead (run_migrations_online)."""
    database = url.database if url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    import fcntl

    try:
        lock = open(f"{database}-upgrade.lock", "a")  # noqa: SIM115 - held open for the whole upgrade
    except OSError:
        # The folder is missing or read-only: the database cannot be opened either, and SQLite's own error is the
        # one sentence the command says (app/cli.py); a second upgrade could not write there any more than this one.
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()
    lock_timeout = str(current_app.config.get("MIGRATION_LOCK_TIMEOUT") or "0")

    try:
        with one_upgrade_at_a_time(connectable.url), connectable.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                # SQLite: one transaction for the whole upgrade, as on PostgreSQL (below)
                **({"transactional_ddl": True} if sqlite else {}),
                **conf_args
            )

            with context.begin_transaction():
                if sqlite:
                    # The driver opens a transaction only before a row's INSERT/UPDATE/DELETE: each CREATE, ALTER
                    # and DROP before one was committed on its own. A migration failing half-way left what it had
                    # done so far (a column, a table) under the old revision; the next upgrade failed on it
                    # ("duplicate column") and the embedded installation could not start until someone repaired
                    # its schema by hand. SQLite's DDL is transactional: opened here, the whole upgrade commits
                    # at the end or rolls back (the driver's commit and rollback follow SQLite's own state).
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                if connection.dialect.name == "postgresql":
                    from sqlalchemy import text

                    # Another `db upgrade` on this database (two deploy jobs, replicas migrating as they start) is
                    # waited for; then this one reads where the database is and has nothing left to do. Both had
                    # run the same migrations: the second failed on what the first had created, with a traceback.
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
                    # A migration waiting for a table's lock (behind a long transaction: a month-wide verification's
                    # chunk, a report) makes every query on that table wait behind it: the whole application stalled
                    # for as long as the longest transaction held on. It gives up after MIGRATION_LOCK_TIMEOUT
                    # instead. For the migration's transaction only (the pool's connection is used again after it).
                    connection.execute(text("SELECT set_config('lock_timeout', :value, true)"),
                                       {"value": lock_timeout})
                context.run_migrations()
    except Exception as err:  # noqa: BLE001 - only the lock's timeout is answered here
        if getattr(getattr(err, "orig", None), "sqlstate", None) != "55P03":  # lock_not_available
            raise
        import click

        click.echo(f"Error: the migration could not take a table's lock within MIGRATION_LOCK_TIMEOUT ({lock_timeout}):"
                   " a long transaction holds it (a background job, a report). Nothing was changed; run the "
                   "upgrade again when it has ended (MIGRATION_LOCK_TIMEOUT=0 waits as long as it takes, while "
                   "every query on that table waits behind the migration).", err=True)
        raise SystemExit(1) from None


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
