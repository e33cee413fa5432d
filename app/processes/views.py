from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import instance_status
from app.extensions import db
from app.people.access import require_visible

bp = Blueprint("processes", __name__)


def _visible_instance(instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        abort(404)
    require_visible(current_user, instance.region_id, instance.organisation_id)
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
    return render_template("processes/show.html", instance=instance, events=events, tasks=tasks, status=status)


@bp.route("/instances/<int:instance_id>/diagram.bpmn")
@login_required
def diagram(instance_id: int):
    instance = _visible_instance(instance_id)
    version = instance.model_version
    return Response(version.files[version.bpmn_filename], mimetype="application/xml")
