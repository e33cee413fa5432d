from __future__ import annotations

import re

from babel.numbers import format_decimal
from flask import Flask, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from marshmallow import validate as ma_validate
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.routing import RequestRedirect

from app.api.errors import error_response
from app.extensions import db

#: marshmallow's fixed messages of a request's fields (the API's 422), as the reader's language says them: a
#: Russian integration read "Запрос некорректен; см. ошибки по каждому полю." over "Not a valid integer."
FIELD_WORDS = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field is required."),
    "Invalid value.": _l("Not a valid value."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid number.": _l("Enter a number."),
    "Number too large.": _l("Enter a number."),
    "Special numeric values (nan or infinity) are not permitted.": _l("Enter a number."),
    "Not a valid date.": _l("Enter a date as YYYY-MM-DD."),
    "Not a valid datetime.": _l("Enter a date and time as YYYY-MM-DDTHH:MM:SS+05:00."),
    "Not a valid string.": _l("Enter text."),
    "Not a valid boolean.": _l("Enter true or false."),
    "Not a valid list.": _l("Enter a list."),
    "Not a valid mapping type.": _l("Enter an object."),
    "Invalid input type.": _l("Enter an object."),
    "Unknown field.": _l("Unknown field: the request does not take it."),
}


def _bounds(template: str) -> re.Pattern:
    """marshmallow's sentence with values (``"Must be greater than or equal to {min} and ..."``) as a pattern that
    reads the values back out of the sentence marshmallow wrote."""
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(template)) + r"\Z")


_AT_LEAST = ma_validate.Range.message_min.format(min_op=ma_validate.Range.message_gte)
_AT_MOST = ma_validate.Range.message_max.format(max_op=ma_validate.Range.message_lte)
_FROM_TO = ma_validate.Range.message_all.format(min_op=ma_validate.Range.message_gte,
                                                max_op=ma_validate.Range.message_lte)
#: marshmallow's sentences that carry the bounds a value broke ("Longer than maximum length 1000.", "Must be greater
#: than or equal to 1 and less than or equal to 500."), said with those bounds in the reader's language — the fixed
#: sentences above were translated and these stayed English in a Kazakh or Russian answer
FIELD_BOUNDS = [
    (_bounds(_FROM_TO), _l("Enter a number from %(min)s to %(max)s.")),
    (_bounds(_AT_LEAST), _l("Enter a number of at least %(min)s.")),
    (_bounds(_AT_MOST), _l("Enter a number of at most %(max)s.")),
    (_bounds(ma_validate.Length.message_all), _l("Enter from %(min)s to %(max)s characters.")),
    (_bounds(ma_validate.Length.message_min), _l("Enter at least %(min)s characters.")),
    (_bounds(ma_validate.Length.message_max), _l("Enter at most %(max)s characters.")),
    (_bounds(ma_validate.Length.message_equal), _l("Enter exactly %(equal)s characters.")),
    (_bounds(ma_validate.OneOf.default_message), _l("Choose one of: %(choices)s.")),
]


def _value_words(value: str) -> str:
    """A whole number as the reader's language writes it (100 000, not 100000); anything else as it is."""
    if re.fullmatch(r"-?[0-9]+", value):
        return format_decimal(int(value), locale=str(get_locale()))
    return value


def _sentence(message: str) -> str:
    if message in FIELD_WORDS:
        return str(FIELD_WORDS[message])
    for pattern, words in FIELD_BOUNDS:
        found = pattern.match(message)
        if found:
            return str(words) % {name: _value_words(value) for name, value in found.groupdict().items()}
    return message


