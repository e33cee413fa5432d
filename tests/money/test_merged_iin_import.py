"""An NEDB import concerning a child NEDB merged re-verifies the open acts of every school listing the child under
either IIN. A line claiming the retired IIN is judged as the surviving child (app.registry.merges), but the import
looked only for lines of the IIN its rows name — the surviving one: the act listing the retired IIN stayed verified
at the month's norm (42,300.00 ₸) after NEDB withdrew the child from the 1st, and a paid month's claw-back was not
put on the school's open act before its acceptance."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.models import Act, ActAdjustment
from app.acts.verification import verify_acts
from app.extensions import db
from app.registry.models import NedbEnrollment, NedbIinMerge
from tests.money.test_import_reverifies import _import, _nedb_row
from tests.registry.conftest import NORMS, iin

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)
BASIC = NORMS["basic"]


def _merged_child(country, school):
    survivor, retired = iin(1), iin(2)
    row = country.enrol(survivor, school.bin)
    db.session.add(NedbIinMerge(retired_iin=retired, surviving_iin=survivor))
    db.session.flush()
    return row, retired


def test_an_import_of_the_surviving_iin_reverifies_the_open_act_listing_the_retired_one(country, tmp_path):
    school = country.school()
    row, retired = _merged_child(country, school)
    act = country.act(school, [(retired, 5)], status="verified")
    verify_acts([act])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Act, act.id).amount_tiyn == BASIC

    job = _import("nedb", tmp_path / "withdrawn.csv",
                  [_nedb_row(db.session.get(NedbEnrollment, row.id), withdrawn_on=OCTOBER)])
    assert job.status == "done"
    act = db.session.get(Act, act.id)
    assert (act.lines[0].outcome, act.lines[0].rule_code, act.amount_tiyn) == ("excluded", "withdrawn", 0)


def test_an_import_of_the_surviving_iin_claws_back_a_paid_month_of_the_retired_one_on_the_open_act(country, tmp_path):
    school = country.school()
    row, retired = _merged_child(country, school)
    stays = iin(3)
    country.enrol(stays, school.bin)
    october = country.act(school, [(retired, 5)], period=OCTOBER)
    verify_acts([october])
    october.status = "paid"
    november = country.act(school, [(stays, 5)], period=NOVEMBER, status="verified")
    verify_acts([november])
    db.session.commit()

    # NEDB: the child left on 21 October (20 days of 31): 4,230,000 × 20 ÷ 31 = 2,729,032 tiyn of 4,230,000.
    job = _import("nedb", tmp_path / "left.csv",
                  [_nedb_row(db.session.get(NedbEnrollment, row.id), withdrawn_on=date(2026, 10, 21))])
    assert job.status == "done"
    settled = [(a.rule_code, a.amount_tiyn) for a in db.session.scalars(
        select(ActAdjustment).where(ActAdjustment.act_id == november.id))]
    assert settled == [("enrolled_days", 2_729_032 - BASIC)]
    assert db.session.get(Act, november.id).amount_tiyn == BASIC + 2_729_032 - BASIC
