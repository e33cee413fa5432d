from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app.acts import listing, report
from app.acts.adjustments import adjustments_of, cause_title
from app.acts.models import Act, ActLine
from app.content_policy import document_policy, with_policy
from app.extensions import db
from app.instruments import instrument_of
from app.people.access import get_visible_or_404, sees_personal_data
from app.security import CSV_MIMETYPE
from app.ui import ACT_STATUS
from app.user_input import page_number

bp = Blueprint("acts", __name__)
bp.add_app_template_global(instrument_of, "instrument_of")
LINES_PAGE = 500


@bp.app_template_global()
def act_report(act: Act) -> dict:
    """The verification report's figures, for the act page and the task panels that include it."""
    return {"by_rule": report.by_rule(act), "outcomes": report.outcome_counts(act),
            "adjustments": adjustments_of(act), "cause_title": cause_title,
            "rules": instrument_of(act).rules}


@bp.route("/acts")
@login_required
def index():
    f = listing.ActFilter.from_args(request.args)
    found = listing.acts_page(current_user, f, page_number(request.args))
    from flask_babel import get_locale

    from app.instruments import instruments
    from app.people.models import Region

    region = db.session.get(Region, f.region) if f.region is not None else None
    titles = {one.code: one.title for one in instruments()}
    return render_template("acts/index.html", found=found, f=f, statuses=ACT_STATUS,
                           region_label=region.name(str(get_locale())) if region else None,
                           instrument_title=titles.get(f.instrument))


def _visible_act(act_id: int) -> Act:
    act = get_visible_or_404(Act, act_id)
    return act


def _filtered_lines(act: Act):
    """Lines filtered by ``rule`` (a rule code) and ``outcome`` (accepted / excluded / pending)."""
    rule = request.args.get("rule") or None
    outcome = request.args.get("outcome") or None
    query = select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.line_no)
    if rule in instrument_of(act).rules:
        query = query.where(ActLine.rule_code == rule)
    else:
        rule = None
    if outcome in ("accepted", "excluded", "pending"):
        query = query.where(ActLine.outcome == outcome)
    else:
        outcome = None
    return query, rule, outcome


@bp.route("/acts/<int:act_id>")
@login_required
def show(act_id: int):
    act = _visible_act(act_id)
    query, rule, outcome = _filtered_lines(act)
    lines = db.session.scalars(query.limit(LINES_PAGE + 1)).all()
    from app.payments.operations import nothing_to_pay, returned_payments, standing_payment
    from app.payments.returns import RETURN_REASON_LABELS, account_to_confirm, may_confirm_account
    from app.payments.views import may_handle_payments

    payment = standing_payment(act)
    returned = returned_payments(act)
    to_confirm = account_to_confirm(act) if returned else None
    # Why a returned act cannot be paid again yet (the bank said the account cannot be paid, and the records still
    # name it): said to everyone on the page, and the operator is not offered a form every payment of which is refused.
    repay_blocked = None
    if returned and payment is None and act.status == "accepted" and to_confirm is None:
        from app.engine.errors import DomainRefused
        from app.payments.returns import check_repayment

        try:
            check_repayment(act, returned[-1], returned[-1].returned_on)
        except DomainRefused as err:
            repay_blocked = str(err)
    from app.acts.next_step import waiting_step
    # four eyes: the operator who recorded the return is told why they do not pay the act again, and is not offered
    # the form (app.payments.returns.check_repayer); everyone reads who recorded each return
    own_return = None
    if returned and payment is None and act.status == "accepted" and may_handle_payments(current_user):
        from app.payments.returns import own_return_refusal

        own_return = own_return_refusal(act, returned[-1], current_user)
    from app.people.models import User

    returned_by = {p.id: getattr(db.session.get(User, p.returned_by_id), "full_name", "?")
                   for p in returned if p.returned_by_id is not None}
    from app.acts.review import undecided_line_ids
    from app.people.access import sees_personal_data
    from app.registry.access import READERS

    # Users probe: an auditor tracing a paid act to its registry evidence found no way to the registry lookup (it
    # is hers to read, but its only link was on the operator's Registries page): a line's IIN (NEDB, the schools'
    # registry) and the organisation's BIN lead there for the roles that may read it.
    reader = current_user.role in READERS
    trail = _trail_check(act) if request.args.get("trail") == "check" and current_user.role in TRAIL_CHECKERS else None
    return render_template("acts/show.html", trail=trail, checks_trail=current_user.role in TRAIL_CHECKERS,
                           act=act, lines=lines[:LINES_PAGE], more=len(lines) > LINES_PAGE,
                           rules=instrument_of(act).rules, instrument=instrument_of(act),
                           rule=rule, outcome=outcome, payment=payment, returned_payments=returned,
                           nothing_to_pay=nothing_to_pay(act), pays=may_handle_payments(current_user),
                           return_reasons=RETURN_REASON_LABELS, account_to_confirm=to_confirm,
                           repay_blocked=repay_blocked, own_return=own_return, returned_by=returned_by,
                           confirms_account=to_confirm is not None and may_confirm_account(current_user, act),
                           under_review=undecided_line_ids(act), waiting=waiting_step(act),
                           school_side=current_user.organisation_id == act.school_id,
                           lookup_bin=reader, lookup_iin=reader and sees_personal_data(current_user)
                           and instrument_of(act).code == "schools")


