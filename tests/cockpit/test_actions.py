"""An operator holds, resumes and cancels an instance; an administrator fires a timer and fixes a variable.
Every action needs a confirmation and a reason, and leaves an audit event with that reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.engine import runtime
from app.engine.errors import ConflictError
from app.engine.incidents import Incident
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from tests.cockpit.conftest import T0, at_timer, confirmed
from tests.helpers import user


def _instance(instance_id: int) -> ProcessInstance:
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance_id)


def _tasks(instance_id: int) -> list[str]:
    return [t.status for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id))]


def _events(instance_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"instance:{instance_id}")
                                   .order_by(AuditEvent.seq)))


def test_suspend_holds_tasks_and_timers_resume_releases_them(waits, browser):
    at_timer(waits)
    operator = browser("operator")
    page = operator.get(f"/instances/{waits.id}").get_data(as_text=True)
    assert 'id="suspend"' in page and 'data-timers="[{&#34;element&#34;: &#34;wait&#34;' in page

    response = operator.post(f"/instances/{waits.id}/suspend", confirmed("school asked to pause"))
    assert response.status_code == 302
    assert _instance(waits.id).status == "suspended"
    last = _events(waits.id)[-1]
    assert last.action == "instance.suspended" and last.details["reason"] == "school asked to pause"

    with clock.FrozenClock(T0 + timedelta(days=2)):
        assert runtime.fire_due_timers() == 0, "the background pass skips a suspended instance"
    assert _instance(waits.id).status == "suspended"
    history = operator.get(f"/instances/{waits.id}").get_data(as_text=True)
    assert "Process suspended" in history and "school asked to pause" in history

    operator.post(f"/instances/{waits.id}/resume", confirmed("school ready"))
    assert _instance(waits.id).status == "running"
    with clock.FrozenClock(T0 + timedelta(days=2)):
        assert runtime.fire_due_timers() == 1
    assert "open" in _tasks(waits.id)
    assert verify_all_chains()[1] == []


def test_suspended_tasks_leave_the_inbox_until_resumed(waits, browser):
    operator = browser("operator")
    operator.post(f"/instances/{waits.id}/suspend", confirmed())
    assert _tasks(waits.id) == ["suspended"]
    accountant = browser("accountant")
    assert "W-0001" not in accountant.get("/inbox").get_data(as_text=True)
    task_id = db.session.scalars(select(HumanTask.id).where(HumanTask.instance_id == waits.id)).first()
    page = accountant.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="task-suspended"' in page, "said as suspended, not as 'no longer open'"
    with pytest.raises(ConflictError, match="suspended this task's process: nothing was saved"):
        runtime.complete_task(task_id, user("accountant"), data={"comment": "done"})  # from a page opened before
    db.session.rollback()
    operator.post(f"/instances/{waits.id}/resume", confirmed())
    assert _tasks(waits.id) == ["open"]


def test_an_action_without_reason_or_confirmation_changes_nothing(waits, browser):
    operator = browser("operator")
    before = len(_events(waits.id))
    refused = ({"confirm": "yes", "reason": "  "}, {"reason": "no box ticked"}, {"confirm": "yes", "reason": "x" * 501})
    for data in refused:
        response = operator.post(f"/instances/{waits.id}/cancel", data, follow_redirects=True)
        assert response.status_code == 200
        assert _instance(waits.id).status == "running"
    assert "Please give a reason" in operator.post(f"/instances/{waits.id}/cancel", {"confirm": "yes"},
                                                   follow_redirects=True).get_data(as_text=True)
    assert len(_events(waits.id)) == before


def test_cancel_is_final_and_cancels_open_tasks(waits, browser):
    operator = browser("operator")
    operator.post(f"/instances/{waits.id}/cancel", confirmed("duplicate instance"))
    instance = _instance(waits.id)
    assert instance.status == "cancelled" and instance.next_timer_at is None
    assert _tasks(waits.id) == ["cancelled"]
    assert "W-0001" not in browser("accountant").get("/inbox").get_data(as_text=True)
    again = operator.post(f"/instances/{waits.id}/cancel", confirmed(), follow_redirects=True)
    assert "cannot be cancelled" in again.get_data(as_text=True)
    assert [e.action for e in _events(waits.id)].count("instance.cancelled") == 1


def test_who_may_act(waits, browser):
    at_timer(waits)
    # Outside the instance's scope: 404, nothing learnt; in scope without the role: 403; auditor: 403.
    assert browser("accountant2").post(f"/instances/{waits.id}/suspend", confirmed()).status_code == 404
    assert browser("accountant").post(f"/instances/{waits.id}/suspend", confirmed()).status_code == 403
    assert browser("auditor").post(f"/instances/{waits.id}/suspend", confirmed()).status_code == 403
    # Timers and variables are the administrator's.
    operator = browser("operator")
    operator.post(f"/instances/{waits.id}/trigger-timer", confirmed(element="wait"))
    operator.post(f"/instances/{waits.id}/variables", confirmed(name="amount_tiyn", value="1"))
    assert _instance(waits.id).next_timer_at is not None
    assert [e.action for e in _events(waits.id)][-1] == "task.completed"
    page = browser("auditor").get(f"/instances/{waits.id}").get_data(as_text=True)
    assert 'id="suspend"' not in page and 'id="read-only"' in page
    assert _instance(waits.id).status == "running"


def test_admin_triggers_a_waiting_timer_now(waits, browser):
    at_timer(waits)
    admin = browser("admin")
    page = admin.get(f"/instances/{waits.id}").get_data(as_text=True)
    assert 'id="trigger-timer"' in page and 'data-element="wait"' in page
    with clock.FrozenClock(T0 + timedelta(hours=1)):
        admin.post(f"/instances/{waits.id}/trigger-timer", confirmed("school holiday moved", element="wait"))
    instance = _instance(waits.id)
    assert instance.next_timer_at is None
    review = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == waits.id,
                                                        HumanTask.status == "open")).one()
    assert review.spec_name == "review"
    event = _events(waits.id)[-1]
    assert event.action == "timer.triggered" and event.details["element"] == "wait"
    gone = admin.post(f"/instances/{waits.id}/trigger-timer", confirmed(element="wait"), follow_redirects=True)
    assert gone.status_code == 200


def test_admin_edits_a_variable_and_the_old_value_is_audited(waits, browser):
    admin = browser("admin")
    admin.post(f"/instances/{waits.id}/variables", confirmed("wrong amount typed", name="amount_tiyn", value="130000"))
    wf = runtime._load(_instance(waits.id))
    assert wf.get_tasks(spec_name="fill")[0].data["amount_tiyn"] == 130000
    event = _events(waits.id)[-1]
    assert event.action == "variable.edited" and event.details["old"] == 125000 and event.details["new"] == 130000
    bad = admin.post(f"/instances/{waits.id}/variables", confirmed(name="amount_tiyn", value="{broken"),
                     follow_redirects=True)
    assert bad.status_code == 200 and "not valid JSON" in bad.get_data(as_text=True)
    bad = admin.post(f"/instances/{waits.id}/variables", confirmed(name="__class__", value="1"), follow_redirects=True)
    assert bad.status_code == 200 and "variable name" in bad.get_data(as_text=True)
    assert runtime._load(_instance(waits.id)).get_tasks(spec_name="fill")[0].data["amount_tiyn"] == 130000


def test_a_variable_edited_while_the_instance_waits_at_a_timer_survives_the_timer(waits, browser):
    """Edited at a waiting timer, the value was audited as changed — and undone when the timer fired (the waiting
    step takes its parent's data again), so the next step ran on the old value."""
    at_timer(waits)
    admin = browser("admin")
    admin.post(f"/instances/{waits.id}/variables", confirmed("wrong amount typed", name="amount_tiyn", value="130000"))
    with clock.FrozenClock(T0 + timedelta(hours=1)):
        admin.post(f"/instances/{waits.id}/trigger-timer", confirmed("school holiday moved", element="wait"))
    wf = runtime._load(_instance(waits.id))
    assert wf.get_tasks(spec_name="review")[0].data["amount_tiyn"] == 130000


def test_personal_data_is_masked_unless_the_role_may_see_it(waits, browser):
    operator_page = browser("operator").get(f"/instances/{waits.id}").get_data(as_text=True)
    assert "791028302728" in operator_page and "Aliya Serikova" in operator_page
    for login in ("owner", "admin"):
        page = browser(login).get(f"/instances/{waits.id}").get_data(as_text=True)
        assert 'id="variables"' in page and "amount_tiyn" in page
        assert "791028302728" not in page and "Aliya Serikova" not in page and "2728" in page
    school_page = browser("accountant").get(f"/instances/{waits.id}").get_data(as_text=True)
    assert 'id="variables"' not in school_page


def test_retry_resolves_the_open_incidents(waits, browser):
    instance = _instance(waits.id)
    instance.status, instance.error_message = "error", "registry unavailable"
    db.session.add(Incident(instance_id=instance.id, element_id="fill", kind="service", message="registry down",
                            created_at=T0, updated_at=T0))
    db.session.commit()
    operator = browser("operator")
    page = operator.get(f"/instances/{waits.id}").get_data(as_text=True)
    assert 'class="small text-danger incident"' in page and 'data-failed="fill"' in page
    operator.post(f"/instances/{waits.id}/retry", confirmed("registry is back"))
    assert _instance(waits.id).status == "running"
    incident = db.session.scalars(select(Incident)).one()
    assert incident.status == "resolved" and incident.resolution == "registry is back"
    assert incident.resolved_by_id is not None


def test_an_edited_personal_variable_is_masked_in_the_api_for_those_not_cleared(waits, browser):
    """The cockpit masks a child's IIN in the variables table; the API's instance document gave the
    ``variable.edited`` event's old and new value in full to an administrator or process owner."""
    admin = browser("admin")
    admin.post(f"/instances/{waits.id}/variables", confirmed("typo in the IIN", name="student_iin",
                                                             value='"070707123456"'))
    admin.post(f"/instances/{waits.id}/variables", confirmed("typo in the IIN", name="student_iin",
                                                             value='"070707123457"'))
    assert _events(waits.id)[-1].details["old"] == "070707123456", "the trail itself keeps the value"
    for username in ("admin", "owner"):
        document = browser(username).get(f"/api/v1/instances/{waits.id}")
        if document.status_code == 404:
            continue
        edited = [e for e in document.get_json()["events"] if e["action"] == "variable.edited"][-1]
        assert edited["details"]["name"] == "student_iin", username
        assert "070707123456" not in document.get_data(as_text=True), username
        assert edited["details"]["old"].endswith("3456") and edited["details"]["new"].endswith("3457"), username
    cleared = browser("operator").get(f"/api/v1/instances/{waits.id}").get_json()
    assert [e for e in cleared["events"] if e["action"] == "variable.edited"][-1]["details"]["old"] == "070707123456"


def test_a_variable_edit_that_task_data_cannot_keep_is_refused_and_changes_nothing(waits, browser):
    """The storage's reserved key (the same door as scripts, forms and the API) and a lone surrogate (refused as the
    value is read)."""
    admin = browser("admin")
    before = len(_events(waits.id))
    for value in ('{"typename": "Decimal", "value": "1E-50000000"}', '"\\ud800"'):
        page = admin.post(f"/instances/{waits.id}/variables", confirmed(name="smuggled", value=value),
                          follow_redirects=True).get_data(as_text=True)
        assert "typename" in page or "broken character" in page, value
    assert len(_events(waits.id)) == before
    assert "smuggled" not in runtime._load(_instance(waits.id)).get_tasks(spec_name="fill")[0].data
