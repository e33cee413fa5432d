"""The public portal's figures per funding instrument: in September the Astana schools were paid for the children
they taught and Jastar for the dormitory places its students occupied. A visitor sees each instrument's count in its
own words — children for the schools, places for the dormitories — and never the two added up; only money has a
total across instruments, and it says so. Every download row names its instrument, and the background pass's
stored files and incremental rebuilds keep it so."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import func, select

from app.acts.models import Act
from app.extensions import db
from app.people.models import Organisation, Region
from app.public.cache import refresh_public
from app.public.models import PublicSchoolMonth
from tests.conftest import Browser
from tests.helpers import add_paid_history
from tests.i18n.catalogue import assert_translated
from tests.public.test_cache import no_overlap  # noqa: F401  (fixture)

SCHOOLS_TITLE = "State educational order for private schools"
DORMS_TITLE = "State order for student dormitory places"
MARKED = ("Marked organisations had a share withheld of at least %(share)s — twice the median of this funding "
          "instrument in the region, or 10 %%, whichever is higher.")
WORDS = (MARKED, "State funding of education: where the money goes", "Total across funding instruments",
         "Money only: children taught and dormitory places are different things and are counted per funding "
         "instrument below.", "Accepted, all instruments", "Withheld, all instruments", "Paid, all instruments",
         "%(instrument)s: national totals by month", "%(instrument)s: regions",
         "%(instrument)s: region totals by month", "%(instrument)s: organisations", "Dormitories",
         "Dormitories funded", "Places funded", "Place-months funded", "Instrument code", "Organisations funded",
         "Funded units", "Unit (child-month or place-month)", "Organisation")


@pytest.fixture()
def september(dorm_world):
    """The demo with dormitories (Jastar's September paid) and the Astana schools' September paid."""
    assert add_paid_history() == 2
    return dorm_world


def _decided(instrument: str, region_id: int | None = None) -> tuple[int, int]:
    """(lines paid for, tiyn accepted) of the instrument's decided acts — what the portal must show for it."""
    query = select(func.sum(Act.accepted_lines), func.sum(Act.amount_tiyn)).where(
        Act.instrument == instrument, Act.status.in_(("accepted", "paid")))
    if region_id is not None:
        query = query.where(Act.region_id == region_id)
    lines, amount = db.session.execute(query).one()
    return int(lines or 0), int(amount or 0)


def _section(page: str, instrument: str) -> str:
    return page.split(f'id="instrument-{instrument}"')[1].split('<section aria-labelledby="instrument-')[0]


def _number(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _tenge(value_tiyn: int) -> str:
    from app.i18n import format_tenge

    return str(format_tenge(value_tiyn))


def test_children_and_dormitory_places_are_counted_per_instrument_and_never_added_up(september, app):
    children, school_money = _decided("schools")
    places, dorm_money = _decided("dormitory")
    assert children > 5 and places > 5 and school_money and dorm_money
    rows = db.session.scalars(select(PublicSchoolMonth)).all()
    assert {r.instrument for r in rows} == {"schools", "dormitory"}
    assert sum(r.children for r in rows if r.instrument == "dormitory") == places

    with app.test_request_context():
        page = Browser(app).get("/public/").get_data(as_text=True)
        schools, dorms = _section(page, "schools"), _section(page, "dormitory")
        assert SCHOOLS_TITLE in schools and "Child-months funded" in schools and "Place" not in schools
        assert DORMS_TITLE in dorms and "Place-months funded" in dorms and "Dormitories funded" in dorms
        assert "Child" not in dorms and "Schools" not in dorms
        assert f'data-figure="funded">{_number(children)}<' in schools
        assert f'data-figure="funded">{_number(places)}<' in dorms
        assert f'data-figure="accepted">{_tenge(dorm_money)}<' in dorms
        assert _number(children + places) not in page, "children and places are never added up"
        across = page.split('id="across-instruments"')[1].split("</section>")[0]
        assert "Total across funding instruments" in across and _tenge(school_money + dorm_money) in across
        assert "funded" not in across.lower().replace("funding", "")

    # The region both instruments fund: each its own months and organisations, each in its own words.
    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    region = Browser(app).get(f"/public/regions/{astana.id}").get_data(as_text=True)
    dorms = _section(region, "dormitory")
    assert "Places funded" in dorms and "Jastar Student Residence" in dorms and "Bilim" not in dorms
    assert "Children funded" in _section(region, "schools") and "Jastar" not in _section(region, "schools")
    # A dormitory's own page counts places.
    jastar = db.session.scalars(select(Organisation).where(Organisation.name == "Jastar Student Residence")).one()
    own = Browser(app).get(f"/public/schools/{jastar.bin}").get_data(as_text=True)
    assert "Places funded" in own and "Children funded" not in own


def test_every_download_row_names_its_instrument_and_counts_in_its_unit(september, app):
    places, dorm_money = _decided("dormitory")
    children, _money = _decided("schools")
    visitor = Browser(app)
    for dataset in ("months", "regions", "schools"):
        document = json.loads(visitor.get(f"/public/data/{dataset}.json").get_data(as_text=True))
        assert {i["code"]: i["funded_unit"] for i in document["instruments"]} == \
            {"schools": "child-month", "dormitory": "place-month"}
        by = {kind: [r for r in document["rows"] if r["instrument"] == kind] for kind in ("schools", "dormitory")}
        assert len(by["schools"]) + len(by["dormitory"]) == len(document["rows"]), dataset
        assert sum(r["funded"] for r in by["dormitory"]) == places, dataset
        assert sum(r["funded"] for r in by["schools"]) == children, dataset
        assert {r["funded_unit"] for r in by["dormitory"]} == {"place-month"}
        assert {r["instrument_title"] for r in by["dormitory"]} == {DORMS_TITLE}
        assert sum(r["accepted_tiyn"] for r in by["dormitory"]) == dorm_money

        table = list(csv.DictReader(io.StringIO(
            visitor.get(f"/public/data/{dataset}.csv").get_data(as_text=True).lstrip("\ufeff"))))
        assert {r["Instrument code"] for r in table} == {"schools", "dormitory"}, dataset
        assert sum(int(r["Funded units"]) for r in table if r["Instrument code"] == "dormitory") == places

        only = json.loads(visitor.get(f"/public/data/{dataset}.json?instrument=dormitory").get_data(as_text=True))
        assert only["rows"] and {r["instrument"] for r in only["rows"]} == {"dormitory"}
    assert visitor.get("/public/data/months.csv?instrument=grants").status_code == 404


def test_the_stored_downloads_and_an_incremental_pass_keep_the_instruments_apart(september, app, no_overlap):  # noqa: F811
    """The background pass stores the country-wide files with the instrument column; a dormitory act decided
    afterwards moves only that dormitory's figures (found through the audit events after the watermark)."""
    full = refresh_public()
    db.session.commit()
    assert full.full
    stored = Browser(app).get("/public/data/schools.csv").get_data(as_text=True)
    assert "Instrument code" in stored and DORMS_TITLE in stored and "place-month" in stored

    from app.engine.runtime import complete_task
    from tests.helpers import open_task, user

    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    act = db.session.scalars(select(Act).where(Act.instrument == "dormitory", Act.status == "verified",
                                               Act.region_id == astana.id).order_by(Act.id)).first()
    before = _decided("dormitory")
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    outcome = refresh_public()
    db.session.commit()
    assert not outcome.full and outcome.figure_rows == 1 and outcome.downloads > 0
    after = _decided("dormitory")
    assert after[0] == before[0] + act.accepted_lines
    document = json.loads(Browser(app).get("/public/data/months.json").get_data(as_text=True))
    assert sum(r["funded"] for r in document["rows"] if r["instrument"] == "dormitory") == after[0]
    assert sum(r["funded"] for r in document["rows"] if r["instrument"] == "schools") == _decided("schools")[0]


def test_a_student_who_moved_rooms_within_the_month_is_one_place_occupied_and_each_line_is_paid(september, app):
    """A move to another room within the month gives the dormitory's act a line per room, each paid its own days
    (verification treats it as a move, not a copy): the portal counts one place occupied, and the money of both."""
    from app.acts.models import ActLine
    from app.public import figures
    from tests.helpers import also_on

    act = db.session.scalars(select(Act).where(Act.instrument == "dormitory", Act.status == "paid")).one()
    mover = next(line for line in act.lines if line.outcome == "accepted")
    also_on(act, mover, days=12)
    places, money = _decided("dormitory")
    refresh_public()
    db.session.commit()

    row = db.session.scalars(select(PublicSchoolMonth).where(PublicSchoolMonth.school_id == act.school_id)).one()
    assert row.children == places - 1 and row.accepted_tiyn == money
    assert money == sum(line.amount_tiyn for line in db.session.scalars(
        select(ActLine).where(ActLine.act_id == act.id, ActLine.outcome == "accepted")))
    year = row.academic_year
    dorms = next(s for s in figures.national(year)["sections"] if s.code == "dormitory")
    assert dorms.total.funded == places - 1 and dorms.total.accepted_tiyn == money
    assert [t.funded for _p, t in dorms.months] == [places - 1]
    region = next(s for s in figures.region(year, act.region_id)["sections"] if s.code == "dormitory")
    assert region.total.funded == places - 1 and region.groups[act.school_id].funded == places - 1
    rows = json.loads(Browser(app).get(f"/public/data/schools.json?year={year}").get_data(as_text=True))["rows"]
    assert [(r["funded"], r["accepted_tiyn"]) for r in rows if r["instrument"] == "dormitory"] == \
        [(places - 1, money)]


def test_the_portal_words_have_kazakh_and_russian(app):
    for msgid in WORDS:
        assert_translated(app, msgid)


def test_the_money_across_instruments_is_hidden_when_any_part_would_reveal_a_small_count():
    """Three dormitory places beside a thousand children: the dormitories' money is hidden, and so is the total —
    the total less the schools' published money would give it away."""
    from app.public.figures import Money, Totals

    schools = Totals(funded=1000, accepted_tiyn=9_000_000, withheld_tiyn=1_000_000, paid_tiyn=9_000_000,
                     organisations=12)
    few_places = Totals(funded=3, accepted_tiyn=60_000, withheld_tiyn=0, paid_tiyn=60_000, organisations=1)
    assert few_places.public()["accepted_tiyn"] is None
    assert Money([schools, few_places]).public() == {"accepted_tiyn": None, "adjusted_tiyn": None,
                                                     "withheld_tiyn": None, "paid_tiyn": None, "withheld_share": None}
    places = Totals(funded=40, accepted_tiyn=760_000, withheld_tiyn=0, paid_tiyn=760_000, organisations=1)
    assert Money([schools, places]).public() == {"accepted_tiyn": 9_760_000, "adjusted_tiyn": 0,
                                                 "withheld_tiyn": 1_000_000,
                                                 "paid_tiyn": 9_760_000, "withheld_share": round(1 / 10.76, 4)}
