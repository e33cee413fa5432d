from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.engine.errors import ConflictError, StepFailed
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import instance_status
from app.extensions import db
from app.people.access import get_visible_or_404
from app.processes.operations import RetryRefused, can_retry, failed_elements, record_failure, retry_instance
from app.security import model_file_download

bp = Blueprint("processes", __name__)


def _visible_instance(instance_id: int) -> ProcessInstance:
    instance = get_visible_or_404(ProcessInstance, instance_id, organisation_attr="organisation_id")
    return instance


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
    status.failed = sorted(set(status.failed) | set(failed_elements(instance)))
    return render_template("processes/show.html", instance=instance, events=events, tasks=tasks, status=status,
                           can_retry=can_retry(current_user, instance))


@bp.route("/instances/<int:instance_id>/retry", methods=["POST"])
@login_required
def retry(instance_id: int):
    instance = _visible_instance(instance_id)
    if not can_retry(current_user, instance):
        abort(403 if instance.status == "error" else 409)
    try:
        retry_instance(instance, current_user)
    except (RetryRefused, ConflictError) as err:
        db.session.rollback()
        flash(str(err), "danger")
    except StepFailed as err:
        db.session.rollback()
        record_failure(instance_id, err, getattr(err, "workflow", None))
        db.session.commit()
        flash(_("The step failed again: %(msg)s", msg=str(err)), "danger")
    else:
        db.session.commit()
        flash(_("The step was retried and the process continued."), "success")
    return redirect(url_for("processes.show", instance_id=instance_id))


@bp.route("/instances/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int):
    instance = _visible_instance(instance_id)
    version = instance.model_version
    return model_file_download(version.files[version.bpmn_filename], version.bpmn_filename, "application/xml")
