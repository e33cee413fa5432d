"""Task handlers: what a user task does with its validated form data besides completing the step.

A user task may name a handler (``spiffworkflow:property name="taskHandler" value="acts/submit"``).
The handler writes domain rows (an act's lines, a payment) in the same transaction that completes the
task, and returns the small values that go into workflow data — big data stays in domain tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskContext:
    instance: Any  # ProcessInstance
    human_task: Any  # HumanTask
    actor: Any  # User or None
    data: dict = field(default_factory=dict)  # the workflow task's data (small values)
    #: the version of the step's record the person saw when they opened the task (``TaskHandler.seen``), or None
    seen: str | None = None
    #: the decision comes from a person's page or an API client, who must say what they saw (``seen``); False for
    #: the system's own completions (demo data, command line)
    seen_required: bool = False


class TaskHandler:
    """Default behaviour: no prefill, no extra page content, form data goes into workflow data."""

    template: str | None = None
    #: The roles that may take this step (empty: whoever its lane names). A step that decides or moves money names
    #: them: the lane a process owner draws it in is checked when the model is published, and the person's role
    #: again when the step is completed — otherwise a version with "Pay act" in the school's lane let a school
    #: accountant pay the school's own act.
    roles: frozenset[str] = frozenset()

    #: The data the step writes into the domain's records needs, as JSON Schema (required fields, types, the IIN,
    #: BIN and IBAN formats, bounds, most lines), checked on completion after the step's own form: a process owner
    #: publishes the form, and a form loosened to take a grade as text, any IIN or 50,000 lines must not loosen
    #: the domain. None: the form alone decides. Objects in it leave ``additionalProperties`` open — a form may
    #: ask more than the handler reads.
    shape: dict | None = None

    #: Fields (property names) whose numeric bounds this handler judges itself with its record at hand — in
    #: ``submit`` and in :meth:`check_line` — in place of the bounds a published form or the shape gives them: the
    #: form's fixed "at least 0, at most 31" answered first, with another rule than the record's, for a value the
    #: record refuses anyway (an act's days attended, judged by the act's month).
    domain_bounds: frozenset[str] = frozenset()

    def data_shape(self, ctx: TaskContext) -> dict | None:
        """The shape of this task's data (:attr:`shape`; a handler whose record decides it, an act's instrument,
        overrides this)."""
        return self.shape

    def model_shape(self, process_id: str | None) -> dict | None:
        """The shape as far as it is known when a model is published (its process's id, not yet a record): the
        model check reports a form that lacks a field the shape requires, or types it otherwise."""
        return self.shape

    def prefill(self, ctx: TaskContext) -> dict:
        return {}

    def context(self, ctx: TaskContext) -> dict:
        return {}

    def seen(self, ctx: TaskContext) -> str | None:
        """The version of the record the step decides (an act's), sent with the page's form and given back in
        ``ctx.seen`` on submit, so a handler can refuse a decision taken on a page that is out of date. The
        instance's version does not move when the record changes outside the process (a month-wide verification
        re-prices an act)."""
        return None

    def confirm(self, ctx: TaskContext) -> dict | None:
        """A question the page asks before the form is sent, for a decision that cannot be taken back (accepting
        or paying an act): ``{"question": text, "field": name, "value": value}`` — asked only when the form's
        ``field`` has ``value`` (no ``field``: always). None: the form is sent as it is. The page asks with
        JavaScript; without it the form is sent as before (the server's checks are the same either way)."""
        return None

    def settles_itself(self, ctx: TaskContext) -> dict | None:
        """The step's data when its record leaves nobody anything to decide (an act of 0 ₸ has no payment order to
        register): the handler writes the record's change through its domain's one door, and the engine completes
        the step in the same run, so the process does not wait in an inbox for ever. None (the default): a person
        takes the step. ``ctx.human_task`` is None (no inbox row was written); ``ctx.actor`` is the run's."""
        return None

    def check_line(self, ctx: TaskContext, line: dict) -> tuple[str, str] | None:
        """A line of the form's table as the record would refuse it on submit, beyond the form's schema (an act's
        days within its month): ``(field, reason)``, or None. Asked of each line a file fills the table with, and of
        each line of a submission the form refused (so that one answer marks every mistake): such a line may lack a
        value or hold one as it was typed (text in a number's field) — None for what cannot be read, the form's own
        error says it."""
        return None

    def shape_fields(self, ctx: TaskContext, fields: list) -> None:
        """Adjust the form's fields for this task's record (a day's bound by the act's month, rows to mark)."""

    def submit(self, ctx: TaskContext, data: dict) -> dict:
        return data


_HANDLERS: dict[str, TaskHandler] = {}
DEFAULT_HANDLER = TaskHandler()

#: What a step with no handler shows of its instance's record, by the record's kind (``subject_type``): a step a
#: process owner adds to the act's process ("the head co-signs acts above an amount") showed only its form fields,
#: no amount, no lines. The domain registers (template, context) pairs; the engine imports no domain package.
_SUBJECT_PANELS: dict[str, tuple[str, Any]] = {}


def subject_panel(subject_type: str, template: str, context) -> None:
    """Show ``template`` (with ``context(ctx)``) on the handler-less steps of instances about a ``subject_type``."""
    _SUBJECT_PANELS[subject_type] = (template, context)


def subject_panel_for(ctx: TaskContext) -> tuple[str | None, dict]:
    found = _SUBJECT_PANELS.get(getattr(ctx.instance, "subject_type", None) or "")
    if found is None:
        return None, {}
    template, context = found
    return template, context(ctx)


def task_handler(handler_id: str):
    def decorate(cls: type[TaskHandler]) -> type[TaskHandler]:
        _HANDLERS[handler_id] = cls()
        return cls

    return decorate


def roles_named(roles: frozenset[str]) -> str:
    """The roles as the diagrams name their lanes ("Department official, Department head"), for a message."""
    from app.engine.lanes import known_lanes

    names = {role: lane for lane, role in known_lanes().items()}
    return ", ".join(sorted(names.get(role, role) for role in roles))


def get_handler(handler_id: str | None) -> TaskHandler | None:
    if not handler_id:
        return DEFAULT_HANDLER
    return _HANDLERS.get(handler_id)


def known_handlers() -> list[str]:
    return sorted(_HANDLERS)
