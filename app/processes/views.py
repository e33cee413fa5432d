"""The operations cockpit: the instance list and the instance page with its actions.

Thin: check who may (``operations.can_*``, scope via :func:`get_visible_or_404`), call an operation, commit
or roll back, render. Every action needs a confirmation and a reason; the operation writes the audit event.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.engine import incidents, runtime
from app.engine.errors import ConflictError, DomainRefused, StepFailed, said_text
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import instance_status
from app.extensions import db
from app.people.access import get_visible_or_404
from app.processes import operations as ops
from app.processes import queries, trials
from app.processes.masking import mask
from app.processes.readable import readable_variables
from app.security import model_file_download
from app.ui import personal_text
from app.user_input import BrokenText, JsonTooDeep, NonFiniteNumber, ascii_int, loads_json_field, page_number

bp = Blueprint("processes", __name__)


def _visible_instance(instance_id: int) -> ProcessInstance:
    return get_visible_or_404(ProcessInstance, instance_id, organisation_attr="organisation_id")


def _require_cockpit() -> None:
    if not ops.can_use_cockpit(current_user):
        abort(403)


@bp.route("/instances")
@login_required
def index():
    _require_cockpit()
    f = queries.InstanceFilter.from_args(request.args)
    page = queries.instance_page(current_user, f, page_number(request.args))
    for message in f.errors:
        flash(message, "warning")
    return render_template("processes/index.html", f=f, page=page, counts=queries.state_counts(current_user, f),
                           choices=queries.filter_choices(), states=queries.STATES, cap=queries.COUNT_CAP,
                           shown_state=queries.shown_state)


@bp.route("/instances/<int:instance_id>")
@login_required
def show(instance_id: int):
    instance = _visible_instance(instance_id)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == instance.audit_chain).order_by(AuditEvent.seq)
    ).all()
    tasks = db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.id)
    ).all()
    status = instance_status(instance)
    status.failed = sorted(set(status.failed) | set(ops.failed_elements(instance)))
    cockpit = ops.can_use_cockpit(current_user)
    wf = runtime._load(instance)
    timers = [{"element": t["element"], "name": t["name"], "due": t["due"]} for t in ops.waiting_timers(wf)]
    variables = None
    if cockpit:
        variables = ops.variables(wf)
        if not ops.may_see_personal_data(current_user):
            variables = mask(variables)
    u = current_user
    return render_template(
        "processes/show.html", instance=instance, events=events, tasks=tasks, status=status, timers=timers,
        timers_json=json.dumps([{"element": t["element"], "due": t["due"]} for t in timers]),
        variables=variables, readable=readable_variables(variables or {}),
        variables_json={k: json.dumps(v, ensure_ascii=False, default=str) for k, v in (variables or {}).items()},
        incidents=ops.open_incidents(instance), incident_headline=incidents.user_message, said_text=said_text,
        cockpit=cockpit,
        shown_state=queries.shown_state(instance, any(t.status == "open" for t in tasks)),
        can_retry=ops.can_retry(u, instance), can_cancel=ops.can_cancel(u, instance),
        can_suspend=ops.can_suspend(u, instance), can_resume=ops.can_resume(u, instance),
        can_trigger=ops.can_trigger_timer(u, instance) and bool(timers),
        can_edit=ops.can_edit_variables(u, instance), can_delete=trials.can_delete_trial(u, instance))


def _confirmed_reason() -> str:
    """The action's confirmation box and reason, checked on the server (a crafted POST gets the same rule)."""
    if request.form.get("confirm") != "yes":
        raise ops.ActionRefused(_("Please tick the confirmation box to go ahead."))
    return ops.clean_reason(request.form.get("reason"))


def _act(instance_id: int, action, success: str):
    """Run one cockpit action: refusals, conflicts and a step that fails after it (a timer fired by hand runs the
    steps after the timer) roll back and say why — the instance stays as it was."""
    instance = _visible_instance(instance_id)
    if not ops.can_use_cockpit(current_user) or current_user.role == "auditor":
        abort(403)
    try:
        action(instance, _confirmed_reason())
    except (DomainRefused, ConflictError, ops.RetryRefused, StepFailed) as err:
        db.session.rollback()
        # a step that failed says its error's words, which may quote the instance's data (a child's IIN)
        flash(personal_text(str(err)), "danger")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(url_for("processes.show", instance_id=instance_id))