def field_words(errors):
    """The errors per field with marshmallow's own sentences in the reader's language (others as they are)."""
    if isinstance(errors, dict):
        return {key: field_words(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [field_words(value) for value in errors]
    if isinstance(errors, str):
        return _sentence(errors)
    return errors


def _wants_json() -> bool:
    """The JSON API, and the address of a JSON file (the open data's OCDS packages): a program reads the answer, an
    HTML error page in place of the file it parses helps no one."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def _headers(err) -> dict:
    """The headers an HTTP error must keep (``Allow`` on 405, ``Retry-After`` on 429, ``WWW-Authenticate``)."""
    if not isinstance(err, HTTPException):
        return {}
    return {name: value for name, value in err.get_headers() if name.lower() != "content-type"}


def _address_without_trailing_slash(app: Flask) -> str | None:
    """The same address without its trailing slash, when routing found nothing for the address and a route
    answers it without the slash; otherwise None (a view's own 404 stays a 404)."""
    path = request.path
    if request.url_rule is not None or len(path) < 2 or not path.endswith("/") or "//" in path:
        return None
    if request.method not in ("GET", "HEAD"):
        return None
    adapter = app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(path[:-1], method=request.method)
    except RequestRedirect:
        return None
    except HTTPException:  # NotFound, MethodNotAllowed: no page there either
        return None
    query = request.query_string.decode("latin-1")
    return request.script_root + path[:-1] + (f"?{query}" if query else "")


#: a status's name and words in the reader's language, for an answer whose view said nothing of its own: Werkzeug's
#: are English ("409 · Conflict — A conflict happened while processing the request", on a Kazakh page, for a file
#: sent to a task a colleague had completed meanwhile)
_STATUS_WORDS = {
    400: (_l("Invalid input"), _l("The request could not be read. Reload the page and try again.")),
    409: (_l("Changed meanwhile"),
          _l("Someone else changed this at the same time. Reload the page to see the current state.")),
    410: (_l("Not found"), _l("There is no such page, or you do not have access to it.")),
}
_REFUSED = (_l("Request refused"), _l("The request could not be completed. Reload the page and try again."))


def status_words(err: HTTPException) -> tuple[str, str]:
    """(title, message) of an HTTP error in the reader's language: the view's own description if it gave one (it is
    written in the reader's language), else the status's words."""
    title, message = _STATUS_WORDS.get(err.code, _REFUSED)
    own = err.description and err.description != type(err).description
    return str(title), (err.description if own else str(message))


def register_error_handlers(app: Flask) -> None:
    def page(status: int, title: str, message: str, err=None, errors: dict | None = None, headers: dict | None = None):
        db.session.rollback()
        headers = {**_headers(err), **(headers or {})}
        if _wants_json():
            return error_response(status, message, errors, headers)
        return render_template("error.html", status=status, title=title, message=message), status, headers

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        # A page's form sent after its login cookie was gone (a browser that dropped it, a new secret key): the form
        # was answered "Session expired — reload the page", and a reload sent it again to the same answer. With no
        # login, it is the login's end: the login page says what was not saved, then the task offers it back.
        from flask_login import current_user

        from app.extensions import login_manager

        # not the login form itself, nor a logout (its address, as the login's "next", would end the new login)
        if (not current_user.is_authenticated and request.method == "POST"
                and request.endpoint not in ("people.login", "people.logout") and not request.path.startswith("/api/")):
            db.session.rollback()
            try:
                return login_manager.unauthorized()
            except HTTPException:
                pass  # a page's own background request (the form editor's save): answered as before, below
        return page(400, _("Session expired"),
                    _("The form was too old or did not come from this site. Reload the page and try again."))

    # A number too large for its column (PostgreSQL: numeric value out of range; SQLite's driver: Python
    # int too large) that no field check caught: the user's input, not our failure — nothing is saved.
    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def out_of_range(err):
        return page(422, _("Invalid input"), _("A value is too large or not valid for this field. Nothing was saved."))

    @app.errorhandler(SecurityError)
    def untrusted_host(err):
        # A Host outside TRUSTED_HOSTS: no page can be drawn (its links would be built from that host), only this.
        db.session.rollback()
        return _("Unknown host."), 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(403)
    def forbidden(err):
        return page(403, _("Not allowed"), _("You do not have access to this page."))

    @app.errorhandler(404)
    def not_found(err):
        # A section's address typed or bookmarked with a trailing slash ("/registry/") leads to the section: the
        # routes are declared without it, and Flask's strict slashes would answer "no such page".
        without_slash = _address_without_trailing_slash(app)
        if without_slash:
            return redirect(without_slash, code=308)
        return page(404, _("Not found"), _("There is no such page, or you do not have access to it."))

    @app.errorhandler(405)
    def not_allowed(err):
        return page(405, _("Not allowed"), _("This action is not available here."), err)

    @app.errorhandler(413)
    def too_large(err):
        # The request is refused before a view reads it, so the views' own size messages never spoke: say the limit,
        # and for a registry file the way that has none.
        limit = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        if request.path.startswith("/registry/"):
            return page(413, _("Too large"), _("The file is larger than %(mb)s MB; import it with the command line "
                                               "instead (README: registry imports).", mb=limit))
        return page(413, _("Too large"), _("The upload is larger than %(mb)s MB.", mb=limit))

    @app.errorhandler(RateLimitExceeded)
    def too_many(err):
        # Retry-After (and the X-RateLimit headers) are added by Flask-Limiter after the handler.
        if request.endpoint == "people.login" and not _wants_json():
            from app.people.forms import LoginForm

            db.session.rollback()
            form = LoginForm()
            return render_template("people/login.html", form=form, throttled=True), 429
        if request.blueprint == "public":  # the portal's visitors and open data clients, counted per address
            return page(429, _("Too many requests"),
                        _("Too many requests from your address. Wait a little and try again."), err)
        return page(429, _("Too many attempts"), _("Too many attempts. Wait a little and try again."), err)

    @app.errorhandler(IntegrityError)
    @app.errorhandler(StaleDataError)
    def lost_race(err):
        app.logger.warning("refused write answered as a conflict: %s", err)
        # A uniqueness or version guard refused the write: someone else's change came first (a lost race),
        # and the answer is the same 409 as the engine's conflict, with nothing written.
        return page(409, _("Changed meanwhile"),
                    _("Someone else changed this at the same time. Reload the page to see the current state."))

    @app.errorhandler(OperationalError)
    def record_held(err):
        from app.database import commit_was_sent, error_first_line, held_elsewhere, lock_wait_limit, statement_timed_out

        if statement_timed_out(err):
            return took_too_long(err)
        if not held_elsewhere(err):
            raise err  # the database down or failing: the 500 page, its traceback logged
        # A row this request had to write was held by another transaction past REQUEST_LOCK_TIMEOUT_SECONDS (another
        # person's request saving the same act, a job, a transaction left open): the request is rolled back whole and
        # the person tries again — it had waited, holding its worker thread, for as long as that transaction lasted.
        app.logger.warning("request gave up waiting for a row another transaction holds: %s", error_first_line(err))
        title = _("Someone else is saving this")
        if commit_was_sent():  # an earlier transaction of this request was committed: not "nothing was saved"
            message = _("Someone else was saving a record this needed just now, so it stopped before its end. Reload "
                        "the page to see what was saved before you try again.")
        else:
            message = _("Someone else is saving this record just now, so nothing was saved. Try again in a moment.")
        return page(503, title, message, headers={"Retry-After": str(max(1, round(lock_wait_limit())))})

    def took_too_long(err):
        from app.database import commit_was_sent, error_first_line

        # A statement of this request ran past DATABASE_STATEMENT_TIMEOUT_SECONDS (app.database): the request is
        # rolled back whole and the person tries again — it had held a web worker for as long as the query ran.
        app.logger.warning("request stopped: a statement ran past its time limit: %s (%s %s)", error_first_line(err),
                           request.method, request.path)
        if commit_was_sent():  # an earlier transaction of this request was committed: not "nothing was saved"
            message = _("The database took too long to answer, so the request stopped before its end. Reload the "
                        "page to see what was saved before you try again.")
        else:
            message = _("The database took too long to answer, so the request was stopped and nothing was saved. "
                        "Try again in a moment; if it happens again, tell the administrator.")
        return page(503, _("This took too long"), message, headers={"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def other_http_error(err):
        # Everything else (401, 400, 422 from the API's argument parsing, ...) in the same two shapes.
        data = getattr(err, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        title, words = status_words(err)
        message = data.get("message") or words
        if err.code == 401:
            message = _("Log in, or send a valid API token.")
            if _wants_json():  # RFC 6750: a 401 names the scheme it wants, with or without a token sent
                response = page(401, title, message, err, errors)
                response.headers.setdefault("WWW-Authenticate", 'Bearer realm="Tapsyrys API"')
                return response
        elif err.code == 422:
            message = _("The request is not valid; see the errors per field.")
            errors = field_words(errors)
        return page(err.code or 500, title, message, err, errors)

    @app.errorhandler(500)
    def server_error(err):
        from app.database import commit_was_sent

        if commit_was_sent():
            # The connection broke at (or after) COMMIT: the server may have stored the change and only its answer
            # been lost. "Nothing was saved" made an operator pay an act again that had been paid.
            return page(500, _("Something went wrong"),
                        _("The error was logged. It happened after your change was sent to the database to be saved, "
                          "so whether it was saved is unknown. Reload the page to see the current state before you "
                          "try again."))
        return page(500, _("Something went wrong"),
                    _("The error was logged. Nothing was saved; please try again later."))
