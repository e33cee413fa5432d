"""The portal counts children, not act lines. In September a child moved from one Astana school to the other: each
school's act has a line for them and each line is paid its days. Each school's own figures count the child (each
taught them that month), but Astana's and the country's September count them once; the money is every line's. A
dormitory student who moved rooms within the month is one place occupied, though the dormitory's act has a line per
room (tests/dormitories/test_public_figures.py)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from app.acts.models import Act, ActLine
from app.extensions import db
from app.public import figures
from app.public.figures import refresh_public_figures
from app.public.models import PublicSchoolMonth
from app.registry.models import NedbIinMerge
from tests.conftest import Browser
from tests.helpers import add_paid_history, also_on, school

YEAR = "2026/2027"
SEPTEMBER = date(2026, 9, 1)


@pytest.fixture()
def september(world):
    """The demo world with the Astana schools' September paid, as `flask seed` builds it."""
    assert add_paid_history() == 2
    return world


def _act(name: str) -> Act:
    return db.session.scalars(select(Act).where(Act.school_id == school(name).id, Act.period == SEPTEMBER)).one()


def _paid_for(*acts: Act) -> int:
    return int(db.session.scalar(select(func.sum(ActLine.amount_tiyn)).where(
        ActLine.act_id.in_([a.id for a in acts]), ActLine.outcome == "accepted")))


def _students(*acts: Act) -> int:
    return db.session.scalar(select(func.count(func.distinct(ActLine.iin))).where(
        ActLine.act_id.in_([a.id for a in acts]), ActLine.outcome == "accepted"))


def _transfer() -> tuple[Act, Act, ActLine]:
    """A child of the school of the higher id also taught at the other school (the lower id) in September."""
    low, high = sorted((_act("Bilim Innovation School"), _act("Nur Private School")), key=lambda a: a.school_id)
    assert low.region_id == high.region_id, "both in Astana"
    moved = next(line for line in high.lines if line.outcome == "accepted")
    also_on(low, moved, days=10)
    return low, high, moved


def test_a_child_moved_between_two_schools_in_a_month_counts_at_each_school_and_once_in_the_region(september, app):
    low, high, _moved = _transfer()
    lines = low.accepted_lines + high.accepted_lines
    refresh_public_figures()
    db.session.commit()

    # Each school counts the child it taught; the money is each school's lines.
    rows = {r.school_id: r for r in db.session.scalars(select(PublicSchoolMonth).where(
        PublicSchoolMonth.period == SEPTEMBER, PublicSchoolMonth.instrument == "schools"))}
    assert rows[low.school_id].children == low.accepted_lines
    assert rows[high.school_id].children == high.accepted_lines
    assert rows[low.school_id].accepted_tiyn == _paid_for(low)

    # Astana's September and the country's: one child fewer than the lines, every line's money.
    students = _students(low, high)
    assert students == lines - 1
    region = figures.region(YEAR, low.region_id)["sections"][0]
    assert region.instrument.code == "schools"
    assert [(p, t.funded) for p, t in region.months] == [(SEPTEMBER, students)]
    assert region.total.funded == students and region.total.accepted_tiyn == _paid_for(low, high)
    assert {sid: t.funded for sid, t in region.groups.items()} == {low.school_id: low.accepted_lines,
                                                                   high.school_id: high.accepted_lines}
    national = figures.national(YEAR)["sections"][0]
    assert national.total.funded == students and national.groups[low.region_id].funded == students
    assert national.total.accepted_tiyn == _paid_for(low, high)
    assert national.total.paid_tiyn == _paid_for(low, high)

    # The downloads (the portal's open data) say the same.
    visitor = Browser(app)
    months = json.loads(visitor.get(f"/public/data/months.json?year={YEAR}").get_data(as_text=True))["rows"]
    assert [(r["period"], r["funded"], r["accepted_tiyn"]) for r in months if r["instrument"] == "schools"] == \
        [("2026-09", students, _paid_for(low, high))]
    regions = json.loads(visitor.get(f"/public/data/regions.json?year={YEAR}").get_data(as_text=True))["rows"]
    assert [r["funded"] for r in regions if r["instrument"] == "schools"] == [students]
    page = visitor.get(f"/public/?year={YEAR}").get_data(as_text=True)
    assert f'data-figure="funded">{students}<' in page.replace("\u00a0", "").replace(" ", "")
    region_page = visitor.get(f"/public/regions/{low.region_id}?year={YEAR}").get_data(as_text=True)
    for shown in (page, region_page):  # the visitor is told why a region's month is less than its schools' sum
        assert "Students are counted, not the lines of the acts" in shown.split('data-note="counting"')[1][:200]


