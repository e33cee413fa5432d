"""The public portal's pages and downloads: no login, aggregate figures only (see app.public.figures)."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.instruments import all_rules, instrument_for_kind, instruments
from app.limits import public_limits
from app.people.models import Organisation, Region
from app.public import cache, downloads, figures, open_contracting
from app.public.downloads import region_name
from app.user_input import ACADEMIC_YEAR, not_an_academic_year, whole_number

bp = Blueprint("public", __name__, url_prefix="/public")
public_limits(bp)  # anyone may ask, without a login: counted per address (PUBLIC_LIMIT)

_BIN = re.compile(r"[0-9]{12}")  # ASCII digits only: \d would also take other scripts' digits


def rule_title(code: str) -> str:
    rule = all_rules().get(code)
    return str(rule.title) if rule else code


@bp.app_context_processor
def public_helpers() -> dict:
    return {"region_name": region_name, "rule_title": rule_title, "small_cell": figures.SMALL_CELL,
            "months_chart_data": months_chart_data, "instrument_for_kind": instrument_for_kind}


def months_chart_data(months: list) -> dict:
    """A chart's series in tenge, from the published (suppressed) figures: a hidden cell is a gap."""
    published = [(period, totals.public()) for period, totals in months]

    def tenge(value: int | None) -> float | None:
        return None if value is None else value / 100  # for drawing only; tables and downloads carry tiyn

    from app.i18n import format_month

    return {"labels": [format_month(period) for period, _p in published],
            "series": [{"label": str(label), "values": [tenge(p[key]) for _period, p in published]}
                       for key, label in (("accepted_tiyn", _l("Accepted, ₸")), ("withheld_tiyn", _l("Withheld, ₸")),
                                          ("paid_tiyn", _l("Paid, ₸")))]}


def _year() -> tuple[str | None, list[str], str | None]:
    """The academic year asked for (one the portal has figures for), else the latest, and what to tell the reader
    about the address. A year written as one that has no figures (1999/2000) is a page that does not exist: 404. A
    value that is no academic year at all ("abc", "2026") is ignored with a sentence on the page, as the acts list and
    the reports do with a malformed month — it had answered 404 "no such page" for a typo in the address."""
    years = figures.years()
    latest = years[0] if years else None
    asked = (request.args.get("year") or "").strip()
    if not asked:
        return latest, years, None
    if not ACADEMIC_YEAR.fullmatch(asked):
        return latest, years, not_an_academic_year(asked)
    if asked not in years:
        abort(404)
    return asked, years, None


def _file_year() -> str | None:
    """The year of a download or an open-data file: a malformed one is a 400 naming ``year`` (a file cannot carry a
    note); a well-formed year without figures is a 404, as before."""
    year, _years, problem = _year()
    if problem:
        _refuse_parameter("year", problem)
    return year


def _refuse_parameter(name: str, message: str):
    """400 with a sentence about the query parameter ``name``: the JSON error document ({"code", "status", "message",
    "errors": {name: message}}) for JSON files, the error page otherwise."""
    if request.path.endswith(".json"):
        from app.api.errors import error_response

        abort(error_response(400, message, {name: message}))
    abort(Response(render_template("error.html", status=400, title=_("Invalid input"), message=message),
                   status=400, mimetype="text/html"))


@bp.route("/")
def index():
    year, years, year_problem = _year()
    data = figures.national(year) if year else None
    return render_template("public/index.html", year=year, years=years, data=data, year_problem=year_problem,
                           bulk_sizes=cache.bulk_sizes(), every_region=_every_region())


#: the Kazakh alphabet's order (Ә after А, Қ after К, Ұ Ү after У…): code points put Қ, Ө, Ұ after Я
_KAZAKH_ORDER = "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ"


def _alphabetical(name: str) -> tuple:
    return tuple(_KAZAKH_ORDER.find(c) if c in _KAZAKH_ORDER else 100 + ord(c) for c in name.upper())


def _every_region() -> list[Region]:
    """Every region, by its name in the reader's language: a citizen looks for their own, which the figures' table
    lists only once an act there was decided (Almaty's orders and contracts were a page no link led to)."""
    return sorted(db.session.scalars(select(Region)), key=lambda r: _alphabetical(region_name(r)))


@bp.route("/regions/<int:region_id>")
def region_page(region_id: int):
    region = db.session.get(Region, region_id) if region_id < 2**31 else None
    if region is None:
        abort(404)
    year, years, year_problem = _year()
    data = figures.region(year, region_id) if year else None
    return render_template("public/region.html", region=region, year=year, years=years, data=data,
                           year_problem=year_problem)


@bp.route("/schools/<school_bin>")
def school_page(school_bin: str):
    school = _school(school_bin)
    year, years, year_problem = _year()
    data = figures.school(year, school.id) if year else None
    return render_template("public/school.html", school=school, year=year, years=years, data=data,
                           year_problem=year_problem)


def _school(school_bin: str) -> Organisation:
    if not _BIN.fullmatch(school_bin):
        abort(404)
    funded = {i.organisation_kind for i in instruments()}  # schools, dormitories: whoever an instrument pays
    school = db.session.scalars(select(Organisation).where(Organisation.bin == school_bin,
                                                           Organisation.kind.in_(funded))).first()
    if school is None:
        abort(404)
    return school


# --- downloads: every chart's table as CSV and JSON ---------------------------------------------------

