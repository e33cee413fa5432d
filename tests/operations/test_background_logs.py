"""The background pass's and jobs' log lines (LOG_FORMAT=json) are found by a correlation id, and a failure is one line
without the instance's data. A script failing on a child's name under a timer had written three lines — the engine's,
the timer pass's and the incident's — each with the child's name in the error's words ("invalid literal for int()
with base 10: 'Aigerim Bossova'"), and none with an id: a request's lines carried one, the background's an empty one.
The words stay in the incident, for those who may read it."""

from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import select

from app import clock
from app.acts import terms
from app.background import tick
from app.engine import runtime
from app.engine.incidents import Incident
from app.engine.publishing import publish_version
from app.extensions import db
from app.observability import RequestContextFilter, json_formatter
from app.registry.jobs import run_job
from app.reports.operations import start_month_verification
from tests.helpers import user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START, script_task, timer
from tests.operations.test_batch_isolation import _month_acts, _month_acts_period

NAME, IIN = "Aigerim Bossova", "791028302728"


@pytest.fixture()
def json_lines():
    """Every log line, as the JSON objects LOG_FORMAT=json writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_failed_timer_step_is_one_line_with_the_pass_id_and_no_personal_data(world, app_ctx, json_lines):
    publish_version(chain_model("leaky", [
        ("wait", "Operator", timer()),
        ("compute", "Operator", script_task("compute", "n = int(full_name) + int(iin)")),
        ("check", "Operator", user_task("check", "Check"))]))
    db.session.commit()
    with clock.FrozenClock(START) as frozen:
        instance_id = runtime.start_instance("leaky", title="leaky", actor=user("owner"),
                                             data={"full_name": NAME, "iin": IIN}).id
        db.session.commit()
        frozen.advance(hours=2)
        tick(app_ctx)

    lines = json_lines()
    assert not [line for line in lines if NAME in json.dumps(line) or IIN in json.dumps(line)], lines
    failures = [line for line in lines if line["level"] in ("WARNING", "ERROR")]
    incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()
    assert [line["message"] for line in failures] == [
        f"incident {incident.id} on instance {instance_id} (script, element compute, attempt 1): ValueError"]
    assert failures[0]["request_id"].startswith("pass-")
    assert {line["request_id"] for line in lines} == {failures[0]["request_id"]}, "one pass, one id"
    assert NAME in incident.message, "the words are kept in the incident"

    tick(app_ctx)
    assert json_lines()[-1]["request_id"].startswith("pass-")
    assert json_lines()[-1]["request_id"] != failures[0]["request_id"], "each pass its own"


def test_a_job_runs_lines_carry_its_correlation_id_and_no_personal_data(world, app_ctx, json_lines, monkeypatch):
    """A month-wide verification in the in-process runner (``run_job``) whose act fails on data it names."""
    acts = _month_acts(_month_acts_period())
    for act in acts:
        act.status, act.verified_at = "submitted", None
    db.session.commit()
    poison = acts[1]

    def poisoned_terms(act):
        if act.id == poison.id:
            raise RuntimeError(f"contract terms of {NAME} ({IIN}) cannot be read")

    monkeypatch.setattr(terms, "_providers", [poisoned_terms, *terms._providers])
    run = start_month_verification(poison.period, actor=None, dispatch_job=False)
    db.session.commit()
    run_job(app_ctx, "tapsyrys.reports.verify_month", run.id)

    lines = [line for line in json_lines() if line["name"].startswith("app.")]
    assert not [line for line in lines if NAME in json.dumps(line) or IIN in json.dumps(line)], lines
    assert any(f"act {poison.id} could not be checked: RuntimeError" in line["message"] for line in lines), lines
    ids = {line["request_id"] for line in lines}
    assert len(ids) == 1 and ids.pop().startswith(f"job{run.id}-"), lines
