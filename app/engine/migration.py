"""Moving running instances between versions of their model (SpiffWorkflow.bpmn.util.diff).

``dry_run`` says, per instance, what would change and what is refused and why; ``migrate`` applies it,
keeping the instance's previous state so ``revert`` can put it back exactly, and each waiting timer's due time
(:func:`app.engine.timers.keep_timer_dues`: the time a timer was armed counts, not the migration's);
``spec_diff`` compares two versions element by element for the diagram diff. Every migration and revert writes an
audit event on the instance's chain and on the model's chain.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from flask_babel import gettext as _
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app import clock
from app.audit.operations import record_event
from app.engine import runtime
from app.engine.errors import ConflictError
from app.engine.lanes import role_for_lane
from app.engine.models import HumanTask, InstanceMigration, ProcessInstance, ProcessModelVersion
from app.engine.serialization import _registry
from app.engine.specs import spec_for_version
from app.engine.timers import armed_timers, hold_cycle_branches, keep_timer_dues, put_back_cycle_branches
from app.extensions import db

log = logging.getLogger(__name__)
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


class MigrationRefused(Exception):
    """``str()`` is the reason, for the process owner."""


@dataclass
class ElementDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # element id -> changed attributes


def _bpmn_id(spec) -> str | None:
    return getattr(spec, "bpmn_id", None)


def spec_diff(old: ProcessModelVersion, new: ProcessModelVersion) -> ElementDiff:
    """Added / removed / changed BPMN elements between two versions (top process and subprocesses)."""
    a, b = spec_for_version(old), spec_for_version(new)
    pairs = [(a.spec, b.spec)]
    result = ElementDiff()
    for name, sp in a.subprocess_specs.items():
        if name in b.subprocess_specs:
            pairs.append((sp, b.subprocess_specs[name]))
        else:
            result.removed += [i for i in map(_bpmn_id, sp.task_specs.values()) if i]
    for name, sp in b.subprocess_specs.items():
        if name not in a.subprocess_specs:
            result.added += [i for i in map(_bpmn_id, sp.task_specs.values()) if i]
    for original, updated in pairs:
        diff = SpecDiff(_registry, original, updated)
        result.added += [i for i in map(_bpmn_id, diff.added) if i]
        result.removed += [i for i in map(_bpmn_id, diff.removed) if i]
        for ts, changes in diff.changed.items():
            if _bpmn_id(ts):
                result.changed[_bpmn_id(ts)] = sorted(changes)
    result.added = sorted(set(result.added))
    result.removed = sorted(set(result.removed))
    return result


def _label(task) -> str:
    spec = task.task_spec
    return spec.bpmn_name or _bpmn_id(spec) or spec.name


@dataclass
class DryRun:
    instance_id: int
    title: str
    from_version: int
    to_version: int
    allowed: bool
    refusals: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    changed_active: list[str] = field(default_factory=list)
    removed_history: list[str] = field(default_factory=list)
    #: claimed steps whose lane changes role: the claim is released, the step goes to the new role's group
    released: list[str] = field(default_factory=list)
    #: steps of the target version whose role nobody holds for this instance's region and organisation: they would
    #: wait with no one to take them (a warning, not a refusal: the role may be given to someone)
    unstaffed: list[tuple[str, str]] = field(default_factory=list)  # (step, role)
    diff: ElementDiff = field(default_factory=ElementDiff)
    unreadable: bool = False  # the saved state cannot be loaded: migrating it is a failure, not a refusal

    def as_dict(self) -> dict:
        return asdict(self)


def _check_target(instance: ProcessInstance, target: ProcessModelVersion) -> list[str]:
    if target.process_model_id != instance.model_version.process_model_id:
        return [_("The target version belongs to another process model.")]
    if target.status != "published":
        return [_("Instances can only be migrated to a published version.")]
    if target.id == instance.model_version_id:
        return [_("The instance already runs on this version.")]
    if instance.status not in ("running", "error"):
        return [_("Only running instances can be migrated; this one is %(status)s.", status=instance.status)]
    return []


def _plan(instance: ProcessInstance, target: ProcessModelVersion):
    wf = runtime._load(instance)
    new = spec_for_version(target)
    top_diff, sp_diffs = diff_workflow(_registry, wf, new.spec, new.subprocess_specs)
    return wf, new, top_diff, sp_diffs


def dry_run(instance: ProcessInstance, target: ProcessModelVersion) -> DryRun:
    """What migrating ``instance`` to ``target`` would do; nothing is changed."""
    report = DryRun(instance.id, instance.title, instance.model_version.number, target.number, True)
    report.refusals = _check_target(instance, target)
    if report.refusals:
        report.allowed = False
        return report
    report.diff = spec_diff(instance.model_version, target)
    try:
        wf, _new, top_diff, sp_diffs = _plan(instance, target)
    except Exception as err:  # noqa: BLE001 - a state that cannot be read refuses this one instance, not the page
        log.warning("instance %s: its state cannot be read for a migration: %r", instance.id, err)
        report.refusals.append(_("The saved state of this instance cannot be read: %(reason)s",
                                 reason=str(err)[:200] or type(err).__name__))
        report.allowed, report.unreadable = False, True
        return report
    diffs = [top_diff, *[d for d in sp_diffs.values() if d is not None]]
    for sp_id, sp_diff in sp_diffs.items():
        if sp_diff is None:  # named as the diagram names it (its task in the parent), else by its id
            try:
                name = _label(wf.get_task_from_id(sp_id))
            except TaskNotFoundException:
                name = wf.subprocesses[sp_id].spec.name
            report.refusals.append(_("The subprocess %(name)s that is running was removed.", name=name))
    for diff in diffs:
        for task in diff.removed:
            if not _bpmn_id(task.task_spec):
                continue
            if task.state & _ACTIVE:
                report.refusals.append(_("The active step %(step)s was removed in version %(n)s.",
                                         step=_label(task), n=target.number))
            elif task.state == TaskState.COMPLETED:
                report.removed_history.append(_label(task))
        for task in diff.changed:
            if task.state & _ACTIVE and _bpmn_id(task.task_spec):
                report.changed_active.append(_label(task))
    report.active = sorted({_label(t) for t in wf.get_tasks(state=_ACTIVE) if _bpmn_id(t.task_spec)})
    report.released = sorted(label for _row, label in _claims_to_release(instance, _new))
    report.removed_history = sorted(set(report.removed_history))
    report.changed_active = sorted(set(report.changed_active))
    report.unstaffed = _unstaffed(instance, _new)
    report.allowed = not report.refusals
    return report


def _unstaffed(instance: ProcessInstance, new) -> list[tuple[str, str]]:
    """The target's user steps (named, with their role) that nobody may take for this instance."""
    from app.engine.access import staffed

    found = set()
    for spec in [new.spec, *new.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if not getattr(task_spec, "manual", False):
                continue
            role = role_for_lane(getattr(task_spec, "lane", None))
            if role and not staffed(role, instance.region_id, instance.organisation_id):
                found.add((getattr(task_spec, "bpmn_name", None) or _bpmn_id(task_spec), role))
    return sorted(found)


def _claims_to_release(instance: ProcessInstance, new) -> list[tuple[HumanTask, str]]:
    """The open steps someone has claimed whose lane in ``new`` (the target's parsed specs) belongs to another
    role: that person may no longer complete them, and a claimed step is in no other person's inbox."""
    from sqlalchemy import column, table

    people = table("user_account", column("id"), column("full_name"))  # read-only: the engine knows no domain model
    rows = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.status == "open",
                                                      HumanTask.assignee_id.is_not(None))).all()
    specs = {**new.spec.task_specs}
    for sub in new.subprocess_specs.values():
        specs.update(sub.task_specs)
    found = []
    for row in rows:
        spec = specs.get(row.spec_name)
        if spec is not None and (role_for_lane(getattr(spec, "lane", None)) or "admin") != row.role:
            who = db.session.scalar(select(people.c.full_name).where(people.c.id == row.assignee_id))
            found.append((row, f"{spec.bpmn_name or row.title} ({who or row.assignee_id})"))
    return found


