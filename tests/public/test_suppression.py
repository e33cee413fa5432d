"""Small-cell suppression that holds: no hidden count (nor its money) can be worked out by subtraction from the
totals the portal, its downloads or its open data publish beside it (complementary suppression)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.demo.history import seed_paid_history
from app.extensions import db
from app.payments.models import Payment
from app.public import figures
from app.public.cache import refresh_public
from app.public.figures import refresh_public_figures
from tests.conftest import Browser
from tests.helpers import school
from tests.public.test_ocds import paid_contract_act  # noqa: F401  (a fixture)

YEAR = "2026/2027"
FIGURES = ("funded", "accepted_tiyn", "adjusted_tiyn", "withheld_tiyn", "paid_tiyn")


def _shrink(act: Act, keep: int) -> None:
    """The act as if only ``keep`` children had been claimed and paid for (its payment follows)."""
    kept = act.lines[:keep]
    for line in act.lines[keep:]:
        db.session.delete(line)
    act.accepted_lines, act.total_lines = len(kept), len(kept)
    act.amount_tiyn = sum(line.amount_tiyn for line in kept)
    act.withheld_tiyn = 0
    for payment in db.session.scalars(select(Payment).where(Payment.act_id == act.id)):
        payment.amount_tiyn = act.amount_tiyn - act.adjustment_tiyn
    db.session.flush()


def _act(name: str, period: date) -> Act:
    return db.session.scalars(select(Act).where(Act.school_id == school(name).id, Act.period == period)).one()


def _json(visitor: Browser, url: str) -> list[dict]:
    response = visitor.get(url)
    assert response.status_code == 200, url
    return json.loads(response.get_data(as_text=True))["rows"]


def _school_months(visitor: Browser, name: str) -> dict[str, dict]:
    """The months table of an organisation's page, as a visitor reads it: month → figure → value (None: hidden)."""
    page = visitor.get(f"/public/schools/{school(name).bin}").get_data(as_text=True)
    table = re.search(r'<table class="table table-sm table-striped" data-instrument="schools">(.*?)</table>',
                      page, re.S).group(1)
    months = {}
    for label, cells in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', table, re.S):
        values = re.findall(r'<td class="text-end">(.*?)</td>', cells, re.S)
        funded, accepted, withheld, _share, paid = values

        def number(text: str) -> int | None:
            if "&lt;" in text or "—" in text:
                return None
            digits = re.sub(r"[^0-9]", "", text.split(",")[0])
            return int(digits)

        months[label.strip()] = {"funded": number(funded), "accepted_tiyn": number(accepted),
                                 "withheld_tiyn": number(withheld), "paid_tiyn": number(paid)}
    return months


def _subtraction(total: dict, cells: list[dict], figure: str, where: str) -> None:
    """The attack: a published total minus the published cells gives a hidden cell when exactly one is hidden."""
    if total[figure] is None:
        return
    hidden = [c for c in cells if c[figure] is None]
    assert len(hidden) != 1, (f"{where}: {figure} of the one hidden cell is the total minus the others: "
                              f"{total[figure] - sum(c[figure] for c in cells if c[figure] is not None)}")


@pytest.fixture()
def one_small_school(world):
    """September paid for both Astana schools; Bilim's act has 3 children (its year is under 5 too)."""
    seed_paid_history({"school_a": school("Bilim Innovation School"), "school_b": school("Nur Private School")},
                      date(2026, 9, 1), date(2026, 10, 1))
    _shrink(_act("Bilim Innovation School", date(2026, 9, 1)), 3)
    refresh_public_figures()
    db.session.commit()
    return world


@pytest.fixture()
def one_small_month(world):
    """September and November paid for both Astana schools (October still awaits them); Bilim's November has 3
    children, its year many more."""
    orgs = {"school_a": school("Bilim Innovation School"), "school_b": school("Nur Private School")}
    seed_paid_history(orgs, date(2026, 9, 1), date(2026, 10, 1))
    seed_paid_history(orgs, date(2026, 11, 1), date(2026, 12, 1))
    _shrink(_act("Bilim Innovation School", date(2026, 11, 1)), 3)
    refresh_public_figures()
    db.session.commit()
    return world


