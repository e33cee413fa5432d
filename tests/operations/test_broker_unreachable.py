"""The broker cannot be reached when a job is queued: the job is saved and queued, and the person is told so —
the page had answered 500 "nothing was saved" for an import that then loaded every row once a worker came back."""

from __future__ import annotations

import io

import pytest
from kombu.exceptions import OperationalError
from sqlalchemy import select

from app.extensions import db
from app.registry import jobs
from app.registry.models import RegistryImport
from app.reports.models import VerificationRun
from tests.helpers import act_of_school


class _DeadBroker:
    def send_task(self, *_args, **_kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")


@pytest.fixture()
def celery_without_broker(app, monkeypatch):
    monkeypatch.setitem(app.config, "BACKGROUND_MODE", "celery")
    monkeypatch.setattr(jobs, "celery_app", lambda _app: _DeadBroker())


def test_an_import_queued_while_the_broker_is_down_is_saved_and_said_so(world, browser, celery_without_broker):
    operator = browser("operator")
    answer = operator.post("/registry/imports", {"kind": "business", "file": (
        io.BytesIO(b"bin,name,status,oked\n950440001673,School,active,85.31\n"), "b.csv")}, follow_redirects=True)
    assert answer.status_code == 200
    assert "cannot be reached just now" in answer.get_data(as_text=True)
    job = db.session.scalars(select(RegistryImport).order_by(RegistryImport.id.desc())).first()
    assert job.status == "queued"


def test_a_verification_started_while_the_broker_is_down_is_saved_and_said_so(world, browser, celery_without_broker,
                                                                             caplog):
    import logging

    period = act_of_school("Alatau Lyceum").period
    with caplog.at_level(logging.WARNING, logger="app.registry.jobs"):
        answer = browser("operator").post("/reports/verification", {"period": f"{period:%Y-%m}"},
                                          follow_redirects=True)
    said = [(r.getMessage(), r.exc_info) for r in caplog.records if r.name == "app.registry.jobs"]
    assert len(said) == 1 and said[0][1] is None, "one line, no traceback"
    assert "the broker cannot be reached (Error 111 connecting to 127.0.0.1:6390. Connection refused.)" in said[0][0]
    assert answer.status_code == 200 and "cannot be reached just now" in answer.get_data(as_text=True)
    run = db.session.scalars(select(VerificationRun).where(VerificationRun.period == period)).one()
    assert run.status == "queued"


@pytest.fixture()
def silent_broker(app, monkeypatch):
    """A Redis address whose server accepts the connection and never answers (a Redis hung or stopped, a half-open
    network; here a socket that listens and is never read), in celery mode with the application's own Celery client."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
    monkeypatch.setitem(app.config, "BACKGROUND_MODE", "celery")
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
    app.extensions.pop("tapsyrys_celery", None)
    yield
    app.extensions.pop("tapsyrys_celery", None)
    silent.close()


def _guarded(call):
    """``call()`` in a thread, waited for at most a minute: a guard against hanging, not a timing assertion."""
    import threading

    answers = []
    worker = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    worker.start()
    worker.join(60)
    assert answers, "still waiting for the silent broker"
    return answers[0]


def test_a_verification_started_while_the_broker_never_answers_is_saved_and_said_so(world, app, browser,
                                                                                     silent_broker):
    """The request that queued the run had waited for ever on the broker's socket (the run saved, the person's page
    never coming back), and so had /readyz: both give up and say so."""
    period = act_of_school("Alatau Lyceum").period
    operator = browser("operator")

    def start():
        with app.app_context():
            return operator.post("/reports/verification", {"period": f"{period:%Y-%m}"}, follow_redirects=True)

    answer = _guarded(start)
    assert answer.status_code == 200 and "cannot be reached just now" in answer.get_data(as_text=True)
    db.session.rollback()
    run = db.session.scalars(select(VerificationRun).where(VerificationRun.period == period)).one()
    assert run.status == "queued"

    def ready():
        with app.app_context():
            return app.test_client().get("/readyz")

    readiness = _guarded(ready)
    assert readiness.get_json()["checks"]["broker"] is False
