from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app.acts.models import Act, ActLine
from app.acts.rules import RULES
from app.extensions import db
from app.payments.models import Payment
from app.people.access import require_visible, scope_clause

bp = Blueprint("acts", __name__)


@bp.route("/acts")
@login_required
def index():
    query = select(Act).where(scope_clause(current_user, Act.region_id, Act.school_id))
    status = request.args.get("status")
    if status:
        query = query.where(Act.status == status)
    acts = db.session.scalars(query.order_by(Act.period.desc(), Act.number).limit(200)).all()
    return render_template("acts/index.html", acts=acts, status=status)


@bp.route("/acts/<int:act_id>")
@login_required
def show(act_id: int):
    act = db.session.get(Act, act_id)
    if act is None:
        abort(404)
    require_visible(current_user, act.region_id, act.school_id)
    rule = request.args.get("rule")
    lines = act.lines if not rule else db.session.scalars(
        select(ActLine).where(ActLine.act_id == act.id, ActLine.rule_code == rule).order_by(ActLine.line_no)
    ).all()
    payment = db.session.scalars(select(Payment).where(Payment.act_id == act.id)).first()
    return render_template("acts/show.html", act=act, lines=lines, rules=RULES, rule=rule, payment=payment)
