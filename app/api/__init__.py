"""REST API (flask-smorest + marshmallow); the OpenAPI document is served at /api/openapi.json.

Authentication is the same session as the pages — state-changing calls then need the CSRF token in the
``X-CSRFToken`` header — or an API token (``Authorization: Bearer``, see app/people/tokens.py), which needs
no CSRF token. Authorisation goes through the same helpers as the pages either way.
"""

from __future__ import annotations

from flask import Flask, abort
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.acts.models import Act
from app.api.blueprint import Blueprint
from app.api.errors import ErrorSchema, error_response
from app.api.paging import PAGING, page_of
from app.api.schemas import ActSchema, CompleteTaskSchema, HumanTaskSchema, InstanceSchema, LineReviewSchema
from app.audit.models import AuditEvent
from app.database import commit_keeping_loaded
from app.engine.errors import ConflictError, DomainConflict, DomainRefused, FormInvalid, StepFailed, TaskNotAvailable
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import complete_task
from app.extensions import api, db
from app.inbox.queries import open_tasks_for
from app.people.access import get_visible_or_404

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="Tasks, acts and process instances")


@blp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        abort(401)


@blp.route("/tasks")
@blp.response(200, HumanTaskSchema(many=True))
@blp.paginate(**PAGING)
def my_tasks(pagination_parameters):
    """Open tasks the current user may complete, oldest first, a page at a time (the totals in ``X-Pagination``)."""
    return page_of(open_tasks_for(current_user).order_by(HumanTask.created_at, HumanTask.id), pagination_parameters)


def _error(code: int, message: str, errors: dict | None = None):
    return error_response(code, message, errors)


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteTaskSchema)
@blp.response(200, InstanceSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Someone else completed the step first")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid data, with an error per field")
def complete(payload, task_id: int):
    """Complete a task with JSON data (validated against the task's form schema)."""
    try:
        # the step's record as read: an act's version, or the SHA-256 of the contract's document a signer read
        seen = payload.get("document_sha256") or payload.get("seen")
        instance = complete_task(task_id, current_user, data=payload["data"],
                                 expected_lock_version=payload.get("lock_version"),
                                 seen=None if seen is None else str(seen), seen_required=True)
        document = _instance_doc(instance)
        commit_keeping_loaded()
    except TaskNotAvailable:
        db.session.rollback()
        abort(404)
    except FormInvalid as err:
        db.session.rollback()
        # str(err) is the engine's fixed English text; the reader's language, as for the API's other 422s
        return _error(422, _("The request is not valid; see the errors per field."), dict(err.errors))
    except (ConflictError, DomainConflict) as err:
        db.session.rollback()
        return _error(409, str(err))
    except (DomainRefused, StepFailed) as err:
        db.session.rollback()
        if isinstance(err, StepFailed):
            from app.engine.incidents import record_completion_failure

            record_completion_failure(db.session.get(HumanTask, task_id).instance_id, err)
        return _error(422, str(err))
    return document


@blp.route("/acts/<int:act_id>")
@blp.response(200, ActSchema)
def act(act_id: int):
    act = get_visible_or_404(Act, act_id)
    return act


@blp.route("/acts/<int:act_id>/lines/<int:line_id>/review", methods=["POST"])
@blp.arguments(LineReviewSchema)
@blp.response(200, ActSchema)
@blp.alt_response(403, schema=ErrorSchema, description="Only the act's department decides its lines")
@blp.alt_response(409, schema=ErrorSchema, description="The act changed since the version given as seen")
@blp.alt_response(422, schema=ErrorSchema, description="Not a line to review now, or no reason to exclude it")
def review_line(payload, act_id: int, line_id: int):
    """Decide a line that needs review (keep or exclude, with the reason): an act with undecided lines cannot be
    accepted. The same operation as the act's page, audited; the act is re-verified at once."""
    from app.acts.review import decide_line, may_decide

    act = get_visible_or_404(Act, act_id)
    if not may_decide(current_user, act):
        return _error(403, _("Only the act's education department decides its lines."))
    try:
        decide_line(act, line_id, payload["decision"], payload.get("comment"), current_user, seen=payload.get("seen"))
        db.session.commit()
    except ConflictError as err:
        db.session.rollback()
        return _error(409, str(err))
    except DomainRefused as err:
        db.session.rollback()
        return _error(422, str(err))
    db.session.expire_all()
    return db.session.get(Act, act_id)


def _events_as_seen(events: list[AuditEvent]) -> list:
    """The events, their details masked as the cockpit masks task data for a reader not cleared for children's
    personal data (a variable's old and new value, an IIN, went out in full to process owners here)."""
    from app.people.access import sees_personal_data
    from app.processes.masking import mask_event_details

    if sees_personal_data(current_user):
        return events
    return [{"seq": e.seq, "at": e.at, "actor_id": e.actor_id, "action": e.action, "object_type": e.object_type,
             "object_id": e.object_id, "details": mask_event_details(e.details or {}), "hash": e.hash} for e in events]


def _instance_doc(instance: ProcessInstance) -> dict:
    return {
        "id": instance.id, "process_id": instance.process_id, "title": instance.title, "status": instance.status,
        "lock_version": instance.lock_version, "started_at": instance.started_at,
        "completed_at": instance.completed_at,
        "open_tasks": db.session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.status == "open")).all(),
        "events": _events_as_seen(db.session.scalars(select(AuditEvent).where(
            AuditEvent.chain == instance.audit_chain).order_by(AuditEvent.seq)).all()),
        # Not a field: holds the instance in the session while the document is written, so the open tasks'
        # names in the reader's language come from its version without a query (HumanTaskSchema).
        "instance": instance,
    }


@blp.route("/instances/<int:instance_id>")
@blp.response(200, InstanceSchema)
def instance(instance_id: int):
    instance = get_visible_or_404(ProcessInstance, instance_id, organisation_attr="organisation_id")
    return _instance_doc(instance)


def init_api(app: Flask) -> None:
    # Every operation's documented "default" response is our one error document (app/api/errors.py).
    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app)
    api.register_blueprint(blp)
    from app.contracts.api import blp as lifecycle_blp

    api.register_blueprint(lifecycle_blp)
    from app.payments.api import blp as payments_blp

    api.register_blueprint(payments_blp)
    from app.contracts.payments_api import blp as contract_money_blp

    api.register_blueprint(contract_money_blp)
