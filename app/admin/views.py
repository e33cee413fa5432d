"""Administration pages. Administrators change users, organisations and regions; auditors read them and run
the audit-chain check. Thin: check the role, call an operation (it validates and audits), commit, render."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from app.admin import operations as ops
from app.audit import checks as audit_checks
from app.audit.models import AuditCheck, AuditEvent
from app.engine.errors import DomainRefused
from app.extensions import db
from app.i18n import format_day
from app.jobs import FAILURE_REASONS
from app.limits import password_change_limits
from app.listing import searched_bin
from app.people import sessions
from app.people import substitutions as subs
from app.people.models import Organisation, Region, User
from app.people.roles import ROLE_LABELS, Role
from app.user_input import calendar_date, page_number, whole_number

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50
READERS = {Role.ADMIN.value, Role.AUDITOR.value}


def _require_reader() -> None:
    if current_user.role not in READERS:
        abort(403)


def _require_admin() -> None:
    if current_user.role != Role.ADMIN.value:
        abort(403)


def _get(model, ident: int):
    record = db.session.get(model, ident)
    if record is None:
        abort(404)
    return record


@bp.app_context_processor
def _labels() -> dict:
    return {"is_admin": lambda: current_user.is_authenticated and current_user.role == Role.ADMIN.value}


@bp.before_app_request
def _forced_password_change():
    """After an administrator set a temporary password, the person must choose their own before anything else."""
    if (current_user.is_authenticated and getattr(current_user, "must_change_password", False)
            and request.endpoint not in ("admin.change_password", "people.logout", "people.set_locale", "static",
                                         "vendor.asset")):
        if request.method != "GET" or request.endpoint is None:
            abort(403)
        return redirect(url_for("admin.change_password"))
    return None


#: what an auditor may POST: their own session, password and read marks, and checks that change nothing
#: what an auditor may POST: their own session, language, password and read-only API tokens, notes, previews
AUDITOR_MAY_POST = frozenset({"people.login", "people.logout", "people.set_locale", "admin.change_password",
                              "people.change_password", "tokens.index", "tokens.revoke",
                              "admin.audit", "modeler.form_preview", "notifications.open_note",
                              "notifications.read_all"})


@bp.before_app_request
def _auditors_read_only():
    """Auditors read everything and change nothing (DESIGN §1) — enforced once, for every route and the API,
    so a write route added later is closed to them by default; each operation may check again."""
    if (request.method not in ("GET", "HEAD", "OPTIONS") and current_user.is_authenticated
            and current_user.role == Role.AUDITOR.value and request.endpoint not in AUDITOR_MAY_POST):
        abort(403)
    return None


@bp.route("/")
@login_required
def index():
    _require_reader()
    counts = {"users": db.session.scalar(select(func.count()).select_from(User)),
              "organisations": db.session.scalar(select(func.count()).select_from(Organisation)),
              "regions": db.session.scalar(select(func.count()).select_from(Region))}
    return render_template("admin/index.html", counts=counts)


# -- users ------------------------------------------------------------------------------------------------------
@bp.route("/users")
@login_required
def users():
    _require_reader()
    q = (request.args.get("q") or "").strip()[:80]
    page = page_number(request.args)
    query = select(User).order_by(User.username)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(User.username.ilike(like), User.full_name.ilike(like)))
    rows = list(db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    return render_template("admin/users.html", users=rows[:PAGE_SIZE], q=q, page=page,
                           has_next=len(rows) > PAGE_SIZE)


def _choices() -> dict:
    return {"roles": [(r.value, ROLE_LABELS[r], ops.role_scope(r.value)) for r in Role],
            "organisations": list(db.session.scalars(select(Organisation).order_by(Organisation.kind,
                                                                                    Organisation.name))),
            "regions": list(db.session.scalars(select(Region).order_by(Region.code))),
            "kinds": ops.ORG_KINDS}


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    _require_reader()
    errors: dict = {}
    if request.method == "POST":
        _require_admin()
        try:
            user, temporary = ops.create_user(request.form, current_user)
        except ops.Invalid as err:
            db.session.rollback()
            errors = err.errors
        else:
            db.session.commit()
            return _shown_once(user, _("Account %(login)s created. Temporary password (shown once, hand it over): "
                                       "%(pw)s", login=user.username, pw=temporary))
    return render_template("admin/user.html", user=None, values=request.form, errors=errors, **_choices()), \
        422 if errors else 200


def _user_values(user: User) -> dict:
    return {"full_name": user.full_name, "email": user.email or "", "role": user.role,
            "organisation_id": str(user.organisation_id or "")}


def _shown_once(user: User, message: str):
    """The user's page with a temporary password on it, answered to the POST that made it: not flashed (the flash
    travels in the session cookie, signed but readable, and would be kept wherever cookies are), and never cached."""
    response = current_app.make_response(render_template(
        "admin/user.html", user=user, values=_user_values(user), errors={}, shown_once=message, **_choices(),
        **_deputies_and_history(user)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user(user_id: int):
    _require_reader()
    user = _get(User, user_id)
    errors: dict = {}
    if request.method == "POST":
        _require_admin()
        try:
            released = ops.update_user(user, request.form, current_user)
        except ops.Invalid as err:
            db.session.rollback()
            errors = err.errors
            user = _get(User, user_id)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            _say_released(released)
            return redirect(url_for("admin.user", user_id=user.id))
    values = request.form if errors else _user_values(user)
    return render_template("admin/user.html", user=user, values=values, errors=errors, **_choices(),
                           **_deputies_and_history(user)), 422 if errors else 200


#: how many of a person's latest audit events their page lists (newest first; logins included)
HISTORY_SHOWN = 50


def _deputies_and_history(user: User, typed: dict | None = None, refused: str | None = None) -> dict:
    """What the person's page shows below their account: who stands in for them or for whom they stand in, the form
    with which an administrator names a deputy for someone away (on leave, ill: they cannot name one themselves), and
    the latest events of the person's audit chain — who created, changed, deactivated them, named their deputies."""
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{user.id}")
                                     .order_by(AuditEvent.seq.desc()).limit(HISTORY_SHOWN + 1)))
    return {"substitutions": subs.substitutions_of(user), "deputy_candidates": subs.deputy_candidates(user),
            "deputy_typed": typed or {}, "deputy_refused": refused, "history": events[:HISTORY_SHOWN],
            "history_cut": len(events) > HISTORY_SHOWN}


