"""Operators can see the system: probes, metrics (not public), JSON logs, and log lines that stay switched on."""

from __future__ import annotations

import io
import json
import logging

from app import clock
from app.background import tick
from tests.operations.conftest import START


def test_liveness_and_readiness(app_ctx, browser):
    anonymous = browser()
    assert anonymous.get("/healthz").get_json() == {"status": "alive"}
    with clock.FrozenClock(START) as frozen:
        tick(app_ctx)
        ready = anonymous.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json()["checks"] == {"database": True, "schema": True, "background_pass": True}
        # the background pass stopped (a dead ticker or worker): not ready any more
        frozen.advance(seconds=5 * app_ctx.config["TICKER_INTERVAL_SECONDS"] + 61)
        stale = anonymous.get("/readyz")
    assert stale.status_code == 503
    assert stale.get_json()["checks"]["background_pass"] is False


def test_a_pass_dated_ahead_of_the_clock_is_not_read_as_recent(app_ctx, browser, caplog):
    """A pass recorded by a clock that ran a day ahead, and no pass since the clock was put right (the ticker died
    with it): readiness had read its age as 0 s — ready — for the whole day. A pass dated a few seconds ahead (a
    worker's clock a little ahead of the web's) is still recent."""
    with clock.FrozenClock(START) as frozen:
        frozen.advance(days=1)
        tick(app_ctx)  # the clock a day ahead
        frozen.advance(days=-1)  # put right; no pass since
        with caplog.at_level(logging.ERROR, logger="app.observability"):
            ahead = browser().get("/readyz")
        frozen.advance(days=1, seconds=-5)  # the same pass, 5 s ahead of this clock
        close = browser().get("/readyz")
    assert ahead.status_code == 503
    assert ahead.get_json()["checks"]["background_pass"] is False
    assert ahead.get_json()["background_pass_age_seconds"] == -86400.0
    assert "dated 86400 s ahead of this clock" in caplog.text
    assert close.status_code == 200, close.get_json()
    assert close.get_json()["checks"]["background_pass"] is True


def test_readiness_asks_the_broker_in_celery_mode_and_reports_a_dead_worker_without_failing_the_web(app_ctx,
                                                                                                    browser):
    """In celery mode the background pass runs in the workers: a dead worker or broker made every web process
    "not ready", and a load balancer then took them all out of service. It is reported, as degraded."""
    saved = dict(app_ctx.config)
    app_ctx.config.update(BACKGROUND_MODE="celery", CELERY_BROKER_URL="redis://127.0.0.1:1/14")  # nobody listens
    try:
        with clock.FrozenClock(START) as frozen:
            tick(app_ctx)
            frozen.advance(seconds=5 * app_ctx.config["TICKER_INTERVAL_SECONDS"] + 61)
            answer = browser().get("/readyz")
    finally:
        app_ctx.config.update(saved)
    assert answer.status_code == 200 and answer.get_json()["status"] == "degraded"
    assert answer.get_json()["checks"] == {"database": True, "schema": True, "broker": False, "background_pass": False}


def test_readiness_with_the_database_and_the_broker_down_fails_in_one_line_each(tmp_path, caplog):
    """A PostgreSQL server and a Redis that nobody answers on (celery mode): 503, the checks say which, liveness still
    answers — and each probe (every few seconds) logs one line per check, not two tracebacks of a hundred lines."""
    import socket

    from app import create_app

    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])  # closed again: nobody listens there
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{ports[0]}/down",
                      "TESTING": True, "BACKGROUND_MODE": "celery", "CELERY_BROKER_URL": f"redis://127.0.0.1:{ports[1]}/11",
                      "AUDIT_KEY_FILE": str(tmp_path / "keys"), "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")},
                     instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="app.observability"):
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["status"] == "not ready"
    checks = ready.get_json()["checks"]
    assert (checks["database"], checks["schema"], checks["broker"]) == (False, False, False)
    assert client.get("/healthz").status_code == 200
    lines = [(r.getMessage(), r.exc_info) for r in caplog.records if r.name == "app.observability"]
    assert [exc for _message, exc in lines] == [None, None], lines
    assert lines[0][0].startswith("readiness: the database cannot be used: ") and "refused" in lines[0][0]
    assert lines[1][0].startswith("readiness: the broker cannot be reached: ") and "refused" in lines[1][0]


