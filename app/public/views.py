"""The public portal's pages and downloads: no login, aggregate figures only (see app.public.figures)."""

from __future__ import annotations

import csv
import io
import json
import re

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.instruments import all_rules
from app.people.models import Organisation, Region
from app.public import figures, open_contracting
from app.security import spreadsheet_cell

bp = Blueprint("public", __name__, url_prefix="/public")

_BIN = re.compile(r"[0-9]{12}")  # ASCII digits only: \d would also take other scripts' digits


def region_name(region: Region | None) -> str:
    if region is None:
        return ""
    return getattr(region, f"name_{get_locale()}", None) or region.name_en


def rule_title(code: str) -> str:
    rule = all_rules().get(code)
    return str(rule.title) if rule else code


@bp.app_context_processor
def public_helpers() -> dict:
    return {"region_name": region_name, "rule_title": rule_title, "small_cell": figures.SMALL_CELL,
            "months_chart_data": months_chart_data}


def months_chart_data(months: list) -> dict:
    """A chart's series in tenge, from the published (suppressed) figures: a hidden cell is a gap."""
    published = [(period, totals.public()) for period, totals in months]

    def tenge(value: int | None) -> float | None:
        return None if value is None else value / 100  # for drawing only; tables and downloads carry tiyn

    return {"labels": [f"{period:%Y-%m}" for period, _p in published],
            "series": [{"label": str(label), "values": [tenge(p[key]) for _period, p in published]}
                       for key, label in (("accepted_tiyn", _l("Accepted, ₸")), ("withheld_tiyn", _l("Withheld, ₸")),
                                          ("paid_tiyn", _l("Paid, ₸")))]}


def _year() -> tuple[str | None, list[str]]:
    """The academic year asked for (one the portal has figures for), else the latest; unknown → 404."""
    years = figures.years()
    asked = request.args.get("year")
    if asked is None:
        return (years[0] if years else None), years
    if asked not in years:
        abort(404)
    return asked, years


@bp.route("/")
def index():
    year, years = _year()
    data = figures.national(year) if year else None
    return render_template("public/index.html", year=year, years=years, data=data)


@bp.route("/regions/<int:region_id>")
def region_page(region_id: int):
    region = db.session.get(Region, region_id) if region_id < 2**31 else None
    if region is None:
        abort(404)
    year, years = _year()
    data = figures.region(year, region_id) if year else None
    return render_template("public/region.html", region=region, year=year, years=years, data=data)


@bp.route("/schools/<school_bin>")
def school_page(school_bin: str):
    school = _school(school_bin)
    year, years = _year()
    data = figures.school(year, school.id) if year else None
    return render_template("public/school.html", school=school, year=year, years=years, data=data)


def _school(school_bin: str) -> Organisation:
    if not _BIN.fullmatch(school_bin):
        abort(404)
    school = db.session.scalars(select(Organisation).where(Organisation.bin == school_bin,
                                                           Organisation.kind == "school")).first()
    if school is None:
        abort(404)
    return school


# --- downloads: every chart's table as CSV and JSON ---------------------------------------------------

_COLUMNS = {
    "months": ("period", "schools", "children", "accepted_tiyn", "withheld_tiyn", "paid_tiyn"),
    "regions": ("region_code", "region", "schools", "children", "accepted_tiyn", "withheld_tiyn", "paid_tiyn",
                "withheld_share"),
    "schools": ("bin", "school", "region_code", "children", "accepted_tiyn", "withheld_tiyn", "paid_tiyn",
                "withheld_share"),
}
HEADINGS = {"period": _l("Month"), "schools": _l("Schools"), "children": _l("Child-months funded"),
            "accepted_tiyn": _l("Accepted, tiyn"), "withheld_tiyn": _l("Withheld, tiyn"),
            "paid_tiyn": _l("Paid, tiyn"), "region_code": _l("Region code"), "region": _l("Region"),
            "withheld_share": _l("Share withheld"), "bin": _l("BIN"), "school": _l("School")}


