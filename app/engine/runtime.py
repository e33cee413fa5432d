"""The engine's small API — the only way domain code touches workflows.

``start_instance``, ``complete_task``, ``fire_due_timers``, ``instance_status``. Each call loads at
most one workflow, changes it, writes the instance row (optimistic lock), syncs the human-task table
and writes one audit event, all in the caller's transaction; the caller commits.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from flask_babel import gettext as _
from jsonschema.exceptions import _WrappedReferencingError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app import clock
from app.audit.operations import hold_chain, record_event, start_chain
from app.database import get_by_id
from app.engine import signals
from app.engine.access import can_see, principal_for
from app.engine.decisions import install_unique_hit_policy
from app.engine.errors import ConflictError, DomainRefused, FormInvalid, StepFailed, TaskNotAvailable
from app.engine.event_subprocesses import install_event_subprocess_end
from app.engine.forms import (
    ISO_DATES,
    TASK_DATA_OPTIONS,
    TYPED_DATES,
    FieldErrors,
    direction_controls,
    form_validator,
    load_json,
    parse_form,
    shape_errors,
    task_data_option_vars,
    typed_json,
    validate,
    with_task_data_options,
)
from app.engine.handlers import TaskContext, get_handler, roles_named
from app.engine.isolation import scripts_within
from app.engine.lanes import role_for_lane
from app.engine.models import HumanTask, ProcessInstance, ProcessModel, ProcessModelVersion
from app.engine.multi_instance import install_instance_items
from app.engine.operators import call_operator
from app.engine.schema_references import reference_expansion
from app.engine.scripting import RestrictedScriptEngine
from app.engine.serialization import dump_state, load_state
from app.engine.specs import ParsedModel, spec_for_version
from app.engine.timers import CLOCK_SLACK, correct_dues_ahead, install_clock, timer_dues, written_ahead
from app.extensions import db
from app.observability import observe_step

log = logging.getLogger(__name__)
install_clock()
install_unique_hit_policy()
install_instance_items()
install_event_subprocess_end()


@dataclass
class OperatorContext:
    instance: ProcessInstance
    actor: Any
    task_data: dict = field(default_factory=dict)


_run: contextvars.ContextVar[OperatorContext] = contextvars.ContextVar("engine_run")


def _call_service(task, operation_name: str, params: dict) -> str:
    run = _run.get()
    if run.instance.id is None:
        db.session.flush()  # a new instance is inserted lazily; operators may need its id
    ctx = OperatorContext(run.instance, run.actor, task.data)
    return json.dumps(call_operator(operation_name, ctx, params))


SCRIPT_ENGINE = RestrictedScriptEngine(service_caller=_call_service)


def latest_published_version(identifier: str) -> ProcessModelVersion:
    """The row of the latest published version (the rule lives in ``_LATEST_PUBLISHED``). Its files, the
    biggest column, load only if someone reads them: parsed specs and forms are cached per version."""
    ref, _number = _latest_published_ref(identifier)
    return db.session.get(ProcessModelVersion, ref.id, options=[defer(ProcessModelVersion.files)])


def _latest_published_ref(identifier: str) -> tuple[_VersionRef, int]:
    """The latest published version of a model as (reference, number): two columns, no row to track."""
    row = db.session.connection().execute(_LATEST_PUBLISHED, {"identifier": identifier}).first()
    if row is None:
        from app.engine.errors import ModelNotPublished

        # a page says it to whoever started the process; a service step starting another process (the contract's, the
        # year-end report's) meets it as an incident kept as its words
        raise ModelNotPublished(identifier)
    return _VersionRef(row.id), row.number


_LATEST_PUBLISHED = (  # built once (see app.audit.operations._HEAD)
    select(ProcessModelVersion.id, ProcessModelVersion.number).join(ProcessModel)
    .where(ProcessModel.identifier == bindparam("identifier"), ProcessModelVersion.status == "published")
    .order_by(ProcessModelVersion.number.desc()).limit(1))


class _VersionRef:
    """A model version known only by id. ``spec_for_version`` needs nothing else on a cache hit; any
    other attribute loads the row (with its files) on first use."""

    def __init__(self, version_id: int) -> None:
        self.id = version_id
        self._row: ProcessModelVersion | None = None

    def __getattr__(self, name: str):
        if self._row is None:
            self._row = db.session.get(ProcessModelVersion, self.id)
        return getattr(self._row, name)


@dataclass
class _VersionForms:
    """A version's form files with parsed schemas and compiled validators, cached next to its parsed spec
    (``parsed`` ties the entry to the spec cache: when that is cleared, this is rebuilt)."""

    parsed: ParsedModel
    files: dict[str, str]
    schemas: dict = field(default_factory=dict)
    validators: dict = field(default_factory=dict)

    def schema(self, filename: str | None) -> dict:
        """Parsed once; shared and read-only (``task_form`` hands out fresh copies)."""
        if filename not in self.schemas:
            self.schemas[filename] = load_json(self.files, filename)
        return self.schemas[filename]

    def errors(self, filename: str | None, data: dict, *, dates: str = TYPED_DATES,
               domain_bounds: frozenset[str] = frozenset()) -> FieldErrors:
        """Server-side validation, always: a compiled validator answers "valid"; on invalid data the full
        validation of :mod:`app.engine.forms` builds the messages in the user's language (``dates``: how a date was
        to be written, see :func:`app.engine.forms.validate`)."""
        validator = self.validators.get(filename)
        if validator is None:
            schema = self.schema(filename)
            # A form whose references loop or multiply (published before they were checked) is never run: the
            # check would raise RecursionError or take 3³⁰ steps; validate() says the form cannot be checked.
            validator = self.validators[filename] = (form_validator(schema) if reference_expansion(schema) is None
                                                     else False)
        try:
            if validator is not False and validator.is_valid(data) and not direction_controls(data):
                return FieldErrors()
        except _WrappedReferencingError:
            pass  # validate() explains it
        return validate(self.schema(filename), data, dates=dates, domain_bounds=domain_bounds)


_forms_cache: dict[int, _VersionForms] = {}


def _version_of(instance: ProcessInstance) -> tuple[ParsedModel, Any]:
    """Parsed spec and version of an instance without loading the version row when the spec is cached."""
    version = instance.__dict__.get("model_version")  # already loaded, or just set by a migration
    if version is None:
        version = _VersionRef(instance.model_version_id)
    return spec_for_version(version), version


def _forms_for(instance: ProcessInstance) -> _VersionForms:
    parsed, version = _version_of(instance)
    entry = _forms_cache.get(version.id)
    if entry is None or entry.parsed is not parsed:
        if len(_forms_cache) > 512:
            _forms_cache.clear()
        entry = _forms_cache[version.id] = _VersionForms(parsed, dict(version.files))
    return entry


def _load(instance: ProcessInstance) -> BpmnWorkflow:
    parsed, _version = _version_of(instance)
    return load_state(instance.state, parsed.spec, parsed.subprocess_specs, SCRIPT_ENGINE)


def _run_engine(instance: ProcessInstance, actor, step) -> None:
    if instance.id is not None:
        # The instance's chain before anything the run writes to its tasks or its row (a step, a timer, a retry, a
        # migration): a claim or a comment written at the same instant waits for it, or it for them, and each links
        # to the other's event — not both to one head, the step then refused. The order of the locks:
        # app.audit.operations.hold_chain. (A new instance: nobody else sees it before its commit.)
        hold_chain(instance.audit_chain)
    # when this run started and for whom: the tasks it completes are those that changed since (see _settle_incidents)
    instance._engine_run = (time.time(), actor)
    token = _run.set(OperatorContext(instance, actor))
    try:
        with scripts_within():  # one step's scripts share a time budget (app.engine.isolation)
            step()
    except Exception as err:
        held = _lock_wait_given_up(err)
        if held is err:
            # a row another transaction holds, waited for past the lock limit (app.database.limit_lock_waits): not the
            # step's failure but the moment's — a request answers "try again", a timer waits for the next pass; as a
            # step's failure it became a refusal naming the driver's words, or an incident on a healthy instance
            raise
        if held is not None:  # the same, met by a script or a service task of the step (the engine wrapped it)
            raise held from err
        if isinstance(err, SpiffWorkflowException):
            # The caller says what became of it (an incident, a refusal on the person's page) in one line; the error's
            # own words carry the instance's data (a script's "invalid literal …: '<a child's name>'") and stay in
            # the incident, not in the logs.
            log.debug("instance %s: step failed: %s", instance.id, err)
        else:
            log.debug("instance %s: step failed", instance.id, exc_info=True)
        raise StepFailed(_step_message(err)) from err
    finally:
        _run.reset(token)


def _lock_wait_given_up(err: BaseException) -> BaseException | None:
    """The database's error in ``err``'s chain when a statement gave up waiting for a lock, else None."""
    from sqlalchemy.exc import DBAPIError

    from app.database import held_elsewhere
    from app.engine.incidents import causes

    return next((seen for seen in causes(err) if isinstance(seen, DBAPIError) and held_elsewhere(seen)), None)


#: The script budget's reasons (app.engine.scripting, app.engine.isolation: English, as they go to logs) in the
#: reader's words, for the failure shown to the person and the incident (the ops probe read "script stopped its
#: sandbox process (it went past the time limit)" on a Russian page).
_BUDGET_WORDS = (
    (re.compile(r"script exceeded its time limit of (\S+) s"),
     lambda m: _("the script ran longer than its limit of %(n)s s", n=m[1])),
    (re.compile(r"script exceeded its budget of ([0-9]+) steps"),
     lambda m: _("the script took more than its %(n)s steps (a loop that does not end?)", n=m[1])),
    (re.compile(r"script used more than ([0-9]+) MB of memory"),
     lambda m: _("the script used more than %(n)s MB of memory", n=m[1])),
    (re.compile(r"script stopped its sandbox process \(it went past the time limit\)"),
     lambda m: _("the script was stopped: one operation of it ran past its time limit")),
    (re.compile(r"script stopped its sandbox process \(.*\)"),
     lambda m: _("the script was stopped: it crashed the process that runs scripts")),
    (re.compile(r"the task data the script leaves is too large.*", re.S),
     lambda m: _("the data the script leaves is too large to keep")),
    (re.compile(r"the scripts of this step ran for more than (\S+) s in all.*", re.S),
     lambda m: _("the scripts of this step ran for more than %(n)s s in all (a loop of scripts?); nothing of the step "
                 "was saved", n=m[1])),
    (re.compile(r"(.+) would be too large", re.S),
     lambda m: _("a value the script builds would be too large (%(what)s)", what=m[1])),
)


def _budget_words(cause: BaseException) -> str | None:
    from app.engine.scripting import ScriptLimitExceeded

    if not isinstance(cause, ScriptLimitExceeded):
        return None
    for pattern, say in _BUDGET_WORDS:
        match = pattern.fullmatch(cause.reason.strip())
        if match:
            text = say(match)
            return _("line %(n)s: %(text)s", n=cause.line, text=text) if cause.line else text
    return None


#: SpiffWorkflow's words when an exclusive ("... for <id>") or inclusive ("... on gateway") gateway has no way out
_NO_WAY_OUT = re.compile(r"No conditions satisfied (for |on gateway)")


def _step_message(err: Exception) -> str:
    """What failed, where: the step's name, else its id (an unnamed script task said only "name 'x' is not
    defined"), and for a name no step has set, that the process expects it from its start or an earlier step."""
    from flask_babel import gettext as _

    task = getattr(err, "task", None)
    # SpiffWorkflow's exclusive gateway names its spec, not its task, when no flow can be taken
    spec = getattr(task, "task_spec", None) or getattr(err, "task_spec", None)
    drawn = getattr(spec, "task_spec", None)  # a multi-instance step wraps the step as drawn (its name is there)
    if isinstance(drawn, str) and not getattr(spec, "bpmn_name", None):
        spec = task.workflow.spec.task_specs.get(drawn, spec)
    where = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or ""
    cause = err.__cause__ or err
    text = str(cause)
    budget = _budget_words(cause)
    if budget:
        text = budget
    if _NO_WAY_OUT.match(text) and isinstance(spec, MultiChoice):
        text = _("none of the conditions of the flows out of this gateway holds, and it has no default flow: the "
                 "instance cannot go on from here. Check the data this step was given; the process owner can give "
                 "the gateway a default flow.")
    missing_output, missing_input = getattr(cause, "data_output", None), getattr(cause, "data_input", None)
    if text.startswith("A data object could not be set") and missing_output is not None:
        text = _("this step writes the data object %(name)s, and its data has no %(name)s: set it in an earlier step "
                 "or send it with the message that starts the process, or remove the step's data output association.",
                 name=repr(missing_output.bpmn_id))
    elif text.startswith("Missing data ouput") and missing_output is not None:  # sic: SpiffWorkflow's spelling
        text = _("the step must leave %(name)s in its data (a data output drawn on the step), and it did not: "
                 "give its form a field of that name, or remove the data output.",
                 name=repr(missing_output.bpmn_id))
    elif text.startswith("Expected an output item") and getattr(getattr(getattr(task, "parent", None), "task_spec",
                                                                        None), "output_item", None) is not None:
        # an instance of a multi-instance step ended without its output data item (a manual task has no form to set
        # it): SpiffWorkflow said only "Expected an output item"
        text = _("each instance of this multi-instance step must leave %(name)s in its data (its output data item), "
                 "and this one did not: give the step's form a field of that name, or remove the output data item.",
                 name=repr(task.parent.task_spec.output_item.bpmn_id))
    elif re.match(r"Missing data input(?! for multiinstance)", text) and missing_input is not None:
        text = _("%(name)s must be in the data when the step begins (a data input drawn on the step), and it is "
                 "not: set it in an earlier step, or remove the data input.", name=repr(missing_input.bpmn_id))
    if isinstance(cause, NameError) and getattr(cause, "name", None):
        text = _("%(name)s is not defined: no earlier step sets it and the process was not started with it.",
                 name=repr(cause.name))
    elif type(cause) is KeyError and len(cause.args) == 1 and isinstance(cause.args[0], str | int):
        # a script reading data["iteration_count"] of a message's payload that left it out: the owner read only
        # "hot manual task: 'iteration_count'"
        text = _("this step reads the key %(key)s, and the data it reads it from has none (the message that started "
                 "the process, a form or an earlier step left it out): send it with that data, or read it with "
                 ".get(%(key)s) where it may be missing.", key=repr(cause.args[0]))
        line = getattr(err, "line_number", None)
        if isinstance(line, int) and line > 0:
            text = _("line %(n)s: %(text)s", n=line, text=text)
    return f"{where}: {text}".strip(": ")