def test_readiness_gives_up_on_a_database_that_accepts_and_never_answers(tmp_path):
    """A PostgreSQL address whose server accepts the connection and never answers (hung, a half-open network, a stuck
    pooler; here a socket that listens and is never read): /readyz says the database cannot be used once
    DATABASE_CONNECT_TIMEOUT_SECONDS has passed. Without a connect timeout it waited for ever, and so did every request
    and pass of the process."""
    import socket
    import threading

    from app import create_app

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
    try:
        port = silent.getsockname()[1]
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{port}/silent",
                          "TESTING": True, "DATABASE_CONNECT_TIMEOUT_SECONDS": 1,
                          "AUDIT_KEY_FILE": str(tmp_path / "keys"), "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")},
                         instance_path=str(tmp_path / "instance"))
        answers = []
        probe = threading.Thread(target=lambda: answers.append(app.test_client().get("/readyz")), daemon=True)
        probe.start()
        probe.join(60)  # a guard against hanging, not a timing assertion
        assert answers, "/readyz still waiting for the silent database"
    finally:
        silent.close()
    assert answers[0].status_code == 503
    assert answers[0].get_json()["checks"]["database"] is False


def test_metrics_need_the_token_or_an_allowed_network(app_ctx, browser):
    client = browser()
    client.get("/healthz")
    assert client.get("/metrics").status_code == 404, "nothing configured: nobody"
    app_ctx.config["METRICS_TOKEN"] = "s3cret-token"
    try:
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
        page = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    finally:
        app_ctx.config["METRICS_TOKEN"] = ""
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for name in ("tapsyrys_request_seconds_count{endpoint=\"observability.healthz\",method=\"GET\"}",
                 "tapsyrys_open_incidents", "tapsyrys_unannounced_tasks", "tapsyrys_engine_steps_total",
                 "tapsyrys_job_seconds", "tapsyrys_background_pass_seconds",
                 'tapsyrys_background_jobs{kind="registry_import",state="stalled"}'):
        assert name in text, name
    app_ctx.config["METRICS_ALLOWED_NETWORKS"] = "10.0.0.0/8, 127.0.0.0/8"
    try:
        assert client.get("/metrics").status_code == 200, "the test client comes from 127.0.0.1"
        app_ctx.config["METRICS_ALLOWED_NETWORKS"] = "10.0.0.0/8"
        assert client.get("/metrics").status_code == 404
    finally:
        app_ctx.config["METRICS_ALLOWED_NETWORKS"] = ""


def test_metrics_with_the_database_down_still_answer_and_say_so_in_one_line(tmp_path, caplog):
    """A PostgreSQL nobody answers on: /metrics answers 200 with ``tapsyrys_database_up 0`` and this process's request
    figures, logging one line — it had answered 500 with the driver's traceback on every scrape, and the monitor lost
    the request metrics (the 5xx of the outage) along with the database's figures."""
    import socket

    from app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{port}/down",
                      "TESTING": True, "METRICS_TOKEN": "t",
                      "AUDIT_KEY_FILE": str(tmp_path / "keys"), "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors")},
                     instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    client.get("/healthz")
    with caplog.at_level(logging.WARNING):
        answer = client.get("/metrics", headers={"Authorization": "Bearer t"})
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "tapsyrys_database_up 0.0" in text
    assert 'tapsyrys_request_seconds_count{endpoint="observability.healthz",method="GET"}' in text
    lines = [(r.name, r.getMessage(), r.exc_info) for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0][2] is None, lines
    assert lines[0][1].startswith("metrics: the database cannot be used: ") and "refused" in lines[0][1]


def test_metrics_say_the_database_answered(app_ctx, browser):
    app_ctx.config["METRICS_TOKEN"] = "t"
    try:
        text = browser().get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    finally:
        app_ctx.config["METRICS_TOKEN"] = ""
    assert "tapsyrys_database_up 1.0" in text


def test_open_incidents_are_counted_in_the_metrics(app_ctx, poison_model, browser):
    from app.engine import runtime
    from app.extensions import db
    from tests.helpers import user

    with clock.FrozenClock(START) as frozen:
        runtime.start_instance("poison", title="p", actor=user("owner"), data={"kind": "raise"})
        db.session.commit()
        frozen.advance(hours=2)
        runtime.fire_due_timers()
    app_ctx.config["METRICS_TOKEN"] = "t"
    try:
        text = browser().get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    finally:
        app_ctx.config["METRICS_TOKEN"] = ""
    assert "tapsyrys_open_incidents 1.0" in text


