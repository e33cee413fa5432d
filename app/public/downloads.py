"""Every chart's table as a CSV or JSON file: rendered here for the portal's download links, and by the background
pass for the country-wide files it keeps ready (:mod:`app.public.cache`)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.instruments import instruments
from app.people.models import Region
from app.public import figures
from app.security import CSV_MIMETYPE, csv_export_writer, spreadsheet_cell

#: every row belongs to one funding instrument: its code and title, and what it funds (``funded`` in
#: ``funded_unit``: child-months for schools, place-months for dormitories) — never a sum of the two
_INSTRUMENT = ("instrument", "instrument_title")
_FIGURES = ("funded", "funded_unit", "accepted_tiyn", "adjusted_tiyn", "withheld_tiyn", "paid_tiyn")
COLUMNS = {
    "months": (*_INSTRUMENT, "period", "organisations", *_FIGURES),
    "regions": (*_INSTRUMENT, "region_code", "region", "organisations", *_FIGURES, "withheld_share"),
    "schools": (*_INSTRUMENT, "bin", "organisation", "region_code", *_FIGURES, "withheld_share"),
}
HEADINGS = {"instrument": _l("Instrument code"), "instrument_title": _l("Funding instrument"),
            "period": _l("Month"), "organisations": _l("Organisations funded"), "funded": _l("Funded units"),
            "funded_unit": _l("Unit (child-month or place-month)"), "accepted_tiyn": _l("Accepted, tiyn"),
            "adjusted_tiyn": _l("Adjusted, tiyn"), "withheld_tiyn": _l("Withheld, tiyn"), "paid_tiyn": _l("Paid, tiyn"),
            "region_code": _l("Region code"),
            "region": _l("Region"), "withheld_share": _l("Share withheld"), "bin": _l("BIN"),
            "organisation": _l("Organisation")}
#: the unit as the CSV's reader says it, under the heading that names it in their language ("Бірлік (бала-ай немесе
#: орын-ай)" stood over "child-month" in the Kazakh file); the JSON keeps the code, which a program reads
UNIT_WORDS = {"child-month": _l("child-month"), "place-month": _l("place-month")}
MIMETYPES = {"csv": CSV_MIMETYPE, "json": "application/json"}


@dataclass(frozen=True)
class Download:
    body: str
    mimetype: str
    filename: str


def region_name(region: Region | None) -> str:
    if region is None:
        return ""
    return getattr(region, f"name_{get_locale()}", None) or region.name_en


def render(dataset: str, fmt: str, year: str | None, region_id: int | None, instrument: str | None = None) -> Download:
    """The file in the current locale (headings, instruments' and regions' names are translated); with
    ``instrument``, that instrument's rows only."""
    rows = _dataset(dataset, year, region_id) if year else []
    if instrument is not None:
        rows = [row for row in rows if row["instrument"] == instrument]
    name = f"tapsyrys-{dataset}-{(year or 'none').replace('/', '-')}{f'-{instrument}' if instrument else ''}.{fmt}"
    if fmt == "json":
        body = json.dumps({"academic_year": year, "region_id": region_id, "instrument": instrument,
                           "small_cell_suppressed_below":
                           figures.SMALL_CELL, "currency": "KZT", "amount_unit": "tiyn",
                           "instruments": [{"code": i.code, "title": str(i.title), "funded_unit": i.funded_unit}
                                           for i in instruments()],
                           "rows": rows}, ensure_ascii=False, indent=1, default=str)
        return Download(body, MIMETYPES[fmt], name)
    out = io.StringIO()
    writer = csv_export_writer(out)
    writer.writerow([str(HEADINGS[c]) for c in COLUMNS[dataset]])
    for row in rows:
        writer.writerow([_csv_cell(str(UNIT_WORDS.get(row[c], row[c])) if c == "funded_unit" else row[c])
                         for c in COLUMNS[dataset]])
    return Download("\ufeff" + out.getvalue(), MIMETYPES[fmt], name)


def _csv_cell(value) -> str:
    """Suppressed cells are written as "<5"; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return f"<{figures.SMALL_CELL}"
    return spreadsheet_cell(str(value))


def _dataset(dataset: str, year: str, region_id: int | None) -> list[dict]:
    if dataset == "months":  # the months alone: one GROUP BY, not the whole region or national page
        return [{**_instrument(kind), "period": f"{period:%Y-%m}", **_money(t)}
                for kind, period, t in figures.by_month(year, region_id)]
    if dataset == "regions":
        data = figures.national(year)
        regions = data["region_rows"]
        return [{**_instrument(section.instrument), "region_code": regions[rid].code,
                 "region": region_name(regions[rid]), **_money(t)}
                for section in data["sections"]
                for rid, t in sorted(section.groups.items(), key=lambda kv: regions[kv[0]].code)]
    data = figures.region(year, region_id) if region_id else figures.schools(year)
    orgs = data["orgs"]
    return [{**_instrument(section.instrument), "bin": orgs[sid].bin, "organisation": orgs[sid].name,
             "region_code": orgs[sid].region.code if orgs[sid].region else "", **_money(t)}
            for section in data["sections"]
            for sid, t in sorted(section.groups.items(), key=lambda kv: orgs[kv[0]].name)]


def _instrument(instrument) -> dict:
    return {"instrument": instrument.code, "instrument_title": str(instrument.title),
            "funded_unit": instrument.funded_unit}


def _money(totals: figures.Totals) -> dict:
    public = totals.public()
    return {key: public[key] for key in ("organisations", "funded", "accepted_tiyn", "adjusted_tiyn", "withheld_tiyn",
                                         "paid_tiyn", "withheld_share")}