def _sync(instance: ProcessInstance, wf: BpmnWorkflow, now: datetime, completed_guid: str | None = None,
          new: bool = False, open_guids: set[str] | None = None, how: str = "step") -> None:
    """Mirror READY user tasks into the human-task table; record status and next timer on the row.

    ``how`` (``task``, ``timer``, ``retry``, ``migration``, ...) names the run for the incidents it settles: an open
    incident whose element this run went through is resolved; an instance left with no step that can ever come
    gets a ``stuck`` incident (:func:`_settle_incidents`).

    ``open_guids``: the caller knows which rows are open — the READY user tasks of the state it loaded,
    since every save passes through here and leaves exactly those rows open. Then the rows are only
    queried when one of them has to be cancelled; a row the workflow still has READY is never inserted
    twice either way (unique instance, task guid).
    """
    if not new:
        hold_chain(instance.audit_chain)  # before the rows (held already after _run_engine: nothing sent)
    ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    if new:
        open_rows, known = [], set()
    elif open_guids is not None and not (open_guids - ready.keys() - {completed_guid}):
        open_rows, known = [], set(open_guids)
    else:
        open_rows = db.session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "open")
        ).all()
        known = {row.task_guid for row in open_rows}
    for row in open_rows:
        if row.task_guid not in ready and row.task_guid != completed_guid:
            row.status = "cancelled"
            row.completed_at = now
    created: list[HumanTask] = []
    for guid, task in ready.items():
        if guid in known:
            continue
        spec = task.task_spec
        props = spec.extensions.get("properties", {})
        role, assignee_id = _performer(instance, spec.lane)
        options = _task_data_options(instance, props.get("formJsonSchemaFilename"), task.data)
        created.append(HumanTask(
            instance=instance, task_guid=guid, spec_name=spec.name, assignee_id=assignee_id,
            title=spec.bpmn_name or spec.name, subject_title=instance.title, lane=spec.lane,
            role=role, region_id=instance.region_id,
            organisation_id=instance.organisation_id, status="open",
            form_schema=props.get("formJsonSchemaFilename"), form_ui_schema=props.get("formUiSchemaFilename"),
            handler=props.get("taskHandler"), created_at=now, due_at=due_date(props, now),
            **({"details": {"form_options": options}} if options else {}),
        ))
    db.session.add_all(created)
    _refuse_too_deep(wf)
    completed = wf.is_completed()
    if not new and written_ahead(instance.updated_at, now):
        _correct_written_ahead(instance, wf, now, ready)
    dues = timer_dues(wf)
    _write_instance(instance, {
        "status": "completed" if completed else "running",
        "completed_at": now if completed else instance.completed_at,
        "next_timer_at": min(dues) if dues else None,
        "state": _dump(wf),
        "updated_at": now,
    })
    # Receivers fill the new rows and add their own (SLA due date, notifications linked by relationship)
    # before the step's one flush, so everything goes out in that flush's batched statements.
    for row in created:
        signals.task_created.send(row)
    if not new:  # a new instance has no incidents yet (start_instance looks at it once its chain exists)
        _settle_incidents(instance, wf, how, has_ready=bool(ready), completed=completed)


