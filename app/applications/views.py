"""Application pages: the school's and the department's view of applications and their outcome."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from app.applications.models import Application
from app.applications.rules import ELIGIBILITY_RULES
from app.contracts.models import Contract
from app.contracts.views import history_of
from app.extensions import db
from app.orders.models import LEVELS
from app.people.access import get_visible_or_404, scope_clause

bp = Blueprint("applications", __name__)


@bp.route("/applications")
@login_required
def index():
    applications = db.session.scalars(
        select(Application).where(scope_clause(current_user, Application.region_id, Application.school_id))
        .order_by(Application.id.desc()).limit(200)).all()
    return render_template("applications/index.html", applications=applications)


@bp.route("/applications/<int:application_id>")
@login_required
def show(application_id: int):
    application = get_visible_or_404(Application, application_id)
    contract = db.session.scalars(select(Contract).where(Contract.application_id == application.id)).first()
    return render_template("applications/show.html", application=application, rules=ELIGIBILITY_RULES,
                           levels=LEVELS, contract=contract, events=history_of(application.instance_id))
