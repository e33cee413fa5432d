"""A step completed by a person, followed by an automatic step that the model breaks: the person is told in plain
words and keeps their entries, nothing is saved, and the owners and administrators see an incident — before, the
person read "NameError: name 'acceptance' is not defined" and nobody else ever knew."""

from __future__ import annotations

from sqlalchemy import select

from app.engine import runtime
from app.engine.incidents import Incident, IncidentRefused, retry_incident
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from tests.helpers import school, user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import script_task


def _broken(world) -> tuple[int, HumanTask]:
    publish_version(chain_model("broken_after", [
        ("fill", "School accountant", user_task("fill", "Fill in")),
        ("calc", "School accountant", script_task("calc", "due = acceptance['due']")),
    ]))
    db.session.commit()
    bilim = school("Bilim Innovation School")
    instance = runtime.start_instance("broken_after", title="broken", actor=user("accountant"),
                                      region_id=bilim.region_id, organisation_id=bilim.id)
    db.session.commit()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
    return instance.id, task


def test_a_model_error_after_a_step_is_an_incident_and_the_person_reads_plain_words(world, browser):
    instance_id, task = _broken(world)
    accountant = browser("accountant")
    for attempt in (1, 2):
        answer = accountant.post(f"/tasks/{task.id}", {"comment": "my careful words"})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422
        assert "error in the process model" in page and "NameError" not in page
        assert "my careful words" in page, "the entries are kept"
        db.session.expire_all()
        incident = db.session.scalars(select(Incident).where(Incident.instance_id == instance_id)).one()
        assert (incident.kind, incident.element_id, incident.status, incident.attempts) == (
            "completion", "calc", "open", attempt)
        assert "acceptance" in incident.message
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.status == "running", "the step waits as before; nothing is halted"
    assert db.session.get(HumanTask, task.id).status == "open"
    cockpit = browser("admin").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'class="small text-danger incident" data-element="calc"' in cockpit and "acceptance" in cockpit
    try:
        retry_incident(incident, user("admin"), "again")
    except IncidentRefused as err:
        assert "Nothing to retry" in str(err)
    else:
        raise AssertionError("a completion incident was retried")


def test_the_api_records_the_same_incident(world, browser):
    instance_id, task = _broken(world)
    answer = browser("accountant").post_json(f"/api/v1/tasks/{task.id}/complete", {"data": {"comment": "x"}})
    assert answer.status_code == 422
    db.session.expire_all()
    assert db.session.scalars(select(Incident.kind).where(Incident.instance_id == instance_id)).all() == ["completion"]


def test_a_business_refusal_of_a_service_after_a_step_is_no_incident(world, browser):
    """A service that refuses for a business reason is the person's to read, not the model's fault."""
    from app.engine.errors import StepFailed
    from app.engine.incidents import record_completion_failure

    instance_id, _task = _broken(world)
    try:
        raise StepFailed("the act is not verifiable") from ValueError("the act is not verifiable")
    except StepFailed as err:
        assert record_completion_failure(instance_id, err) is None


def test_the_incident_is_read_in_the_readers_language_with_the_failure_beside_it(world, browser):
    """The instance page showed an incident's stored message only — the words of whoever's request (or the
    background pass) recorded it. It now leads with what failed in the reader's language; the failure's own
    message (the model's error) follows it."""
    instance_id, task = _broken(world)
    browser("accountant").post(f"/tasks/{task.id}", {"comment": "x"})
    user("admin").locale = "ru"
    db.session.commit()
    page = browser("admin").get(f"/instances/{instance_id}").get_data(as_text=True)
    shown = page[page.find('data-element="calc"'):][:1200]
    assert "Шаг сотрудника не удалось завершить: следующий за ним автоматический шаг “calc”" in shown
    assert '<span class="incident-message text-body-secondary">' in shown and "acceptance" in shown