def _correct_written_ahead(instance: ProcessInstance, wf: BpmnWorkflow, now: datetime, ready: dict) -> None:
    """The instance was last written by a clock that ran ahead and has been corrected back since: its waiting timers
    and its open tasks' due dates get the due times their definitions allow counting from now
    (:mod:`app.engine.timers`), each correction in the audit trail."""
    # the rows first: a package's own rule for a row (the acceptance deadline) follows its timer's correction
    rows = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "open",
                                                      HumanTask.created_at > now + CLOCK_SLACK)).all()
    for row in rows:
        task = ready.get(row.task_guid)
        due = due_date(task.task_spec.extensions.get("properties", {}), now) if task is not None else None
        if due is None or row.due_at is None or not written_ahead(row.due_at, due):
            continue
        record_event(instance.audit_chain, "task.due_corrected", "human_task", row.id, actor_id=None,
                     details={"task": row.spec_name, "was": str(row.due_at), "due": due.isoformat(),
                              "reason": "set by a clock that ran ahead"})
        row.due_at, row.sla_state = due, None
    for fixed in correct_dues_ahead(wf, now):
        log.warning("instance %s: timer %s was due %s, later than its definition allows (armed by a clock that ran "
                    "ahead); due %s now", instance.id, fixed.element, fixed.was.isoformat(), fixed.due.isoformat())
        record_event(instance.audit_chain, "timer.due_corrected", "process_instance", instance.id, actor_id=None,
                     details={"element": fixed.element, "was": fixed.was.isoformat(), "due": fixed.due.isoformat(),
                              "reason": "armed by a clock that ran ahead"})
        signals.timer_corrected.send(instance, element=fixed.element, attached_to=fixed.attached_to, was=fixed.was,
                                     due=fixed.due)


class InstanceStuck(Exception):
    """The instance is not completed and nothing can move it on: it waits at a join for a branch that was never
    taken (an exclusive split into a parallel join). Recorded as a ``stuck`` incident, never raised to a caller."""

    incident_kind = "stuck"

    def __init__(self, message: str, element_id: str | None):
        super().__init__(message)
        self.element_id = element_id


def _all_tasks(wf: BpmnWorkflow):
    yield from wf.tasks.values()
    for sub in wf.subprocesses.values():
        yield from sub.tasks.values()


