"""The bell: list, open (mark read and go to the task), mark all read; the e-mail outbox page."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_pgettext as _lp
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification, OutboxEmail
from app.notifications.operations import mark_read, render_text, resend_failed, unread_count
from app.people.roles import Role
from app.user_input import ascii_int

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def index():
    notes = db.session.scalars(select(Notification).where(Notification.user_id == current_user.id)
                               .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(100)).all()
    return render_template("notifications/index.html", notes=notes, render_text=render_text)


@bp.post("/notifications/<int:note_id>/open")
@login_required
def open_note(note_id: int):
    note = db.session.get(Notification, note_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    mark_read(current_user, note.id)
    db.session.commit()
    if note.task_id:
        return redirect(url_for("inbox.task", task_id=note.task_id))
    if isinstance((note.params or {}).get("contract_id"), int):  # a contract amended: its page says how
        return redirect(url_for("contracts.show", contract_id=note.params["contract_id"]))
    if isinstance((note.params or {}).get("act_id"), int):  # an act accepted or paid: its page
        return redirect(url_for("acts.show", act_id=note.params["act_id"]))
    if isinstance((note.params or {}).get("application_id"), int):  # an application found not eligible
        return redirect(url_for("applications.show", application_id=note.params["application_id"]))
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/unread.json")
@login_required
def unread():
    """Polled by the bell (static/app.js) so the count stays current without reloading the page."""
    return {"unread": unread_count(current_user)}


@bp.post("/notifications/read-all")
@login_required
def read_all():
    mark_read(current_user)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/outbox")
@login_required
def outbox():
    """Stored e-mails: a user reads their own; an administrator reads everyone's."""
    query = select(OutboxEmail).order_by(OutboxEmail.id.desc())
    everyone = current_user.role == Role.ADMIN and request.args.get("all") == "1"
    if not everyone:  # withdrawn: about the scope the person left (withdraw_notices_of)
        query = query.where(OutboxEmail.user_id == current_user.id, OutboxEmail.status != "withdrawn")
    mails = db.session.scalars(query.limit(200)).all()
    return render_template("notifications/outbox.html", mails=mails, everyone=everyone, statuses=OUTBOX_STATUS)


@bp.post("/notifications/outbox/resend")
@login_required
def resend():
    """An administrator sends failed e-mails again: the ones chosen (``mail_id``), or every failed one (``all``)."""
    if current_user.role != Role.ADMIN:
        abort(403)
    ids = None if request.form.get("all") == "1" else [
        i for i in map(ascii_int, request.form.getlist("mail_id")) if i is not None]
    count = resend_failed(ids, current_user) if ids is None or ids else 0
    db.session.commit()
    flash(ngettext("%(num)s e-mail will be sent again on the next pass.",
                   "%(num)s e-mails will be sent again on the next pass.", count), "success" if count else "info")
    return redirect(url_for("notifications.outbox", all=1))


#: an e-mail's state in the outbox, as a person reads it
OUTBOX_STATUS = {"pending": _lp("e-mail", "waiting to be sent"), "sending": _lp("e-mail", "being sent"),
                 "sent": _lp("e-mail", "sent"),
                 "stored": _lp("e-mail", "kept here (no mail server configured)"), "failed": _lp("e-mail", "not sent"),
                 "withdrawn": _lp("e-mail", "withdrawn: the recipient moved")}


def init_notifications(app: Flask) -> None:
    import os
    from importlib import import_module

    import_module("app.notifications.receivers")  # connects the engine signals

    for key in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_FROM"):
        if os.environ.get(key) and key not in app.config:
            app.config[key] = os.environ[key]

    app.register_blueprint(bp)

    @app.context_processor
    def bell() -> dict:
        if not current_user.is_authenticated:
            return {"unread_notifications": 0}
        return {"unread_notifications": unread_count(current_user)}
