"""A licence file's status against the end date a licence keeps from an earlier file.

A column a file lacks keeps its stored value (app.registry.importers.upsert), and a licence register's usual export of
indefinite licences has no end date column: a licence renewed without an end date kept its old one, and the school
went unpaid from the day after it although the register listed the licence "active". The other way round, the
status column was not read at all: a licence the register lists "suspended" with an empty end cell was written as
indefinite (an empty cell of a present column means "no end date") and paid.

Worked by hand, October 2026 (31 days), one pupil of grade 5 (basic level, norm 42,300.00 ₸ = 4,230,000 tiyn), the
licence stored as ending on 15 October:
- paid the 1st–15th: 4,230,000 × 15 // 31 = 2,046,774 tiyn = 20,467.74 ₸ (31 × 2,046,774 = 63,449,994, 6 left over);
- the whole month: 4,230,000 tiyn = 42,300.00 ₸ — 21,832.26 ₸ more.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.acts.verification import verify_act
from app.extensions import db
from app.registry.importers import RowError, parse_licence
from app.registry.models import Licence, RegistryImport
from tests.registry.conftest import iin

NUMBER = "KZ-LIC-0001"
OCT_15 = date(2026, 10, 15)
HALF_OCTOBER = 2_046_774  # 20,467.74 ₸: the 1st–15th
WHOLE_OCTOBER = 4_230_000  # 42,300.00 ₸
NOVEMBER_2 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _run(tmp_path, text: str):
    from app.registry.operations import create_import, run_import

    path = tmp_path / "licences.csv"
    path.write_text(text, encoding="utf-8")
    job = create_import("licences", path.name, source=path)
    db.session.commit()
    result = run_import(job.id)
    db.session.expire_all()
    return result, db.session.get(RegistryImport, job.id)


def _school_licensed_until(country, valid_until):
    school = country.school("Alpha", registered=False)
    country.business(school)
    country.licence(school, valid_until=valid_until, levels="primary,basic,secondary", number=NUMBER)
    country.enrol(iin(1), school.bin, grade=5)
    act = country.act(school, [(iin(1), 5)])
    db.session.commit()
    return school, act


def _october_amount(act) -> int:
    verify_act(act)
    db.session.commit()
    db.session.refresh(act)
    return act.amount_tiyn


def _stored_end() -> date | None:
    return db.session.scalars(select(Licence.valid_until).where(Licence.number == NUMBER)).one()


def test_a_licence_the_register_lists_active_without_an_end_date_column_is_paid_past_its_old_end(country, tmp_path):
    school, act = _school_licensed_until(country, OCT_15)
    with clock.FrozenClock(NOVEMBER_2):
        assert _october_amount(act) == HALF_OCTOBER
        result, job = _run(tmp_path, "number,bin,valid_from,levels,status\n"
                                     f"{NUMBER},{school.bin},2020-01-01,\"primary,basic,secondary\",Действующая\n")
        assert (result.loaded, result.rejected) == (1, 0)
        assert _stored_end() is None, "the kept end date the register's 'active' contradicts is cleared"
        assert [(n["line"], n["code"], n["iin"]) for n in job.notices] == [(2, "licence_end_cleared", NUMBER)]
        assert _october_amount(act) == WHOLE_OCTOBER  # 21,832.26 ₸ more: the 16th–31st


@pytest.mark.parametrize(("header", "status", "stored", "kept"), [
    # guard: an end date not yet passed is not contradicted by "active" (the licence runs until then)
    ("number,bin,valid_from,levels,status", "active", date(2026, 12, 31), date(2026, 12, 31)),
    # guard: without a status the file says nothing about today; the column it lacks keeps its value
    ("number,bin,valid_from,levels", None, OCT_15, OCT_15),
])
def test_a_kept_end_date_nothing_contradicts_stays(country, tmp_path, header, status, stored, kept):
    school, _act = _school_licensed_until(country, stored)
    row = f"{NUMBER},{school.bin},2020-01-01,basic" + (f",{status}" if status else "")
    with clock.FrozenClock(NOVEMBER_2):
        result, job = _run(tmp_path, f"{header}\n{row}\n")
    assert (result.loaded, result.rejected, job.notices) == (1, 0, [])
    assert _stored_end() == kept


def test_an_empty_end_cell_of_an_active_licence_means_indefinite(country, tmp_path):
    """Guard: a present column's empty cell is "no end date", not "keep the stored one" (as before)."""
    school, act = _school_licensed_until(country, OCT_15)
    with clock.FrozenClock(NOVEMBER_2):
        result, _job = _run(tmp_path, "number,bin,valid_from,valid_until,levels\n"
                                      f"{NUMBER},{school.bin},2020-01-01,,basic\n")
        assert (result.loaded, _stored_end()) == (1, None)
        assert _october_amount(act) == WHOLE_OCTOBER