def stuck_at(wf: BpmnWorkflow):
    """The gateway task an unfinished instance waits at for good, or None. Only when nothing else can move it:
    no READY task, no WAITING event (timer, message, signal, conditional, an event-based gateway, a receive task),
    nothing STARTED but subprocesses and call activities (whose own tasks are looked at), and a parallel or
    inclusive join WAITING for a branch that no task is on."""
    from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
    from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin

    if wf.is_completed():
        return None
    joins = []
    for task in _all_tasks(wf):
        state, spec = task.state, task.task_spec
        if state == TaskState.READY:
            return None
        if state == TaskState.STARTED and not isinstance(spec, SubWorkflowTask):
            return None  # something runs outside the engine (an asynchronous step): not ours to judge
        if state == TaskState.WAITING:
            if not getattr(spec, "bpmn_id", None):
                continue  # the engine's own joins (the process's end, a boundary event's) follow the others
            if isinstance(spec, UnstructuredJoin):
                joins.append(task)
                continue
            return None  # an event, a receive task, an event-based gateway: it waits for something that can come
    return joins[0] if joins else None


def _settle_incidents(instance: ProcessInstance, wf: BpmnWorkflow, how: str, *, has_ready: bool, completed: bool,
                      known_clean: bool = False) -> None:
    """After a successful run: resolve the open incidents it recovered (their element completed in this run, the
    instance completed, a migration succeeded after a failed one, the instance is no longer stuck), then record a
    ``stuck`` incident when the instance can never go on."""
    from app.engine import incidents

    started, actor = getattr(instance, "_engine_run", (None, None))
    stuck = None if (has_ready or completed) else stuck_at(wf)
    # read without flushing: the step's pending audit events stay pending, so the next event of the same chain
    # needs no second look-up of its head (a step's statement budget: tests/test_query_budget.py)
    with db.session.no_autoflush:
        open_rows = [] if known_clean else incidents.incidents_of(instance.id, open_only=True)
    if open_rows:
        ran = {getattr(t.task_spec, "bpmn_id", None) for t in _all_tasks(wf)
               if started is not None and t.state == TaskState.COMPLETED and t.last_state_change >= started}
        incidents.resolve_recovered(instance, open_rows, ran=ran, completed=completed, how=how,
                                    stuck_element=getattr(getattr(stuck, "task_spec", None), "bpmn_id", None),
                                    actor=actor)
    if stuck is not None:
        spec = stuck.task_spec
        where = spec.bpmn_name or spec.bpmn_id
        incidents.record_incident(instance.id, InstanceStuck(
            _("The instance cannot go on: it waits at “%(element)s” for a branch that was never taken (no task, timer "
              "or event can move it on). Correct the model and migrate the instance, or cancel it.", element=where),
            spec.bpmn_id), element_id=spec.bpmn_id, kind="stuck")


def _task_data_options(instance: ProcessInstance, schema_file: str | None, data: dict) -> dict | None:
    """The task data a form takes its options from (SpiffArena's ``options_from_task_data_var:``), kept on
    the task row when the task opens so the page and the completion see the same options."""
    if not schema_file or schema_file not in _version_of(instance)[0].option_forms:
        return None  # known from the cached spec: no query
    forms = _forms_for(instance)
    names = task_data_option_vars(forms.schema(schema_file))
    return {name: json.loads(json.dumps(data.get(name), default=str)) for name in sorted(names)} or None


def _task_options(task: HumanTask) -> dict | None:
    details = task.details if isinstance(task.details, dict) else None
    return details.get("form_options") if details else None


_USER_ACCOUNT = sa_table("user_account", sa_column("id"), sa_column("role"))  # read-only: the starter's role
_USER_ROLE = select(_USER_ACCOUNT.c.role).where(_USER_ACCOUNT.c.id == bindparam("user_id"))


def _performer(instance: ProcessInstance, lane: str | None) -> tuple[str, int | None]:
    """(role, assignee) of a new user task: the lane's role; else the version's role for tasks without a
    role's lane (issue 16 §1: models drawn without lanes); ``"starter"`` gives the task to whoever started
    the instance (with their role). Nothing chosen: the administrator's inbox, as before."""
    role = role_for_lane(lane)
    if role is not None:
        return role, None
    fallback = _version_of(instance)[0].lane_role
    if fallback == "starter" and instance.started_by_id is not None:
        starter_role = db.session.connection().execute(_USER_ROLE, {"user_id": instance.started_by_id}).scalar()
        return starter_role or "admin", instance.started_by_id
    if fallback and fallback != "starter":
        return fallback, None
    return "admin", None


class StateNotSerializable(StepFailed):
    """The workflow's data after a step cannot be saved (an int over Python's 4,300-digit limit, a value JSON
    cannot hold): the step is refused as a whole, like any other failed step."""

    incident_kind = "serialization"


#: SpiffWorkflow follows a task tree at most this deep (``TaskIterator``'s ``max_depth``); past it, the ready
#: tasks are not found and the workflow reads as completed — a loop's 500th round "completed" an instance that
#: never reached its end event. A step that takes the tree near it fails instead, like any failed step.
ENGINE_MAX_DEPTH = 1000
_DEPTH_MARGIN = 50


class PathTooLong(StepFailed):
    """The process went round its loops so often that the engine would lose track of it."""

    incident_kind = "loop"


def _refuse_too_deep(wf: BpmnWorkflow) -> None:
    """The newest branch's depth (each step adds a level; following the last child is enough, and costs the
    depth, not the tree)."""
    depth, node, where = 0, wf.task_tree, None
    while node.children:
        node, depth = node.children[-1], depth + 1
        if getattr(node.task_spec, "bpmn_id", None) and not node.has_state(TaskState.PREDICTED_MASK):
            where = node.task_spec.bpmn_id  # the last step taken, not a predicted one
    if depth >= ENGINE_MAX_DEPTH - _DEPTH_MARGIN:
        from flask_babel import gettext as _

        failure = PathTooLong(_("This process has gone round its loops too often: the engine follows at most "
                                "%(n)s steps in one path and would lose track of it. Nothing of this step was "
                                "saved; end the loop in the model (a counter or an exit condition).",
                                n=ENGINE_MAX_DEPTH))
        failure.element_id = where
        raise failure


def _dump(wf: BpmnWorkflow) -> str:
    try:
        return dump_state(wf)
    except (ValueError, TypeError, OverflowError, RecursionError) as err:
        from flask_babel import gettext as _

        failure = StateNotSerializable(_("The process data cannot be saved: %(reason)s", reason=str(err)[:300]))
        failure.element_id = _unsaveable_element(wf)
        raise failure from err


