"""Inbox and task pages. Thin: check access, call the engine, render."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.engine.errors import ConflictError, DomainRefused, FormInvalid, StepFailed, TaskNotAvailable
from app.engine.form_view import build_fields
from app.engine.handlers import get_handler
from app.engine.runtime import can_act, complete_task, get_task_for, task_context, task_form
from app.extensions import db
from app.inbox.queries import completed_by, open_tasks_for

bp = Blueprint("inbox", __name__)
PAGE_SIZE = 50


@bp.route("/inbox")
@login_required
def index():
    page = max(request.args.get("page", 1, type=int), 1)
    query = open_tasks_for(current_user).order_by(db.text("human_task.created_at"))
    tasks = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("inbox/index.html", tasks=tasks[:PAGE_SIZE], page=page,
                           has_next=len(tasks) > PAGE_SIZE, done=completed_by(current_user, 10))


def _render_task(task, values=None, errors=None, status=200, refusal=None):
    ctx = task_context(task, current_user)
    handler = get_handler(task.handler)
    actionable = task.status == "open" and can_act(current_user, task)
    fields = []
    if actionable:
        schema, ui = task_form(task)
        if values is None:
            values = handler.prefill(ctx)
        fields = build_fields(schema, ui, values, errors or {}, str(get_locale()))
    return render_template(
        "inbox/task.html", task=task, fields=fields, actionable=actionable, errors=errors or {},
        refusal=refusal, panel=handler.template, **handler.context(ctx),
    ), status


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int):
    try:
        task = get_task_for(current_user, task_id)
    except TaskNotAvailable:
        abort(404)
    if request.method == "GET":
        return _render_task(task)
    if not can_act(current_user, task):
        abort(404 if task.status == "open" else 409)
    try:
        complete_task(task.id, current_user, form=request.form.to_dict(),
                      expected_lock_version=request.form.get("_version", type=int))
        db.session.commit()
    except FormInvalid as err:
        db.session.rollback()
        from app.engine.forms import parse_form

        schema, _ui = task_form(task)
        values, _errs = parse_form(schema, request.form.to_dict())
        return _render_task(task, values=values, errors=err.errors, status=422)
    except DomainRefused as err:
        db.session.rollback()
        return _render_task(task, refusal=str(err), status=422)
    except ConflictError as err:
        db.session.rollback()
        flash(str(err), "warning")
        return _render_task(db.session.get(type(task), task.id), status=409)
    except StepFailed as err:
        db.session.rollback()
        return _render_task(task, refusal=_("An automatic step failed: %(reason)s. Nothing was saved.",
                                            reason=str(err)), status=422)
    except TaskNotAvailable:
        db.session.rollback()
        abort(404)
    flash(_("Done: %(title)s.", title=task.title), "success")
    return redirect(url_for("inbox.index"))