def test_a_hidden_school_cannot_be_worked_out_from_its_regions_total(one_small_school, app):
    visitor = Browser(app)
    region_id = school("Bilim Innovation School").region_id
    region = next(r for r in _json(visitor, "/public/data/regions.json") if r["region_code"]
                  and r["funded"] is not None)
    schools = _json(visitor, f"/public/data/schools.json?region={region_id}")
    assert any(r["funded"] is None for r in schools), "the school of 3 children is hidden"
    for figure in FIGURES:
        _subtraction(region, schools, figure, "region total − its schools (schools.json?region=)")
    country_wide = _json(visitor, "/public/data/schools.json")
    for figure in FIGURES:
        _subtraction(region, [r for r in country_wide if r["region_code"] == region["region_code"]], figure,
                     "region total − its schools (schools.json)")
    # the school whose figures protect the small one shows none of them on its own page either
    for name in ("Bilim Innovation School", "Nur Private School"):
        row = next(r for r in schools if r["organisation"] == name)
        months = _school_months(visitor, name)
        for figure in ("funded", "accepted_tiyn", "withheld_tiyn", "paid_tiyn"):
            _subtraction(row, list(months.values()), figure, f"{name}: year − its months")
            if row[figure] is None:
                assert all(m[figure] is None for m in months.values()), f"{name}'s only month is its year"


def test_a_hidden_month_cannot_be_worked_out_from_its_schools_year(one_small_month, app):
    visitor = Browser(app)
    region_id = school("Bilim Innovation School").region_id
    schools = _json(visitor, f"/public/data/schools.json?region={region_id}")
    bilim = next(r for r in schools if r["organisation"] == "Bilim Innovation School")
    months = _school_months(visitor, "Bilim Innovation School")
    assert months["November 2026"]["funded"] is None and months["November 2026"]["paid_tiyn"] is None
    for figure in ("funded", "accepted_tiyn", "withheld_tiyn", "paid_tiyn"):
        _subtraction(bilim, list(months.values()), figure, "Bilim's year (schools.json) − its months (its page)")


def test_a_hidden_month_cannot_be_worked_out_from_its_regions_month(one_small_month, app):
    visitor = Browser(app)
    region_id = school("Bilim Innovation School").region_id
    region_months = {r["period"]: r for r in _json(visitor, f"/public/data/months.json?region={region_id}")}
    pages = {name: _school_months(visitor, name) for name in ("Bilim Innovation School", "Nur Private School")}
    for period, label in ((f"{date(2026, m, 1):%Y-%m}", f"{date(2026, m, 1):%B %Y}") for m in (9, 11)):
        for figure in ("funded", "accepted_tiyn", "withheld_tiyn", "paid_tiyn"):
            _subtraction(region_months[period], [months[label] for months in pages.values()], figure,
                         f"region's {period} (months.json?region=) − its schools' {period} (their pages)")
    # and the region's months add up to its year on the same page: neither gives a hidden month away
    region = next(r for r in _json(visitor, "/public/data/regions.json") if r["funded"] is not None)
    for figure in FIGURES:
        _subtraction(region, list(region_months.values()), figure, "region total − its months")


def test_every_page_and_file_hides_the_same_figures(one_small_month, app):
    """One function decides: the kept country-wide files, the region's files and the pages agree."""
    refresh_public(full=True)
    db.session.commit()
    visitor = Browser(app)
    region_id = school("Bilim Innovation School").region_id
    kept = _json(visitor, "/public/data/schools.json")
    live = _json(visitor, f"/public/data/schools.json?region={region_id}")
    csv_rows = list(csv.DictReader(io.StringIO(visitor.get("/public/data/schools.csv").get_data(as_text=True)
                                               .lstrip("\ufeff"))))
    hidden = {r["organisation"] for r in live if r["funded"] is None}
    assert hidden == {r["organisation"] for r in kept if r["funded"] is None}
    assert hidden == {r["Organisation"] for r in csv_rows if r["Funded units"] == "<5"}
    page = visitor.get(f"/public/regions/{region_id}").get_data(as_text=True)
    for name in hidden:
        row = re.search(rf"{re.escape(name)}</a>(.*?)</tr>", page, re.S).group(1)
        assert "&lt;5" in row and "₸" not in row, f"{name} is hidden on the region's page too"
    assert {("org", "schools", school(name).id) for name in hidden} == \
        {key for key in figures.suppression(YEAR) if key[0] == "org"}, "what the one function decides is published"


