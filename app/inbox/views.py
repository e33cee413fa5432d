"""Inbox and task pages. Thin: parse input, call a query or an operation, render."""

from __future__ import annotations

import logging
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.database import commit_keeping_loaded
from app.engine import incidents, signals
from app.engine.errors import ConflictError, DomainConflict, DomainRefused, FormInvalid, StepFailed, TaskNotAvailable
from app.engine.form_view import build_fields
from app.engine.forms import localised
from app.engine.handlers import get_handler, subject_panel_for
from app.engine.models import HumanTask
from app.engine.runtime import (
    acting_for,
    can_act,
    can_act_directly,
    complete_task,
    get_task_for,
    instance_status,
    task_context,
    task_form,
)
from app.extensions import db
from app.inbox import lines_from_file as lines_file
from app.inbox import operations as ops
from app.inbox.models import TaskAttachment, TaskComment
from app.inbox.queries import InboxFilter, filter_choices, findable, inbox_page, sla_state, view_counts
from app.limits import take_posting_allowance
from app.people import substitutions as subs
from app.people.roles import ROLE_LABELS
from app.registry.http import RegistryUnavailable
from app.ui import task_label
from app.user_input import ascii_int, calendar_date, is_local_path, page_number, whole_number

bp = Blueprint("inbox", __name__)
log = logging.getLogger(__name__)


def _task_ids(values) -> list[int]:
    """The task ids asked for; a value that is not ASCII digits (a word, "²", "１") names no task."""
    return [task_id for task_id in map(ascii_int, values) if task_id is not None][:200]


PERSONAL_VIEWS = ("mine", "waiting", "completed")


@bp.route("/inbox")
@login_required
def index():
    if current_user.role == "auditor":
        # No process gives the auditor a step: she landed on an empty task list with the whole filter form. Her
        # landing says what she reads instead (she changes nothing, so it offers nothing to do).
        return render_template("inbox/reader.html")
    saved = None
    args = request.args
    filter_id = ascii_int(args.get("filter"))
    if filter_id is not None:
        try:
            saved = ops.get_filter_for(current_user, filter_id)
        except TaskNotAvailable:
            abort(404)
        params = dict(saved.params)
        if saved.owner_id != current_user.id and params.get("view", "mine") in PERSONAL_VIEWS:
            # A colleague's "my tasks" / "waiting" / "completed by me" are theirs, not mine: a shared filter
            # applies its criteria to the queue the colleagues share (the group view).
            params["view"] = "group"
        args = {**params, **{k: v for k, v in request.args.items() if k not in ("filter", "page")}}
    f = InboxFilter.from_args(args)
    for message in f.errors:
        flash(message, "warning")
    page = inbox_page(current_user, f, page_number(request.args))
    choices, organisation_label = _choices_for(current_user, f.process, f.task)
    to_apply = _orders_to_apply_to(current_user) if not page.tasks and f.view == "mine" and not f.active else []
    return render_template(
        "inbox/index.html", f=f, tasks=page.tasks, page=page.page, has_next=page.has_next,
        counts=view_counts(current_user), choices=choices, filters=ops.visible_filters(current_user),
        saved=saved, sla_state=sla_state, principals=subs.active_principals(current_user),
        held=ops.held_from_bulk(page.tasks) if f.view == "mine" and current_user.role == "department_official" else {},
        organisation_label=organisation_label, to_apply=to_apply,
    )


def _orders_to_apply_to(user) -> list:
    """The state orders of the user's region open for applications today that the user's organisation may apply to
    and has not: a new dormitory's accountant met an empty inbox ("No open tasks. Well done.") and no word that the
    next step was to apply on an order's page, under State orders."""
    from app import clock
    from app.applications.models import Application
    from app.instruments import instruments
    from app.orders.models import StateOrder

    codes = [each.code for each in instruments() if each.accountant_role == user.role]
    if not codes or user.organisation_id is None or user.region_id is None:
        return []
    today = clock.today()
    applied = select(Application.order_id).where(Application.school_id == user.organisation_id)
    return db.session.scalars(
        select(StateOrder).where(StateOrder.instrument.in_(codes), StateOrder.region_id == user.region_id,
                                 StateOrder.status == "open", StateOrder.window_opens <= today,
                                 StateOrder.window_closes >= today, StateOrder.id.not_in(applied))
        .order_by(StateOrder.window_closes).limit(5)).all()


