"""Registry corrections arriving by import, as an auditor would send them: the open acts whose evidence the correction
changes are verified again — those the record now names *and* those it named before."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.acts.rules import level_for_grade
from app.extensions import db
from app.registry import importers
from app.registry.models import Licence
from tests.helpers import act_of_school, school
from tests.money.test_adjustments import BILIM, NORMS, NOVEMBER, _enrolment, _submit, _submit_accept_pay
from tests.money.test_import_reverifies import _import, _nedb_row, _verified_bilim


def test_a_licence_corrected_to_another_bin_reverifies_the_school_that_loses_it(world, tmp_path):
    """The licence registry corrects the BIN typed on a licence (its number is the key): the licence was never the
    school's. The school's open act, verified while the licence was filed under its BIN, is verified again — no
    licence record, no payment — not accepted and paid at the registry's old word."""
    act = _verified_bilim()
    seen = act.lock_version
    assert act.amount_tiyn > 0
    own = db.session.scalars(select(Licence).where(Licence.bin == school(BILIM).bin)).all()
    other = next(s for s in (school(n) for n in ("Alatau Lyceum",)) if s.bin != school(BILIM).bin)
    rows = [{"number": lic.number, "bin": other.bin, "valid_from": lic.valid_from.isoformat(),
             "valid_until": lic.valid_until.isoformat() if lic.valid_until else "", "levels": lic.levels}
            for lic in own]
    job = _import("licences", tmp_path / "licence.csv", rows)
    assert job.status == "done" and job.loaded_rows == len(own)
    act = db.session.get(Act, act.id)
    assert act.lock_version > seen
    assert act.amount_tiyn == 0
    assert {ln.rule_code for ln in act.lines} == {"no_licence"}


def test_a_correction_of_a_paid_month_reaches_the_schools_open_act_that_no_longer_lists_the_pupil(world, tmp_path):
    """October is paid with a pupil NEDB then had all month; the pupil left on 1 November, so the November act
    (verified, awaiting acceptance) does not list them. NEDB then corrects the withdrawal to 11 October: October paid
    21 days too many. The import verifies November again, and the claw-back is on it before the official accepts it —
    not left for a December act the school may never submit (the contract's last month, a school leaving the order)."""
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-1")
    assert october.status == "paid"
    pupil = october.lines[4]
    assert pupil.amount_tiyn == NORMS[level_for_grade(pupil.grade)]
    _enrolment(pupil.iin).withdrawn_on = date(2026, 11, 1)  # left at the end of October, as NEDB first said
    db.session.commit()
    november = _submit(NOVEMBER)
    assert november.status == "verified" and pupil.iin not in {ln.iin for ln in november.lines}
    assert not november.adjustments
    seen = november.lock_version

    job = _import("nedb", tmp_path / "correction.csv",
                  [_nedb_row(_enrolment(pupil.iin), withdrawn_on=date(2026, 10, 11))])
    assert job.status == "done"
    november = db.session.get(Act, november.id)
    assert november.status == "verified" and november.lock_version > seen
    norm = NORMS[level_for_grade(pupil.grade)]
    [adjustment] = november.adjustments
    assert (adjustment.iin, adjustment.original_act_id, adjustment.rule_code) == (pupil.iin, october.id,
                                                                                  "enrolled_days")
    assert adjustment.amount_tiyn == norm * 10 // 31 - norm  # paid 10 days of 31, not 31

    # The same file again: nothing changes, no second claw-back.
    again = _import("nedb", tmp_path / "again.csv", [_nedb_row(_enrolment(pupil.iin))])
    assert again.status == "done"
    november = db.session.get(Act, november.id)
    assert [(a.iin, a.amount_tiyn) for a in november.adjustments] == [(pupil.iin, norm * 10 // 31 - norm)]


def test_an_identifier_whose_leading_zero_a_spreadsheet_dropped_is_said_so_and_not_stored(app_ctx, tmp_path):
    """A CSV saved by Excel from a column of numbers: the IIN of a child born in 2009 and a BIN starting with 0 have
    11 digits. The row is refused with what happened (the 0 lost), not "not a valid IIN" — and nothing of it is
    stored; an 11-digit value that no leading 0 makes valid is an invalid IIN as before."""
    from app.registry.identifiers import complete_12
    from app.registry.importers import REASONS, import_file
    from app.registry.models import NedbEnrollment

    child, school_bin = complete_12("09031560001"), complete_12("05084000001")
    other = complete_12("15010160001")
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,grade,enrolled_on\n"
                    f"{child[1:]},A,{school_bin},11,2026-09-01\n"
                    f"{child},B,{school_bin[1:]},11,2026-09-01\n"
                    f"{other[1:]},C,{school_bin},11,2026-09-01\n", encoding="utf-8")
    result = import_file("nedb", path)
    assert [(e["line"], e["column"], e["code"]) for e in result.errors] == [
        (2, "iin", "leading_zero_lost"), (3, "school_bin", "leading_zero_lost"), (4, "iin", "invalid_iin")]
    assert "leading 0" in str(REASONS["leading_zero_lost"])
    assert db.session.query(NedbEnrollment).count() == 0


@pytest.mark.parametrize(("kind", "columns"), [
    ("licences", "number,bin,valid_from,valid_until,levels\n{number},{bin},2020-01-01,,primary\n"),
    ("dormitory_documents",
     "number,dormitory_bin,kind,valid_from,valid_until\n{number},{bin},commissioning,2020-01-01,\n"),
])
def test_a_record_moved_to_another_bin_names_both_bins_as_changed(app_ctx, tmp_path, monkeypatch, kind, columns):
    """Every kind keyed by a document's number (a licence, a dormitory's commissioning act): the import names as changed
    the BIN the record leaves as well as the one it goes to — the organisations whose open acts it may decide
    differently; a file repeating the record as stored names neither."""
    import app.dormitories.registry  # noqa: F401 - registers the dormitories' kinds
    from app.registry.identifiers import complete_12
    from app.registry.importers import KINDS, import_file

    first, second = complete_12("15084000001"), complete_12("15084000002")
    changed: set[str] = set()
    for n, (bin_, expected) in enumerate(((first, {first}), (second, {first, second}), (second, set()))):
        path = tmp_path / f"{kind}-{n}.csv"
        path.write_text(columns.format(number="KZ-1", bin=bin_), encoding="utf-8")
        spy: set[str] = set()
        monkeypatch.setattr(importers, "touched_acts", lambda kind_, values, spy=spy: spy.update(values) or set())
        assert import_file(kind, path).loaded == 1
        assert spy == expected, (n, KINDS[kind].touches)
        changed |= spy
    assert changed == {first, second}
