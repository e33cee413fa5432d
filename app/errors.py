from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError

from app.extensions import db


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        db.session.rollback()
        if _wants_json():
            return {"code": status, "status": title, "message": message}, status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return page(400, _("Session expired"),
                    _("The form was too old or did not come from this site. Reload the page and try again."))

    # A number too large for its column (PostgreSQL: numeric value out of range; SQLite's driver: Python
    # int too large) that no field check caught: the user's input, not our failure — nothing is saved.
    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def out_of_range(err):
        return page(422, _("Invalid input"), _("A value is too large or not valid for this field. Nothing was saved."))

    @app.errorhandler(403)
    def forbidden(err):
        return page(403, _("Not allowed"), _("You do not have access to this page."))

    @app.errorhandler(404)
    def not_found(err):
        return page(404, _("Not found"), _("There is no such page, or you do not have access to it."))

    @app.errorhandler(405)
    def not_allowed(err):
        return page(405, _("Not allowed"), _("This action is not available here."))

    @app.errorhandler(413)
    def too_large(err):
        return page(413, _("Too large"), _("The upload is too large."))

    @app.errorhandler(500)
    def server_error(err):
        return page(500, _("Something went wrong"),
                    _("The error was logged. Nothing was saved; please try again later."))