#: who may check one act's audit trail from its page (a read: the auditor's "whole story" of an act ends with it)
TRAIL_CHECKERS = {"auditor", "operator", "admin"}


def _trail_check(act):
    """The act's chain checked now, and its decided row and payments against the events that vouch for them."""
    from app.acts.operations import act_chain
    from app.audit import facts
    from app.audit.operations import check_trail
    from app.payments.models import Payment

    rows = {("payment", p.id): facts.payment_facts(p)
            for p in db.session.scalars(select(Payment).where(Payment.act_id == act.id))}
    if act.status in facts.DECIDED_ACT_STATUSES:
        rows[("act", act.id)] = facts.act_facts(act)
    return check_trail(act_chain(act), rows)


@bp.route("/acts/<int:act_id>/lines.<any(csv, xlsx):fmt>")
@login_required
def export(act_id: int, fmt: str):
    act = _visible_act(act_id)
    if not sees_personal_data(current_user):  # the lines' file carries children's IINs and names in full
        abort(403)
    query, rule, outcome = _filtered_lines(act)
    lines = db.session.scalars(query).all()
    name = f"{act.number}{'-' + rule if rule else ''}{'-' + outcome if outcome else ''}.{fmt}"
    whole = not rule and not outcome  # every line: the file ends with how the lines make the act's amount
    if fmt == "csv":
        body, mimetype = report.to_csv(act, lines, totals=whole), CSV_MIMETYPE
    else:
        body, mimetype = (report.to_xlsx(act, lines, totals=whole),
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/acts/<int:act_id>/document")
@login_required
@with_policy(lambda: document_policy("acts/document.html"))
def document(act_id: int):
    """The printable act in Kazakh and Russian, one after the other (the accepted lines are what is paid)."""
    from flask import current_app
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from app.ui import act_status_label

    act = _visible_act(act_id)
    lines = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.outcome == "accepted")
                               .order_by(ActLine.line_no)).all()
    by_rule = report.by_rule(act)
    languages = current_app.config.get("CONTRACT_LANGUAGES", ("kk", "ru"))
    body = current_app.jinja_env.get_template("acts/_document_body.html")
    sections = []
    for language in languages:
        with force_locale(language):
            sections.append((language, body.render(act=act, lines=lines, by_rule=by_rule,
                                                   rules=instrument_of(act).rules,
                                                   act_status_label=act_status_label)))
    with force_locale(languages[0]):
        title = f"{_('Act')} {act.number}"
    return render_template("acts/document.html", sections=sections, languages=languages, title=title, act=act)