def test_a_suspended_licence_with_an_empty_end_cell_is_refused_and_not_made_indefinite(country, tmp_path):
    school, act = _school_licensed_until(country, OCT_15)
    with clock.FrozenClock(NOVEMBER_2):
        result, job = _run(tmp_path, "number,bin,valid_from,valid_until,levels,status\n"
                                     f"{NUMBER},{school.bin},2020-01-01,,basic,Приостановлена\n")
        assert (result.loaded, result.rejected) == (0, 1)
        assert [(e["line"], e["column"], e["code"]) for e in job.errors] == [(2, "valid_until", "ended_needs_end")]
        assert _stored_end() == OCT_15, "nothing written: the end date stays"
        assert _october_amount(act) == HALF_OCTOBER  # not 42,300.00 ₸ for a suspended licence


def test_a_revoked_licence_with_its_last_day_is_loaded_with_it(country, tmp_path):
    school, act = _school_licensed_until(country, None)
    with clock.FrozenClock(NOVEMBER_2):
        assert _october_amount(act) == WHOLE_OCTOBER
        result, _job = _run(tmp_path, "number,bin,valid_from,valid_until,levels,status\n"
                                      f"{NUMBER},{school.bin},2020-01-01,2026-10-15,basic,revoked\n")
        assert (result.loaded, _stored_end()) == (1, OCT_15)
        assert _october_amount(act) == HALF_OCTOBER


def _row(**cells) -> dict:
    return {"number": NUMBER, "bin": "950440001673", "valid_from": "2020-01-01", "levels": "basic", **cells}


@pytest.mark.parametrize(("cells", "refused"), [
    ({"status": "Suspended"}, ("valid_until", "ended_needs_end")),  # the column absent
    ({"status": "отозвана", "valid_until": ""}, ("valid_until", "ended_needs_end")),
    ({"status": "closed"}, ("status", "invalid_licence_status")),
])
def test_a_licence_status_is_checked_against_its_end_date(cells, refused):
    with pytest.raises(RowError) as err:
        parse_licence(_row(**cells))
    assert (err.value.column, err.value.code) == refused


def test_an_active_licence_whose_end_date_has_passed_is_loaded_as_written_with_a_note(app_ctx):
    with clock.FrozenClock(NOVEMBER_2):
        record = parse_licence(_row(status="Қолданыста", valid_until="2026-10-15"))
        assert (record["valid_until"], record["_notes"]) == (OCT_15, ["licence_active_past_end"])
        assert "_notes" not in parse_licence(_row(status="active", valid_until="2026-11-02"))


def test_the_report_says_a_kept_liquidation_date_an_active_row_leaves_unread(country, tmp_path):
    """The business register's reinstatement (fixed at the rule, app.registry.business.liquidation_day) is said beside
    the row; a row whose file has the column, or a record without a date, has no note (guard)."""
    from app.registry.models import BusinessRecord
    from app.registry.operations import create_import, run_import

    reinstated, never = country.school("Alpha", registered=False), country.school("Beta", registered=False)
    country.business(reinstated).liquidated_on = OCT_15
    country.business(never)
    db.session.commit()
    path = tmp_path / "business.csv"
    path.write_text("bin,name,status,oked\n"
                    f"{reinstated.bin},Alpha,active,85.31\n{never.bin},Beta,active,85.31\n", encoding="utf-8")
    job = create_import("business", path.name, source=path)
    db.session.commit()
    run_import(job.id)
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert [(n["line"], n["code"], n["iin"]) for n in job.notices] == [
        (2, "liquidation_date_not_read", reinstated.bin)]
    assert db.session.scalars(select(BusinessRecord.liquidated_on).where(
        BusinessRecord.bin == reinstated.bin)).one() == OCT_15