@bp.post("/users/<int:user_id>/deputies")
@login_required
def name_deputy(user_id: int):
    """An administrator names a deputy for this person (same organisation, same role: app.people.substitutions)."""
    _require_admin()
    user = _get(User, user_id)
    try:
        sub = subs.create_substitution(user, whole_number(request.form, "deputy_id", lenient=True),
                                       calendar_date((request.form.get("starts_on") or "").strip(), day_first=True),
                                       calendar_date((request.form.get("ends_on") or "").strip(), day_first=True),
                                       current_user)
    except DomainRefused as err:
        db.session.rollback()
        user = _get(User, user_id)
        return render_template("admin/user.html", user=user, values=_user_values(user), errors={}, **_choices(),
                               **_deputies_and_history(user, request.form, str(err))), 422
    db.session.commit()
    flash(_("%(deputy)s stands in for %(name)s from %(start)s to %(end)s: they see and complete %(name)s's tasks, "
            "recorded as done on their behalf.", deputy=sub.deputy.full_name, name=user.full_name,
            start=format_day(sub.starts_on, "medium"), end=format_day(sub.ends_on, "medium")), "success")
    return redirect(url_for("admin.user", user_id=user.id, _anchor="deputies"), 303)


@bp.post("/substitutions/<int:sub_id>/end")
@login_required
def end_deputy(sub_id: int):
    """An administrator ends a substitution from the principal's page (or the deputy's: ``user_id`` says which)."""
    _require_admin()
    sub = db.session.get(subs.Substitution, sub_id)
    if sub is None:
        abort(404)
    shown = whole_number(request.form, "user_id", lenient=True)
    user_id = shown if shown in (sub.principal_id, sub.deputy_id) else sub.principal_id
    try:
        subs.revoke_substitution(sub, current_user)
    except DomainRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        db.session.commit()
        flash(_("Substitution ended."), "success")
    return redirect(url_for("admin.user", user_id=user_id, _anchor="deputies"), 303)


def _say_released(released: int) -> None:
    if released:
        flash(ngettext("%(num)s task this person had claimed went back to their group.",
                       "%(num)s tasks this person had claimed went back to their group.", released), "info")


@bp.post("/users/<int:user_id>/active")
@login_required
def set_active(user_id: int):
    _require_admin()
    user = _get(User, user_id)
    try:
        released = ops.set_active(user, request.form.get("active") == "yes", current_user)
    except DomainRefused as err:
        db.session.rollback()
        flash(str(err), "danger")
    else:
        db.session.commit()
        flash(_("The account is active.") if user.active else _("The account is deactivated."), "success")
        _say_released(released)
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/reset-password")
@login_required
def reset_password(user_id: int):
    _require_admin()
    user = _get(User, user_id)
    temporary = ops.reset_password(user, current_user)
    db.session.commit()
    return _shown_once(user, _("New temporary password for %(login)s (shown once; they must change it at login): "
                               "%(pw)s", login=user.username, pw=temporary))