def test_the_school_a_transfer_came_from_is_rebuilt_when_only_the_other_one_changed(september, app):
    """The background pass rebuilds the figures of the organisations whose acts moved. Which school counts a
    transferred child for the region depends on both: the other school's row is rebuilt too."""
    refresh_public_figures()
    low, high, _moved = _transfer()
    refresh_public_figures({low.school_id})
    db.session.commit()
    assert figures.region(YEAR, low.region_id)["sections"][0].total.funded == _students(low, high)
    assert figures.national(YEAR)["sections"][0].total.funded == _students(low, high)


def test_a_child_listed_under_an_iin_nedb_retired_counts_once_in_the_region(september, app):
    """NEDB merged two IINs of one child: the school the child came from listed the retired IIN, the other school the
    surviving one. Each school counts the child it taught; the region and the country count one child, and a rebuild
    of either school alone rebuilds the other's row too."""
    low, high, moved = _transfer()
    retired = "0" * 11 + "1"  # any IIN NEDB no longer gives the child: the merge list names it
    low.lines[-1].iin = retired
    db.session.add(NedbIinMerge(retired_iin=retired, surviving_iin=moved.iin))
    db.session.flush()
    lines = low.accepted_lines + high.accepted_lines
    assert _students(low, high) == lines, "two IINs: two children by IIN alone"

    refresh_public_figures()
    db.session.commit()
    rows = {r.school_id: r for r in db.session.scalars(select(PublicSchoolMonth).where(
        PublicSchoolMonth.period == SEPTEMBER, PublicSchoolMonth.instrument == "schools"))}
    assert (rows[low.school_id].children, rows[high.school_id].children) == (low.accepted_lines, high.accepted_lines)
    assert figures.region(YEAR, low.region_id)["sections"][0].total.funded == lines - 1
    assert figures.national(YEAR)["sections"][0].total.funded == lines - 1

    for only in (low.school_id, high.school_id):  # which school counts the child depends on both
        refresh_public_figures({only})
        db.session.commit()
        assert figures.region(YEAR, low.region_id)["sections"][0].total.funded == lines - 1



def test_a_school_decided_later_takes_the_child_nedb_merged_from_the_other_schools_count(september, app):
    """The school of the lower id, which lists the retired IIN, has its act decided after the other school's figures
    were built: rebuilding that school alone must rebuild the other's row too, which stops counting the child (the
    same child under its surviving IIN) for the region."""
    low, high, moved = _transfer()
    retired = "0" * 11 + "1"
    low.lines[-1].iin = retired
    db.session.add(NedbIinMerge(retired_iin=retired, surviving_iin=moved.iin))
    status, low.status = low.status, "submitted"
    db.session.flush()
    refresh_public_figures()
    db.session.commit()
    assert figures.region(YEAR, low.region_id)["sections"][0].total.funded == high.accepted_lines

    low.status = status
    db.session.flush()
    refresh_public_figures({low.school_id})
    db.session.commit()
    assert figures.region(YEAR, low.region_id)["sections"][0].total.funded == \
        low.accepted_lines + high.accepted_lines - 1
