"""Web security in one place (issue 13 §2 and §4): response headers, bad-input guard, safe names and cells.

* Every response carries a Content-Security-Policy without inline script or inline style (our JavaScript and CSS
  live in ``app/static``; the JSON configuration blocks in templates are ``type="application/json"``, which a
  CSP does not run; the few pages that need an exact inline style name it by hash: app/content_policy.py),
  ``frame-ancestors 'none'``, ``X-Content-Type-Options: nosniff``, a
  ``Referrer-Policy``, and HSTS when the request came over HTTPS. A few lines instead of a library: we
  need no HTTPS redirect and no nonces.
* Bad input is refused before it reaches a view or the database, each class in one place:
  ids beyond PostgreSQL's ``integer`` in the URL (the ``int`` converter is bounded, so the route does
  not match → 404), in an id-like query/form field (→ 404/422) or JSON value (→ 422); control
  characters in the path, query, form, file names or JSON (→ 400 with a message). The database errors
  that remain possible (a number too large for its column) are answered in :mod:`app.errors`.
* :func:`clean_filename` strips control, bidi-override and invisible characters from names we store;
  :func:`spreadsheet_cell` keeps a CSV/XLSX cell that starts like a formula as text;
  :func:`csv_export_writer` quotes every field of a CSV export.
"""

from __future__ import annotations

import csv
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, has_request_context, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app.content_policy import CONTENT_SECURITY_POLICY

# PostgreSQL ``integer`` (every primary key here): ids beyond it cannot exist.
MAX_DB_INT = 2**31 - 1
# PostgreSQL ``bigint`` / SQLite INTEGER: no stored number can be larger.
MAX_DB_BIGINT = 2**63 - 1

HSTS = "max-age=31536000; includeSubDomains"

