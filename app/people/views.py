from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select

from app.database import get_by_id
from app.extensions import db, login_manager
from app.limits import login_limits, password_change_limits, remember_device
from app.people import operations, sessions
from app.people.forms import ChangePasswordForm, LoginForm
from app.people.models import User, spend_a_password_check
from app.people.passwords import password_problems
from app.people.tokens import bearer_secret
from app.security import cookie_secure
from app.user_input import ascii_int, is_local_path, login_name

bp = Blueprint("people", __name__)
login_manager.login_view = "people.login"
login_manager.login_message = None


@login_manager.unauthorized_handler
def _to_login():
    """Not logged in: to the login page, and back here after it. A login that has ended (idle, too old, logged out
    elsewhere) is said so — a form sent then was not saved; the task page offers its entries back after login."""
    fetch_mode = request.headers.get("Sec-Fetch-Mode")
    # A person's own page or form — the modeler's form editor's address ends in ".schema.json" too: opening or
    # sending it after the login ended answered {"code": 401, …} in place of the login page, the form's JSON lost.
    navigation = fetch_mode == "navigate" or (not fetch_mode and not request.headers.get("HX-Request") and
                                              request.mimetype in ("application/x-www-form-urlencoded",
                                                                   "multipart/form-data"))
    if request.path.startswith("/api/") or not navigation and (
            request.path.endswith((".json", ".bpmn")) or (fetch_mode and fetch_mode != "navigate")
            or request.accept_mimetypes.best == "application/json"):
        # A page's own background request (the bell's poll, the diagram's fetch): no login page — it would use up
        # the "session ended" message where nobody sees it — and the message is kept for the next page. An htmx
        # request is sent on to the login page as a whole (its fragment would have been the login form).
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": url_for("people.login", next=request.referrer and _local_referrer())}
        abort(401)
    # A form sent without a login is one whose login ended meanwhile, even with no mark of it left: a logout in
    # another tab empties the session, and the form went to the login page with no word that nothing was saved.
    if session.pop(sessions.ENDED, None) or (request.method == "POST" and request.endpoint != "people.logout"):
        flash(_("Your session has ended (%(minutes)s minutes without activity, or a logout elsewhere): log in "
                "again.", minutes=current_app.config["SESSION_IDLE_MINUTES"])
              + (" " + _("What you sent was not saved; the form offers your entries back.")
                 if request.method == "POST" else ""), "warning")
    # A form's address keeps its query: the dormitory order's form (/orders/new?instrument=dormitory) sent after the
    # login ended came back as the schools' order form.
    target = request.full_path
    return redirect(url_for("people.login", next=target.rstrip("?")))


def _local_referrer() -> str | None:
    """The page a background request came from, as a path of this site (for the login's ``next``), or None."""
    from urllib.parse import urlsplit

    parts = urlsplit(request.referrer or "")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if parts.netloc == request.host and is_local_path(path) else None


@bp.post("/session/alive")
@login_required
def keep_alive():
    """Typing into a long form is activity the server does not see: the page says so here (at most every few
    minutes), so the session does not end while someone is still working on an act."""
    return {"idle_minutes": current_app.config["SESSION_IDLE_MINUTES"]}


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # An API call with a bearer token is that token's user only, whatever cookie came with it.
    if g.get("api_token") is not None or bearer_secret() is not None:
        return None
    user_key = ascii_int(user_id)
    user = get_by_id(_USER_BY_ID, User, user_key) if user_key is not None else None
    if user is None or not sessions.still_valid(user):
        sessions.forget(ended=True)
        return None
    return user


_USER_BY_ID = select(User).where(User.id == bindparam("id"))  # with the organisation (joined), built once


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: no open redirect through ?next=."""
    if is_local_path(target):
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
@login_limits
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalars(select(User).where(User.username == login_name(form.username.data))).first()
        if user is not None and user.active:
            password_ok = user.check_password(form.password.data)
        else:
            # The same argon2 work as for a real account, so the answer's timing does not tell who exists.
            spend_a_password_check(form.password.data)
            password_ok = False
        if password_ok:
            session.pop(sessions.ENDED, None)
            login_user(user)
            sessions.stamp(user)
            operations.record_login(user)
            db.session.commit()
            return remember_device(redirect(_safe_next(request.args.get("next"))), user.username)
        # Said on the page beside the password, not flashed: a flashed alert took the focus, and a keyboard user
        # tabbed twice to type the password again. The password field takes the focus, the alert describes it.
        refused = _("Wrong login or password.") + " " + _("Check the keyboard layout and Caps Lock; if you have "
                                                          "forgotten your password, your administrator can reset it.")
        return render_template("people/login.html", form=form, refused=refused), 401
    return render_template("people/login.html", form=form), 401 if request.method == "POST" else 200


@bp.post("/logout")
@login_required
def logout():
    operations.end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    sessions.forget()
    response = redirect(url_for("people.login"))
    # What the browser kept of the work goes with the login: a task form's entries in the tab's session storage (a
    # submitted act's children, kept once sent so an ended login's submission can be offered back). The cookies
    # stay (the chosen language, the device the login limits know); the cache holds nothing of a signed-in person's
    # (app/security.py: no-store).
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@password_change_limits
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if not user.check_password(form.current_password.data):
            form.current_password.errors.append(_("This is not your current password."))
            g.wrong_current_password = True  # counted by the throttle (app/limits.py)
        else:
            problems = password_problems(form.new_password.data, user.username)
            if user.check_password(form.new_password.data):
                problems.append(_("The new password must differ from the current one."))
            if problems:
                form.new_password.errors.extend(problems)
            else:
                operations.change_password(user, form.new_password.data)
                db.session.commit()
                # Every other session ended; this one proved the password and goes on.
                sessions.restamp_version(user)
                flash(_("Your password was changed. Other devices have been logged out."), "success")
                return redirect(url_for("people.change_password"))
    status = 422 if request.method == "POST" else 200
    return render_template("people/password.html", form=form,
                           min_length=current_app.config["PASSWORD_MIN_LENGTH"]), status


@bp.post("/locale")
def set_locale():
    locale = request.form.get("locale", "")
    response = redirect(_safe_next(request.form.get("next")))
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
        # The choice outlives the session: an expired session's pages (the login, "session expired") had come back
        # in the browser's language, not the one the person chose. Not secret; read by select_locale.
        response.set_cookie("locale", locale, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=cookie_secure())
    return response


@bp.route("/")
def home():
    return redirect(url_for("inbox.index"))