def _unsaveable_element(wf: BpmnWorkflow) -> str | None:
    """The element that brought in data that cannot be saved: data flows forward from task to task, so the
    first task (in the order they ran) whose data fails alone."""
    for task in sorted(wf.tasks.values(), key=lambda t: getattr(t, "last_state_change", 0)):
        try:
            json.dumps(task.data, default=str)
        except (ValueError, TypeError, OverflowError, RecursionError):
            return getattr(task.task_spec, "bpmn_id", None)
    return None


_UPDATE_INSTANCE = (  # built once; the WHERE on lock_version is the optimistic lock
    update(ProcessInstance.__table__)
    .where(ProcessInstance.__table__.c.id == bindparam("b_id"),
           ProcessInstance.__table__.c.lock_version == bindparam("b_version"))
    .values(status=bindparam("b_status"), completed_at=bindparam("b_completed_at"),
            next_timer_at=bindparam("b_next_timer_at"), state=bindparam("b_state"),
            updated_at=bindparam("b_updated_at"), lock_version=bindparam("b_next_version")))


def _write_instance(instance: ProcessInstance, values: dict) -> None:
    """Save the instance's new state under its optimistic lock.

    An instance already in the database with no other change pending is written at once by one UPDATE that
    checks and increments ``lock_version`` itself (the ORM's flush of the same row costs several times
    more); no row matched means another writer committed first. The ORM object is then told the values it
    now has in the database. A new instance, or one a caller has changed otherwise (a migration, a retry),
    goes through the ORM's own versioned flush."""
    record = inspect(instance)
    if record.pending or record.transient or record.modified:
        for name, value in values.items():
            setattr(instance, name, value)
        return
    version = instance.lock_version
    params = {f"b_{name}": value for name, value in values.items()}
    result = db.session.connection().execute(
        _UPDATE_INSTANCE, {**params, "b_id": instance.id, "b_version": version, "b_next_version": version + 1})
    if result.rowcount != 1:
        raise ConflictError(_conflict_message())
    for name, value in {**values, "lock_version": version + 1}.items():
        set_committed_value(instance, name, value)


_COMPLETE_TASK = (  # built once; only an open task can be completed
    update(HumanTask.__table__)
    .where(HumanTask.__table__.c.id == bindparam("b_id"), HumanTask.__table__.c.status == "open")
    .values(status="completed", completed_at=bindparam("b_at"), completed_by_id=bindparam("b_by")))


def _mark_completed(task: HumanTask, actor, now: datetime) -> None:
    """The task row is completed by one UPDATE that also refuses a task someone completed meanwhile (a
    race the instance's lock catches too, a moment later)."""
    result = db.session.connection().execute(_COMPLETE_TASK, {"b_id": task.id, "b_at": now, "b_by": actor.id})
    if result.rowcount != 1:
        raise ConflictError(_conflict_message())
    for name, value in (("status", "completed"), ("completed_at", now), ("completed_by_id", actor.id)):
        set_committed_value(task, name, value)


def due_date(props: dict, now: datetime) -> datetime | None:
    """``dueInWorkingDays`` (Kazakhstan's working days: :func:`app.clock.add_working_days`) or ``dueInDays``
    (calendar days) on a user task sets its due date in the inbox."""
    if re.fullmatch(r"[0-9]{1,4}", props.get("dueInWorkingDays", "").strip()):
        return clock.add_working_days(now, int(props["dueInWorkingDays"]))
    if re.fullmatch(r"[0-9]{1,4}", props.get("dueInDays", "").strip()):
        return now + timedelta(days=int(props["dueInDays"]))
    return None


def _conflict_message() -> str:
    from flask_babel import gettext as _

    return _("Someone else has just completed this step. Nothing of your submission was saved; "
             "reload to see the current state.")


@contextmanager
def _optimistic_lock():
    """The instance row's UPDATE matched no row: another writer committed first (at any flush)."""
    try:
        yield
        db.session.flush()
    except StaleDataError as err:
        raise ConflictError(_conflict_message()) from err
    except IntegrityError as err:
        # On PostgreSQL the loser of a race may first hit a unique key the winner just wrote (the act's
        # line numbers, the audit chain's next seq) before it reaches the instance row: same conflict.
        log.info("conflict surfaced as integrity error: %s", err.orig)
        raise ConflictError(_conflict_message()) from err


def _start(wf: BpmnWorkflow) -> None:
    """Run up to the first wait. A process that starts on a message or signal (other tools draw the "request
    received" start that way) is started by this call: its start event gets that message or signal, with the
    start data as payload. Timer and conditional starts keep waiting as drawn."""
    from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
    from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
    from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
    from SpiffWorkflow.bpmn.util.event import BpmnEvent

    advance(wf)
    waiting = [t for t in wf.get_tasks(state=TaskState.WAITING) if isinstance(t.task_spec, StartEvent)
               and t.workflow is wf and isinstance(t.task_spec.event_definition,
                                                    (MessageEventDefinition, SignalEventDefinition))]
    if waiting and not wf.get_tasks(state=TaskState.READY):
        first = waiting[0]
        wf.send_event(BpmnEvent(first.task_spec.event_definition, dict(first.data)))
        advance(wf)


def advance(wf: BpmnWorkflow) -> None:
    """``do_engine_steps``, then hand messages nobody caught yet to whoever waits for them now. In a
    collaboration of pools run as one instance, one pool may send before the other has reached its catch
    event; SpiffWorkflow then keeps the message as outgoing, and it is delivered here once a catcher waits."""
    for _settled in range(20):
        wf.do_engine_steps()
        for _round in range(20):
            pending = list(wf.bpmn_events)
            delivered = [ev for ev in pending if wf.event_manager.catch(ev, internal=False)]
            if not delivered:
                break
            wf.bpmn_events = [ev for ev in pending if all(ev is not d for d in delivered)]
            wf.do_engine_steps()
        if not _settle_steps_nobody_takes(wf):
            return


def _settle_steps_nobody_takes(wf: BpmnWorkflow) -> bool:
    """Complete the ready user tasks whose handler says their record leaves nobody anything to decide
    (:meth:`TaskHandler.settles_itself`); True when one was. Only within a run (an instance and its actor)."""
    run = _run.get(None)
    if run is None:
        return False
    settled = False
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        handler = get_handler(task.task_spec.extensions.get("properties", {}).get("taskHandler"))
        if handler is None:
            continue
        data = handler.settles_itself(TaskContext(run.instance, None, run.actor, task.data))
        if data is not None:
            task.set_data(**data)
            task.run()
            settled = True
    return settled