def test_json_logs_carry_the_request_and_user_ids(app_ctx, world, browser):
    from app.observability import RequestContextFilter, json_formatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestContextFilter())
    probe = logging.getLogger("app.people.views")
    probe.addHandler(handler)
    level = probe.level
    probe.setLevel(logging.INFO)  # what is tested is the line's content (an in-process Celery worker lowers root)
    app_ctx.before_request_funcs.setdefault(None, []).append(lambda: probe.warning("seen"))
    try:
        answer = browser("operator").get("/healthz", headers={"X-Request-ID": "req-42"})
    finally:
        app_ctx.before_request_funcs[None].pop()
        probe.removeHandler(handler)
        probe.setLevel(level)
    assert answer.headers["X-Request-ID"] == "req-42"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    from tests.helpers import user

    assert {"message": "seen", "request_id": "req-42", "user_id": str(user("operator").id)}.items() \
        <= lines[-1].items()


def test_the_apps_loggers_survive_the_migrations_logging_setup(app_ctx):
    from flask_migrate import upgrade

    upgrade(revision="heads")  # runs migrations/env.py and its fileConfig again, as `flask db upgrade` does
    for name in ("app.engine.runtime", "app.engine.incidents", "app.background", "app.jobs"):
        assert logging.getLogger(name).disabled is False, name


def test_a_request_id_is_taken_only_when_it_is_ascii_letters_digits_dashes_or_underscores(app_ctx, browser):
    """The caller's X-Request-ID goes into every log line, so only a plain ASCII id is kept: str.isalnum() also took
    Unicode letters and digits ("À", "²", "٣"), which were kept as the request's id."""
    client = browser()
    assert client.get("/healthz", headers={"X-Request-ID": "req_42-a"}).headers["X-Request-ID"] == "req_42-a"
    for foreign in ("reqÀ42", "req²", "٣٣٣", "req 42", "req.42", "x" * 65):
        kept = client.get("/healthz", headers={"X-Request-ID": foreign}).headers["X-Request-ID"]
        assert kept != foreign, foreign
        assert len(kept) == 32 and kept.isascii() and kept.isalnum(), kept


def _driver_arguments(tmp_path, uri, **overrides):
    """What the app's engine hands the database driver when it opens a connection (the dialect's own reading of the
    address and of connect_args, no server needed)."""
    from sqlalchemy import create_engine

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": uri, "TESTING": True, "AUDIT_KEY_FILE": str(tmp_path / "keys"),
                      "AUDIT_ANCHOR_DIR": str(tmp_path / "anchors"), **overrides},
                     instance_path=str(tmp_path / "instance"))
    options = {k: v for k, v in app.config["SQLALCHEMY_ENGINE_OPTIONS"].items() if k == "connect_args"}
    engine = create_engine(uri, **options)
    _args, kwargs = engine.dialect.create_connect_args(engine.url)
    return {**kwargs, **options.get("connect_args", {})}


def test_postgresql_connections_carry_tcp_keepalives_and_sqlite_none(tmp_path):
    """A PostgreSQL connection already open when the network went half-open waited for ever for its answer: now libpq
    is given TCP keepalives (probe after 30 s idle, every 10 s, give up after 3), next to the connect timeout. A value
    in DATABASE_URL's query wins; SQLite's driver gets none of them."""
    given = _driver_arguments(tmp_path, "postgresql+psycopg://postgres@db.example:5432/tapsyrys")
    assert {k: given.get(k) for k in ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                                      "connect_timeout")} == {"keepalives": 1, "keepalives_idle": 30,
                                                              "keepalives_interval": 10, "keepalives_count": 3,
                                                              "connect_timeout": 10}
    own = _driver_arguments(tmp_path, "postgresql+psycopg://postgres@db.example/tapsyrys"
                                      "?keepalives_idle=120&keepalives=0&connect_timeout=3")
    assert (own["keepalives_idle"], own["keepalives"], own["connect_timeout"]) == ("120", "0", "3")
    assert own["keepalives_count"] == 3, "the ones the address does not name are still ours"
    sqlite = _driver_arguments(tmp_path, f"sqlite:///{tmp_path / 'plain.db'}")
    assert not {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                "connect_timeout"} & set(sqlite)


def test_an_open_postgresql_connection_runs_with_the_keepalives(app_ctx):
    """On PostgreSQL (DATABASE_URL), the connection the app really opened carries the keepalives libpq was given."""
    import pytest

    from app.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL): the test above covers what SQLite's driver is given")
    with db.engine.connect() as connection:
        parameters = connection.connection.dbapi_connection.info.get_parameters()
    assert {k: parameters.get(k) for k in ("keepalives", "keepalives_idle", "keepalives_interval",
                                           "keepalives_count")} == {"keepalives": "1", "keepalives_idle": "30",
                                                                    "keepalives_interval": "10",
                                                                    "keepalives_count": "3"}
