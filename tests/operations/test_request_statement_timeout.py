"""A web request whose query runs slow on PostgreSQL (a report at country scale, a plan gone wrong) held its worker —
and the person in front of the page — with no bound. Now each statement of a request runs at most
``DATABASE_STATEMENT_TIMEOUT_SECONDS``: the request is rolled back whole and the person is told to try again (503),
nothing half-written. Background work is not bounded by it: it may run long.

The slow query is PostgreSQL's ``pg_sleep``, run by the audit page's start of a check after it has written the check
and its audit event (not yet committed)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from app.audit import operations as trail
from app.audit.models import AuditCheck, AuditEvent
from app.extensions import db

SLOW = text("SELECT pg_sleep(30)")


@pytest.fixture()
def postgresql(app_ctx, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no statement_timeout: its statements are not bounded")
    app_ctx.config["DATABASE_STATEMENT_TIMEOUT_SECONDS"] = 0.5
    yield app_ctx
    app_ctx.config["DATABASE_STATEMENT_TIMEOUT_SECONDS"] = 30


@pytest.fixture()
def slow_after_writing(monkeypatch):
    """The audit event of the check's start is written, then a query runs slow."""
    real = trail.record_event

    def record_then_wait(*args, **kwargs):
        real(*args, **kwargs)
        if args[1] == "audit_check.started":
            db.session.flush()
            db.session.execute(SLOW)

    monkeypatch.setattr(trail, "record_event", record_then_wait)


def _counts() -> tuple[int, int]:
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(AuditCheck)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_a_request_whose_query_runs_past_the_limit_is_told_to_try_again_and_writes_nothing(
        world, browser, postgresql, slow_after_writing):
    admin = browser("admin")
    before = _counts()
    answer = admin.post("/admin/audit")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert "This took too long" in page
    assert "The database took too long to answer, so the request was stopped and nothing was saved." in page
    assert _counts() == before, "the check and its event were rolled back with the request"
    assert admin.get("/admin/audit").status_code == 200, "the next request is served"


def test_work_outside_a_request_is_not_bounded(world, browser, postgresql):
    """A background job, a command or a migration runs where no request set the limit — here after a request, in the
    same application context (the tests' requests share one): its statements may run past it."""
    assert browser("admin").get("/admin/audit").status_code == 200
    db.session.rollback()
    assert db.session.scalar(text("SELECT 1 FROM pg_sleep(1)")) == 1
    db.session.rollback()