def start_instance(identifier: str, *, title: str, actor=None, region_id: int | None = None,
                   organisation_id: int | None = None, subject_type: str | None = None,
                   subject_id: int | None = None, data: dict | None = None) -> ProcessInstance:
    version, number = _latest_published_ref(identifier)
    parsed = spec_for_version(version)
    now = clock.now()
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
    start = wf.get_tasks(state=TaskState.READY)[0]
    refuse_unstorable(data or {})
    start.data.update(data or {})
    instance = ProcessInstance(
        model_version_id=version.id, process_id=identifier[:100], title=title,
        status="running", state="", region_id=region_id, organisation_id=organisation_id,
        subject_type=subject_type, subject_id=subject_id, started_by_id=getattr(actor, "id", None),
        started_at=now, updated_at=now,
    )
    db.session.add(instance)
    # Run first, insert after: the row is written once, with its state (an operator that needs the
    # instance's id flushes it earlier, see _call_service).
    _run_engine(instance, actor, lambda: _start(wf))
    _sync(instance, wf, now, new=True)
    db.session.flush()  # the instance's id names its audit chain
    start_chain(instance.audit_chain)  # a new instance's chain is empty: no head to look up
    record_event(instance.audit_chain, "instance.started", "process_instance", instance.id,
                 actor_id=getattr(actor, "id", None),
                 details={"model": identifier, "version": number, "title": title})
    if instance.status == "running" and not wf.get_tasks(state=TaskState.READY, manual=True):
        _settle_incidents(instance, wf, "start", has_ready=False, completed=False, known_clean=True)
    return instance


#: the roles whose trial runs' steps are theirs whatever the lane (app.processes.trials; the inbox's
#: ``actionable_clause`` lists them for these roles only)
TRIAL_ROLES = frozenset({"process_owner", "admin"})


def can_act_directly(user, task: HumanTask) -> bool:
    """The user's own role, scope and claim allow completing the task."""
    if getattr(task, "is_trial", False):  # a trial run's tasks are all its owner's (app.processes.trials)
        # ... while the owner still runs models: moved to another role, the steps of their trial runs (still theirs,
        # left out of their inbox) were completed as before — a page opened before the move, or the API
        return task.assignee_id == user.id and user.role in TRIAL_ROLES
    if task.role != user.role or not can_see(user, task.region_id, task.organisation_id):
        return False
    return task.assignee_id in (None, user.id)


def can_act(user, task: HumanTask, *, directly: bool = False) -> bool:
    """Directly, or (unless ``directly``) as the deputy of a principal who may (the substitution rule the domain
    plugs into app.engine.access)."""
    if can_act_directly(user, task):
        return True
    return not directly and acting_for(user, task) is not None


def acting_for(user, task: HumanTask):
    """The principal this user stands in for on this task today, or None."""
    return principal_for(user, task)


#: A task with its instance and the instance's organisation (the inbox columns of the tasks a step opens),
#: in one statement.
_TASK_WITH_INSTANCE = (select(HumanTask).where(HumanTask.id == bindparam("id"))
                       .options(joinedload(HumanTask.instance).joinedload(ProcessInstance.organisation)))


def get_task_for(user, task_id: int) -> HumanTask:
    """The open or finished task if this user may see it; otherwise TaskNotAvailable (shown as 404)."""
    task = get_by_id(_TASK_WITH_INSTANCE, HumanTask, task_id)
    if task is None or not can_see(user, task.region_id, task.organisation_id):
        raise TaskNotAvailable("No such task.")
    return task


def task_context(task: HumanTask, actor) -> TaskContext:
    return TaskContext(instance=task.instance, human_task=task, actor=actor)


def task_form(task: HumanTask) -> tuple[dict, dict]:
    files = _forms_for(task.instance).files
    schema, ui = load_json(files, task.form_schema), load_json(files, task.form_ui_schema)
    options = _task_options(task)
    if options is not None or TASK_DATA_OPTIONS in files.get(task.form_schema or "", ""):
        schema = with_task_data_options(schema, options or {}, ui)
    return schema, ui


def refuse_unstorable(value) -> None:
    """DomainRefused, in the reader's language, for a value task data cannot keep (scripting.unstorable): the one
    check of start data, completions and the cockpit's variable edits."""
    from flask_babel import gettext as _

    from app.engine.scripting import RESERVED_KEY, unstorable

    reason = unstorable(value)
    if reason == "reserved_key":
        raise DomainRefused(_("A value may not contain the key %(key)s: the engine's storage reserves it.",
                              key=repr(RESERVED_KEY)))
    if reason:
        raise DomainRefused(_("A text may not contain a lone surrogate character (U+D800–U+DFFF)."))


def _refuse_foreign_data(task: HumanTask, data: dict) -> None:
    """What a completion may bring into the process: a step without a form takes no data (an API client set any
    variable through one, of any stored type), and nothing task data cannot keep."""
    from flask_babel import gettext as _

    if not task.form_schema and data:
        raise DomainRefused(_("This step has no form: it takes no data."))
    refuse_unstorable(data)


def _with_typing_errors(typed: dict, checked: dict) -> FieldErrors:
    """The form's check of the data with what its fields' reading refused (text in a number's field, a date that is
    none): both at once — the reading's errors alone were said first, and a wrong IIN beside a mistyped number was
    learnt on a second submission. A field the reading refused keeps the reading's message (the check would say
    "wrong type" of the text it left)."""
    return FieldErrors({**checked, **typed})


def _lines_refused(handler, ctx: TaskContext, data: dict, errors: dict) -> dict[str, str]:
    """What the handler's :meth:`~app.engine.handlers.TaskHandler.check_line` refuses of each line of the data's
    tables, on fields the form has not already marked: submitted with the form's own errors, so that a wrong IIN on
    one line and 45 days of November on another are both marked by one submission — the days were said only once
    the form had nothing left to say, on the next. Nothing is written either way."""
    if handler is None:
        return {}
    found: dict[str, str] = {}
    try:
        for table, rows in data.items():
            if not isinstance(rows, list):
                continue
            for index, row in enumerate(rows):
                refused = handler.check_line(ctx, row) if isinstance(row, dict) else None
                if refused is not None and f"{table}.{index}.{refused[0]}" not in errors:
                    found[f"{table}.{index}.{refused[0]}"] = refused[1]
    except DomainRefused:
        # the step's record itself is refused (a trial run has no act): the form's errors are said, the record's
        # refusal is the submission's once they are corrected
        return {}
    return found


