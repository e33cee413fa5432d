"""A school liquidated mid-month is paid the days before its liquidation, as a licence ending inside the month pays
its covered days.

The business register had no liquidation date: once it said "liquidated", the school's open acts lost every day of
the month — and of every earlier month still open — though it taught until the 16th. Now the register keeps the
date (``liquidated_on``): the days before it are paid, a month starting on or after it is excluded with the reason
``liquidated``, a liquidation after the month changes nothing. The set-based pass (SQL, per act and month-wide) and
the repricing of decided months (Python) agree; an import of the register re-verifies the school's open acts; a bad
date is a clear row error."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.rules import RULES
from app.acts.verification import verify_act, verify_acts
from app.extensions import db
from app.registry.adapter import TableStudentRegistry
from app.registry.importers import import_file
from app.registry.models import BusinessRecord
from tests.registry.conftest import NORMS, iin
from tests.registry.test_pass_against_repricing import repriced

LIQUIDATED_16TH = date(2026, 10, 16)  # the school exists until the 15th: 15 days of October's 31


@pytest.fixture()
def school_act(country):
    school = country.school("Alpha")
    for n in (1, 2):
        country.enrol(iin(n), school.bin, grade=5)
    country.enrol(iin(3), school.bin, grade=2, enrolled=date(2026, 10, 10))  # from the 10th: 6 days before
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(3), 2)])
    return school, act


def _liquidate(school, on: date | None) -> None:
    record = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == school.bin)).one()
    record.status, record.liquidated_on = "liquidated", on
    db.session.flush()


def _lines(act) -> list[tuple]:
    db.session.expire_all()
    return [(ln.rule_code, ln.paid_days, ln.amount_tiyn) for ln in sorted(act.lines, key=lambda ln: ln.line_no)]


def test_a_school_liquidated_mid_month_is_paid_the_days_before_it(school_act):
    school, act = school_act
    _liquidate(school, LIQUIDATED_16TH)
    summary = verify_act(act)
    basic, primary = NORMS["basic"], NORMS["primary"]
    assert _lines(act) == [(None, 15, basic * 15 // 31), (None, 15, basic * 15 // 31), (None, 6, primary * 6 // 31)]
    assert summary.amount_tiyn == 2 * (basic * 15 // 31) + primary * 6 // 31
    verify_acts([act])  # month-wide: the same
    assert _lines(act)[0] == (None, 15, basic * 15 // 31)


@pytest.mark.parametrize(("on", "expected"), [
    (date(2026, 10, 1), "liquidated"),  # on the month's first day: no day of it
    (date(2026, 9, 20), "liquidated"),  # before the month
    (date(2026, 11, 1), None),  # after the month: nothing changes
    (None, "non_education_org"),  # liquidated with no date known: as before, no month is paid
])
def test_a_liquidation_before_the_month_excludes_the_act_after_it_changes_nothing(school_act, on, expected):
    school, act = school_act
    _liquidate(school, on)
    verify_act(act)
    rules = {rule for rule, _days, _amount in _lines(act)}
    assert rules == {expected}
    if expected is None:
        assert _lines(act)[0] == (None, 31, NORMS["basic"])
    if expected == "liquidated":
        assert "liquidated" in str(RULES["liquidated"].reason)


def test_the_pass_and_the_repricing_agree(school_act, country):
    """What each line of a school liquidated on the 16th earns: the same by the SQL pass and by the repricing of a
    decided month (a liquidation dated back into a month already paid is clawed back to these days)."""
    school, act = school_act
    other = country.school("Beta")
    country.licence(other, levels="primary", valid_until=date(2026, 10, 20), number="P-20")
    country.enrol(iin(4), other.bin, grade=3)
    _liquidate(other, date(2026, 10, 11))
    second = country.act(other, [(iin(4), 3)])
    _liquidate(school, LIQUIDATED_16TH)
    acts = [act, second]
    verify_acts(acts)
    results = {ln.id: (ln.rule_code, ln.amount_tiyn) for a in acts for ln in a.lines}
    for _act, line, found in repriced(acts, [iin(n) for n in range(1, 5)]):
        assert results[line.id] == (None, found.corrected_tiyn) and found.corrected_tiyn > 0, line.iin
    assert results[second.lines[0].id] == (None, NORMS["primary"] * 10 // 31)  # 1st–10th


def test_a_liquidation_dated_back_into_a_paid_month_is_priced_again_to_its_days(school_act, country):
    """October paid whole; the register then dates the liquidation to 16 October. The next act's settlement looks at
    October's lines again (those paid the whole month of a pupil still enrolled were left out: only a licence gap or
    NEDB brought them back) and prices them at the days before the liquidation — a claw-back, as for a licence."""
    from app.acts.adjustments import _candidate_lines, _school_repricing

    school, october = school_act
    verify_act(october)
    october.status = "accepted"
    november = country.act(school, [(iin(1), 5)], period=date(2026, 11, 1))
    registry = TableStudentRegistry()
    assert not [ln for ln, _ in _candidate_lines([november], registry) if ln.rule_code is None and ln.paid_days == 31]
    _liquidate(school, LIQUIDATED_16TH)
    rows = _candidate_lines([november], registry)
    found = _school_repricing(registry)(rows)
    basic, primary = NORMS["basic"], NORMS["primary"]
    assert sorted((ln.line_no, found[ln.id].rule_code, found[ln.id].corrected_tiyn) for ln, _ in rows) == [
        (1, "enrolled_days", basic * 15 // 31), (2, "enrolled_days", basic * 15 // 31),
        (3, "enrolled_days", primary * 6 // 31)]
    _liquidate(school, date(2026, 9, 30))  # before October: no day of it
    found = _school_repricing(registry)(_candidate_lines([november], registry))
    assert {(c.rule_code, c.corrected_tiyn, c.evidence["liquidated_on"]) for c in found.values()} == {
        ("liquidated", 0, "2026-09-30")}


def _write(path, rows: list[str]) -> None:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_the_import_takes_the_date_and_says_what_is_wrong_with_a_bad_one(app_ctx, tmp_path):
    from tests.registry.test_import import SCHOOL_BIN

    path = tmp_path / "business.csv"
    _write(path, ["bin,name,status,oked,liquidated_on",
                  f"{SCHOOL_BIN},School,liquidated,85.31,16.10.2026",
                  "791028302728,Shop,liquidated,85.31,2026-02-30",
                  "950440001673,Other,active,85.31,2026-10-16",
                  "950440001673,Other,liquidated,85.31,2099-01-01"])
    result = import_file("business", path)
    db.session.commit()
    assert result.loaded == 1
    assert [(e["line"], e["column"], e["code"]) for e in result.errors] == [
        (3, "liquidated_on", "invalid_date"), (4, "liquidated_on", "liquidated_not_status"),
        (5, "liquidated_on", "far_future")]
    record = db.session.scalars(select(BusinessRecord)).one()
    assert (record.status, record.liquidated_on) == ("liquidated", LIQUIDATED_16TH)

    # A file without the column keeps the date; an empty cell clears it.
    _write(path, ["bin,name,status,oked", f"{SCHOOL_BIN},School renamed,liquidated,85.31"])
    import_file("business", path)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(select(BusinessRecord)).one().liquidated_on == LIQUIDATED_16TH
    _write(path, ["bin,name,status,oked,liquidated_on", f"{SCHOOL_BIN},School,liquidated,85.31,"])
    import_file("business", path)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(select(BusinessRecord)).one().liquidated_on is None


def test_an_import_of_the_liquidation_reverifies_the_open_act_and_the_lookup_shows_it(world, tmp_path, browser):
    from app.acts.models import Act
    from tests.helpers import school
    from tests.money.test_adjustments import BILIM
    from tests.money.test_import_reverifies import _import, _verified_bilim

    act = _verified_bilim()
    seen, before = act.lock_version, act.amount_tiyn
    bilim = school(BILIM)
    record = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == bilim.bin)).one()
    job = _import("business", tmp_path / "business.csv", [
        {"bin": bilim.bin, "name": record.name, "status": "liquidated", "oked": record.oked,
         "liquidated_on": f"{act.period.replace(day=16):%d.%m.%Y}"}])
    assert job.status == "done" and job.loaded_rows == 1
    act = db.session.get(Act, act.id)
    assert act.lock_version > seen and 0 < act.amount_tiyn < before
    assert {ln.paid_days for ln in act.lines if ln.rule_code is None} <= set(range(1, 16))

    page = browser("admin").get(f"/registry/lookup?q={bilim.bin}").get_data(as_text=True)
    assert 'id="lookup-liquidated-on"' in page


def test_the_import_columns_name_the_liquidation_date(app_ctx):
    from app.registry.importers import KINDS

    assert "liquidated_on" in KINDS["business"].columns and "liquidated_on" not in KINDS["business"].required


def test_a_liquidation_date_corrected_later_tops_the_excluded_month_up(school_act, country):
    """October excluded whole (the register said liquidated on 30 September); the date is corrected to 16 October:
    the school taught until the 15th. The next act's settlement tops October up to those days — a dated fact, as a
    licence's (``liquidated`` is a rule a registry correction may lift)."""
    from app.acts.adjustments import _candidate_lines, _school_repricing
    from app.acts.topups import REGISTRY_CORRECTED_IN_FAVOUR

    school, october = school_act
    _liquidate(school, date(2026, 9, 30))
    verify_act(october)
    assert {rule for rule, _days, _amount in _lines(october)} == {"liquidated"}
    october.status = "accepted"
    november = country.act(school, [(iin(1), 5)], period=date(2026, 11, 1))
    _liquidate(school, LIQUIDATED_16TH)
    registry = TableStudentRegistry()
    rows = _candidate_lines([november], registry)
    found = _school_repricing(registry)(rows)
    basic, primary = NORMS["basic"], NORMS["primary"]
    assert sorted((ln.line_no, found[ln.id].rule_code, found[ln.id].corrected_tiyn) for ln, _ in rows) == [
        (1, REGISTRY_CORRECTED_IN_FAVOUR, basic * 15 // 31), (2, REGISTRY_CORRECTED_IN_FAVOUR, basic * 15 // 31),
        (3, REGISTRY_CORRECTED_IN_FAVOUR, primary * 6 // 31)]


def test_a_pupil_enrolled_only_from_the_liquidation_day_is_excluded_as_liquidated(country):
    """Enrolled here only on or after the day the school was liquidated: no day of the pupil's is paid, and the reason
    is the liquidation — the licence had nothing to do with it (the line said ``licence_expired``). One NEDB row
    (the common statement) and several (the general one) alike, per act and month-wide."""
    school = country.school("Alpha")
    other = country.school("Beta")
    country.enrol(iin(1), school.bin, grade=5)
    country.enrol(iin(2), school.bin, grade=5, enrolled=LIQUIDATED_16TH)  # from the liquidation day
    country.enrol(iin(3), other.bin, grade=5, withdrawn=date(2026, 10, 20))  # moved here on the 20th
    country.enrol(iin(3), school.bin, grade=5, enrolled=date(2026, 10, 20))
    country.enrol(iin(4), school.bin, grade=5, enrolled=date(2026, 10, 10))  # 6 days before it: paid
    act = country.act(school, [(iin(n), 5) for n in range(1, 5)])
    _liquidate(school, LIQUIDATED_16TH)
    basic = NORMS["basic"]
    expected = [(None, 15, basic * 15 // 31), ("liquidated", None, 0), ("liquidated", None, 0),
                (None, 6, basic * 6 // 31)]
    verify_act(act)
    assert _lines(act) == expected
    verify_acts([act])
    assert _lines(act) == expected
    # the repricing of a decided month says the same (a liquidation dated back into a month already paid)
    assert [(found.rule_code if found.corrected_tiyn == 0 else None, found.corrected_tiyn)
            for _act, _line, found in repriced([act], [iin(n) for n in range(1, 5)])] == [
        (rule, amount) for rule, _days, amount in expected]
