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


def test_a_verification_started_while_the_broker_is_down_is_saved_and_said_so(world, browser, celery_without_broker):
    period = act_of_school("Alatau Lyceum").period
    answer = browser("operator").post("/reports/verification", {"period": f"{period:%Y-%m}"}, follow_redirects=True)
    assert answer.status_code == 200 and "cannot be reached just now" in answer.get_data(as_text=True)
    run = db.session.scalars(select(VerificationRun).where(VerificationRun.period == period)).one()
    assert run.status == "queued"
