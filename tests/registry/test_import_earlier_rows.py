"""NEDB corrects an enrolment date or a school: the corrected row arrives beside the earlier one (the natural key holds
both), and both counted — October stayed paid in full, school B's line of a re-registered child was a double
enrolment. The import now names each such row and changes nothing else; the operator voids the earlier row by
importing it with withdrawn_on = enrolled_on, and then the next act claws back and school B is paid."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from app.acts.adjustments import adjustments_of
from app.acts.models import Act
from app.acts.verification import verify_act
from app.audit.models import AuditEvent
from app.dormitories.models import StudentEnrolment
from app.extensions import db
from app.registry import importers
from app.registry.models import NedbEnrollment, RegistryImport
from tests.money.test_settle import AMOUNT, _being_verified, _paid_october, _settle
from tests.registry.conftest import NORMS, YEAR_START, iin
from tests.registry.test_rules import outcomes

HEADER = "iin,full_name,school_bin,grade,enrolled_on,withdrawn_on\n"


def _import(tmp_path, rows: list[str], kind: str = "nedb", header: str = HEADER):
    from app.registry.operations import create_import, run_import

    path = tmp_path / f"{kind}.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    job = create_import(kind, path.name, source=path)
    db.session.commit()
    result = run_import(job.id)
    db.session.expire_all()
    return result


def _rows(student: str) -> list[tuple]:
    return db.session.execute(select(NedbEnrollment.school_bin, NedbEnrollment.enrolled_on,
                                     NedbEnrollment.withdrawn_on).where(NedbEnrollment.iin == student)
                              .order_by(NedbEnrollment.enrolled_on)).all()


def test_a_corrected_enrolment_date_is_named_changes_nothing_and_once_voided_october_is_clawed_back(country,
                                                                                                   tmp_path):
    school, child = country.school(), iin(701)
    country.enrol(child, school.bin, grade=3)  # NEDB said: enrolled 1 September
    _paid_october(country, school, [child], [AMOUNT])
    db.session.commit()

    # NEDB corrects the date: enrolled on 20 October.
    result = _import(tmp_path, [f"{child},Student,{school.bin},3,2026-10-20,"])
    assert (result.loaded, result.rejected, result.noticed) == (1, 0, 1)
    (notice,) = result.notices
    assert notice == {"line": 2, "code": "overlaps_earlier", "iin": child, "school": school.bin,
                      "enrolled_on": "2026-09-01", "withdrawn_on": ""}
    assert _rows(child) == [(school.bin, YEAR_START, None), (school.bin, date(2026, 10, 20), None)]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.imported")).one()
    assert event.details["may_correct_earlier"] == 1
    # November's act lists a pupil NEDB has all month (the voiding import below verifies it again: the school's open
    # act is where a correction of a paid month is settled, and a claw-back needs an amount to be taken from).
    country.enrol(iin(9_000), school.bin, grade=3)
    november = _being_verified(country, school, earns=AMOUNT)
    assert _settle(november) == {}, "nothing changes without the operator asking"

    # The operator voids the earlier row: the same row again, withdrawn on the day it was enrolled.
    voided = _import(tmp_path, [f"{child},Student,{school.bin},3,2026-09-01,2026-09-01"])
    assert (voided.loaded, voided.noticed, voided.notices) == (1, 0, [])
    assert _rows(child) == [(school.bin, YEAR_START, YEAR_START), (school.bin, date(2026, 10, 20), None)]
    # The import verified November again, as every open act of a school whose paid month a correction concerns.
    db.session.expire_all()
    assert {a.iin: a.amount_tiyn for a in adjustments_of(november)} == {child: AMOUNT * 12 // 31 - AMOUNT}, \
        "20–31 October: 12 days of 31"
    assert db.session.get(Act, november.id).amount_tiyn == AMOUNT + AMOUNT * 12 // 31 - AMOUNT


def test_a_child_re_registered_at_school_b_is_named_and_once_school_a_is_voided_b_is_paid(country, tmp_path):
    school_a, school_b, child = country.school("A"), country.school("B"), iin(702)
    country.enrol(child, school_a.bin, grade=5)
    db.session.commit()

    result = _import(tmp_path, [f"{child},Student,{school_b.bin},5,2026-09-01,"])
    assert [(n["line"], n["school"]) for n in result.notices] == [(2, school_a.bin)]
    act = country.act(school_b, [(child, 5)])
    verify_act(act)
    assert outcomes(act) == [("excluded", "double_enrolment")]

    _import(tmp_path, [f"{child},Student,{school_a.bin},5,2026-09-01,2026-09-01"])
    act_again = country.act(school_b, [(child, 5)], period=date(2026, 11, 1))
    verify_act(act_again)
    assert outcomes(act_again) == [("accepted", None)]
    assert act_again.amount_tiyn == NORMS["basic"]


@pytest.mark.parametrize("batch", [importers.BATCH, 1])
def test_a_file_that_brings_the_earlier_row_too_or_rows_that_do_not_overlap_gets_no_notice(country, tmp_path,
                                                                                           monkeypatch, batch):
    """A full snapshot holds the earlier row itself (in any batch); a transfer's rows meet but share no day."""
    monkeypatch.setattr(importers, "BATCH", batch)
    school_a, school_b = country.school("A"), country.school("B")
    moved, corrected = iin(703), iin(704)
    country.enrol(moved, school_a.bin, withdrawn=date(2026, 10, 20))
    country.enrol(corrected, school_a.bin)
    db.session.commit()
    result = _import(tmp_path, [f"{moved},Student,{school_b.bin},5,2026-10-20,",
                                f"{corrected},Student,{school_a.bin},5,2026-10-01,",
                                f"{corrected},Student,{school_a.bin},5,2026-09-01,2026-10-01"])
    assert (result.loaded, result.noticed) == (3, 0)