def _resync(instance: ProcessInstance, wf, now, how: str = "migration") -> None:
    """Bring the human-task table in line with the (migrated or restored) workflow. A claimed step whose role
    changes is released to the new role's group (it had stayed with a person who could no longer open it, in
    nobody else's inbox)."""
    ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    rows = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.task_guid.in_(list(ready) or [""]))).all()
    for row in rows:
        if row.status == "completed":
            continue
        spec = ready[row.task_guid].task_spec
        props = spec.extensions.get("properties", {})
        row.status = "open"
        row.completed_at = None
        row.spec_name = spec.name
        row.title = spec.bpmn_name or spec.name
        row.lane = spec.lane
        role = role_for_lane(spec.lane) or "admin"
        if role != row.role:
            row.assignee_id = None
        row.role = role
        row.form_schema = props.get("formJsonSchemaFilename")
        row.form_ui_schema = props.get("formUiSchemaFilename")
        row.handler = props.get("taskHandler")
    db.session.flush()
    runtime._sync(instance, wf, now, how=how)


def migrate(instance: ProcessInstance, target: ProcessModelVersion, actor=None):
    """Move one instance to ``target``; refused (MigrationRefused) if the dry run refuses it."""
    report = dry_run(instance, target)
    if report.unreadable:
        _plan(instance, target)  # raises what the dry run met: the caller's failure (an incident), not a refusal
    if not report.allowed:
        raise MigrationRefused(" ".join(report.refusals))
    wf, new, top_diff, sp_diffs = _plan(instance, target)
    previous_state, previous_version, previous_status = instance.state, instance.model_version, instance.status
    now = clock.now()
    armed = armed_timers(wf)
    held = hold_cycle_branches(wf, top_diff.alignment)
    migrate_workflow(top_diff, wf, new.spec)
    put_back_cycle_branches(wf, held)
    for sp_id, sp_diff in sp_diffs.items():
        sub = wf.subprocesses[sp_id]
        held = hold_cycle_branches(sub, sp_diff.alignment)
        migrate_workflow(sp_diff, sub, new.subprocess_specs[sub.spec.name])
        put_back_cycle_branches(sub, held)
    wf.subprocess_specs = new.subprocess_specs
    instance.model_version_id = target.id
    instance.model_version = target
    with runtime._optimistic_lock():
        runtime._run_engine(instance, actor, wf.do_engine_steps)
        # The reset above armed every waiting timer again from now. Its due time is put back after the steps, which
        # end by looking at the timers: one already past is fired by the ticker's next pass (with its audit event,
        # and its own incident if what follows fails), not inside the migration.
        keep_timer_dues(wf, armed)
        _resync(instance, wf, now)
    record = InstanceMigration(
        instance_id=instance.id, from_version_id=previous_version.id, to_version_id=target.id, status="applied",
        previous_state=previous_state, report={**report.as_dict(), "lock_version_after": instance.lock_version,
                "previous_status": previous_status},
        migrated_at=now, migrated_by_id=getattr(actor, "id", None),
    )
    db.session.add(record)
    db.session.flush()
    details = {"migration": record.id, "from_version": previous_version.number, "to_version": target.number}
    record_event(instance.audit_chain, "instance.migrated", "process_instance", instance.id,
                 actor_id=getattr(actor, "id", None), details=details)
    record_event(f"model:{target.process_model_id}", "model.instance_migrated", "instance_migration", record.id,
                 actor_id=getattr(actor, "id", None), details={"instance": instance.id, **details})
    return record