def complete_task(task_id: int, actor, *, form: dict[str, str] | None = None, data: dict | None = None,
                  expected_lock_version: int | None = None, seen: str | None = None,
                  seen_required: bool = False) -> ProcessInstance:
    """Validate and complete one user task. ``form`` is raw HTML fields; ``data`` is JSON (API). ``seen``: the
    version of the step's record the page showed (``TaskHandler.seen``), for the handler to compare;
    ``seen_required``: a person's page or an API client, who must send it where the handler decides on it."""
    # Task, instance and the instance's organisation (the new tasks' inbox columns) in one statement.
    task = get_by_id(_TASK_WITH_INSTANCE, HumanTask, task_id)
    if task is None or not can_act(actor, task):
        raise TaskNotAvailable("No such task, or it is not yours to complete.")
    if task.status != "open":
        from flask_babel import gettext as _

        if task.status == "suspended":
            raise ConflictError(_("An administrator has suspended this task's process: nothing was saved. The task "
                                  "comes back to the inbox when the process is resumed."))
        raise ConflictError(_("This task has already been completed."))
    on_behalf_of = None if can_act_directly(actor, task) else acting_for(actor, task)
    instance = task.instance
    if expected_lock_version is not None and instance.lock_version != expected_lock_version:
        raise ConflictError(_conflict_message())
    forms = _forms_for(instance)
    # A page's fields are typed (a date day first); JSON data is the data itself (a date in ISO 8601): each is told
    # the format it was to use.
    dates = TYPED_DATES if data is None else ISO_DATES
    judged = getattr(get_handler(task.handler), "domain_bounds", frozenset())  # bounds the handler's record decides
    if TASK_DATA_OPTIONS in forms.files.get(task.form_schema or "", ""):
        # options from task data: this task's own schema, validated afresh (not the version's cached validator)
        schema = with_task_data_options(forms.schema(task.form_schema), _task_options(task) or {},
                                        load_json(forms.files, task.form_ui_schema))
        if data is None:
            data, errors = parse_form(schema, form or {})
            errors = _with_typing_errors(errors, validate(schema, data, domain_bounds=judged))
        else:
            data = typed_json(schema, data)
            errors = validate(schema, data, dates=dates, domain_bounds=judged)
    elif data is None:
        data, errors = parse_form(forms.schema(task.form_schema), form or {})
        errors = _with_typing_errors(errors, forms.errors(task.form_schema, data, domain_bounds=judged))
    else:
        # an identifier sent in groups is read as the page's field reads it (one IIN, however it was spelt)
        data = typed_json(forms.schema(task.form_schema), data)
        errors = forms.errors(task.form_schema, data, dates=dates, domain_bounds=judged)
    if errors:
        # the handler's checks of each line too (an act's days within its month), so that one answer says it all
        raise FormInvalid(errors | _lines_refused(get_handler(task.handler), TaskContext(instance, task, actor),
                                                  data, errors))
    _refuse_foreign_data(task, data)
    wf = _load(instance)
    open_guids = {str(t.id) for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    try:
        wf_task = wf.get_task_from_id(UUID(task.task_guid))
    except TaskNotFoundException:  # a row out of step with the saved state (restored, edited by hand)
        wf_task = None
    if wf_task is None or wf_task.state != TaskState.READY:
        from flask_babel import gettext as _

        raise ConflictError(_("This step is no longer waiting for input."))
    handler = get_handler(task.handler)
    if handler is not None and handler.roles and getattr(actor, "role", None) not in handler.roles:
        # A version whose lane gives the step to another role (published before the lanes were checked against
        # the step): nobody else decides or pays, whatever the diagram says.
        from flask_babel import gettext as _

        raise DomainRefused(_("This step can be taken only by: %(roles)s. Ask the process owner to correct the "
                              "process model.", roles=roles_named(handler.roles)))
    now = clock.now()

    def step() -> None:
        wf_task.set_data(**wf_data)
        wf_task.run()
        advance(wf)

    ctx = TaskContext(instance, task, actor, wf_task.data, seen, seen_required)
    shape = handler.data_shape(ctx)
    if shape is not None:
        # the domain's shape, whatever form the published version carries: nothing is written on a refusal
        errors = shape_errors(shape, forms.schema(task.form_schema) if task.form_schema else {}, data, dates=dates,
                              domain_bounds=handler.domain_bounds)
        if errors:
            raise FormInvalid(errors | _lines_refused(handler, ctx, data, errors))
    with _optimistic_lock():
        wf_data = handler.submit(ctx, data)
        _run_engine(instance, actor, step)
        _mark_completed(task, actor, now)
        _sync(instance, wf, now, completed_guid=task.task_guid, open_guids=open_guids, how="task")
        record_event(instance.audit_chain, "task.completed", "human_task", task.id, actor_id=actor.id,
                     on_behalf_of_id=getattr(on_behalf_of, "id", None),
                     details={"task": task.spec_name, "title": task.title,
                              **({"on_behalf_of": on_behalf_of.full_name} if on_behalf_of else {})})
        signals.task_completed.send(task, actor=actor, on_behalf_of=on_behalf_of)
        if instance.status == "completed":
            record_event(instance.audit_chain, "instance.completed", "process_instance", instance.id,
                         actor_id=actor.id)
            signals.instance_completed.send(instance)
    observe_step("task")
    return instance


def fire_due_timers(limit: int = 200) -> int:
    """Advance every instance whose earliest timer is due, each in its own transaction.

    One failure stays one failure: whatever one instance raises (a script, data that cannot be saved, a
    budget, the database) rolls back that instance only, becomes an incident on it, and the pass goes on."""
    recheck_written_ahead(limit)
    now = clock.now()
    # Strictly before now, as SpiffWorkflow decides a timer has fired (due < now): an instance taken at the very
    # moment it is due would run no step and still be recorded as fired.
    ids = db.session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.status == "running",
                                         ProcessInstance.next_timer_at < now)
        .order_by(ProcessInstance.next_timer_at).limit(limit)
    ).all()
    fired = 0
    for instance_id in ids:
        wf, version = None, None
        try:
            instance = db.session.get(ProcessInstance, instance_id)
            if instance is None or instance.status != "running":
                continue  # finished or halted by someone else since the query
            version = instance.lock_version
            wf = _load(instance)

            def step(wf=wf) -> None:
                wf.refresh_timers()
                advance(wf)

            with _optimistic_lock():
                _run_engine(instance, None, step)
                _sync(instance, wf, now, how="timer")
                record_event(instance.audit_chain, "timer.fired", "process_instance", instance.id, actor_id=None)
            db.session.commit()
            fired += 1
            observe_step("timer")
        except ConflictError as err:
            db.session.rollback()
            log.warning("timer on instance %s not fired: %s", instance_id, err)
            if isinstance(err.__cause__, IntegrityError) and _lock_version(instance_id) == version:
                # nobody else wrote the instance: not a race but the step itself breaks a constraint, which
                # would fail again on every pass
                _record_incident(instance_id, err.__cause__, wf)
        except Exception as err:
            db.session.rollback()
            from app.database import held_elsewhere
            from app.engine.incidents import log_words

            # One line for the failure: this one, or the incident's (app.engine.incidents.record_incident). Either
            # names the error's kind, not its words: they carry the instance's data (a script's "invalid literal …:
            # '<a child's name>'") and are kept in the incident, for those who may read it.
            if connection_lost(err) or held_elsewhere(err):
                # the database connection broke under the step (a restarted server, a killed backend), or a
                # transaction left open held the instance's row past the pass's lock limit: not the instance's
                # failure, which a halting incident made it — its timer is still due, the next pass fires it
                log.warning("timer on instance %s not fired: %s", instance_id, log_words(err))
                observe_step("timer", "failed")
                continue
            if version is not None and _lock_version(instance_id) != version:
                # another pass (an overlapping tick of another worker) advanced the instance meanwhile: this run's
                # failure was of a state that is gone, not the instance's — an incident on a completed instance
                # said "failed" beside "completed"
                log.info("timer on instance %s not fired: %s; another pass advanced it meanwhile", instance_id,
                         log_words(err))
                continue
            observe_step("timer", "failed")
            _record_incident(instance_id, err, wf)
    return fired