def test_the_cli_and_the_import_page_show_the_notice(country, tmp_path, browser):
    from app.people.models import Organisation
    from tests.registry.test_pages import _user

    school_a, school_b, child = country.school("A"), country.school("B"), iin(705)
    country.enrol(child, school_a.bin)
    operator = Organisation(kind="operator", bin="791028302728", name="Operator")
    db.session.add(operator)
    db.session.flush()
    _user("op", "operator", operator)
    db.session.commit()
    body = HEADER + f"{child},Student,{school_b.bin},5,2026-09-01,\n"
    path = tmp_path / "nedb.csv"
    path.write_text(body, encoding="utf-8")
    outcome = country_cli(path)
    assert "line 2: loaded, but the same student has another row, not in this file" in outcome
    assert f"school {school_a.bin}, enrolled 2026-09-01, withdrawn —" in outcome
    assert "1 loaded row(s) may correct an earlier row" in outcome

    op = browser("op")
    response = op.post("/registry/imports", {"kind": "nedb", "file": (io.BytesIO(body.encode()), "nedb.csv")},
                       content_type="multipart/form-data")
    page = op.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="import-notices"' in page and school_a.bin in page and "void the earlier row" in page
    job = db.session.scalars(select(RegistryImport).order_by(RegistryImport.id.desc())).first()
    assert [n["iin"] for n in job.notices] == [child]


def country_cli(path) -> str:
    from flask import current_app

    outcome = current_app.test_cli_runner().invoke(args=["import-nedb", str(path)])
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def test_the_student_registry_names_a_corrected_row_too(app_ctx, tmp_path):
    college, student = "791028302728", iin(706)
    db.session.add(StudentEnrolment(iin=student, full_name="Айгерім", institution_bin=college, course=2,
                                    study_form="full_time", home_region="ASTANA", enrolled_on=YEAR_START))
    db.session.commit()
    result = _import(tmp_path, [f"{student},Айгерім,{college},2,ASTANA,2026-10-20"], kind="students",
                     header="iin,full_name,institution_bin,course,home_region,enrolled_on\n")
    assert [(n["line"], n["school"], n["enrolled_on"]) for n in result.notices] == [(2, college, "2026-09-01")]
    assert db.session.query(StudentEnrolment).count() == 2
