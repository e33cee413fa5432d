"""The rules of NEDB's complete register and merge list that decide which rows a child is paid on (twelfth round of
mutation testing, benchmarks/MUTATION.md): a merge list with a chain (A → B, B → C) loads every retired IIN under
the last survivor, a circle (A → B, B → A) merges nobody and does not stop the other merges, a retired IIN's row the
survivor already holds is dropped, not doubled; a complete register takes out exactly the allowed share without a
confirmation (not one row more), holds back every removal when a rejected row's school cannot be read, and covers a
school named by the operator whose rows the file does not list at all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.registry.models import NedbEnrollment, NedbIinMerge, RegistryImport
from tests.helpers import school
from tests.money.test_adjustments import BILIM
from tests.money.test_nedb_snapshot import (
    NUR,
    _import,
    _last_import,
    _nedb_count,
    _removals,
    _roll,
    _row,
    _second_iin,
    _write,
)


def _iins(n: int) -> list[str]:
    taken = set(db.session.scalars(select(NedbEnrollment.iin)))
    found = []
    for _ in range(n):
        found.append(_second_iin(taken))
        taken.add(found[-1])
    return found


def _merges(app, tmp_path, pairs: list[tuple[str, str]]) -> RegistryImport:
    path = _write(tmp_path / "merges.csv", [{"retired_iin": r, "surviving_iin": s} for r, s in pairs])
    result = app.test_cli_runner().invoke(args=["import-nedb-merges", str(path)])
    assert result.exit_code == 0, result.output
    return _last_import()


def _rows_of(iin: str) -> list[tuple]:
    return [(e.school_bin, e.enrolled_on) for e in db.session.scalars(
        select(NedbEnrollment).where(NedbEnrollment.iin == iin).order_by(NedbEnrollment.school_bin,
                                                                         NedbEnrollment.enrolled_on))]


def _merge_list() -> dict[str, str]:
    return dict(db.session.execute(select(NedbIinMerge.retired_iin, NedbIinMerge.surviving_iin)).all())


@pytest.mark.parametrize("chunk", [900, 1])
def test_a_chain_of_merges_moves_every_retired_iins_rows_to_the_last_survivor_and_drops_a_row_it_already_has(
        world, app_ctx, tmp_path, monkeypatch, chunk):
    from datetime import date, timedelta

    from app.registry import merges

    monkeypatch.setattr(merges, "_CHUNK", chunk)  # 1: the retired IINs read one per statement, each chunk moved
    child = next(e for e in _roll(BILIM) if e.withdrawn_on is None)
    first, second = _iins(2)
    nur, bilim = school(NUR).bin, child.school_bin
    # NEDB knew the child as ``first`` (at Nur, withdrawn, and at Bilim: the very enrolment the child's own IIN has),
    # then as ``second`` (the same Nur enrolment, one at Nur a year later, Bilim's again), and kept the child's IIN:
    # first → second → child
    d0, later, left = child.enrolled_on, child.enrolled_on + timedelta(days=365), date(2027, 5, 25)
    for iin, school_bin, enrolled_on, withdrawn_on in (
            (first, nur, d0, left), (first, bilim, d0, None),
            (second, nur, d0, None), (second, nur, later, None), (second, bilim, d0, None)):
        db.session.add(NedbEnrollment(iin=iin, full_name=child.full_name, school_bin=school_bin,
                                      school_kind="private", grade=child.grade, enrolled_on=enrolled_on,
                                      withdrawn_on=withdrawn_on))
    db.session.commit()
    child_iin, child_rows = child.iin, _rows_of(child.iin)
    before = _nedb_count()

    job = _merges(app_ctx, tmp_path, [(first, second), (second, child_iin)])
    assert job.status == "done", job.message
    db.session.expire_all()
    # the list is kept flat: a file naming the first IIN later loads it under the child, not under a retired IIN
    assert _merge_list() == {first: child_iin, second: child_iin}
    assert _rows_of(first) == _rows_of(second) == []
    # Nur's two enrolments are the child's now (the first IIN's, withdrawn, moved first); Bilim's enrolment and
    # Nur's repeated one are not counted twice
    assert _rows_of(child_iin) == sorted(child_rows + [(nur, d0), (nur, later)])
    assert db.session.scalars(select(NedbEnrollment.withdrawn_on).where(
        NedbEnrollment.iin == child_iin, NedbEnrollment.school_bin == nur, NedbEnrollment.enrolled_on == d0)).one() \
        == left
    assert _nedb_count() == before - 3
    assert job.checkpoint["merges_applied"] == {"merges": 2, "moved_rows": 2, "dropped_rows": 3}
    # each row kept as it was, with the IIN it went to
    assert sorted((r.iin, r.school_bin, r.enrolled_on, r.withdrawn_on, r.surviving_iin) for r in _removals()) == \
        sorted([(first, nur, d0, left, child_iin), (first, bilim, d0, None, child_iin),
                (second, nur, d0, None, child_iin), (second, nur, later, None, child_iin),
                (second, bilim, d0, None, child_iin)])

    # A file of NEDB's students naming the first IIN: loaded under the child.
    row = _row(child, iin=first, school_bin=nur, school_kind="private",
               enrolled_on=(d0 - timedelta(days=365)).isoformat())
    result = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(_write(tmp_path / "late.csv", [row]))])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert _rows_of(first) == [] and (nur, d0 - timedelta(days=365)) in _rows_of(child_iin)


def test_merges_that_go_round_in_a_circle_merge_nobody_and_the_other_merges_of_the_list_still_apply(
        world, app_ctx, tmp_path):
    roll = _roll(BILIM)
    child = next(e for e in roll if e.withdrawn_on is None)
    one, two, twin = _iins(3)
    nur = school(NUR).bin
    for iin in (one, two, twin):
        db.session.add(NedbEnrollment(iin=iin, full_name=child.full_name, school_bin=nur, school_kind="private",
                                      grade=child.grade, enrolled_on=child.enrolled_on))
    db.session.commit()
    child_iin = child.iin

    job = _merges(app_ctx, tmp_path, [(one, two), (two, one), (twin, child_iin)])
    assert job.status == "done", job.message
    db.session.expire_all()
    # neither IIN of the circle survives: both keep their rows, both are children of their own
    assert _merge_list() == {twin: child_iin}
    assert _rows_of(one) == _rows_of(two) == [(nur, child.enrolled_on)]
    assert _rows_of(twin) == [] and (nur, child.enrolled_on) in _rows_of(child_iin)
    assert job.checkpoint["merges_applied"] == {"merges": 1, "moved_rows": 1, "dropped_rows": 0,
                                                "circular": [[one, two], [two, one]]}
    assert [(r.iin, r.surviving_iin) for r in _removals()] == [(twin, child_iin)]


def test_a_complete_register_takes_out_exactly_the_allowed_share_unconfirmed_and_not_one_row_more(
        world, app_ctx, tmp_path, monkeypatch):
    roll = _roll(BILIM)
    ids = [e.id for e in roll]
    # the share a school may lose unconfirmed: exactly two of its rows
    monkeypatch.setitem(app_ctx.config, "NEDB_SNAPSHOT_MAX_REMOVED_SHARE", 2 / len(roll))
    three_gone = _write(tmp_path / "three.csv", [_row(e) for e in roll[3:]])
    result = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(three_gone), "--snapshot"])
    assert result.exit_code == 1 and school(BILIM).bin in result.output
    db.session.expire_all()
    assert len(_roll(BILIM)) == len(roll) and _removals() == []

    job = _import(app_ctx, _write(tmp_path / "two.csv", [_row(e) for e in roll[2:]]))
    assert job.status == "done", job.message
    db.session.expire_all()
    assert [e.id for e in _roll(BILIM)] == ids[2:]
    assert sorted(r.enrollment_id for r in _removals()) == ids[:2]
    assert job.checkpoint["snapshot"]["over_share"] == []


def test_a_rejected_row_whose_school_cannot_be_read_holds_back_every_removal(world, app_ctx, tmp_path):
    roll = _roll(BILIM)
    rows = [_row(e) for e in roll[2:]]
    rows.append(_row(roll[2], school_bin="not a BIN"))  # whose pupil is this? Perhaps one of the two left out
    before = _nedb_count()
    job = _import(app_ctx, _write(tmp_path / "unattributed.csv", rows))
    assert job.status == "done", job.message
    db.session.expire_all()
    assert _nedb_count() == before and _removals() == []
    plan = job.checkpoint["snapshot"]
    assert (plan["blocked"], plan["removed"], plan["held_rows"]) == (True, 0, 2)
    # the operator is told which school kept its rows, and why
    assert plan["schools"] == [{"bin": school(BILIM).bin, "stored": len(roll), "removed": 0, "held_back": True}]
    assert job.checkpoint["snapshot_applied"]["removed"] == 0


def test_a_school_the_operator_names_loses_every_row_the_file_does_not_list_and_no_other_school_loses_one(
        world, app_ctx, tmp_path):
    bilim, nur = _roll(BILIM), [e.id for e in _roll(NUR)]
    assert nur, "Nur has pupils in the demo world"
    before = _nedb_count()
    # Bilim's complete register; Nur is named: NEDB deleted every row of it, so the file lists none
    path = _write(tmp_path / "bilim.csv", [_row(e) for e in bilim])
    # and a school NEDB has no row of at all (named all the same: nothing to take out)
    from app.registry.identifiers import is_valid_bin

    stored = set(db.session.scalars(select(NedbEnrollment.school_bin)))
    empty = next(b for b in (f"1504400{n:05d}" for n in range(100000)) if is_valid_bin(b) and b not in stored)
    job = _import(app_ctx, path, "--school", school(NUR).bin, "--school", empty, "--confirm-removals")
    assert job.status == "done", job.message
    db.session.expire_all()
    assert _roll(NUR) == [] and len(_roll(BILIM)) == len(bilim)
    assert _nedb_count() == before - len(nur)
    assert sorted(r.enrollment_id for r in _removals()) == nur
    plan = job.checkpoint["snapshot"]
    assert (plan["covered"], plan["removed"], plan["held_rows"], plan["over_share"]) == (
        3, len(nur), 0, [school(NUR).bin])
    assert plan["schools"] == [{"bin": school(NUR).bin, "stored": len(nur), "removed": len(nur), "held_back": False}]


def test_the_schools_an_operator_types_are_read_whatever_separates_them(world):
    from app.registry.snapshot import covered_schools

    bilim, nur = school(BILIM).bin, school(NUR).bin
    assert covered_schools(f" {bilim},{nur};\n{bilim}  12345 ") == ((bilim, nur), ["12345"])
    assert covered_schools(None) == ((), []) and covered_schools(" ;, ") == ((), [])
