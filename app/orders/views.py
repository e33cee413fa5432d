"""State order pages: list, place (department official), show, apply (school accountant)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.applications.models import Application
from app.applications.operations import pending_application, start_application
from app.engine.errors import DomainRefused, EngineError
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.instruments import SCHOOLS, instrument_of, instruments
from app.orders.models import LEVELS, LOCALITIES, StateOrder
from app.orders.operations import allocated_tiyn, place_order
from app.people.access import can_see, scope_clause
from app.people.roles import Role, Scope
from app.user_input import NotTenge, calendar_date, is_ascii_digits, tiyn_of_tenge

bp = Blueprint("orders", __name__)


def visible_order(order_id: int) -> StateOrder:
    """Orders are public within their region: every role of the region sees them; national roles all."""
    order = db.session.get(StateOrder, order_id)
    if order is None or not (current_user.scope is Scope.NATIONAL or current_user.region_id == order.region_id):
        abort(404)
    return order


@bp.route("/orders")
@login_required
def index():
    query = select(StateOrder)
    if current_user.scope is not Scope.NATIONAL:
        query = query.where(StateOrder.region_id == current_user.region_id)
    from app.instruments import funding_instrument_of

    own = funding_instrument_of(current_user)
    if own is not None:
        # A school's or a dormitory's people see the orders they may apply to: a school's accountant was listed the
        # region's dormitory order, which has no Apply for her and no word why (an order's own page still opens).
        query = query.where(StateOrder.instrument == own.code)
    orders = db.session.scalars(query.order_by(StateOrder.academic_year.desc(), StateOrder.number)).all()
    # The department head come to place next year's order found the list and no button, and no word that the
    # officials place it while the head's part is the contracts waiting for their signature (walk 7).
    awaiting_head = None
    if current_user.role == Role.DEPARTMENT_HEAD.value:
        from sqlalchemy import func

        from app.contracts.models import Contract

        awaiting_head = db.session.scalar(select(func.count(Contract.id)).where(
            Contract.status == "awaiting_head", scope_clause(current_user, Contract.region_id, Contract.school_id)))
    return render_template("orders/index.html", orders=orders, awaiting_head=awaiting_head,
                           can_place=current_user.role == Role.DEPARTMENT_OFFICIAL.value)


def _parse_tenge(value: str) -> int:
    try:
        return tiyn_of_tenge(value, _("Enter the budget in tenge, e.g. 1500000000."))
    except NotTenge as refused:
        raise DomainRefused(refused.message) from None


def _parse_date(value: str, label: str) -> date:
    day = calendar_date(value, day_first=True)
    if day is None:
        raise DomainRefused(_("%(field)s: enter a date.", field=label))
    return day


def _parse_whole(value: str, label: str) -> int:
    text = (value or "").strip()
    if not is_ascii_digits(text) or len(text) > 6:
        raise DomainRefused(_("%(field)s: enter a whole number.", field=label))
    return int(text)


def _new_dormitory_order():
    """The dormitory-places order: the term in years, the locality, the places and whether local residents are
    excluded; the rate comes from the rates table in the ``dorm_order`` process."""
    from app.dormitories.ordering import place_dormitory_order

    today = clock.today()
    start = today.year if today.month < 9 else today.year + 1
    values = {"first_year": str(start), "years": "3", "locality": "urban", "places": "", "budget": "",
              "excludes_local_residents": True, "window_opens": today.isoformat(),
              "window_closes": date(start, 8, 15).isoformat()}
    error = None
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in values}
        values["excludes_local_residents"] = request.form.get("excludes_local_residents") == "true"
        try:
            order = place_dormitory_order(
                current_user.organisation.region,
                first_year=_parse_whole(values["first_year"], _("First academic year starts in")),
                years=_parse_whole(values["years"], _("Term, years")), locality=values["locality"],
                places=_parse_whole(values["places"], _("Places")),
                excludes_local_residents=values["excludes_local_residents"], budget_tiyn=_parse_tenge(values["budget"]),
                window_opens=_parse_date(values["window_opens"], _("Window opens")),
                window_closes=_parse_date(values["window_closes"], _("Window closes")), actor=current_user)
            db.session.commit()
        except EngineError as err:
            db.session.rollback()
            error = str(err)
        else:
            flash(_("Order %(number)s for dormitory places placed; the application window is open.",
                    number=order.number), "success")
            return redirect(url_for("orders.show", order_id=order.id))
    return render_template("orders/new_dormitory.html", values=values, error=error,
                           localities=LOCALITIES), 422 if error else 200


@bp.route("/orders/new", methods=["GET", "POST"])
@login_required
def new():
    if current_user.role != Role.DEPARTMENT_OFFICIAL.value or current_user.organisation is None:
        abort(404)
    chosen = request.values.get("instrument") or SCHOOLS
    if chosen not in {i.code for i in instruments()}:
        abort(404)
    if chosen != SCHOOLS:
        return _new_dormitory_order()
    today = clock.today()
    start = today.year if today.month < 9 else today.year + 1
    values = {"academic_year": f"{start}/{start + 1}", "budget": "", "window_opens": today.isoformat(),
              "window_closes": date(start, 8, 15).isoformat()}
    error = None
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in values}
        try:
            order = place_order(
                current_user.organisation.region, values["academic_year"], _parse_tenge(values["budget"]),
                _parse_date(values["window_opens"], _("Window opens")),
                _parse_date(values["window_closes"], _("Window closes")), current_user)
            db.session.commit()
        except EngineError as err:
            db.session.rollback()
            error = str(err)
        else:
            flash(_("State order %(number)s placed; the application window is open.", number=order.number), "success")
            return redirect(url_for("orders.show", order_id=order.id))
    return render_template("orders/new.html", values=values, error=error), 422 if error else 200


@bp.route("/orders/<int:order_id>")
@login_required
def show(order_id: int):
    order = visible_order(order_id)
    applications = db.session.scalars(
        select(Application).where(Application.order_id == order.id,
                                  scope_clause(current_user, Application.region_id, Application.school_id))
        .order_by(Application.id)).all()
    instrument = instrument_of(order)
    can_apply = (current_user.role == instrument.accountant_role and order.window_is_open(clock.today())
                 and current_user.region_id == order.region_id)
    # A school that has applied is taken to its application (its form, while a draft), not offered "Apply" again:
    # pressing it said "already has an application" and left the person on this page.
    mine = pending_application(order, current_user.organisation) if can_apply else None
    # The organisation's director sees the order too, but its accountant applies and the director signs the contract
    # after: the page said neither, and a director come to apply found no button and no word (walk 7).
    signs_only = current_user.role == instrument.director_role and current_user.region_id == order.region_id
    ours = pending_application(order, current_user.organisation) if signs_only else None
    # The order's process runs in the department: a school sees the order, not that process — no link to a 404
    instance = db.session.get(ProcessInstance, order.instance_id) if order.instance_id else None
    shows_instance = instance is not None and can_see(current_user, instance.region_id, instance.organisation_id)
    return render_template("orders/show.html", order=order, applications=applications,
                           can_apply=can_apply and mine is None, mine=mine, mine_url=mine and _application_url(mine),
                           levels=LEVELS, localities=LOCALITIES, allocated=allocated_tiyn(order),
                           instrument=instrument, shows_instance=shows_instance, signs_only=signs_only,
                           ours=ours, window_open=order.window_is_open(clock.today()))


@bp.route("/orders/<int:order_id>/apply", methods=["POST"])
@login_required
def apply(order_id: int):
    order = visible_order(order_id)
    if current_user.role != instrument_of(order).accountant_role or current_user.organisation is None:
        abort(404)
    try:
        application = start_application(order, current_user.organisation, current_user)
        db.session.commit()
    except EngineError as err:
        db.session.rollback()
        flash(str(err), "danger")
        return redirect(url_for("orders.show", order_id=order.id))
    except IntegrityError:  # a double click: the first request created the application
        db.session.rollback()
        flash(_("Your school has already applied to this order."), "warning")
        return redirect(url_for("orders.show", order_id=order.id))
    return redirect(_application_url(application))


def _application_url(application: Application) -> str:
    """Where the applicant goes on: its form while it is open (a task of the applicant's role), else the
    application's page (a submitted application's open task is the department's)."""
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == application.instance_id,
                                                      HumanTask.status == "open",
                                                      HumanTask.role == current_user.role)).first()
    return url_for("inbox.task", task_id=task.id) if task else url_for("applications.show",
                                                                       application_id=application.id)
