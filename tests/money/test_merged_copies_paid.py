"""A child paid twice in one month under two IINs that NEDB later merges: one of the two lines is clawed back.

The verification makes two lines of one child across a retired and a surviving IIN a ``duplicate_line`` in an open
act, but the repricing of a decided month priced each line on its own as the surviving child: the school paid
2 × 42,300.00 ₸ for one child's October kept both for good — and a copy the act had excluded as not in NEDB was
even topped up beside the paid one."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app import clock
from app.acts.adjustments import unsettled_corrections
from app.extensions import db
from tests.money.settling import settled, verified
from tests.money.test_import_reverifies import _import
from tests.registry.conftest import NORMS, iin

OCTOBER, NOVEMBER, DECEMBER = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
BASIC = NORMS["basic"]


def _merge(tmp_path, retired: str, survivor: str) -> None:
    job = _import("nedb_merges", tmp_path / "merges.csv", [{"retired_iin": retired, "surviving_iin": survivor}])
    assert job.status == "done", job.errors


def test_two_paid_lines_of_one_child_under_two_iins_are_one_after_the_merge(country, tmp_path):
    with clock.FrozenClock(datetime(2027, 1, 5, 9, tzinfo=UTC)):
        school = country.school()
        survivor, retired, stays = iin(1), iin(2), iin(3)
        for child in (survivor, retired, stays):
            country.enrol(child, school.bin)  # NEDB had the child twice, under two IINs
        october = verified(country.act(school, [(survivor, 5), (retired, 5)], period=OCTOBER))
        assert october.amount_tiyn == 2 * BASIC
        october.status = "paid"
        db.session.commit()

        _merge(tmp_path, retired, survivor)  # the retired IIN's row is the survivor's: dropped as the same enrolment
        november = verified(country.act(school, [(stays, 5)], period=NOVEMBER))
        assert settled(november) == [("duplicate_line", -BASIC)]
        assert november.amount_tiyn == 0
        november.status = "paid"
        db.session.flush()
        # settled once: the next act claws back nothing more, and nothing stays owed
        december = verified(country.act(school, [(stays, 5)], period=DECEMBER))
        assert settled(december) == [] and unsettled_corrections(school) == []


def test_a_copy_excluded_as_not_in_nedb_is_not_topped_up_beside_the_paid_one(country, tmp_path):
    with clock.FrozenClock(datetime(2027, 1, 5, 9, tzinfo=UTC)):
        school = country.school()
        survivor, retired, stays = iin(1), iin(2), iin(3)
        country.enrol(survivor, school.bin)
        country.enrol(stays, school.bin)
        october = verified(country.act(school, [(retired, 5), (survivor, 5)], period=OCTOBER))
        assert [ln.rule_code for ln in october.lines] == ["not_in_nedb", None] and october.amount_tiyn == BASIC
        october.status = "paid"
        db.session.commit()

        _merge(tmp_path, retired, survivor)
        november = verified(country.act(school, [(stays, 5)], period=NOVEMBER))
        assert settled(november) == [] and november.amount_tiyn == BASIC
        assert unsettled_corrections(school) == []


def test_two_paid_lines_each_of_its_own_days_are_one_child_paid_the_month_once(country, tmp_path):
    with clock.FrozenClock(datetime(2027, 1, 5, 9, tzinfo=UTC)):
        school = country.school()
        survivor, retired, stays = iin(1), iin(2), iin(3)
        country.enrol(survivor, school.bin, withdrawn=date(2026, 10, 16))  # the 1st–15th under one IIN
        country.enrol(retired, school.bin, enrolled=date(2026, 10, 16))  # the 16th–31st under the other
        country.enrol(stays, school.bin)
        october = verified(country.act(school, [(survivor, 5, 15), (retired, 5, 16)], period=OCTOBER))
        assert [ln.amount_tiyn for ln in october.lines] == [BASIC * 15 // 31, BASIC * 16 // 31] == [2_046_774,
                                                                                                   2_183_225]
        october.status = "paid"
        db.session.commit()

        _merge(tmp_path, retired, survivor)  # one child, here every day of October: one line earns the month
        november = verified(country.act(school, [(stays, 5)], period=NOVEMBER))
        assert settled(november) == [("enrolled_days", BASIC - 2_046_774), ("duplicate_line", -2_183_225)]
        # what October pays for the child in all: the norm of one child's whole month
        assert 2_046_774 + 2_183_225 + sum(amount for _, amount in settled(november)) == BASIC
