"""Which instances may move to which version — and that a refused migration changes nothing.

Issue 17: migrating a completed instance, or to a version of ANOTHER model, passed every test. Each rule
of ``app/engine/migration.py``'s target check is exercised alone here, with its exact reason.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.engine import migration
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import create_draft, publish_version
from app.engine.runtime import complete_task, start_instance
from app.extensions import db
from app.modeler.models import InstanceMigration
from tests.helpers import school, user
from tests.modeler.factory import two_step
from tests.modeler.test_versions import _open, _publish, review_only, three_step

#: v1 fill → review; v2 fill → check → review: one step added, its neighbours rewired.
DIFF_ADDED = ["check"]
DIFF_CHANGED = {"fill": ["outputs"], "review": ["inputs"]}


def _start(title: str = "running") -> ProcessInstance:
    bilim = school("Bilim Innovation School")
    instance = start_instance("trial", title=title, actor=user("owner"), region_id=bilim.region_id,
                              organisation_id=bilim.id)
    db.session.commit()
    return instance


def _migration_traces(instance) -> tuple[int, list[str]]:
    rows = db.session.scalar(select(func.count()).select_from(InstanceMigration)
                             .where(InstanceMigration.instance_id == instance.id))
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("%migrat%"))).all()
    return rows, list(actions)


def _assert_refused(instance, target, reason: str) -> None:
    before = (instance.model_version_id, instance.state, instance.status, instance.lock_version)
    report = migration.dry_run(instance, target)
    assert (report.allowed, report.refusals) == (False, [reason])
    with pytest.raises(migration.MigrationRefused) as info:
        migration.migrate(instance, target, user("owner"))
    assert str(info.value) == reason
    db.session.rollback()
    instance = db.session.get(ProcessInstance, instance.id)
    assert (instance.model_version_id, instance.state, instance.status, instance.lock_version) == before
    assert _migration_traces(instance) == (0, [])


def test_an_instance_never_moves_to_a_version_of_another_model(trial_v1):
    instance = _start()
    other, _ = publish_version(two_step("other"))  # the same diagram, another model
    db.session.commit()
    assert other.process_model_id != trial_v1.process_model_id
    _assert_refused(instance, other, "The target version belongs to another process model.")


def test_a_completed_instance_is_not_migrated(trial_v1):
    instance = _start()
    complete_task(_open(instance, "fill").id, user("accountant"), data={"comment": "done"})
    complete_task(_open(instance, "review").id, user("official"), data={"comment": "ok"})
    db.session.commit()
    instance = db.session.get(ProcessInstance, instance.id)
    assert instance.status == "completed"
    v2 = _publish(trial_v1.process_model, three_step(), user("owner"))
    db.session.commit()
    _assert_refused(instance, v2, "Only running instances can be migrated; this one is completed.")


def test_only_published_versions_other_than_the_current_one(trial_v1):
    instance = _start()
    draft = create_draft(trial_v1.process_model, user("owner"), files=three_step())
    db.session.commit()
    _assert_refused(instance, draft, "Instances can only be migrated to a published version.")
    _assert_refused(instance, trial_v1, "The instance already runs on this version.")


def test_an_instance_in_error_may_be_migrated(trial_v1):
    """A failed step is often fixed by a new version: instances in error are migrated like running ones."""
    instance = _start()
    instance.status = "error"
    v2 = _publish(trial_v1.process_model, three_step(), user("owner"))
    db.session.commit()
    report = migration.dry_run(instance, v2)
    assert (report.allowed, report.refusals) == (True, [])


def test_the_dry_run_reports_exactly_what_changes(trial_v1):
    instance = _start()
    v2 = _publish(trial_v1.process_model, three_step(), user("owner"))
    db.session.commit()
    report = migration.dry_run(instance, v2)
    assert (report.instance_id, report.title, report.from_version, report.to_version) == (instance.id, "running",
                                                                                         1, 2)
    assert (report.allowed, report.refusals, report.active) == (True, [], ["Fill in"])
    assert (report.removed_history, report.changed_active) == ([], ["Fill in"]), "its outgoing flow changed"
    assert (report.diff.added, report.diff.removed, report.diff.changed) == (DIFF_ADDED, [], DIFF_CHANGED)


def test_removing_the_active_step_is_refused_with_its_name(trial_v1):
    instance = _start()
    v2 = _publish(trial_v1.process_model, review_only(), user("owner"))
    db.session.commit()
    _assert_refused(instance, v2, "The active step Fill in was removed in version 2.")


def test_a_completed_step_removed_later_is_history_not_a_refusal(trial_v1):
    instance = _start()
    complete_task(_open(instance, "fill").id, user("accountant"), data={"comment": "done"})
    db.session.commit()
    v2 = _publish(trial_v1.process_model, review_only(), user("owner"))
    db.session.commit()
    report = migration.dry_run(instance, v2)
    assert (report.allowed, report.refusals, report.removed_history, report.active) == (
        True, [], ["Fill in"], ["Review"])


def test_a_migration_is_recorded_on_both_chains(trial_v1):
    owner = user("owner")
    instance = _start()
    v2 = _publish(trial_v1.process_model, three_step(), owner)
    db.session.commit()
    record = migration.migrate(instance, v2, owner)
    db.session.commit()
    assert (record.instance_id, record.from_version_id, record.to_version_id, record.status, record.migrated_by_id) \
        == (instance.id, trial_v1.id, v2.id, "applied", owner.id)
    assert record.report["previous_status"] == "running"
    assert record.report["lock_version_after"] == instance.lock_version
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["instance.migrated", "model.instance_migrated"])).order_by(AuditEvent.id)).all()
    details = {"migration": record.id, "from_version": 1, "to_version": 2}
    assert [(e.chain, e.action, e.object_id, e.actor_id, e.details) for e in events] == [
        (instance.audit_chain, "instance.migrated", instance.id, owner.id, details),
        (f"model:{v2.process_model_id}", "model.instance_migrated", record.id, owner.id,
         {"instance": instance.id, **details}),
    ]
    # the open task follows the new version's definition
    task = _open(instance, "fill")
    assert (task.title, task.role, task.status) == ("Fill in", "school_accountant", "open")
    assert db.session.scalar(select(func.count()).select_from(HumanTask)
                             .where(HumanTask.instance_id == instance.id, HumanTask.status == "open")) == 1


_TASK_FIELDS = ("spec_name", "title", "lane", "role", "form_schema", "form_ui_schema", "handler", "status",
                "completed_at", "task_guid")


def _task_row(instance, spec_name: str) -> tuple:
    task = _open(instance, spec_name)
    return tuple(getattr(task, name) for name in _TASK_FIELDS)


def test_a_revert_puts_back_version_state_status_and_task_and_is_recorded_on_both_chains(trial_v1):
    from app import clock

    owner = user("owner")
    instance = _start()
    instance.status = "error"  # a failed step: migrated to fix it, then put back
    db.session.commit()
    before = (instance.model_version_id, instance.state, _task_row(instance, "fill"))
    v2 = _publish(trial_v1.process_model, three_step(), owner)
    db.session.commit()
    record = migration.migrate(instance, v2, owner)
    db.session.commit()
    assert record.report["previous_status"] == "error"
    with clock.FrozenClock(clock.now()) as frozen:
        reverted = migration.revert(record, owner)
        db.session.commit()
        assert reverted is record
        assert (record.status, record.reverted_by_id) == ("reverted", owner.id)
        assert record.reverted_at.replace(tzinfo=None) == frozen.at.replace(tzinfo=None)
    instance = db.session.get(ProcessInstance, instance.id)
    assert instance.status == "error", "the status it had before the migration"
    assert (instance.model_version_id, instance.state, _task_row(instance, "fill")) == before
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["instance.migration_reverted", "model.migration_reverted"])).order_by(AuditEvent.id)).all()
    details = {"migration": record.id, "from_version": 2, "to_version": 1}
    assert [(e.chain, e.action, e.object_type, e.object_id, e.actor_id, e.details) for e in events] == [
        (instance.audit_chain, "instance.migration_reverted", "process_instance", instance.id, owner.id, details),
        (f"model:{trial_v1.process_model_id}", "model.migration_reverted", "instance_migration", record.id,
         owner.id, {"instance": instance.id, **details}),
    ]


def test_a_revert_is_refused_twice_and_once_the_instance_moved_on(trial_v1):
    owner = user("owner")
    instance = _start()
    v2 = _publish(trial_v1.process_model, three_step(), owner)
    db.session.commit()
    record = migration.migrate(instance, v2, owner)
    db.session.commit()
    migration.revert(record, owner)
    db.session.commit()
    with pytest.raises(migration.MigrationRefused) as info:
        migration.revert(record, owner)
    assert str(info.value) == "This migration has already been reverted."

    record = migration.migrate(instance, v2, owner)
    db.session.commit()
    complete_task(_open(instance, "fill").id, user("accountant"), data={"comment": "done"})
    db.session.commit()
    with pytest.raises(migration.MigrationRefused) as info:
        migration.revert(record, owner)
    assert str(info.value) == "The instance has moved on since it was migrated; it cannot be reverted."
    assert db.session.get(ProcessInstance, instance.id).model_version_id == v2.id


def test_a_migration_recorded_before_statuses_were_kept_reverts_without_touching_the_status(trial_v1):
    """Records written before ``previous_status`` existed: the instance keeps its status; no actor is needed."""
    owner = user("owner")
    instance = _start()
    v2 = _publish(trial_v1.process_model, three_step(), owner)
    db.session.commit()
    record = migration.migrate(instance, v2, owner)
    record.report = {k: v for k, v in record.report.items() if k != "previous_status"}
    db.session.commit()
    migration.revert(record)
    db.session.commit()
    instance = db.session.get(ProcessInstance, instance.id)
    assert (instance.status, instance.model_version_id) == ("running", trial_v1.id)
    assert (record.status, record.reverted_by_id) == ("reverted", None)