def test_open_data_does_not_publish_the_payment_of_a_hidden_month(paid_contract_act, app):  # noqa: F811
    payment, contract = paid_contract_act
    _shrink(db.session.get(Act, payment.act_id), 3)
    refresh_public(full=True)
    db.session.commit()
    visitor = Browser(app)
    package = json.loads(visitor.get("/public/ocds/releases.json?per_page=1000").get_data(as_text=True))
    transactions = [tx for release in package["releases"] if "implementation" in release["tag"]
                    for tx in release["contracts"][0]["implementation"]["transactions"]]
    assert transactions and all("value" not in tx for tx in transactions if tx["id"] == payment.order_number), \
        "a payment for 3 children, divided by the norm, would give the hidden count away"
    schools = _json(visitor, "/public/data/schools.json")
    row = next(r for r in schools if r["bin"] == contract.school.bin)
    by_school = [tx for tx in transactions if tx["payee"]["id"] == f"KZ-BIN-{contract.school.bin}"]
    if row["paid_tiyn"] is not None:  # the year's payments add up to the school's published year
        assert sum("value" not in tx for tx in by_school) != 1
    records = json.loads(visitor.get("/public/ocds/records.json?per_page=1000").get_data(as_text=True))
    for record in records["records"]:
        for c in record["compiledRelease"].get("contracts", []):
            for tx in c.get("implementation", {}).get("transactions", []):
                assert tx["id"] != payment.order_number or "value" not in tx


def test_complementary_suppression_is_deterministic_and_leaves_no_group_with_one_hidden():
    """The rule itself, on a made-up year: each equation has no hidden figure or at least two."""
    values = {("cell", "s", 1, 1): 3, ("cell", "s", 2, 1): 40, ("cell", "s", 3, 1): 7,
              ("org", "s", 1): 3, ("org", "s", 2): 40, ("org", "s", 3): 7, ("region", "s", 9): 50}
    equations = [(("org", "s", 1), [("cell", "s", 1, 1)]), (("org", "s", 2), [("cell", "s", 2, 1)]),
                 (("org", "s", 3), [("cell", "s", 3, 1)]),
                 (("region", "s", 9), [("org", "s", 1), ("org", "s", 2), ("org", "s", 3)])]
    hidden = figures._suppress((values, equations))
    assert hidden == {("cell", "s", 1, 1), ("org", "s", 1), ("org", "s", 3), ("cell", "s", 3, 1)}, \
        "the next-smallest organisation (7), not the largest, is hidden with the small one, and its month"
    assert figures._suppress((values, equations)) == hidden
    for total, parts in equations:
        assert (total in hidden) + sum(p in hidden for p in parts) != 1


def test_the_hidden_figures_follow_the_figures_when_they_are_rebuilt(world, app):
    """The pattern is kept between requests, and not a moment longer than the figures it was computed from."""
    seed_paid_history({"school_a": school("Bilim Innovation School"), "school_b": school("Nur Private School")},
                      date(2026, 9, 1), date(2026, 10, 1))
    refresh_public_figures()
    db.session.commit()
    visitor = Browser(app)
    assert figures.suppression(YEAR) == frozenset()
    assert _school_months(visitor, "Nur Private School")["September 2026"]["funded"] is not None
    _shrink(_act("Bilim Innovation School", date(2026, 9, 1)), 3)
    refresh_public_figures()
    db.session.commit()
    nur = school("Nur Private School")
    assert ("cell", "schools", nur.id, date(2026, 9, 1)) in figures.suppression(YEAR)
    months = _school_months(visitor, "Nur Private School")
    assert months["September 2026"]["funded"] is None and months["September 2026"]["paid_tiyn"] is None
