"""A process owner tries a model out: every task of the trial run is theirs, marked as a trial, kept out of
production lists and counts, and the run can be deleted. No task page of any instance is a 500 for any role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.engine.models import HumanTask, ProcessInstance, ProcessModel
from app.extensions import db
from app.inbox.models import TaskComment
from app.people.models import User
from app.processes import queries
from tests.helpers import user

#: Roles that see every region's tasks and instances (production ones; trial ones only as overseers).
NATIONAL_ROLES = {"process_owner", "operator", "auditor", "admin"}


def _may_see(login: str, record) -> bool:
    """The scope rule written out independently of app/people/access.py: national roles see everything;
    otherwise nobody sees a trial run, a department sees its region, a school its own organisation."""
    person = user(login)
    if person.role in NATIONAL_ROLES:
        return True
    if record.is_trial:
        return False
    if person.role.startswith("department_"):
        return person.organisation.region_id == record.region_id
    return person.organisation_id == record.organisation_id


def _start_trial(owner, trial_v1) -> ProcessInstance:
    response = owner.post(f"/modeler/models/{trial_v1.process_model_id}/start")
    assert response.status_code == 302
    return db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()


def _open_task(instance) -> HumanTask:
    db.session.expire_all()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.status == "open")).one()


def test_a_trial_run_is_the_owners_from_start_to_end(trial_v1, browser):
    owner = browser("owner")
    instance = _start_trial(owner, trial_v1)
    assert instance.is_trial and instance.trial_owner_id == user("owner").id
    task = _open_task(instance)
    assert task.is_trial and task.assignee_id == user("owner").id and task.role == "school_accountant"

    inbox = owner.get("/inbox").get_data(as_text=True)
    assert f'data-task-id="{task.id}"' in inbox and "trial-badge" in inbox
    page = owner.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and 'id="trial-badge"' in page.get_data(as_text=True)
    assert 'id="task-form"' in page.get_data(as_text=True)

    assert 'id="unclaim-btn"' not in page.get_data(as_text=True)
    kept = owner.post(f"/tasks/{task.id}/unclaim", follow_redirects=True)
    assert "stays with the person who started" in kept.get_data(as_text=True)
    handed = browser("admin").post(f"/tasks/{task.id}/reassign", {"user_id": str(user("accountant").id)})
    assert handed.status_code == 302
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee_id == user("owner").id
    done = owner.post(f"/tasks/{task.id}", {"comment": "looks right", "_version": str(instance.lock_version)})
    assert done.status_code == 302
    review = _open_task(instance)
    assert review.role == "department_official" and review.assignee_id == user("owner").id and review.is_trial
    assert owner.post(f"/tasks/{review.id}", {"comment": "fine"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).status == "completed"


def test_trial_tasks_stay_out_of_production_inboxes_lists_and_counts(trial_v1, browser):
    owner = browser("owner")
    instance = _start_trial(owner, trial_v1)
    task = _open_task(instance)
    accountant = browser("accountant")
    assert f'data-task-id="{task.id}"' not in accountant.get("/inbox?view=group").get_data(as_text=True)
    assert f'data-task-id="{task.id}"' not in accountant.get("/inbox").get_data(as_text=True)
    # Someone with the lane's role and national scope cannot complete it either.
    assert browser("operator").post(f"/tasks/{task.id}", {"comment": "x"}).status_code == 404

    production = queries.instance_page(user("operator"), queries.InstanceFilter())
    assert instance.id not in [i.id for i in production.instances]
    trials = queries.instance_page(user("operator"), queries.InstanceFilter(trial="only"))
    assert [i.id for i in trials.instances] == [instance.id]
    assert f'data-instance-id="{instance.id}"' in owner.get("/instances?trial=only").get_data(as_text=True)


def test_no_task_page_is_a_500_for_any_role(trial_v1, browser):
    owner = browser("owner")
    _start_trial(owner, trial_v1)
    tasks = db.session.scalars(select(HumanTask)).all()
    assert any(t.is_trial for t in tasks) and any(not t.is_trial for t in tasks)
    for login in db.session.scalars(select(User.username).order_by(User.username)).all():
        person = browser(login)
        for task in tasks:
            response = person.get(f"/tasks/{task.id}")
            expected = 200 if _may_see(login, task) else 404
            assert response.status_code == expected, (login, task.spec_name, response.status_code)
            instance_page = person.get(f"/instances/{task.instance_id}")
            expected = 200 if _may_see(login, db.session.get(ProcessInstance, task.instance_id)) else 404
            assert instance_page.status_code == expected, (login, task.instance_id)


def test_a_trial_run_can_be_deleted_with_everything_on_it(trial_v1, browser):
    owner = browser("owner")
    instance = _start_trial(owner, trial_v1)
    instance_id, model_id = instance.id, trial_v1.process_model_id
    task = _open_task(instance)
    owner.post(f"/tasks/{task.id}/comments", {"body": "trying"})
    assert db.session.scalars(select(TaskComment)).first() is not None
    assert browser("operator").post(f"/instances/{instance.id}/delete-trial",
                                    {"confirm": "yes", "reason": "x"}).status_code == 403
    kept = owner.post(f"/instances/{instance.id}/delete-trial", {"reason": "done"}, follow_redirects=True)
    assert kept.status_code == 200 and db.session.get(ProcessInstance, instance.id) is not None

    assert owner.post(f"/instances/{instance_id}/delete-trial", {"confirm": "yes", "reason": "done trying"}
                      ).status_code == 302
    db.session.expunge_all()
    assert db.session.get(ProcessInstance, instance_id) is None
    assert db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).first() is None
    assert db.session.scalars(select(TaskComment)).first() is None
    deleted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "trial.deleted")).one()
    assert deleted.details["reason"] == "done trying" and deleted.chain == f"model:{model_id}"
    assert verify_all_chains()[1] == []


def test_a_production_instance_cannot_be_deleted(waits, browser):
    response = browser("admin").post(f"/instances/{waits.id}/delete-trial", {"confirm": "yes", "reason": "x"})
    assert response.status_code == 403
    assert db.session.get(ProcessInstance, waits.id) is not None


def test_trial_runs_of_the_shipped_models_never_give_a_500(world, browser):
    """The shipped models' steps need their business record (act, contract…), which a trial run lacks: the task
    page says so instead of failing, for the owner and everyone else, and a submission is refused cleanly."""
    from app.engine.models import ProcessModel

    owner = browser("owner")
    for model in db.session.scalars(select(ProcessModel).order_by(ProcessModel.id)).all():
        assert owner.post(f"/modeler/models/{model.id}/start").status_code == 302
    trial_tasks = db.session.scalars(select(HumanTask).where(HumanTask.is_trial.is_(True))).all()
    assert len(trial_tasks) >= 2
    logins = db.session.scalars(select(User.username).order_by(User.username)).all()
    for task in trial_tasks:
        for login in logins:
            response = browser(login).get(f"/tasks/{task.id}")
            assert response.status_code == (200 if _may_see(login, task) else 404), (login, task.spec_name,
                                                                                     response.status_code)
        answer = owner.post(f"/tasks/{task.id}", {"_version": "1"})
        # the step needs its business record, which a trial run lacks: refused as a form error, never a 500
        assert answer.status_code == 422, (task.spec_name, answer.status_code)


def test_a_national_role_does_not_get_trial_tasks_of_its_lane(world, browser):
    """The operator sees every region: a trial task in the Operator lane would reach them but for the trial rule."""
    from app.engine.publishing import publish_version
    from app.inbox.queries import count_open_tasks
    from tests.modeler.factory import chain_model, user_task

    publish_version(chain_model("optrial", [("pay", "Operator", user_task("pay", "Pay"))]))
    db.session.commit()
    before = count_open_tasks(user("operator"))
    model = db.session.scalars(select(ProcessModel).where(ProcessModel.identifier == "optrial")).one()
    instance = _start_trial(browser("owner"), type("V", (), {"process_model_id": model.id}))
    task = _open_task(instance)
    assert task.role == "operator" and task.is_trial
    operator = browser("operator")
    for view in ("mine", "group"):
        assert f'data-task-id="{task.id}"' not in operator.get(f"/inbox?view={view}").get_data(as_text=True)
    db.session.expire_all()
    assert count_open_tasks(user("operator")) == before
    assert operator.post(f"/tasks/{task.id}", {"comment": "x"}).status_code == 404


def test_an_owner_moved_to_another_role_no_longer_works_their_trial_runs_steps(trial_v1, browser):
    """A trial's steps are its owner's whatever their lane — while the owner is a process owner (or an
    administrator): the inbox stopped listing them once the owner was moved to the auditor's role, but the step
    itself, opened before the move or reached by the API, was completed as before (the task check looked at the
    assignee only)."""
    from app.admin.operations import update_user
    from app.engine.errors import TaskNotAvailable
    from app.engine.runtime import complete_task

    owner = browser("owner")
    instance = _start_trial(owner, trial_v1)
    task = _open_task(instance)
    person = user("owner")
    update_user(person, {"full_name": person.full_name, "email": person.email or "", "role": "auditor",
                         "organisation_id": ""}, user("admin"))
    db.session.commit()
    with pytest.raises(TaskNotAvailable):
        complete_task(task.id, user("owner"), data={"comment": "after the move"})
    db.session.rollback()
    sent = owner.post(f"/tasks/{task.id}", {"comment": "after the move", "_version": str(instance.lock_version)})
    assert sent.status_code == 403
    assert _open_task(instance).id == task.id, "the step is still open"
