"""Every chart's table as a CSV or JSON file: rendered here for the portal's download links, and by the background
pass for the country-wide files it keeps ready (:mod:`app.public.cache`)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.people.models import Region
from app.public import figures
from app.security import spreadsheet_cell

COLUMNS = {
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
MIMETYPES = {"csv": "text/csv", "json": "application/json"}


@dataclass(frozen=True)
class Download:
    body: str
    mimetype: str
    filename: str


def region_name(region: Region | None) -> str:
    if region is None:
        return ""
    return getattr(region, f"name_{get_locale()}", None) or region.name_en


def render(dataset: str, fmt: str, year: str | None, region_id: int | None) -> Download:
    """The file in the current locale (headings and region names are translated)."""
    rows = _dataset(dataset, year, region_id) if year else []
    name = f"tapsyrys-{dataset}-{(year or 'none').replace('/', '-')}.{fmt}"
    if fmt == "json":
        body = json.dumps({"academic_year": year, "region_id": region_id, "small_cell_suppressed_below":
                           figures.SMALL_CELL, "currency": "KZT", "amount_unit": "tiyn", "rows": rows},
                          ensure_ascii=False, indent=1, default=str)
        return Download(body, MIMETYPES[fmt], name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(HEADINGS[c]) for c in COLUMNS[dataset]])
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in COLUMNS[dataset]])
    return Download("\ufeff" + out.getvalue(), MIMETYPES[fmt], name)


def _csv_cell(value) -> str:
    """Suppressed cells are written as "<5"; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return f"<{figures.SMALL_CELL}"
    return spreadsheet_cell(str(value))


def _dataset(dataset: str, year: str, region_id: int | None) -> list[dict]:
    if dataset == "months":  # the months alone: one GROUP BY, not the whole region or national page
        return [{"period": f"{period:%Y-%m}", **_money(t)} for period, t in figures.by_month(year, region_id)]
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