# C0 controls except tab, line feed and carriage return (text areas and model XML use them), DEL and
# the C1 controls. NUL is the one PostgreSQL refuses outright; the others are never typed by a person.
#: control characters, and lone UTF-16 surrogates (a JSON "\\ud800" decodes to one; no text can be stored with it:
#: it was a 500 in the first UTF-8 encode, the audit event's or the database's)
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# A query/form/JSON field whose name says it holds a database id (or a page / version counter).
ID_FIELD = re.compile(r"^(id|ids|.+_id|.+_ids|old|new|page|filter|_version|lock_version|version)$")
MAX_JSON_NODES = 200_000


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that matches only values an ``integer`` column can hold (else the route is a 404), written
    in the digits 0–9 (werkzeug's ``\\d`` also took "１", "١": /api/v1/acts/１ answered act 1)."""

    regex = r"[0-9]+"

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(map, *args, **kwargs)


class HttpsSessionInterface(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over HTTPS, whatever ``SESSION_COOKIE_SECURE``
    says: left to the setting (off unless the environment sets it), a deployment behind HTTPS sent the login
    cookie without the flag, and the browser gave it away on the first plain-HTTP request to the host."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def cookie_secure() -> bool:
    """Whether a cookie the application sets itself (the login device, the chosen language) is ``Secure``: as the
    session cookie, whenever the request came over HTTPS or ``SESSION_COOKIE_SECURE`` says so. Left to the setting
    alone, a deployment behind HTTPS sent the login device cookie — the names of the accounts a browser logged in to,
    and the key that lets a browser past the per-account login limit — without the flag, and the browser gave it
    away on the first plain-HTTP request to the host."""
    return bool(current_app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)


def trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXY_HOPS`` reverse proxies, the request is the one the client made: its address (the key of
    the login and API limits, /metrics' allowed networks), its scheme (the ``Secure`` session cookie, HSTS, https in
    absolute links) and its host (checked against ``TRUSTED_HOSTS``) come from the last that many X-Forwarded-For,
    -Proto and -Host values, the ones our proxies wrote; what a client put before them is ignored. With 0 (the
    default) nothing forwarded is believed: every client behind an unconfigured proxy shares the proxy's address."""
    hops = app.config.get("TRUSTED_PROXY_HOPS") or 0
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_AND_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::([0-9]{1,5}))?")


def split_host(value: str) -> tuple[str, int | None] | None:
    """(name, port or None) of ``name[:port]`` (an IPv6 address in brackets), the name in lower case; None when the
    value is not of that shape or the port is not 1–65535."""
    match = _HOST_AND_PORT.fullmatch(value.strip())
    if match is None or not match.group(1):
        return None
    port = int(match.group(2)) if match.group(2) else None
    if port is not None and not 1 <= port <= 65535:
        return None
    return match.group(1).lower(), port


def host_admitted(host: str, scheme: str, trusted: list[str]) -> bool:
    """Whether ``TRUSTED_HOSTS`` admits the request's ``host[:port]`` as reached over ``scheme``. Werkzeug's check
    compares the names only, so ``tapsyrys.kz:8080`` passed where only ``tapsyrys.kz`` was trusted — and a cache keyed
    without the port, or a link built from the Host, then carried a port the deployment never serves. The rule: an
    entry without a port admits the scheme's default port only (80 for http, 443 for https, written or not); an
    entry with a port admits exactly that port. A leading dot admits the subdomains, as in Werkzeug."""
    parsed = split_host(host)
    if parsed is None:
        return False
    name, port = parsed
    default = _DEFAULT_PORTS.get(scheme)
    port = port if port is not None else default
    for entry in trusted:
        wanted = split_host(entry.lstrip(".")) if entry.startswith(".") else split_host(entry)
        if wanted is None:
            continue
        wanted_name, wanted_port = wanted
        if name != wanted_name and not (entry.startswith(".") and name.endswith("." + wanted_name)):
            continue
        if port == (wanted_port if wanted_port is not None else default):
            return True
    return False


def _check_host() -> None:
    """The port half of ``TRUSTED_HOSTS`` (Flask checked the name when the request arrived): see host_admitted."""
    trusted = current_app.config.get("TRUSTED_HOSTS")
    if trusted and not host_admitted(request.host, request.scheme, trusted):
        raise SecurityError(f"Host {request.host!r} is not trusted.")


def init_security(app: Flask) -> None:
    """Call before blueprints are registered: the ``int`` converter is bound when rules are added."""
    trust_proxies(app)
    app.url_map.converters["int"] = BoundedIntConverter
    app.session_interface = HttpsSessionInterface()
    # First in line, before CSRF: a NUL byte in POST /login without a session is a 400 about the input.
    app.before_request_funcs.setdefault(None, []).insert(0, guard_request)
    app.after_request(set_security_headers)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if not (request.endpoint in _CACHEABLE and response.status_code < 400) and _signed_in():
        # What a signed-in person reads (children's IINs and names, acts, exports, a case's files) is not kept by the
        # browser's cache or a proxy's; the application's own scripts and styles are. Whatever the response said
        # before: send_file marks every file "no-cache" (stored, only asked again before use), and a case's file
        # stayed on a shared computer's disk after the person logged out.
        headers["Cache-Control"] = "no-store"
    return response


#: the endpoints whose answers may be kept — the files themselves, not an error page drawn in their place. Not the
#: unrouted (endpoint None) either: a signed-in person's 404 or 405 page carries their name, their organisation and
#: their bell in its menu, and a 404/405 is cacheable by heuristics (RFC 9111 §4.2.2) — a shared proxy kept one
#: person's page for the next person asking that address.
_CACHEABLE = frozenset({"static", "vendor.asset"})


def _signed_in() -> bool:
    from flask_login import current_user

    return bool(getattr(current_user, "is_authenticated", False))


def model_file_download(text: str, filename: str, mimetype: str) -> Response:
    """A model file is data to download, never a document the browser renders in our origin."""
    response = Response(text, mimetype=mimetype)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:200] or "model"
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- bad input ------------------------------------------------------------------------------------------


class _Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def guard_request():
    """Refuse the bad-input classes of issue 13 §4 before any view, CSRF check or query runs."""
    _check_host()
    try:
        _check_text(request.path)
        _check_pairs(request.args.items(multi=True), status=404)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            _check_pairs(request.form.items(multi=True), status=422)
            for field, upload in request.files.items(multi=True):
                _check_text(field)
                _check_text(upload.filename or "")
            if request.is_json:
                _check_json(_json_document())
    except _Refusal as refusal:
        return _refusal_response(refusal)
    except RecursionError:
        return _refusal_response(_Refusal(400, _("The request was not understood.")))
    if request.routing_exception is not None:
        # No such route (or method): that answer (404 / 405 with Allow) comes before CSRF, read-only roles or
        # tokens have their say — they guard routes that exist.
        raise request.routing_exception
    return None


