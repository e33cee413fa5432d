"""Observability: liveness and readiness probes, Prometheus metrics, JSON logs with request and user ids.

* ``/healthz`` — the process answers (no database, no broker: a liveness probe must not restart a web process
  because PostgreSQL blinked).
* ``/readyz`` — the database answers and is at this code's migrations (``schema``: not one behind, app/schema.py),
  the broker answers (Celery mode), and the last background pass finished
  less than ``READY_MAX_PASS_AGE_SECONDS`` ago (default: five ticker intervals plus a minute). 503 otherwise;
  only check names and yes/no go out, never an error text.
* ``/metrics`` — Prometheus text format (``prometheus_client``): request latency per endpoint, engine steps,
  open incidents, the unannounced backlog, job durations, background pass duration; ``tapsyrys_database_up`` 0 when
  the figures read from the database could not be (the rest is still served). Not public: allowed only
  with ``METRICS_TOKEN`` (``Authorization: Bearer …``) or from ``METRICS_ALLOWED_NETWORKS`` (comma-separated
  CIDRs); with neither set it answers 404. Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR``
  (prometheus_client's multi-process mode) so every worker's counts are summed.
* ``LOG_FORMAT=json`` — one JSON object per log line (python-json-logger) with ``request_id`` (the
  ``X-Request-ID`` header, or a new one, echoed in the response) and ``user_id``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import time
import uuid
from contextlib import contextmanager
from datetime import datetime

from flask import Flask, Response, abort, g, has_app_context, has_request_context, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import DateTime, Integer, String, func, select, text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db

log = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram("tapsyrys_request_seconds", "Request latency per endpoint", ["endpoint", "method"])
REQUESTS = Counter("tapsyrys_requests_total", "Requests per endpoint and status class",
                   ["endpoint", "method", "status"])
STEPS = Counter("tapsyrys_engine_steps_total", "Engine steps run (task completions, timers, retries)",
                ["kind", "outcome"])
JOB_SECONDS = Histogram("tapsyrys_job_seconds", "Background job durations (claim to finish)", ["job", "status"],
                        buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600))
PASS_SECONDS = Histogram("tapsyrys_background_pass_seconds", "Duration of one background pass", ["outcome"],
                         buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
OPEN_INCIDENTS = Gauge("tapsyrys_open_incidents", "Incidents waiting for an operator or an automatic retry",
                       multiprocess_mode="max")
UNANNOUNCED = Gauge("tapsyrys_unannounced_tasks", "New tasks not yet announced by the background pass",
                    multiprocess_mode="max")
JOBS = Gauge("tapsyrys_background_jobs", "Background jobs (registry imports, month-wide verifications) by kind and "
             "state, read from the database at each scrape; state 'stalled': queued or running past its lease",
             ["kind", "state"], multiprocess_mode="max")
REGISTRY_CALLS = Counter("tapsyrys_registry_calls_total", "Calls to a live registry service (NEDB's HTTP API) by "
                         "outcome: ok, unavailable (no answer, an HTTP error), malformed (an answer we cannot use)",
                         ["registry", "outcome"])
SANDBOXES = Counter("tapsyrys_script_sandboxes_total", "Sandbox processes for scripts (app/engine/isolation.py) by "
                    "event: started, timeout (killed past a script's time limit), died (a crash: a signal or an "
                    "exit), retired (replaced after a script over its limits)", ["event"])
OUTBOX = Gauge("tapsyrys_outbox_emails", "E-mails in the outbox waiting to be sent (pending) or given up (failed), "
               "read from the database at each scrape", ["state"], multiprocess_mode="max")
OUTBOX_AGE = Gauge("tapsyrys_outbox_oldest_pending_seconds", "Age of the oldest e-mail waiting to be sent (0: none): "
                   "grows while the mail server cannot be reached", multiprocess_mode="max")
PASS_FAILED_PARTS = Gauge("tapsyrys_background_pass_failed_parts", "Parts of the last background pass that failed (1), "
                          "read from the database at each scrape: in celery mode the pass runs in a worker, whose own "
                          "metrics the web's /metrics does not see", ["part"], multiprocess_mode="max")
PUBLIC_REBUILD_SECONDS = Gauge("tapsyrys_public_rebuild_running_seconds", "Seconds the running rebuild of the public "
                               "caches has held its claim (0: none running), read from the database at each scrape: a "
                               "runner that died on another machine holds it until JOB_TIME_LIMIT_SECONDS",
                               multiprocess_mode="max")
DATABASE_UP = Gauge("tapsyrys_database_up", "1 when this scrape could read the figures below from the database, 0 "
                    "when it could not be used (down, restarting, locked): the gauges read from it then keep their "
                    "last values, and the request metrics of this process are still served",
                    multiprocess_mode="livemostrecent")
LAST_PASS_AGE = Gauge("tapsyrys_background_pass_age_seconds", "Seconds since the last background pass finished "
                      "(negative: dated ahead of this clock, a clock that ran ahead and was put right)",
                      multiprocess_mode="max")


class BackgroundPass(db.Model):
    """The last background pass, one row per kind of pass: readiness and metrics read its age from any process
    (the pass may run in a Celery worker, the probe in a web worker)."""

    __tablename__ = "background_pass"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    failed_parts: Mapped[str | None] = mapped_column(String(200))


@contextmanager
def background_pass(name: str = "tick"):
    """Times one background pass and records it (its own small transaction at the end). The body adds the
    names of parts that failed to ``outcome["failed"]``."""
    outcome: dict = {}
    correlate("pass")
    started, began = clock.now(), time.perf_counter()
    try:
        yield outcome
    finally:
        seconds = time.perf_counter() - began
        failed = ",".join(outcome.get("failed", []))[:200] or None
        PASS_SECONDS.labels("partial" if failed else "ok").observe(seconds)
        try:
            row = db.session.get(BackgroundPass, name) or BackgroundPass(name=name)
            row.started_at, row.finished_at = started, clock.now()
            row.duration_ms, row.failed_parts = int(seconds * 1000), failed
            db.session.add(row)
            db.session.commit()
        except Exception as err:
            from app.background import database_unavailable

            db.session.rollback()
            if condition := database_unavailable(err):
                log.error("background pass: its record could not be written: %s", condition)
            else:
                log.exception("background pass: its record could not be written")


def correlate(kind: str) -> str:
    """A correlation id for the background work this application context does from now on (a pass, a job's run): every
    log line it writes carries it as ``request_id``, as a request's lines carry theirs — a failure's line, the
    incident's and the pass's own can be found together. Returns it."""
    correlation = f"{kind}-{uuid.uuid4().hex[:16]}"
    if has_app_context() and not has_request_context():
        g.request_id = correlation
    return correlation


def observe_step(kind: str, outcome: str = "ok") -> None:
    STEPS.labels(kind, outcome).inc()


def observe_job(name: str, job) -> None:
    if job is None or job.started_at is None or job.finished_at is None:
        return
    JOB_SECONDS.labels(name, job.status).observe(max((_aware(job.finished_at) - _aware(job.started_at))
                                                     .total_seconds(), 0))


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def last_pass_age(name: str = "tick") -> float | None:
    """Seconds since the last pass finished, as this clock reads it: negative for a pass dated ahead of it (written by
    a clock that ran ahead, or by a host whose clock is ahead of this one)."""
    finished = db.session.scalar(select(BackgroundPass.finished_at).where(BackgroundPass.name == name))
    return None if finished is None else (clock.now() - _aware(finished)).total_seconds()


def pass_is_recent(age: float, limit: float) -> bool:
    """A pass finished within ``limit`` seconds, or dated ahead of this clock by no more than that (hosts' clocks
    differ a little). One dated further ahead was written by a clock that ran ahead and was put right since: it says
    nothing of when a pass last ran — the next pass would have overwritten it — and had been read as "0 s ago",
    ready, for as long as the clock had been ahead (a day, a year) while no pass ran at all."""
    return -limit <= age <= limit


# -- probes ----------------------------------------------------------------------------------------------------

def healthz():
    return jsonify(status="alive")


def readyz():
    from flask import current_app

    from app.schema import schema_state

    checks: dict[str, bool] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception as err:
        from app.background import database_unavailable

        db.session.rollback()
        # the probe runs every few seconds: a database that is down is one line each time, a traceback (a hundred
        # lines with the broker's) points at no bug
        if condition := database_unavailable(err):
            log.error("readiness: the database cannot be used: %s", condition)
        else:
            log.exception("readiness: database check failed")
        checks["database"] = False
    # A database not migrated to this code (its ``db upgrade`` forgotten or failed) answers SELECT 1, and then every
    # page reading a new column fails: not ready (app/schema.py; a database ahead of the code is usable).
    schema = None
    if checks["database"]:
        try:
            schema = schema_state()
        except Exception:
            log.exception("readiness: schema check failed")
    checks["schema"] = schema is not None and schema.usable
    if schema is not None and not schema.usable:
        log.error("readiness: %s", schema.explain())
    cfg = current_app.config
    if cfg.get("BACKGROUND_MODE") == "celery":
        checks["broker"] = _broker_answers(cfg["CELERY_BROKER_URL"])
    age = last_pass_age() if checks["schema"] else None
    limit = float(cfg.get("READY_MAX_PASS_AGE_SECONDS") or 5 * cfg["TICKER_INTERVAL_SECONDS"] + 60)
    started = current_app.extensions.get("tapsyrys_started_at", time.time())
    # a fresh process has not seen its first pass yet: that is not a failure until the limit has passed
    checks["background_pass"] = pass_is_recent(age, limit) if age is not None else (time.time() - started <= limit)
    if age is not None and age < -limit:
        log.error("readiness: the last background pass is dated %s s ahead of this clock; no pass has finished since "
                  "the clock was put right", round(-age))
    # What this process needs to serve requests decides readiness. In the embedded mode the background pass runs in
    # this process, so a stale one is this process's failure. In celery mode it runs in the workers: a dead worker
    # or an unreachable broker is reported ("degraded", and the pass's age is a metric to alert on), but does not
    # take every web process out of the load balancer — that turned a worker's failure into an outage for users.
    needed = ("database", "schema") if cfg.get("BACKGROUND_MODE") == "celery" else tuple(checks)
    ready = all(checks[name] for name in needed)
    status = ("ready" if all(checks.values()) else "degraded") if ready else "not ready"
    body = {"status": status, "checks": checks,
            "background_pass_age_seconds": None if age is None else round(age, 1)}
    return jsonify(body), 200 if ready else 503


def _broker_answers(url: str) -> bool:
    from kombu import Connection

    try:
        # a broker that accepts and never answers gives up too (it had held the probe for ever)
        with Connection(url, connect_timeout=2, transport_options={"socket_timeout": 2,
                                                                   "socket_connect_timeout": 2}) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception as err:  # kombu's OperationalError and whatever a broker client raises: one line, its own
        log.error("readiness: the broker cannot be reached: %s", str(err).splitlines()[0] if str(err) else
                  type(err).__name__)
        return False


def metrics():
    _allow_metrics()
    # The database away is what the scrape must show: it had answered 500 with a driver's traceback logged on every
    # scrape, and the monitor lost this process's request figures (the 5xx the outage causes) with the database's.
    try:
        _read_database_figures()
        DATABASE_UP.set(1)
    except Exception as err:
        from app.background import database_unavailable

        db.session.rollback()
        condition = database_unavailable(err)
        if condition is None:
            raise
        log.error("metrics: the database cannot be used: %s", condition)
        DATABASE_UP.set(0)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)


def _read_database_figures() -> None:
    OPEN_INCIDENTS.set(_count_open_incidents())
    UNANNOUNCED.set(_count_unannounced())
    _count_jobs()
    _count_outbox()
    age = last_pass_age()
    if age is not None:
        LAST_PASS_AGE.set(age)  # negative: dated ahead of this clock (see pass_is_recent)
    _count_failed_parts()
    PUBLIC_REBUILD_SECONDS.set(_public_rebuild_seconds())


def _public_rebuild_seconds() -> float:
    from app.public.models import PublicRebuild

    since = db.session.scalar(select(PublicRebuild.running_since).where(PublicRebuild.running_by.is_not(None)))
    return 0.0 if since is None else max((clock.now() - _aware(since)).total_seconds(), 0.0)


def _count_jobs() -> None:
    """The jobs' figures from the database, whichever process runs them (in celery mode the workers record their
    own metrics in their own processes, which the web's /metrics does not see)."""
    from app import clock
    from app.jobs import lease_lost
    from app.registry.jobs import JOB_MODELS

    now = clock.now()
    for model in JOB_MODELS().values():
        kind = model.__tablename__
        counts = dict(db.session.execute(select(model.status, func.count()).group_by(model.status)).all())
        for state in ("queued", "running", "done", "failed", "stopped"):  # stopped: by a person, not a failure
            JOBS.labels(kind, state).set(counts.get(state, 0))
        stalled = db.session.scalar(select(func.count()).select_from(model).where(
            model.status.in_(("queued", "running")),
            lease_lost(model, now))) or 0
        JOBS.labels(kind, "stalled").set(stalled)


PASS_PARTS = ("timers", "retries", "notifications", "jobs", "public figures", "audit anchor", "checkpoint")


def _count_failed_parts() -> None:
    """A part that fails on every pass (audit anchors on a folder that cannot be written, the public figures) was
    only a log line in whichever process ran the pass."""
    failed = db.session.scalar(select(BackgroundPass.failed_parts).where(BackgroundPass.name == "tick")) or ""
    names = {name for name in failed.split(",") if name}
    for name in (*PASS_PARTS, *sorted(names - set(PASS_PARTS))):
        PASS_FAILED_PARTS.labels(name).set(1 if name in names else 0)


def _count_outbox() -> None:
    """The outbox's backlog: a mail server that cannot be reached only logs a line per pass, and its mails wait."""
    from app.notifications.models import OutboxEmail

    for state in ("pending", "failed"):
        OUTBOX.labels(state).set(db.session.scalar(select(func.count(OutboxEmail.id))
                                                   .where(OutboxEmail.status == state)) or 0)
    oldest = db.session.scalar(select(func.min(OutboxEmail.created_at)).where(OutboxEmail.status == "pending"))
    OUTBOX_AGE.set(0 if oldest is None else max((clock.now() - _aware(oldest)).total_seconds(), 0.0))


def _count_open_incidents() -> int:
    from app.engine.incidents import open_incident_count

    return open_incident_count()


def _count_unannounced() -> int:
    from app.engine.models import HumanTask

    return db.session.scalar(select(func.count(HumanTask.id)).where(HumanTask.announced_at.is_(None))) or 0


def _allow_metrics() -> None:
    """A token or an allowed network; nothing configured means nobody (404: the page does not exist for them)."""
    import hmac

    from flask import current_app

    token = current_app.config.get("METRICS_TOKEN") or ""
    networks = [n.strip() for n in (current_app.config.get("METRICS_ALLOWED_NETWORKS") or "").split(",") if n.strip()]
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return
    if networks and request.remote_addr:
        try:
            address = ipaddress.ip_address(request.remote_addr)
            if any(address in ipaddress.ip_network(n, strict=False) for n in networks):
                return
        except ValueError:
            pass
    abort(404)


# -- request timing and JSON logs --------------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _before_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    # accept a caller's id only if it looks like one (it goes into every log line): 1–64 ASCII letters, digits, "-"
    # or "_". str.isalnum() alone also took Unicode letters and digits ("À", "²", Arabic-Indic digits).
    g.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def _after_request(response):
    endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"  # bounded label values
    started = g.get("request_started")
    if started is not None:
        REQUEST_SECONDS.labels(endpoint, request.method).observe(time.perf_counter() - started)
    REQUESTS.labels(endpoint, request.method, f"{response.status_code // 100}xx").inc()
    if g.get("request_id"):
        response.headers["X-Request-ID"] = g.request_id
    return response


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` (a request's id, or a background pass's or job run's correlation id) and ``user_id`` (empty
    outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id, record.user_id = "", None
        if has_app_context():  # a request's id, or a background pass's or job's correlation id (correlate)
            record.request_id = g.get("request_id", "")
        if has_request_context():
            try:
                from flask_login import current_user

                record.user_id = current_user.get_id() if current_user and current_user.is_authenticated else None
            except Exception:  # no user loaded yet (e.g. logging from the user loader itself)
                record.user_id = None
        return True


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s",
                         rename_fields={"levelname": "level", "asctime": "time"})


def configure_json_logs() -> None:
    """``LOG_FORMAT=json``: the root logger's handlers write JSON objects with the request and user ids."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(json_formatter())
        if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
            handler.addFilter(RequestContextFilter())


_URL_SPACE_IN_NUMBER = re.compile(r"(?<=[0-9])(?:\+|%20)(?=[0-9])")


class RequestLineWithoutIins(logging.Filter):
    """The web server's line per request (werkzeug's under ``flask serve``, gunicorn's access log) names the URL with
    its query: an official's registry look-up (``/registry/lookup?q=<a child's IIN>``) wrote the child's IIN into the
    log that operations staff read. The IINs in it are masked as the pages mask them for readers not cleared for
    children's data (:func:`app.processes.masking.mask_text`); the line keeps the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        from app.processes.masking import mask_text

        # a number typed in groups reaches the URL's query with its spaces encoded ("7910+2830+2728")
        message = _URL_SPACE_IN_NUMBER.sub(" ", record.getMessage())
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


#: the loggers that write a line per request, URL and query included
REQUEST_LINE_LOGGERS = ("werkzeug", "gunicorn.access")


def init_observability(app: Flask) -> None:
    app.extensions["tapsyrys_started_at"] = time.time()
    for name in REQUEST_LINE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestLineWithoutIins) for f in logger.filters):
            logger.addFilter(RequestLineWithoutIins())
    if (app.config.get("LOG_FORMAT") or os.environ.get("LOG_FORMAT")) == "json":
        configure_json_logs()
    app.before_request(_before_request)
    app.after_request(_after_request)
    for rule, view in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics)):
        app.add_url_rule(rule, f"observability.{view.__name__}", view, methods=["GET"])