def written_ahead_query(now, limit: int = 200):
    """The running instances a clock that ran ahead wrote last (their ``updated_at`` is later than ``now``): a range
    of the (status, updated_at) index, found by every background pass (most passes find none)."""
    return (select(ProcessInstance.id).where(ProcessInstance.status == "running",
                                             ProcessInstance.updated_at > now + CLOCK_SLACK)
            .order_by(ProcessInstance.updated_at, ProcessInstance.id).limit(limit))  # the index's own order


def recheck_written_ahead(limit: int = 200) -> int:
    """Save once, at the corrected clock, every running instance last written by a clock that ran ahead: its timers and
    due dates get what their definitions allow counting from now (:func:`_correct_written_ahead`), and its
    ``updated_at`` is now, so it is not taken again. Each instance in its own transaction; one that fails is logged
    and left for the next pass (it is not the instance's failure, and its timers still wait as they did)."""
    now = clock.now()
    ids = db.session.scalars(written_ahead_query(now, limit)).all()
    for instance_id in ids:
        try:
            instance = db.session.get(ProcessInstance, instance_id)
            if instance is None or instance.status != "running":
                continue
            wf = _load(instance)
            with _optimistic_lock():
                _sync(instance, wf, now, how="clock")
            db.session.commit()
        except Exception as err:  # noqa: BLE001 - one instance's failure stays its own; the next pass tries again
            db.session.rollback()
            log.warning("instance %s written by a clock ahead not rechecked: %s", instance_id, type(err).__name__)
    return len(ids)


def connection_lost(err: BaseException) -> bool:
    """The database connection broke under the work (SQLAlchemy invalidated it: the server restarted, the backend
    was killed): a failure of the moment, for the next pass to try again, not of what was being done."""
    from sqlalchemy.exc import DBAPIError

    from app.engine.incidents import causes

    return any(isinstance(seen, DBAPIError) and seen.connection_invalidated for seen in causes(err))


#: SQLite's primary result codes of a database that could not be used just then: busy past ``busy_timeout`` (another
#: writer held the lock: "database is locked"), a table locked, the file failing to be read or written ("disk I/O
#: error")
_SQLITE_OF_THE_MOMENT = {5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 10: "SQLITE_IOERR"}


def database_unusable_now(err: BaseException) -> bool:
    """The database could not be used at that moment — the connection broke (:func:`connection_lost`), or SQLite's
    file was locked by another writer past the busy timeout or failed to be read or written — a failure for a later
    pass to try again, which checking the same work again piece by piece meets again: none of the work's own."""
    from app.engine.incidents import causes

    codes = [getattr(seen, "sqlite_errorcode", None) for seen in causes(err)]  # sqlite3's error, behind SQLAlchemy's
    return connection_lost(err) or any(code is not None and code & 0xFF in _SQLITE_OF_THE_MOMENT for code in codes)


def _lock_version(instance_id: int) -> int | None:
    return db.session.scalar(select(ProcessInstance.lock_version).where(ProcessInstance.id == instance_id))


def _record_incident(instance_id: int, err: Exception, wf: BpmnWorkflow | None) -> None:
    from app.engine.incidents import record_incident_safely
    from app.engine.operators import retry_policy_for_error

    record_incident_safely(instance_id, err, element_id=failed_element(err, wf),
                           retry_policy=retry_policy_for_error(err))


def rerun_failed_step(instance: ProcessInstance, actor) -> ProcessInstance:
    """Run the instance's automatic steps again from its last good state (the failed element first): the
    retry of an incident. On failure the exception propagates with ``workflow`` set (which element failed);
    the caller rolls back. The caller commits."""
    wf = _load(instance)
    now = clock.now()

    def step() -> None:
        wf.refresh_timers()
        advance(wf)

    with _optimistic_lock():
        instance.error_message = None  # changed row: _write_instance then uses the ORM's versioned flush
        try:
            _run_engine(instance, actor, step)
            _sync(instance, wf, now, how="retry")
        except StepFailed as err:
            err.workflow = wf
            raise
        record_event(instance.audit_chain, "instance.retried", "process_instance", instance.id,
                     actor_id=getattr(actor, "id", None), details={"status": instance.status})
        if instance.status == "completed":
            record_event(instance.audit_chain, "instance.completed", "process_instance", instance.id,
                         actor_id=getattr(actor, "id", None))
            signals.instance_completed.send(instance)
    observe_step("retry")
    return instance


def failed_element(err: Exception, wf: BpmnWorkflow | None = None) -> str | None:
    """The BPMN id of the task whose automatic step raised ``err`` (a StepFailed): from the exception,
    else the task the failed run left in ERROR state in ``wf``."""
    if getattr(err, "element_id", None):
        return err.element_id
    task = getattr(err.__cause__, "task", None)
    if task is None and wf is not None:
        task = next(iter(wf.get_tasks(state=TaskState.ERROR)), None)
    return getattr(getattr(task, "task_spec", None), "bpmn_id", None)


@dataclass
class InstanceStatus:
    completed: list[str]  # BPMN element ids
    active: list[str]
    failed: list[str]
    waiting: list[str]


def instance_status(instance: ProcessInstance) -> InstanceStatus:
    wf = _load(instance)
    buckets: dict[str, list[str]] = {"completed": [], "active": [], "failed": [], "waiting": []}
    for task in wf.tasks.values():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            buckets["completed"].append(bpmn_id)
        elif task.state == TaskState.READY:
            buckets["active"].append(bpmn_id)
        elif task.state == TaskState.ERROR:
            buckets["failed"].append(bpmn_id)
        elif task.state == TaskState.WAITING:
            buckets["waiting"].append(bpmn_id)
    return InstanceStatus(**{k: sorted(set(v)) for k, v in buckets.items()})
