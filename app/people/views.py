from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select

from app.audit.operations import record_event
from app.database import get_by_id
from app.extensions import db, login_manager
from app.people.forms import LoginForm
from app.people.models import User

bp = Blueprint("people", __name__)
login_manager.login_view = "people.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return get_by_id(_USER_BY_ID, User, int(user_id)) if user_id.isdigit() else None


_USER_BY_ID = select(User).where(User.id == bindparam("id"))  # with the organisation (joined), built once


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: no open redirect through ?next=."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("inbox.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalars(select(User).where(User.username == form.username.data.strip())).first()
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user)
            record_event(f"user:{user.id}", "user.login", "user", user.id, actor_id=user.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong login or password."), "danger")
    return render_template("people/login.html", form=form), 401 if request.method == "POST" else 200


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("people.login"))


@bp.post("/locale")
def set_locale():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
def home():
    return redirect(url_for("inbox.index"))