@bp.route("/data/<dataset>.<fmt>")
def download(dataset: str, fmt: str):
    if dataset not in _COLUMNS or fmt not in ("csv", "json"):
        abort(404)
    year, _years = _year()
    region_id = request.args.get("region", type=int)
    if region_id is not None and (region_id >= 2**31 or db.session.get(Region, region_id) is None):
        abort(404)
    rows = _dataset(dataset, year, region_id) if year else []
    name = f"tapsyrys-{dataset}-{(year or 'none').replace('/', '-')}"
    if fmt == "json":
        body = json.dumps({"academic_year": year, "region_id": region_id, "small_cell_suppressed_below":
                           figures.SMALL_CELL, "currency": "KZT", "amount_unit": "tiyn", "rows": rows},
                          ensure_ascii=False, indent=1, default=str)
        return Response(body, mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(HEADINGS[c]) for c in _COLUMNS[dataset]])
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in _COLUMNS[dataset]])
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _csv_cell(value) -> str:
    """Suppressed cells are written as "<5"; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return f"<{figures.SMALL_CELL}"
    return spreadsheet_cell(str(value))


def _dataset(dataset: str, year: str, region_id: int | None) -> list[dict]:
    if dataset == "months":
        data = figures.region(year, region_id) if region_id else figures.national(year)
        return [{"period": f"{period:%Y-%m}", **_money(t)} for period, t in data["months"]]
    if dataset == "regions":
        data = figures.national(year)
        regions = data["region_rows"]
        return [{"region_code": regions[rid].code, "region": region_name(regions[rid]), **_money(t)}
                for rid, t in sorted(data["regions"].items(), key=lambda kv: regions[kv[0]].code)]
    data = figures.region(year, region_id) if region_id else figures.schools(year)
    orgs = data["orgs"]
    return [{"bin": orgs[sid].bin, "school": orgs[sid].name,
             "region_code": orgs[sid].region.code if orgs[sid].region else "", **_money(t)}
            for sid, t in sorted(data["schools"].items(), key=lambda kv: orgs[kv[0]].name)]


def _money(totals: figures.Totals) -> dict:
    public = totals.public()
    return {key: public[key] for key in ("schools", "children", "accepted_tiyn", "withheld_tiyn", "paid_tiyn",
                                         "withheld_share")}


# --- open data: OCDS 1.1 release and record packages ---------------------------------------------------

PAGE_SIZE = 100


@bp.route("/ocds/releases.json")
def ocds_releases():
    """A release package of the year's contracting processes, a page at a time (``page``, ``per_page`` ≤ 1000)."""
    year, page, per_page = _ocds_params()
    chunk, more = open_contracting.releases_window(open_contracting.orders_of(year), (page - 1) * per_page, per_page)
    return _json(open_contracting.release_package(chunk, request.url,
                                                  _links("public.ocds_releases", year, page, per_page, more)))


@bp.route("/ocds/records.json")
def ocds_records():
    """A record package: one record per order (its releases and the compiled release), paged by order."""
    year, page, per_page = _ocds_params(default_per_page=20)
    chunk, links = _page(open_contracting.orders_of(year), page, per_page, "public.ocds_records", year)
    return _json(open_contracting.record_package(chunk, request.url, links))


@bp.route("/ocds/<int:start_year>-<int:end_year>-releases.json")
def ocds_bulk(start_year: int, end_year: int):
    """Every release of one academic year in one file (a download)."""
    year = f"{start_year}/{end_year}"
    orders = open_contracting.orders_of(year) if end_year == start_year + 1 else []
    if not orders:
        abort(404)
    releases = open_contracting.releases_of(orders)
    response = _json(open_contracting.release_package(releases, request.url))
    response.headers["Content-Disposition"] = f'attachment; filename="tapsyrys-ocds-{start_year}-{end_year}.json"'
    return response


def _ocds_params(default_per_page: int = PAGE_SIZE) -> tuple[str | None, int, int]:
    year = request.args.get("year")
    if year is not None and year not in figures.years():
        abort(404)
    page = request.args.get("page", 1, type=int)
    per_page = request.args.get("per_page", default_per_page, type=int)
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
    return Response(json.dumps(document, ensure_ascii=False, indent=1), mimetype="application/json")