def _choices_for(user, chosen: str = "", chosen_task: str = "") -> tuple[dict, object | None]:
    """The filter's choices for ``user``, and the word for the organisation their tasks are about. Everyone is offered
    the steps they can find a task of (:func:`findable`: the operator was offered "Submit monthly act", the
    department "Pay act"). A person of a funded organisation (a school's or a dormitory's accountant or director) is
    offered only the processes they can have a task in — their own instrument's application, monthly act, contract
    and year-end report; never another instrument's processes (a school's accountant was offered the dormitory
    contract and the dormitory order) nor the placing of an order, the department's alone — and a dormitory's filter
    says "Dormitory", not "School"; anyone else's says "Organisation". Anyone else is offered the processes they can
    find a task of. ``chosen`` and ``chosen_task``, what the filter applies, stay offered."""
    from app.contracts.views import SIGN_TASKS
    from app.instruments import funding_instrument_of, instruments

    choices = filter_choices()
    processes, steps = findable(user)
    steps |= {chosen_task}  # the filter applied stays shown
    choices = {**choices, "tasks": [(code, name) for code, name in choices["tasks"] if code in steps]}
    own = funding_instrument_of(user)
    if own is None:
        processes |= {chosen}
        # the department's and the operator's tasks are about schools and dormitories alike: "School (name or BIN)"
        # found a dormitory too, under a word that said it would not
        return {**choices, "processes": [(code, name) for code, name in choices["processes"]
                                         if code in processes]}, _("Organisation")
    names = ("monthly_process", "application_process", "year_end_process", "contract_process", "order_process")
    others = {getattr(i, name) for i in instruments() for name in names}
    others -= {own.monthly_process, own.application_process, own.year_end_process, own.contract_process}
    # nor another instrument's director's signature (a school's people were offered "Sign contract (dormitory
    # director)")
    other_signatures = {SIGN_TASKS[i.director_role] for i in instruments()
                        if i.director_role != own.director_role and i.director_role in SIGN_TASKS}
    choices = {**choices, "processes": [(code, name) for code, name in choices["processes"] if code not in others],
               "tasks": [(code, name) for code, name in choices["tasks"] if code not in other_signatures]}
    return choices, (own.organisation_label if own.organisation_kind != "school" else None)


@bp.post("/inbox/filters")
@login_required
def save_filter():
    f = InboxFilter.from_args(request.form)
    try:
        saved = ops.save_filter(current_user, request.form.get("name", ""), f, request.form.get("shared") == "1")
        db.session.commit()
    except DomainRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("inbox.index", **f.params()))
    flash(_("Filter “%(name)s” saved.", name=saved.name), "success")
    return redirect(url_for("inbox.index", filter=saved.id))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int):
    try:
        saved = ops.get_filter_for(current_user, filter_id)
        ops.delete_filter(current_user, saved)
        db.session.commit()
    except TaskNotAvailable:
        db.session.rollback()
        abort(404)
    flash(_("Filter deleted."), "success")
    return redirect(url_for("inbox.index"))


# -- bulk accept ------------------------------------------------------------------------------------------------
@bp.route("/inbox/bulk-accept", methods=["GET", "POST"])
@login_required
def bulk_accept():
    ids = _task_ids(request.values.getlist("task"))
    if request.method == "GET" or request.form.get("confirm") != "1":
        if not ids:
            flash(_("Nothing was selected: tick the acts to accept first."), "warning")
            return redirect(url_for("inbox.index"))
        rows, skipped = ops.bulk_preview(current_user, ids)
        if not rows:
            flash(_("None of the selected tasks is a clean act you can accept."), "warning")
            for left in skipped[:10]:
                flash(f"{left.subject or '#' + str(left.task_id)}: {left.reason}", "warning")
            return redirect(url_for("inbox.index"))
        return render_template("inbox/bulk_confirm.html", rows=rows, skipped=skipped)
    seen = {task_id: request.form.get(f"seen_{task_id}", "") for task_id in ids}
    results = ops.bulk_accept(current_user, ids, seen)
    done = sum(1 for r in results if r.ok)
    flash(_("%(done)s of %(total)s acts accepted.", done=done, total=len(results)),
          "success" if done == len(results) else "warning")
    return render_template("inbox/bulk_result.html", results=results)


# -- claim / unclaim / reassign ------------------------------------------------------------------------------------
def _task_or_404(task_id: int) -> HumanTask:
    try:
        return get_task_for(current_user, task_id)
    except TaskNotAvailable:
        abort(404)


