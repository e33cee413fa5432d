"""What a migration leaves behind, exactly: the batch's report per instance, the failure's incident and audit
event (which its retry reads), the retry's target, and the open task rows brought in line with the new version.

Issue 17: the mutation run of ``app/engine/migration.py`` showed that the batch, the failure record, the retry
and the task rows' re-sync could change without a test noticing (their outcomes were only checked loosely)."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select, update

from app import clock
from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.engine import incidents, migration, runtime
from app.engine.incidents import Incident
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import publish_version
from app.extensions import db
from app.modeler.models import InstanceMigration
from tests.helpers import school, user
from tests.modeler.factory import chain_model, user_task
from tests.operations.conftest import START, timer


def _v1() -> dict[str, str]:
    return chain_model("mig", [("fill", "School accountant", user_task("fill", "Fill in")),
                               ("check", "School accountant", user_task("check", "Check"))])


def _v2(wait: str = "wait") -> dict[str, str]:
    return chain_model("mig", [("fill", "School accountant", user_task("fill", "Fill in")),
                               (wait, "Operator", timer(wait)),
                               ("check", "School accountant", user_task("check", "Check"))])


def _start(title: str) -> int:
    instance_id = runtime.start_instance("mig", title=title, actor=user("owner")).id
    db.session.commit()
    return instance_id


@pytest.fixture()
def versions(world):
    with clock.FrozenClock(START):
        v1, _ = publish_version(_v1())
        db.session.commit()
        yield v1


def _publish(files):
    version, _ = publish_version(files)
    db.session.commit()
    return version


SAVE_FAILED = "The process data cannot be saved: the state cannot be written"


def _refuse_dump(monkeypatch, message: str = "the state cannot be written") -> None:
    def dump(_wf):
        raise ValueError(message)

    monkeypatch.setattr(runtime, "dump_state", dump)


def test_the_batch_reports_each_instance_with_its_own_words_and_goes_on(versions, caplog):
    owner = user("owner")
    missing, done, fine = 999_999, _start("done"), _start("fine")
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == done).values(status="completed"))
    db.session.commit()
    v2 = _publish(_v2())
    outcome = migration.migrate_many([missing, done, fine], v2, owner)
    assert outcome.migrated == [fine], "a missing or refused instance does not stop the batch"
    assert outcome.refused == {missing: "No such instance.",
                               done: "Only running instances can be migrated; this one is completed."}
    assert outcome.failed == {}
    record = db.session.scalars(select(InstanceMigration).where(InstanceMigration.instance_id == fine)).one()
    assert (record.migrated_by_id, record.to_version_id) == (owner.id, v2.id)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
        ["instance.migrated", "model.instance_migrated"])).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events] == [("instance.migrated", owner.id),
                                                        ("model.instance_migrated", owner.id)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "migration" in r.getMessage()]


def test_a_failed_migration_is_an_incident_with_the_target_its_retry_needs(versions, monkeypatch, caplog):
    owner = user("owner")
    loud, silent = _start("loud"), _start("silent")
    v2 = _publish(_v2())
    _refuse_dump(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="app.engine.migration"):
        outcome = migration.migrate_many([loud], v2, owner)

    def wordless(*_args):
        raise ValueError()

    monkeypatch.setattr(migration, "migrate_workflow", wordless)
    outcome_silent = migration.migrate_many([silent], v2, owner)
    assert (outcome.migrated, outcome.refused, outcome.failed) == ([], {}, {loud: SAVE_FAILED})
    assert outcome_silent.failed == {silent: "ValueError"}, "an exception without words is named by its type"
    assert (f"instance {loud}: migration to version {v2.id} failed: StateNotSerializable('{SAVE_FAILED}')"
            in [r.getMessage() for r in caplog.records])

    incident = db.session.scalars(select(Incident).where(Incident.instance_id == loud)).one()
    assert (incident.kind, incident.status, incident.attempts) == ("migration", "open", 1)
    instance = db.session.get(ProcessInstance, loud)
    assert (instance.status, instance.model_version_id) == ("running", versions.id), \
        "a failed migration does not halt the instance, which stays on its version"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance.migration_failed",
                                                        AuditEvent.object_id == loud)).one()
    assert (event.chain, event.object_type, event.actor_id) == (f"instance:{loud}", "process_instance", owner.id)
    assert event.details == {"incident": incident.id, "to_version_id": v2.id, "to_version": 2}
    assert verify_all_chains()[1] == []


def test_when_even_the_failure_cannot_be_written_the_instance_is_reported_refused(versions, monkeypatch, caplog):
    instance_id = _start("unlucky")
    v2 = _publish(_v2())
    _refuse_dump(monkeypatch)

    def no_database(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(incidents, "record_incident", no_database)
    with caplog.at_level(logging.ERROR, logger="app.engine.migration"):
        outcome = migration.migrate_many([instance_id], v2, user("owner"))
    assert (outcome.failed, outcome.refused) == ({}, {instance_id: SAVE_FAILED})
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"instance {instance_id}: the failed migration could not be recorded"]
    assert db.session.scalars(select(Incident)).all() == []


def test_an_unreadable_state_fails_with_its_own_error_not_a_refusal(versions):
    instance_id = _start("unreadable")
    v2 = _publish(_v2())
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                       .values(state='{"serializer_version": "1.4", "data": {"tru'))
    db.session.commit()
    outcome = migration.migrate_many([instance_id], v2, user("owner"))
    assert list(outcome.failed) == [instance_id]
    message = db.session.scalars(select(Incident.message).where(Incident.instance_id == instance_id)).one()
    assert "NoneType" not in message and "attribute" not in message, message
    assert outcome.failed[instance_id] == message[:300]


def test_the_retry_migrates_to_the_version_this_instances_last_failure_aimed_at(versions, monkeypatch):
    owner, operator = user("owner"), user("operator")
    mine, other = _start("mine"), _start("other")
    real_dump = runtime.dump_state
    v2 = _publish(_v2())
    v3 = _publish(_v2(wait="pause"))
    _refuse_dump(monkeypatch)
    migration.migrate_many([mine], v2, owner)
    migration.migrate_many([mine], v3, owner)  # its last failure aims at version 3 ...
    migration.migrate_many([other], v2, owner)  # ... and the most recent failure of all is another instance's
    monkeypatch.setattr(runtime, "dump_state", real_dump)

    record = migration.retry_failed_migration(db.session.get(ProcessInstance, mine), operator)
    db.session.commit()
    assert (record.to_version_id, record.migrated_by_id) == (v3.id, operator.id)
    assert db.session.get(ProcessInstance, mine).model_version_id == v3.id
    assert db.session.get(ProcessInstance, other).model_version_id == versions.id

    never_failed = db.session.get(ProcessInstance, _start("never failed"))
    with pytest.raises(migration.MigrationRefused) as refused:
        migration.retry_failed_migration(never_failed, operator)
    assert str(refused.value) == "The version this instance was being moved to is not known."


def test_the_open_task_takes_the_new_versions_title_lane_form_and_handler(versions):
    instance_id = _start("renamed")
    before = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).one()
    assert (before.title, before.role, before.handler) == ("Fill in", "school_accountant", None)
    other_id = _start("untouched")
    renamed = ('<bpmn:userTask id="fill" name="Fill in the act"><bpmn:extensionElements><spiffworkflow:properties>'
               '<spiffworkflow:property name="formJsonSchemaFilename" value="act.schema.json" />'
               '<spiffworkflow:property name="taskHandler" value="acts/decide" />'
               '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')
    files = chain_model("mig", [("fill", "Department official", renamed),
                                ("check", "School accountant", user_task("check", "Check"))])
    # the form asks what the handler needs (the model check refuses a decision step's form without its decision)
    files["act.schema.json"] = json.dumps({"type": "object", "properties": {
        "decision": {"type": "string", "enum": ["accept", "return"]}}})
    v2 = _publish(files)
    assert migration.migrate_many([instance_id], v2, user("owner")).migrated == [instance_id]

    db.session.expire_all()
    row = db.session.get(HumanTask, before.id)
    assert (row.status, row.spec_name, row.title, row.lane, row.role) == (
        "open", "fill", "Fill in the act", "Department official", "department_official")
    assert (row.form_schema, row.form_ui_schema, row.handler) == ("act.schema.json", None, "acts/decide")
    other = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == other_id)).one()
    assert (other.title, other.role, other.handler) == ("Fill in", "school_accountant", None)


def _embedded(inner_steps: str, inner_flows: str) -> str:
    return (f'<bpmn:subProcess id="sub" name="Inside"><bpmn:startEvent id="sub_start" />{inner_steps}'
            f'<bpmn:endEvent id="sub_end" />{inner_flows}</bpmn:subProcess>')


def test_an_instance_waiting_inside_a_subprocess_continues_on_the_new_subprocess(versions):
    """The running subprocess is migrated too: the step added inside it in version 2 comes next."""
    inner_v1 = _embedded(user_task("inner", "Inner"),
                         '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner" />'
                         '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end" />')
    inner_v2 = _embedded(user_task("inner", "Inner") + user_task("added", "Added inside"),
                         '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner" />'
                         '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="added" />'
                         '<bpmn:sequenceFlow id="s3" sourceRef="added" targetRef="sub_end" />')
    v1 = _publish(chain_model("nest", [("sub", "School accountant", inner_v1)]))
    bilim = school("Bilim Innovation School")
    instance = runtime.start_instance("nest", title="nested", actor=user("owner"), region_id=bilim.region_id,
                                      organisation_id=bilim.id)
    db.session.commit()
    v2 = _publish(chain_model("nest", [("sub", "School accountant", inner_v2)]))
    report = migration.dry_run(instance, v2)
    assert report.refusals == []
    assert (report.diff.added, report.diff.removed) == (["added"], []), "the step added inside the subprocess"
    assert report.diff.changed == {"inner": ["outputs"], "sub_end": ["inputs"]}
    assert migration.migrate_many([instance.id], v2, user("owner")).migrated == [instance.id]

    def open_tasks():
        return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                          HumanTask.status == "open")).all()

    inner = open_tasks()
    assert [t.spec_name for t in inner] == ["inner"]
    runtime.complete_task(inner[0].id, user("accountant"), data={"comment": "done"})
    db.session.commit()
    assert [t.spec_name for t in open_tasks()] == ["added"], "version 2's step inside the subprocess comes next"
    assert db.session.get(ProcessInstance, instance.id).model_version_id == v2.id != v1.id


def test_every_active_step_a_version_removes_is_named_in_the_refusal(versions):
    """Two steps active at once (a parallel split), both removed: both are named, each by its name or, when
    it has none, by its id; nothing is migrated."""
    lane = "School accountant"
    unnamed = user_task("a", "").replace(' name=""', "")
    files = chain_model("par", [("split", lane, '<bpmn:parallelGateway id="split" />'), ("a", lane, unnamed),
                                ("b", lane, user_task("b", "Step B")),
                                ("join", lane, '<bpmn:parallelGateway id="join" />')])
    files["par.bpmn"] = files["par.bpmn"].replace(
        '<bpmn:sequenceFlow id="f_a_b" sourceRef="a" targetRef="b" />',
        '<bpmn:sequenceFlow id="f_split_b" sourceRef="split" targetRef="b" />'
        '<bpmn:sequenceFlow id="f_a_join" sourceRef="a" targetRef="join" />')
    _publish(files)
    instance = runtime.start_instance("par", title="parallel", actor=user("owner"))
    db.session.commit()
    v2 = _publish(chain_model("par", [("c", "School accountant", user_task("c", "Step C"))]))
    expected = ["The active step Step B was removed in version 2.", "The active step a was removed in version 2."]
    assert sorted(migration.dry_run(instance, v2).refusals) == expected
    with pytest.raises(migration.MigrationRefused) as refused:
        migration.migrate(instance, v2, user("owner"))
    assert str(refused.value) in (" ".join(expected), " ".join(reversed(expected))), "each refusal, space-separated"
    db.session.rollback()
    assert db.session.get(ProcessInstance, instance.id).model_version_id != v2.id


def test_the_audit_events_of_a_migration_name_what_moved_and_who(versions):
    owner = user("owner")
    by_owner, by_system = _start("by owner"), _start("by the system")
    v2 = _publish(_v2())
    assert migration.migrate_many([by_owner], v2, owner).migrated == [by_owner]
    assert migration.migrate_many([by_system], v2, None).migrated == [by_system], "no actor: a system migration"
    for instance_id, actor_id in ((by_owner, owner.id), (by_system, None)):
        record = db.session.scalars(select(InstanceMigration).where(InstanceMigration.instance_id == instance_id)).one()
        assert record.migrated_by_id == actor_id
        moved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance.migrated",
                                                            AuditEvent.object_id == instance_id)).one()
        assert (moved.chain, moved.object_type, moved.actor_id) == (f"instance:{instance_id}", "process_instance",
                                                                    actor_id)
        assert moved.details == {"migration": record.id, "from_version": 1, "to_version": 2}
        on_model = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "model.instance_migrated",
                                                               AuditEvent.object_id == record.id)).one()
        assert (on_model.chain, on_model.object_type, on_model.actor_id) == (
            f"model:{v2.process_model_id}", "instance_migration", actor_id)
        assert on_model.details == {"instance": instance_id, **moved.details}


def test_the_dry_run_of_an_unreadable_state_says_why_and_refuses(versions, caplog):
    instance_id = _start("unreadable")
    v2 = _publish(_v2())
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(state="{"))
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="app.engine.migration"):
        report = migration.dry_run(db.session.get(ProcessInstance, instance_id), v2)
    assert (report.allowed, report.unreadable, len(report.refusals)) == (False, True, 1)
    assert report.refusals[0].startswith("The saved state of this instance cannot be read: ")
    reason = report.refusals[0].removeprefix("The saved state of this instance cannot be read: ")
    assert reason and "NoneType" not in reason and len(reason) <= 200
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(f"instance {instance_id}: its state cannot be read for a migration: ")
    assert warning.endswith(")") and "None" not in warning


def test_a_running_subprocess_that_the_new_version_removes_refuses_the_migration(versions):
    inner = _embedded(user_task("inner", "Inner"),
                      '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner" />'
                      '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end" />')
    _publish(chain_model("nest", [("sub", "School accountant", inner)]))
    bilim = school("Bilim Innovation School")
    instance = runtime.start_instance("nest", title="nested", actor=user("owner"), region_id=bilim.region_id,
                                      organisation_id=bilim.id)
    db.session.commit()
    v2 = _publish(chain_model("nest", [("flat", "School accountant", user_task("flat", "Flat"))]))
    report = migration.dry_run(instance, v2)
    assert report.diff.removed == ["inner", "sub_end", "sub_start"], "every element of the removed subprocess"
    assert report.allowed is False
    assert report.refusals == ["The subprocess Inside that is running was removed."], "named as it is drawn"


def test_the_difference_between_versions_lists_a_new_subprocesss_elements_as_added(versions):
    inner = _embedded(user_task("inner", "Inner"),
                      '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner" />'
                      '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end" />')
    v2 = _publish(chain_model("mig", [("fill", "School accountant", user_task("fill", "Fill in")),
                                      ("sub", "School accountant", inner),
                                      ("check", "School accountant", user_task("check", "Check"))]))
    diff = migration.spec_diff(versions, v2)
    assert (diff.added, diff.removed) == (["inner", "sub", "sub_end", "sub_start"], [])
    back = migration.spec_diff(v2, versions)
    assert (back.added, back.removed) == ([], ["inner", "sub", "sub_end", "sub_start"])


def test_a_claimed_step_that_moves_to_another_role_is_released_and_the_dry_run_says_so(versions):
    """Claimed by an accountant, the step moved to the officials' lane: it stayed with the accountant, who could no
    longer open it, and was in no official's inbox — only an administrator could free it."""
    instance_id = _start("claimed")
    row = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).one()
    row.assignee_id = user("accountant").id
    kept_id = _start("kept")
    kept = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == kept_id)).one()
    kept.assignee_id = user("accountant").id
    db.session.commit()
    moved = _publish(chain_model("mig", [("fill", "Department official", user_task("fill", "Fill in")),
                                         ("check", "School accountant", user_task("check", "Check"))]))
    report = migration.dry_run(db.session.get(ProcessInstance, instance_id), moved)
    assert report.allowed and report.released == [f"Fill in ({user('accountant').full_name})"]
    assert migration.migrate_many([instance_id], moved, user("owner")).migrated == [instance_id]
    db.session.expire_all()
    row = db.session.get(HumanTask, row.id)
    assert (row.role, row.assignee_id, row.status) == ("department_official", None, "open")

    # A new version with the step in the same lane keeps the claim.
    same_role = _publish(chain_model("mig", [("fill", "School accountant", user_task("fill", "Fill in")),
                                             ("check", "School accountant", user_task("check", "Check twice"))]))
    assert migration.dry_run(db.session.get(ProcessInstance, kept_id), same_role).released == []
    assert migration.migrate_many([kept_id], same_role, user("owner")).migrated == [kept_id]
    db.session.expire_all()
    assert db.session.get(HumanTask, kept.id).assignee_id == user("accountant").id