@bp.route("/data/<dataset>.<fmt>")
def download(dataset: str, fmt: str):
    """The country-wide files as the background pass rendered them (app.public.cache); the others built here."""
    if dataset not in downloads.COLUMNS or fmt not in downloads.MIMETYPES:
        abort(404)
    year = _file_year()
    region_id = whole_number(request.args, "region")
    if region_id is not None and (not 0 < region_id < 2**31 or db.session.get(Region, region_id) is None):
        abort(404)
    kind = request.args.get("instrument")  # one instrument's rows (default: every instrument's, each labelled)
    if kind is not None and kind not in {i.code for i in instruments()}:
        abort(404)
    kept = cache.kept_download(dataset, fmt, year, str(get_locale())) \
        if year and region_id is None and kind is None else None
    if kept is not None:
        body, mimetype = kept.body, kept.content_type
        name = f"tapsyrys-{dataset}-{year.replace('/', '-')}.{fmt}"
    else:
        file = downloads.render(dataset, fmt, year, region_id, kind)
        body, mimetype, name = file.body, file.mimetype, file.filename
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- open data: OCDS 1.1 release and record packages ---------------------------------------------------

PAGE_SIZE = 100
#: a record embeds every release of its order (a region's order at country scale: ~470 releases, ~600 kB), so a
#: page of records holds a few of them by default (20 were 12 MB at country scale)
RECORDS_PAGE_SIZE = 5


@bp.route("/ocds/releases.json")
def ocds_releases():
    """A release package of the year's contracting processes, a page at a time (``page``, ``per_page`` ≤ 1000)."""
    year, page, per_page = _ocds_params()
    start = (page - 1) * per_page
    if cache.ocds_ready():
        bodies = cache.release_bodies(year, start, per_page + 1)
        links = _links("public.ocds_releases", year, page, per_page, len(bodies) > per_page)
        return _spliced(open_contracting.release_package([], request.url, links), "releases", bodies[:per_page])
    chunk, more = open_contracting.releases_window(open_contracting.orders_of(year), start, per_page)
    return _json(open_contracting.release_package(chunk, request.url,
                                                  _links("public.ocds_releases", year, page, per_page, more)))


@bp.route("/ocds/records.json")
def ocds_records():
    """A record package: one record per order (its releases and the compiled release), paged by order."""
    year, page, per_page = _ocds_params(default_per_page=RECORDS_PAGE_SIZE)
    start = (page - 1) * per_page
    if cache.ocds_ready():
        found = cache.records_page(year, start, per_page + 1)
        links = _links("public.ocds_records", year, page, per_page, len(found) > per_page)
        records = [f'{{"ocid":{json.dumps(record.ocid)},"releases":[{",".join(bodies)}],'
                   f'"compiledRelease":{record.compiled}}}' for record, bodies in found[:per_page]]
        return _spliced(open_contracting.package_meta(request.url, links), "records", records)
    chunk, links = _page(open_contracting.orders_of(year), page, per_page, "public.ocds_records", year)
    return _json(open_contracting.record_package(chunk, request.url, links))


@bp.route("/ocds/<int:start_year>-<int:end_year>-releases.json")
def ocds_bulk(start_year: int, end_year: int):
    """Every release of one academic year in one file (a download)."""
    year = f"{start_year}/{end_year}"
    if end_year != start_year + 1 or year not in figures.years():
        abort(404)
    if cache.ocds_ready():
        bodies = cache.release_bodies(year, 0, None)
        if not bodies:
            abort(404)
        response = _spliced(open_contracting.release_package([], request.url), "releases", bodies)
    else:
        orders = open_contracting.orders_of(year)
        if not orders:
            abort(404)
        response = _json(open_contracting.release_package(open_contracting.releases_of(orders), request.url))
    response.headers["Content-Disposition"] = f'attachment; filename="tapsyrys-ocds-{start_year}-{end_year}.json"'
    return response


def _ocds_params(default_per_page: int = PAGE_SIZE) -> tuple[str | None, int, int]:
    year = _file_year() if (request.args.get("year") or "").strip() else None  # none: every year
    # a number in ASCII digits (app/user_input.py): "abc", "1.5", "²" had been read as the default without a word, and
    # 5,000 digits were a 500 (Python's int-from-string limit); one out of range (0, 100000) stays a 404 below, a page
    # that does not exist
    page, per_page = whole_number(request.args, "page", 1), whole_number(request.args, "per_page", default_per_page)
    if not (1 <= page <= 10**6 and 1 <= per_page <= 1000):
        abort(404)
    return year, page, per_page


def _page(items: list, page: int, per_page: int, endpoint: str, year: str | None) -> tuple[list, dict]:
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    return chunk, _links(endpoint, year, page, per_page, start + per_page < len(items))


def _links(endpoint: str, year: str | None, page: int, per_page: int, more: bool) -> dict:
    args = {"per_page": per_page, **({"year": year} if year else {})}
    links = {}
    if more:
        links["next"] = url_for(endpoint, page=page + 1, _external=True, **args)
    if page > 1:
        links["prev"] = url_for(endpoint, page=page - 1, _external=True, **args)
    return links


def _json(document: dict) -> Response:
    return Response(cache.compact(document), mimetype="application/json")


def _spliced(meta: dict, key: str, items: list[str]) -> Response:
    """A package whose ``key`` array is made of stored JSON texts, joined as they are (nothing parsed again)."""
    meta = {k: v for k, v in meta.items() if k != key}
    head = cache.compact(meta)[:-1]
    return Response(f'{head},"{key}":[{",".join(items)}]}}', mimetype="application/json")