def _back(task: HumanTask):
    target = request.form.get("next", "")
    if is_local_path(target):  # same-site paths only: no open redirect through "next"
        return redirect(target)
    return redirect(url_for("inbox.task", task_id=task.id))


def _run(task: HumanTask, action, success: str):
    try:
        action()
        db.session.commit()
        flash(success, "success")
    except (ConflictError, DomainRefused, TaskNotAvailable) as err:
        db.session.rollback()
        flash(str(err), "danger")
    return _back(task)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int):
    task = _task_or_404(task_id)
    return _run(task, lambda: ops.claim(task, current_user), _("You have claimed this task."))


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int):
    task = _task_or_404(task_id)
    return _run(task, lambda: ops.unclaim(task, current_user), _("The task is back in the group."))


@bp.post("/tasks/<int:task_id>/reassign")
@login_required
def reassign(task_id: int):
    task = _task_or_404(task_id)
    to = ascii_int(request.form.get("user_id"))  # int() would read "１２" as person 12
    return _run(task, lambda: ops.reassign(task, current_user, to), _("The task has been reassigned."))


# -- comments and attachments ------------------------------------------------------------------------------------
@bp.post("/tasks/<int:task_id>/comments")
@login_required
def comment(task_id: int):
    task = _task_or_404(task_id)
    return _run(task, lambda: ops.add_comment(task, current_user, request.form.get("body", "")),
                _("Comment added."))


@bp.post("/tasks/<int:task_id>/attachments")
@login_required
def attach(task_id: int):
    task = _task_or_404(task_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to attach."), "danger")
        return _back(task)
    data = upload.read(ops.MAX_ATTACHMENT_BYTES + 1)
    return _run(task, lambda: ops.add_attachment(task, current_user, upload.filename, data), _("File attached."))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    try:
        item, path = ops.attachment_for(current_user, attachment_id)
    except TaskNotAvailable:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=item.content_type, as_attachment=True, download_name=item.filename)


# -- substitutions -------------------------------------------------------------------------------------------------
def _date(value: str | None) -> date | None:
    return calendar_date((value or "").strip(), day_first=True)


@bp.route("/substitutions", methods=["GET", "POST"])
@login_required
def substitutions():
    if request.method == "POST":
        try:
            subs.create_substitution(current_user, whole_number(request.form, "deputy_id", lenient=True),
                                     _date(request.form.get("starts_on")), _date(request.form.get("ends_on")),
                                     current_user)
            db.session.commit()
            flash(_("Deputy named."), "success")
            return redirect(url_for("inbox.substitutions"))
        except DomainRefused as err:
            db.session.rollback()
            flash(str(err), "danger")
    # a refused form shows what was typed again (users probe: "the end is before the start" came back with both
    # dates and the chosen deputy cleared)
    return render_template("inbox/substitutions.html", items=subs.substitutions_of(current_user),
                           candidates=subs.deputy_candidates(current_user),
                           typed=request.form if request.method == "POST" else {})


@bp.post("/substitutions/<int:sub_id>/revoke")
@login_required
def revoke_substitution(sub_id: int):
    sub = db.session.get(subs.Substitution, sub_id)
    if sub is None or current_user.id not in (sub.principal_id, sub.deputy_id, sub.created_by_id):
        abort(404)
    try:
        subs.revoke_substitution(sub, current_user)
        db.session.commit()
        flash(_("Substitution ended."), "success")
    except DomainRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
    return redirect(url_for("inbox.substitutions"))


# -- the task page ---------------------------------------------------------------------------------------------------
def _typed_values(task) -> dict | None:
    """The submitted form's values, typed by the task's schema (to show them again after a refusal)."""
    from app.engine.forms import parse_form

    if not task.form_schema:
        return None
    schema, _ui = task_form(task)
    values, _errs = parse_form(schema, request.form.to_dict())
    return values


def registry_down_message() -> str:
    return _("The national registry (NEDB) cannot be reached just now. Nothing was saved and your entries are "
             "kept; try again in a few minutes.")