def _json_document() -> Any:
    """The request's JSON document, or None when it is not JSON (its view answers that). An integer of more digits
    than Python converts (4,300) is refused here: the parser raised a plain ValueError, which a silent parse
    swallowed and the API's argument parser did not expect — a 500 for one request body."""
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except ValueError:
        raise _Refusal(400, _("The request was not understood.")) from None


def _check_text(value: str) -> None:
    if CONTROL_CHARACTERS.search(value):
        raise _Refusal(400, _("The request contains control characters (such as a NUL byte) or broken characters "
                              "that no field accepts. Remove them and try again."))


def _check_pairs(pairs, status: int) -> None:
    for key, value in pairs:
        _check_text(key)
        _check_text(value)
        if ID_FIELD.match(key) and _is_out_of_range(value.strip()):
            raise _Refusal(status, _("There is no such record: %(field)s is out of range.", field=key[:50]))


def _is_out_of_range(value: str) -> bool:
    # Length first: int() of a 5,000-digit string would itself raise (Python's int-to-string limit).
    return bool(re.fullmatch(r"[+-]?[0-9]+", value)) and (len(value) > 20 or abs(int(value)) > MAX_DB_INT)


def _walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """(key, value) of every node of a JSON document, iteratively (no recursion limit to hit)."""
    stack: list[tuple[str | None, Any]] = [(None, node)]
    seen = 0
    while stack:
        key, value = stack.pop()
        seen += 1
        if seen > MAX_JSON_NODES:
            raise _Refusal(413, _("The request is too large."))
        yield key, value
        if isinstance(value, dict):
            stack.extend((str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((key, v) for v in value)


def _check_json(document: Any) -> None:
    for key, value in _walk(document):
        if key is not None:
            _check_text(key)
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if abs(value) > MAX_DB_BIGINT or (key is not None and ID_FIELD.match(key) and abs(value) > MAX_DB_INT):
                raise _Refusal(422, _("The number in %(field)s is out of range.", field=(key or "?")[:50]))
        elif isinstance(value, float) and not math.isfinite(value):
            raise _Refusal(422, _("The number in %(field)s is out of range.", field=(key or "?")[:50]))


def _refusal_response(refusal: _Refusal):
    title = _("Not found") if refusal.status == 404 else _("Invalid input")
    if request.path.startswith("/api/") or request.is_json:
        # The API's error document: "status" is the HTTP status name, as in every other error it answers.
        from app.api.errors import error_document

        return jsonify(error_document(refusal.status, refusal.message)), refusal.status
    return render_template("error.html", status=refusal.status, title=title, message=refusal.message), \
        refusal.status


# --- names and cells ------------------------------------------------------------------------------------

# Format characters (Cf: bidi overrides U+202E, zero-width joiners, BOM), controls, line/paragraph
# separators and private-use/unassigned code points: a file name "invoice‮fdp.exe" must not show as
# something it is not.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"}


def clean_filename(name: str, default: str = "file") -> str:
    """The name a person sees for an uploaded file: no path, no control or invisible characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    name = " ".join(name.split()).strip(". ")
    return name[:255] or default


# ASCII and full-width formula starts (Excel and LibreOffice treat ＝＋－＠ like =+-@), and the
# whitespace/controls a spreadsheet skips before them.
_FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r", "\n")


# A formula start after a separator a spreadsheet may split on: Excel in ru-RU and kk-KZ splits a CSV file on ";"
# (our files use ","), so in "Иванов;=1+1" the second part became a cell of its own, and a formula.
_FORMULA_AFTER_SEPARATOR = re.compile(
    "([,;\t] *)(?=[" + re.escape("".join(c for c in _FORMULA_START if not c.isspace())) + "])")


def spreadsheet_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would read as a formula is prefixed with ``'`` (kept as text), and so is every
    part of it that would start a cell if the spreadsheet split the text on a separator it holds."""
    if not isinstance(value, str):
        return value
    value = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", value)
    if value.lstrip(" ")[:1] in _FORMULA_START:
        return "'" + value
    return value


#: What a CSV export is served as; Werkzeug adds the one ``charset=utf-8`` to a ``text/`` type (given a type that
#: already named it, it answered ``text/csv; charset=utf-8; charset=utf-8``).
CSV_MIMETYPE = "text/csv"


def csv_export_writer(buffer: Any) -> Any:
    """The writer of every CSV export: each field quoted, so a separator inside a cell stays inside it whatever
    separator the spreadsheet reads the file with (its cells pass :func:`spreadsheet_cell` as well)."""
    return csv.writer(buffer, quoting=csv.QUOTE_ALL)
