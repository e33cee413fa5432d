"""Tapsyrys — the state educational order for private schools, as BPMN workflows."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from app.config import ConfigError, build_config


def create_app(overrides: dict | None = None, *, instance_path: str | None = None) -> Flask:
    """The application. A setting it cannot start with raises :class:`ConfigError` — or, loaded by a command line
    (``flask``, ``celery``: a click command is running), says its one sentence and exits 1: Flask's help and command
    listing print any exception while loading the app as a traceback and go on (``flask --help`` with a mistyped
    RATELIMIT_STRATEGY: a traceback, then the help, exit 0). gunicorn has no click context: its worker fails to boot
    on the exception and the server stops."""
    try:
        return _create_app(overrides, instance_path)
    except ConfigError as err:
        import click

        if click.get_current_context(silent=True) is None:
            raise
        err.show()
        raise SystemExit(err.exit_code) from None


def _create_app(overrides: dict | None, instance_path: str | None) -> Flask:
    # instance_path: where the secret key, the SQLite file, attachments, imports, audit keys and anchors live
    # (tests pass a temporary folder so they never write into the repository's instance/); else the setting
    # INSTANCE_PATH (a deployment's data folder, a worker started by a test), else the repository's instance/.
    instance_path = instance_path or (os.path.abspath(os.environ["INSTANCE_PATH"])
                                      if os.environ.get("INSTANCE_PATH") else None)
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    instance_path = Path(app.instance_path)
    try:
        instance_path.mkdir(parents=True, exist_ok=True)
        app.config.update(build_config(instance_path, overrides))
    except OSError as err:  # a read-only or full disk, a file in the way: the folder named, not a traceback
        raise ConfigError(f"The instance folder {instance_path} (INSTANCE_PATH) cannot be used: "
                          f"{err.filename + ': ' if err.filename and str(err.filename) != str(instance_path) else ''}"
                          f"{err.strerror or err}") from None
    # An error's message never carries the statement's values: SQLAlchemy appends them ("[parameters: …]") to every
    # database error — logged, kept as an incident's or a job's detail — and they are children's IINs and names,
    # IBANs, password and token hashes.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"hide_parameters": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    _bound_connecting(app.config)
    from app import clock

    clock.set_announced(app.config.get("ANNOUNCED_DAYS_OFF", ()), app.config.get("ANNOUNCED_WORKING_DAYS", ()))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("spiff").setLevel(logging.WARNING)

    from app import extensions as ext

    ext.db.init_app(app)
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    ext.migrate.init_app(app, ext.db, render_as_batch=True, directory=str(migrations))
    ext.csrf.init_app(app)
    ext.login_manager.init_app(app)
    from app.limits import init_limits
    from app.people.tokens import init_tokens

    init_limits(app)
    init_tokens(app)
    from app.i18n import init_i18n

    init_i18n(app)
    from app.database import init_database_events

    init_database_events(app)
    from app.ui import init_ui

    init_ui(app)
    from app.security import init_security

    init_security(app)
    from app.observability import init_observability

    init_observability(app)

    _register_domain()
    _register_blueprints(app)

    from app.cli import register_cli

    register_cli(app)
    return app


def _register_domain() -> None:
    """Import modules whose import registers lanes, task handlers and service operators."""
    import app.acts.handlers  # noqa: F401
    import app.acts.instrument  # noqa: F401
    import app.applications.handlers  # noqa: F401
    import app.audit.models  # noqa: F401
    import app.contracts.handlers  # noqa: F401
    import app.contracts.sla  # noqa: F401
    import app.dormitories.handlers  # noqa: F401
    import app.dormitories.registry  # noqa: F401
    import app.engine.incidents  # noqa: F401
    import app.inbox.hooks  # noqa: F401
    import app.inbox.models  # noqa: F401
    import app.modeler.models  # noqa: F401
    import app.notifications.models  # noqa: F401
    import app.orders.handlers  # noqa: F401
    import app.payments.handlers  # noqa: F401
    import app.people.access  # noqa: F401 - the engine's scope rule (app.engine.access)
    import app.people.lanes  # noqa: F401
    import app.people.substitutions  # noqa: F401 - and its substitution rule
    import app.processes.models  # noqa: F401
    import app.processes.trials  # noqa: F401
    import app.public.models  # noqa: F401
    import app.registry.formats  # noqa: F401 - the forms' IIN, BIN and IBAN formats (app.engine.forms)
    import app.registry.models  # noqa: F401
    import app.reports.models  # noqa: F401
    import app.yearend.handlers  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from app.acts.views import bp as acts_bp
    from app.api import init_api
    from app.errors import register_error_handlers
    from app.inbox.views import bp as inbox_bp
    from app.modeler.views import bp as modeler_bp
    from app.payments.views import bp as payments_bp
    from app.people.views import bp as people_bp
    from app.processes.views import bp as processes_bp
    from app.vendor import bp as vendor_bp

    for bp in (people_bp, inbox_bp, acts_bp, processes_bp, vendor_bp, modeler_bp, payments_bp):
        app.register_blueprint(bp)
    from app.registry.views import bp as registry_bp
    from app.reports.views import bp as reports_bp

    app.register_blueprint(registry_bp)
    app.register_blueprint(reports_bp)
    from app.public.views import bp as public_bp

    app.register_blueprint(public_bp)
    from app.analytics.views import bp as analytics_bp

    app.register_blueprint(analytics_bp)
    from app.api.docs import bp as api_docs_bp

    app.register_blueprint(api_docs_bp)
    from app.acts.review import bp as act_review_bp

    app.register_blueprint(act_review_bp)
    from app.admin.views import bp as admin_bp

    app.register_blueprint(admin_bp)
    from app.contracts.views import register_lifecycle_blueprints

    register_lifecycle_blueprints(app)
    from app.notifications.views import init_notifications

    init_notifications(app)
    init_api(app)
    from app.reports.api import init_reconciliation_api

    init_reconciliation_api(app)
    register_error_handlers(app)


# PostgreSQL: TCP keepalives on every connection (libpq's parameters). A connection already open when the network
# went half-open (a server or a NAT gone without a FIN or RST) otherwise waited for ever for an answer that never
# comes — a request or a pass held with it. With these the kernel probes after 30 s of silence, every 10 s, and gives
# the connection up after 3 unanswered probes (about a minute): the statement fails with an error and the pool opens a
# new connection.
POSTGRES_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def _bound_connecting(config) -> None:
    """PostgreSQL: opening a connection gives up after ``DATABASE_CONNECT_TIMEOUT_SECONDS``, and an open connection
    whose peer vanished is given up by TCP keepalives (``POSTGRES_KEEPALIVES``). A parameter named in DATABASE_URL's
    query or in the engine's own ``connect_args`` wins over ours. Without the timeout a server that accepts and never
    answers held /readyz — and every request, every pass — for ever, instead of saying the database cannot be used;
    SQLite gets none of these (its driver knows no such arguments)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    uri = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    options = config["SQLALCHEMY_ENGINE_OPTIONS"]
    if not uri.startswith("postgresql"):
        return
    try:
        in_address = set(make_url(uri).query)  # SQLAlchemy lets connect_args override the address: never set those
    except ArgumentError:
        return  # an address SQLAlchemy cannot read: creating the engine says so
    ours = {"connect_timeout": int(config.get("DATABASE_CONNECT_TIMEOUT_SECONDS") or 10), **POSTGRES_KEEPALIVES}
    args = dict(options.get("connect_args") or {})
    for name, value in ours.items():
        if name not in in_address:
            args.setdefault(name, value)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, "connect_args": args}