def _render_task(task, values=None, errors=None, status=200, refusal=None, lines_report=None):
    ctx = task_context(task, current_user)
    handler = get_handler(task.handler)
    actionable = task.status == "open" and can_act(current_user, task)
    fields = []
    panel = handler.template
    seen = None
    try:
        extra = handler.context(ctx)
        if panel is None and not task.handler:  # a step the owner added: what its instance is about, read-only
            panel, extra = subject_panel_for(ctx)
        seen = handler.seen(ctx)
        if actionable and values is None:
            values = handler.prefill(ctx)
    except RegistryUnavailable:
        # The act's lines are prefilled from NEDB's service: down, the page had been a 500.
        log.exception("task %s: the registry service did not answer", task.id)
        extra, panel, values = {}, None, values or {}
        refusal, status = registry_down_message(), 503
    except DomainRefused as err:
        # The step's business record (act, contract…) is missing — e.g. a trial run started from the modeler:
        # show the task and say why, never a 500; submitting is refused by the same handler.
        extra, panel, values = {}, None, values or {}
        refusal = refusal or str(err)
    lines_columns = None
    confirm = None
    if actionable:
        schema, ui = task_form(task)
        fields = build_fields(schema, ui, values, errors or {}, str(get_locale()))
        table = lines_file.table_of(schema)
        lines_columns = lines_file.file_columns(schema, ui, table, str(get_locale())) if table else None
        if status != 503:  # the registry is down: the form is shown as it is
            try:
                handler.shape_fields(ctx, fields)
                confirm = handler.confirm(ctx)
            except (DomainRefused, RegistryUnavailable):
                confirm = None  # said above (the record is missing, the registry is down)
    instance = task.instance
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == instance.audit_chain)
                                .order_by(AuditEvent.seq)).all()
    comments = db.session.scalars(select(TaskComment).where(TaskComment.instance_id == instance.id)
                                  .order_by(TaskComment.created_at, TaskComment.id)).all()
    attachments = db.session.scalars(select(TaskAttachment).where(TaskAttachment.instance_id == instance.id)
                                     .order_by(TaskAttachment.created_at, TaskAttachment.id)).all()
    on_behalf = acting_for(current_user, task) if actionable and not can_act_directly(current_user, task) else None
    manage = ops.can_manage(current_user, task)
    return render_template(
        "inbox/task.html", task=task, fields=fields, actionable=actionable, errors=errors or {},
        refusal=refusal, panel=panel, seen=seen, confirm=confirm, events=events, comments=comments,
        attachments=attachments,
        diagram=instance_status(instance), sla=sla_state(task), on_behalf=on_behalf,
        can_manage=manage, may_write=ops.may_write(current_user, task),
        candidates=ops.reassign_candidates(task) if task.status == "open" and manage else [],
        max_mb=ops.MAX_ATTACHMENT_BYTES // (1024 * 1024), lines_columns=lines_columns, lines_report=lines_report,
        **extra,
    ), status


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int):
    task = _task_or_404(task_id)
    if request.method == "GET":
        return _render_task(task)
    if not can_act(current_user, task):
        abort(404 if task.status == "open" else 409)
    opened: list[HumanTask] = []  # the steps this completion opens, as the engine announces them
    try:
        with signals.task_created.connected_to(lambda row, **_kw: opened.append(row)):
            complete_task(task.id, current_user, form=request.form.to_dict(),
                          expected_lock_version=whole_number(request.form, "_version"),
                          seen=request.form.get("_seen"), seen_required=True)
        commit_keeping_loaded()
    except FormInvalid as err:
        db.session.rollback()
        return _render_task(task, values=_typed_values(task), errors=err.errors, status=422)
    except DomainRefused as err:
        db.session.rollback()
        # What the person typed stays in the form: they correct the one thing the refusal names. A conflict (paid
        # meanwhile) is a 409, as the API answers it.
        return _render_task(task, values=_typed_values(task), refusal=str(err),
                            status=409 if isinstance(err, DomainConflict) else 422)
    except ConflictError as err:
        db.session.rollback()
        flash(str(err), "warning")
        return _render_task(db.session.get(type(task), task.id), status=409)
    except StepFailed as err:
        db.session.rollback()
        if any(isinstance(cause, RegistryUnavailable) for cause in incidents.causes(err)):
            return _render_task(db.session.get(type(task), task.id), values=_typed_values(task),
                                refusal=registry_down_message(), status=503)
        if incidents.record_completion_failure(task.instance_id, err) is not None:
            refusal = _("The process cannot go on after this step: the automatic step that follows it has an error "
                        "in the process model. Nothing was saved and your entries are kept; the process owners and "
                        "administrators can see the error. Try again once they have corrected it.")
        else:
            refusal = _("An automatic step failed: %(reason)s. Nothing was saved.", reason=str(err))
        return _render_task(db.session.get(type(task), task.id), values=_typed_values(task), refusal=refusal,
                            status=422)
    except TaskNotAvailable:
        db.session.rollback()
        abort(404)
    title = task_label(task.spec_name, task.title, version_id=task.instance.model_version_id)
    decision = _decision_label(task, request.form.get("decision"))
    if decision and decision.casefold() == title.casefold():
        decision = None  # "Done: Accept act — Accept act." said it twice
    done = (_("Done: %(title)s — %(decision)s.", title=title, decision=decision) if decision
            else _("Done: %(title)s.", title=title))
    subject = _subject_link(task.instance)
    # the inbox is where the person lands; the record the task was about is one click away (a school accountant
    # who had just submitted her act had to find it under Acts to read which lines verification excluded)
    flash({"text": done, "href": subject[0], "link": subject[1]} if subject else done, "success")
    for step in [t for t in opened if t.status == "open"][:3]:
        flash(_("Next: %(title)s — %(role)s.", title=task_label(step.spec_name, step.title,
                                                                 version_id=task.instance.model_version_id),
                role=ROLE_LABELS.get(step.role, step.role) if step.role else _("the person who started it")),
              "info")
    return redirect(url_for("inbox.index"))