@bp.route("/password", methods=["GET", "POST"])
@login_required
@password_change_limits
def change_password():
    errors: dict = {}
    if request.method == "POST":
        try:
            ops.change_own_password(current_user, request.form.get("current", ""), request.form.get("new", ""),
                                    request.form.get("repeat", ""))
        except ops.Invalid as err:
            db.session.rollback()
            errors = err.errors
            g.wrong_current_password = "current" in errors  # counted by the throttle (app/limits.py)
        else:
            db.session.commit()
            # Every other session ended and the API tokens were revoked; this one proved the password and goes on.
            sessions.restamp_version(current_user._get_current_object())
            flash(_("Your password was changed."), "success")
            return redirect(url_for("inbox.index"))
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    return render_template("admin/password.html", errors=errors, min_length=minimum), 422 if errors else 200


# -- organisations and regions ----------------------------------------------------------------------------------
@bp.route("/organisations")
@login_required
def organisations():
    _require_reader()
    q = (request.args.get("q") or "").strip()[:80]
    page = page_number(request.args)
    query = select(Organisation).order_by(Organisation.kind, Organisation.name)
    if q:
        query = query.where(or_(Organisation.bin == searched_bin(q),
                                Organisation.name.ilike(f"%{q.replace('%', '')}%")))
    rows = list(db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    return render_template("admin/organisations.html", organisations=rows[:PAGE_SIZE], q=q, page=page,
                           has_next=len(rows) > PAGE_SIZE)


@bp.route("/organisations/new", methods=["GET", "POST"], defaults={"org_id": None})
@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
@login_required
def organisation(org_id: int | None):
    _require_reader()
    org = _get(Organisation, org_id) if org_id else None
    errors: dict = {}
    if request.method == "POST":
        _require_admin()
        try:
            org = ops.save_organisation(org, request.form, current_user)
        except ops.Invalid as err:
            db.session.rollback()
            errors = err.errors
            org = _get(Organisation, org_id) if org_id else None
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.organisation", org_id=org.id))
    values = request.form if errors or org is None else {
        "kind": org.kind, "bin": org.bin, "name": org.name, "region_id": str(org.region_id or ""),
        "design_capacity": str(org.design_capacity or ""), "iban": org.iban or ""}
    return render_template("admin/organisation.html", org=org, values=values, errors=errors, **_choices()), \
        422 if errors else 200


@bp.route("/regions")
@login_required
def regions():
    _require_reader()
    return render_template("admin/regions.html", regions=db.session.scalars(select(Region).order_by(Region.code)).all())


@bp.route("/regions/new", methods=["GET", "POST"], defaults={"region_id": None})
@bp.route("/regions/<int:region_id>", methods=["GET", "POST"])
@login_required
def region(region_id: int | None):
    _require_reader()
    region = _get(Region, region_id) if region_id else None
    errors: dict = {}
    if request.method == "POST":
        _require_admin()
        try:
            region = ops.save_region(region, request.form, current_user)
        except ops.Invalid as err:
            db.session.rollback()
            errors = err.errors
            region = _get(Region, region_id) if region_id else None
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.regions"))
    values = request.form if errors or region is None else {
        "code": region.code, "name_kk": region.name_kk, "name_ru": region.name_ru, "name_en": region.name_en}
    return render_template("admin/region.html", region=region, values=values, errors=errors), 422 if errors else 200


# -- audit --------------------------------------------------------------------------------------------------------
@bp.route("/audit", methods=["GET", "POST"])
@login_required
def audit():
    """The audit-chain check: POST starts it as a background job (it reads every event: minutes at country scale,
    longer than a web worker may answer in) — or, while one runs, shows that one; the page shows the latest check,
    its progress while it runs and then its verdict."""
    _require_reader()
    if request.method == "POST":
        try:
            check, started = audit_checks.start_audit_check(current_user)
        except DomainRefused as err:
            db.session.rollback()
            flash(str(err), "warning")
            return redirect(url_for("admin.audit")), 303
        db.session.commit()
        if not started:
            flash(_("A check of the audit trail is already running; it is shown below."), "info")
        elif getattr(check, "background_unreachable", False):
            from app.registry.jobs import background_unreachable_message

            flash(background_unreachable_message(), "warning")
        return redirect(url_for("admin.audit")), 303
    check = audit_checks.latest_check()
    verdict = None if check is None or check.status == "done" else audit_checks.latest_check("done")
    return render_template("admin/audit.html", check=check, verdict=verdict, people=_starters(check, verdict),
                           reasons=FAILURE_REASONS, kept=audit_checks.PROBLEMS_KEPT)


@bp.route("/audit/checks/<int:check_id>/progress")
@login_required
def audit_progress(check_id: int):
    _require_reader()
    check = _get(AuditCheck, check_id)
    return render_template("admin/_audit_check.html", check=check, people=_starters(check), reasons=FAILURE_REASONS,
                           kept=audit_checks.PROBLEMS_KEPT, progress_answer=True)


def _starters(*checks) -> dict:
    """Who started each check, by id (a check started by no one — the command line — has none)."""
    ids = {c.created_by_id for c in checks if c is not None and c.created_by_id is not None}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