def test_the_dry_run_names_a_new_step_nobody_may_take_for_the_instance(versions, browser):
    """Process owner probe: a co-signature step for the department head, migrated onto an Almaty act, waited with
    nobody to take it (Almaty has no head) and the dry run said only "can migrate"."""
    almaty = user("official_almaty").organisation
    instance_id = runtime.start_instance("mig", title="Almaty", actor=user("owner"), region_id=almaty.region_id,
                                         organisation_id=school("Alatau Lyceum").id).id
    astana = runtime.start_instance("mig", title="Astana", actor=user("owner"),
                                    region_id=user("official").organisation.region_id,
                                    organisation_id=school("Bilim Innovation School").id).id
    db.session.commit()
    v2 = _publish(chain_model("mig", [("fill", "School accountant", user_task("fill", "Fill in")),
                                      ("cosign", "Department head", user_task("cosign", "Co-sign")),
                                      ("check", "School accountant", user_task("check", "Check"))]))
    reports = {r.instance_id: r for r in (migration.dry_run(db.session.get(ProcessInstance, i), v2)
                                          for i in (instance_id, astana))}
    assert reports[instance_id].unstaffed == [("Co-sign", "department_head")] and reports[instance_id].allowed
    assert reports[astana].unstaffed == [], "Astana has its head"
    page = browser("owner").get(f"/modeler/versions/{v2.id}/migrate").get_data(as_text=True)
    assert "Nobody holds the role Department head for this instance" in page
