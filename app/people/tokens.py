"""API tokens for machine clients (integrations): per user, scoped, stored as a hash, expiring, revocable.

A token acts as its user — the same scope checks as the user's session — but only on ``/api/`` and only
for the operations its scopes name. Requests that bring a bearer token need no CSRF token (a browser
never attaches one cross-site); every other state-changing request still does (:func:`_guard_request`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import DateTime, ForeignKey, String, bindparam, func, select
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship
from wtforms import IntegerField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from app import clock
from app.audit.operations import record_event
from app.extensions import csrf, db, login_manager
from app.people.models import User

TOKEN_PREFIX = "tps_"  # noqa: S105 - a marker that makes leaked tokens easy to find, not a secret

#: What each scope lets a token do. Reading (GET/HEAD of any API route) is ``read``; a state-changing API
#: route must be listed in WRITE_SCOPES, otherwise no token may call it (a new route is closed by default).
SCOPES = {
    "read": _l("Read everything the user may see through the API"),
    "tasks": _l("Complete the user's tasks (acts, acceptance, payment)"),
    "contracts": _l("Sign contracts (the password is still asked) and amend them"),
}
WRITE_SCOPES = {"api.complete": "tasks", "api.review_line": "tasks", "lifecycle_api.sign": "contracts",
                "lifecycle_api.amend": "contracts"}


class ApiToken(db.Model):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters, to tell tokens apart in the list; the rest exists only at its owner's.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())

    def is_usable(self, now: datetime) -> bool:
        expires = self.expires_at if self.expires_at.tzinfo else self.expires_at.replace(tzinfo=now.tzinfo)
        return self.revoked_at is None and expires > now


# --- operations ---------------------------------------------------------------------------------------

def hash_token(secret: str) -> str:
    # A token is 256 random bits, not a password a person chose: SHA-256 cannot be reversed by guessing,
    # and it lets every API request find its row by one indexed equality.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user: User, name: str, scopes: list[str], days: int) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token itself, which is shown once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(user_id=user.id, name=name, prefix=secret[:10], token_hash=hash_token(secret),
                     scopes=" ".join(sorted(set(scopes) & SCOPES.keys())), created_at=now,
                     expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    record_event(f"user:{user.id}", "api_token.created", "api_token", token.id, actor_id=user.id,
                 details={"name": name, "scopes": token.scopes, "expires_at": token.expires_at.isoformat()})
    return token, secret


#: tokens that work (neither revoked nor expired) one person may hold: each is a way into the API, listed on their
#: page, and the page made any number of them
MAX_USABLE_TOKENS = 20


def usable_tokens(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > clock.now()))


def revoke_tokens_of(user: User, why: str) -> int:
    """Revoke every usable token of ``user`` — when their password is changed or reset: a token made on a
    compromised account must not outlive the recovery (the sessions end at the same moment). Audited with the
    count and ``why`` (the event that caused it)."""
    now = clock.now()
    revoked = db.session.execute(
        ApiToken.__table__.update().where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount
    if revoked:
        record_event(f"user:{user.id}", "api_tokens.revoked", "user", user.id, actor_id=user.id,
                     details={"count": revoked, "because": why})
    return revoked


def revoke_token(token: ApiToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        record_event(f"user:{token.user_id}", "api_token.revoked", "api_token", token.id, actor_id=actor.id,
                     details={"name": token.name})


# --- authentication of API requests ---------------------------------------------------------------------

_BY_HASH = (select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.organisation))
            .where(ApiToken.token_hash == bindparam("hash")))


def bearer_secret() -> str | None:
    """The bearer token of an API request, if it brings one (pages never accept tokens)."""
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and request.path.startswith("/api/"):
        return value.strip()
    return None


def _required_scope() -> str | None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    return WRITE_SCOPES.get(request.endpoint or "")


def _guard_request():
    """Before every request: a bearer token is checked (and replaces CSRF), anything else needs CSRF."""
    from app.limits import api_throttle

    secret = bearer_secret()
    if secret is None:
        # An anonymous API call has no session to ride on, so CSRF protects nothing there: it gets the
        # same 401 as a GET, not a 400 about a form.
        anonymous_api = request.path.startswith("/api/") and not current_user.is_authenticated
        if request.path.startswith("/api/"):  # per user on a session, per address without one
            limited = (api_throttle(f"address:{get_remote_address()}", "API_LIMIT_ANONYMOUS") if anonymous_api
                       else api_throttle(f"user:{current_user.get_id()}", "API_LIMIT"))
            if limited is not None:
                return limited
        if current_app.config.get("WTF_CSRF_ENABLED", True) and not anonymous_api:
            csrf.protect(apply_exemptions=True)
        return None
    from app.api.errors import error_response

    token = db.session.execute(_BY_HASH, {"hash": hash_token(secret)}).unique().scalar_one_or_none()
    if token is None or not token.is_usable(clock.now()) or not token.user.active:
        limited = api_throttle(f"address:{get_remote_address()}", "API_LIMIT_ANONYMOUS")
        if limited is not None:  # guessing at tokens, or an integration whose token has ended, from one address
            return limited
        response = error_response(401, _("The API token is unknown, expired or revoked."))
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    limited = api_throttle(f"token:{token.id}", "API_LIMIT")  # each token its own, whoever's user it is
    if limited is not None:
        return limited
    # Unrouted requests fall through to their own 404/405 answer.
    if request.endpoint is not None and _required_scope() not in token.scope_set:
        return error_response(403, _("This API token does not allow this operation."))
    g.api_token = token
    return None


@login_manager.request_loader
def _load_user_from_token(_request) -> User | None:
    token = g.get("api_token")
    return token.user if token is not None else None


# --- the page where a user creates and revokes tokens ----------------------------------------------------

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(FlaskForm):
    name = StringField(_l("Name (which integration uses it)"), validators=[DataRequired(), Length(max=100)])
    scopes = SelectMultipleField(_l("Allowed"), choices=[], validators=[DataRequired()],
                                 option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False))
    days = IntegerField(_l("Valid for (days)"), default=90, validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An auditor reads everything and changes nothing: a token of theirs may only read.
        reads_only = getattr(current_user, "role", None) == "auditor"
        self.scopes.choices = [(code, label) for code, label in SCOPES.items() if code == "read" or not reads_only]

    def validate_name(self, field) -> None:
        if usable_tokens(current_user) >= MAX_USABLE_TOKENS:
            raise ValidationError(_("You already have %(count)s tokens that work, the most one person can have. "
                                    "Revoke one you no longer use first.", count=MAX_USABLE_TOKENS))

    def validate_days(self, field) -> None:
        # Every token expires: the longest lifetime is a setting, not the user's choice.
        longest = current_app.config["API_TOKEN_MAX_DAYS"]
        if field.data is not None and not 1 <= field.data <= longest:  # None: not a number, already said
            raise ValidationError(_("Between %(min)s and %(max)s days.", min=1, max=longest))


def _my_tokens() -> list[ApiToken]:
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                              .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    form = TokenForm()
    shown_once = None
    if form.validate_on_submit():
        token, shown_once = create_token(current_user, form.name.data.strip(), form.scopes.data, form.days.data)
        db.session.commit()
        form = TokenForm(formdata=None)
    status = 422 if request.method == "POST" and shown_once is None else 200
    response = current_app.make_response((render_template(
        "people/tokens.html", form=form, tokens=_my_tokens(), shown_once=shown_once, scopes=SCOPES,
        now=clock.now()), status))
    # The page holding a token shown once must not be kept by the browser's or a proxy's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    # Another user's token is "not found", not "forbidden": its existence is not theirs to learn.
    if token is None or token.user_id != current_user.id:
        abort(404)
    revoke_token(token, current_user)
    db.session.commit()
    flash(_("The token “%(name)s” was revoked; it no longer works.", name=token.name), "success")
    return redirect(url_for("tokens.index"))


def init_tokens(app: Flask) -> None:
    app.before_request(_guard_request)
    app.register_blueprint(bp)