@bp.route("/instances/<int:instance_id>/retry", methods=["POST"])
@login_required
def retry(instance_id: int):
    """Retry an incident (``incident_id``, else the instance's latest): the failed element runs again
    (app.engine.incidents.retry_incident, which commits the outcome either way)."""
    instance = _visible_instance(instance_id)
    if not ops.can_use_cockpit(current_user) or current_user.role not in ops.RETRY_ROLES:
        abort(403)
    incident_id = request.form.get("incident_id", "")
    try:
        resolved = ops.retry(instance, current_user, _confirmed_reason(), ascii_int(incident_id))
    except (DomainRefused, ConflictError, ops.RetryRefused) as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        if resolved:
            flash(_("The step was retried and the process continued."), "success")
        else:
            incident = incidents.open_incident_of(instance_id)
            said = personal_text(said_text(incident.message)) if incident else "?"
            flash(_("The step failed again: %(msg)s", msg=said), "danger")
    return redirect(url_for("processes.show", instance_id=instance_id))


@bp.route("/instances/<int:instance_id>/cancel", methods=["POST"])
@login_required
def cancel(instance_id: int):
    return _act(instance_id, lambda i, reason: ops.cancel_instance(i, current_user, reason),
                _("The instance was cancelled."))


@bp.route("/instances/<int:instance_id>/suspend", methods=["POST"])
@login_required
def suspend(instance_id: int):
    return _act(instance_id, lambda i, reason: ops.suspend_instance(i, current_user, reason),
                _("The instance was suspended."))


@bp.route("/instances/<int:instance_id>/resume", methods=["POST"])
@login_required
def resume(instance_id: int):
    return _act(instance_id, lambda i, reason: ops.resume_instance(i, current_user, reason),
                _("The instance was resumed."))


@bp.route("/instances/<int:instance_id>/trigger-timer", methods=["POST"])
@login_required
def trigger_timer(instance_id: int):
    element = request.form.get("element", "")
    return _act(instance_id, lambda i, reason: ops.trigger_timer(i, current_user, element, reason),
                _("The timer was triggered."))


def _storable_value(text: str) -> str:
    """The typed value, if the workflow state can hold what it parses to. ``json.loads`` would exhaust its recursion on
    JSON nested 100,000 deep (a 500) and read NaN, Infinity and 1e999, which are not JSON (PostgreSQL's ``json``
    refuses the saved state). Text that is not JSON at all is left to ``ops.parse_value`` (a bare word is text)."""
    try:
        loads_json_field(text.strip())
    except JsonTooDeep:
        raise ops.ActionRefused(_("The value is not valid JSON.")) from None
    except NonFiniteNumber:
        raise ops.ActionRefused(_("Numbers must be finite: NaN, Infinity and numbers as large as 1e999 cannot be "
                                  "saved.")) from None
    except BrokenText:
        raise ops.ActionRefused(_("The value contains a broken character (a lone \\ud800–\\udfff escape) that cannot "
                                  "be saved.")) from None
    except ValueError:
        pass
    return text


@bp.route("/instances/<int:instance_id>/variables", methods=["POST"])
@login_required
def edit_variable(instance_id: int):
    name, value = request.form.get("name", ""), request.form.get("value", "")
    return _act(instance_id,
                lambda i, reason: ops.edit_variable(i, current_user, name, _storable_value(value), reason),
                _("The variable was changed."))


@bp.route("/instances/<int:instance_id>/delete-trial", methods=["POST"])
@login_required
def delete_trial(instance_id: int):
    instance = _visible_instance(instance_id)
    if not trials.can_delete_trial(current_user, instance):
        abort(403)
    try:
        trials.delete_trial(instance, current_user, _confirmed_reason())
    except DomainRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("processes.show", instance_id=instance_id))
    db.session.commit()
    flash(_("The trial instance was deleted."), "success")
    return redirect(url_for("processes.index", trial="only"))


@bp.route("/instances/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int):
    instance = _visible_instance(instance_id)
    version = instance.model_version
    from app.words import diagram_in_language

    return model_file_download(diagram_in_language(version.files[version.bpmn_filename]), version.bpmn_filename,
                               "application/xml")