@dataclass
class BatchOutcome:
    """What a migration of many instances did, per instance."""

    migrated: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # instance id -> why the dry run (or a race) refused it
    failed: dict[int, str] = field(default_factory=dict)  # instance id -> the incident's message


def migrate_many(instance_ids, target: ProcessModelVersion, actor=None) -> BatchOutcome:
    """Migrate each instance in its own transaction (committed here).

    One failure stays one failure: a refusal or a race leaves that instance as it was and says why; any other
    exception (a script of the new version that raises, data that cannot be saved, the database) rolls back
    that instance only, which stays on its version, and becomes a ``migration`` incident on it; the others
    migrate."""
    outcome = BatchOutcome()
    target_id = target.id
    for instance_id in instance_ids:
        try:
            instance = db.session.get(ProcessInstance, instance_id)
            if instance is None:
                outcome.refused[instance_id] = _("No such instance.")
                continue
            migrate(instance, db.session.get(ProcessModelVersion, target_id), actor)
            db.session.commit()
            outcome.migrated.append(instance_id)
        except (MigrationRefused, ConflictError) as err:
            db.session.rollback()
            outcome.refused[instance_id] = str(err)
        except Exception as err:  # noqa: BLE001 - the batch goes on; the failure is the instance's incident
            db.session.rollback()
            log.warning("instance %s: migration to version %s failed: %r", instance_id, target_id, err)
            if _record_failure(instance_id, target_id, err, actor):
                outcome.failed[instance_id] = str(err)[:300] or type(err).__name__
            else:
                outcome.refused[instance_id] = str(err)[:300] or type(err).__name__
    return outcome