def _subject_link(instance) -> tuple[str, str] | None:
    """(address, words) of the act or contract a process instance is about, for the message after a step."""
    if instance.subject_id is None:
        return None
    if instance.subject_type == "act":
        return url_for("acts.show", act_id=instance.subject_id), _("See the act and its verification report")
    if instance.subject_type == "contract":
        return url_for("contracts.show", contract_id=instance.subject_id), _("See the contract")
    return None


@bp.post("/tasks/<int:task_id>/lines-from-file")
@login_required
def lines_from_file(task_id: int):
    """Fill the task form's lines from a CSV or XLSX file: the page again, with the file's good lines as the form's
    values and a report of the refused ones. Nothing is saved: the person checks the lines and submits."""
    task = _task_or_404(task_id)
    if task.status != "open":
        abort(409)
    if not can_act(current_user, task):  # the inbox's rule: who may not act on an open task does not learn of it
        abort(404)
    schema, ui = task_form(task)
    table = lines_file.table_of(schema)
    if table is None:
        abort(404)
    ctx, handler = task_context(task, current_user), get_handler(task.handler)
    upload = request.files.get("file")
    # Reading a workbook costs a web process seconds: one person reads so many files a minute (LINES_FILE_LIMIT)
    wait = take_posting_allowance("LINES_FILE_LIMIT", f"user:{current_user.id}") if upload else None
    if wait is not None:
        report = lines_file.LinesReport(filename=(upload.filename or "")[:120], problem=_(
            "You have sent many files in a short time. You can send one again in %(minutes)s min.",
            minutes=ops.minutes_to_wait(wait)))
        return _render_task(task, values=_current_values(schema, table), lines_report=report, status=429)
    report = lines_file.lines_from_upload(upload, schema, ui, table, ops.MAX_ATTACHMENT_BYTES,
                                          lambda line: handler.check_line(ctx, line), str(get_locale()),
                                          getattr(handler, "domain_bounds", frozenset()))
    values = _current_values(schema, table)
    if report.changed:
        values = {**(values or {}), table: report.lines}
    return _render_task(task, values=values, lines_report=report, status=200 if report.changed else 422)


def _current_values(schema: dict, table: str) -> dict | None:
    """What the task's form held when the file was sent (the page sends it along as JSON, ``current``), typed as
    the form reads it; None if it was not sent (the form is then prefilled as when the page opens)."""
    import json

    from app.engine.forms import parse_form

    raw = request.form.get("current") or ""
    try:
        fields = json.loads(raw) if raw else None
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth: as if not sent
        fields = None
    if not isinstance(fields, dict) or len(fields) > 20_000:
        return None
    form = {k: v for k, v in fields.items() if isinstance(k, str) and isinstance(v, str) and not k.startswith("_")
            and k != "csrf_token"}
    values, _errs = parse_form(schema, form)  # a field the form does not have is left out
    return values if table in values else {**values, table: []}


def _decision_label(task: HumanTask, value: str | None) -> str | None:
    """The option chosen in the form's ``decision`` field as the form names it: "Done: Accept act." after the
    official had returned the act read as if they had accepted it."""
    if not value or not task.form_ui_schema:
        return None
    try:
        _schema, ui = task_form(task)  # the version's forms as the engine keeps them: no statement
        names = ui.get("decision", {}).get("ui:enumNames", {})
    except (ValueError, AttributeError, RecursionError):
        return None
    label = names.get(value) if isinstance(names, dict) else None
    return localised(label, str(get_locale())) if label else None