def _record_failure(instance_id: int, target_id: int, err: Exception, actor) -> bool:
    """The incident of a failed migration, with the target version kept in the instance's audit chain (its
    retry migrates there again), in a transaction of its own. False if even that cannot be written."""
    from app.engine.incidents import record_incident

    try:
        target = db.session.get(ProcessModelVersion, target_id)
        incident = record_incident(instance_id, err, element_id=runtime.failed_element(err),
                                   kind="migration", halt=False)
        record_event(f"instance:{instance_id}", "instance.migration_failed", "process_instance", instance_id,
                     actor_id=getattr(actor, "id", None),
                     details={"incident": incident.id, "to_version_id": target_id, "to_version": target.number})
        db.session.commit()
        return True
    except Exception:  # noqa: BLE001 - the database itself is gone: logged, the batch goes on
        db.session.rollback()
        log.exception("instance %s: the failed migration could not be recorded", instance_id)
        return False


def retry_failed_migration(instance: ProcessInstance, actor=None):
    """Migrate the instance again to the version its last failed migration aimed at (a migration incident's
    retry). The caller commits."""
    from app.audit.models import AuditEvent

    event = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == instance.audit_chain,
                                                        AuditEvent.action == "instance.migration_failed")
                               .order_by(AuditEvent.seq.desc()).limit(1)).first()
    target = db.session.get(ProcessModelVersion, (event.details or {}).get("to_version_id")) if event else None
    if target is None:
        raise MigrationRefused(_("The version this instance was being moved to is not known."))
    return migrate(instance, target, actor)


def revert(record, actor=None):
    """Put the instance back on its previous version and state, if nothing happened to it since."""
    if record.status != "applied":
        raise MigrationRefused(_("This migration has already been reverted."))
    instance = record.instance
    if instance.lock_version != record.report.get("lock_version_after"):
        raise MigrationRefused(_("The instance has moved on since it was migrated; it cannot be reverted."))
    previous = record.from_version
    now = clock.now()
    instance.model_version_id = previous.id
    instance.model_version = previous
    instance.state = record.previous_state
    wf = runtime._load(instance)
    with runtime._optimistic_lock():
        _resync(instance, wf, now, how="revert")
        instance.status = record.report.get("previous_status", instance.status)
    record.status = "reverted"
    record.reverted_at = now
    record.reverted_by_id = getattr(actor, "id", None)
    db.session.flush()
    details = {"migration": record.id, "from_version": record.to_version.number, "to_version": previous.number}
    record_event(instance.audit_chain, "instance.migration_reverted", "process_instance", instance.id,
                 actor_id=getattr(actor, "id", None), details=details)
    record_event(f"model:{previous.process_model_id}", "model.migration_reverted", "instance_migration", record.id,
                 actor_id=getattr(actor, "id", None), details={"instance": instance.id, **details})
    return record
