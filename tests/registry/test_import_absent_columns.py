"""A registry file that leaves out an optional column changes nothing in that column: a re-import of a withdrawn
child from a file of only iin,full_name,school_bin,grade,enrolled_on had cleared the withdrawal (the next act paid
the child again and reversed the claw-back); a licence file without valid_until made an expired licence unlimited;
a student file without study_form made a part-time student full-time. A new record still takes the defaults, and
an empty cell of a column the file has is a value (not withdrawn)."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.dormitories.models import DormitoryDocument, StudentEnrolment
from app.extensions import db
from app.registry.models import Licence, NedbEnrollment, RegistryImport
from tests.registry.conftest import iin
from tests.registry.test_import import SCHOOL_BIN, write_xlsx

COLLEGE_BIN = "791028302728"
SEPT, OCT_15 = date(2026, 9, 1), date(2026, 10, 15)


def _run(kind: str, path):
    from app.registry.operations import create_import, run_import

    job = create_import(kind, path.name, source=path)
    db.session.commit()
    result = run_import(job.id)
    db.session.expire_all()
    return result


def _withdrawn_state_school_child() -> None:
    db.session.add(NedbEnrollment(iin=iin(1), full_name="Ерлан", school_bin=SCHOOL_BIN, school_kind="state", grade=5,
                                  enrolled_on=SEPT, withdrawn_on=OCT_15))
    db.session.commit()


def _nedb(n: int) -> NedbEnrollment:
    return db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == iin(n))).one()


def test_a_nedb_csv_without_withdrawn_on_keeps_the_withdrawal_and_a_new_child_gets_the_defaults(app_ctx, tmp_path):
    _withdrawn_state_school_child()
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,grade,enrolled_on\n"
                    f"{iin(1)},Ерлан Асанов,{SCHOOL_BIN},6,2026-09-01\n"
                    f"{iin(2)},Новый,{SCHOOL_BIN},5,2026-09-01\n", encoding="utf-8")
    result = _run("nedb", path)
    assert (result.loaded, result.rejected) == (2, 0)
    kept = _nedb(1)
    assert (kept.full_name, kept.grade) == ("Ерлан Асанов", 6), "the columns the file has are updated"
    assert (kept.withdrawn_on, kept.school_kind) == (OCT_15, "state"), "the columns it lacks are not"
    new = _nedb(2)
    assert (new.withdrawn_on, new.school_kind) == (None, "private")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.imported")).one()
    assert event.details["columns"] == ["iin", "full_name", "school_bin", "grade", "enrolled_on"]


def test_a_nedb_xlsx_without_withdrawn_on_keeps_the_withdrawal(app_ctx, tmp_path):
    _withdrawn_state_school_child()
    path = write_xlsx(tmp_path / "nedb.xlsx", [["IIN", "Full name", "School BIN", "Grade", "Enrolled on"],
                                               [iin(1), "Ерлан", SCHOOL_BIN, 5, SEPT]])
    assert _run("nedb", path).loaded == 1
    assert (_nedb(1).withdrawn_on, _nedb(1).school_kind) == (OCT_15, "state")


def test_an_empty_withdrawn_on_cell_of_a_file_that_has_the_column_still_means_not_withdrawn(app_ctx, tmp_path):
    _withdrawn_state_school_child()
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,grade,enrolled_on,withdrawn_on\n"
                    f"{iin(1)},Ерлан,{SCHOOL_BIN},5,2026-09-01,\n", encoding="utf-8")
    assert _run("nedb", path).loaded == 1
    assert (_nedb(1).withdrawn_on, _nedb(1).school_kind) == (None, "state")


def test_the_cli_and_the_web_import_keep_the_withdrawal_too(app_ctx, tmp_path, browser):
    from tests.registry.test_pages import _user

    _withdrawn_state_school_child()
    body = f"iin,full_name,school_bin,grade,enrolled_on\n{iin(1)},Ерлан,{SCHOOL_BIN},5,2026-09-01\n"
    path = tmp_path / "nedb.csv"
    path.write_text(body, encoding="utf-8")
    outcome = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path)])
    assert outcome.exit_code == 0 and "1 row(s): 1 loaded, 0 rejected." in outcome.output
    assert _nedb(1).withdrawn_on == OCT_15

    from app.people.models import Organisation

    operator = Organisation(kind="operator", bin="950440001673", name="Operator")
    db.session.add(operator)
    db.session.flush()
    _user("op", "operator", operator)
    db.session.commit()
    response = browser("op").post("/registry/imports", {"kind": "nedb", "file": (io.BytesIO(body.encode()), "n.csv")},
                                  content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.expire_all()
    assert [j.status for j in db.session.scalars(select(RegistryImport))] == ["done", "done"]
    assert _nedb(1).withdrawn_on == OCT_15
    assert "A column left out of the file keeps the values already stored" in browser("op").get("/registry").get_data(
        as_text=True)


def test_a_licence_file_without_valid_until_keeps_the_licence_end(app_ctx, tmp_path):
    db.session.add(Licence(number="KZ01LAA1", bin=SCHOOL_BIN, valid_from=date(2020, 1, 1),
                           valid_until=date(2026, 9, 30), levels="primary"))
    db.session.commit()
    path = tmp_path / "licences.csv"
    path.write_text(f"number,bin,valid_from,levels\nKZ01LAA1,{SCHOOL_BIN},2020-01-01,primary basic\n"
                    f"KZ01LAA2,{SCHOOL_BIN},2021-01-01,secondary\n", encoding="utf-8")
    assert _run("licences", path).loaded == 2
    licences = {lic.number: lic for lic in db.session.scalars(select(Licence))}
    assert (licences["KZ01LAA1"].levels, licences["KZ01LAA1"].valid_until) == ("primary,basic", date(2026, 9, 30))
    assert licences["KZ01LAA2"].valid_until is None, "a new licence without an end date is indefinite"


def test_a_student_registry_xlsx_without_study_form_and_withdrawn_on_keeps_them(app_ctx, tmp_path):
    db.session.add(StudentEnrolment(iin=iin(1), full_name="Айгерім", institution_bin=COLLEGE_BIN, course=2,
                                    study_form="part_time", home_region="KARAGANDY", enrolled_on=SEPT,
                                    withdrawn_on=OCT_15))
    db.session.commit()
    path = write_xlsx(tmp_path / "students.xlsx", [
        ["iin", "full_name", "institution_bin", "course", "home_region", "enrolled_on"],
        [iin(1), "Айгерім", COLLEGE_BIN, 3, "KARAGANDY", SEPT],
        [iin(2), "Дана", COLLEGE_BIN, 1, "ASTANA", SEPT]])
    assert _run("students", path).loaded == 2
    rows = {r.iin: r for r in db.session.scalars(select(StudentEnrolment))}
    assert (rows[iin(1)].course, rows[iin(1)].study_form, rows[iin(1)].withdrawn_on) == (3, "part_time", OCT_15)
    assert (rows[iin(2)].study_form, rows[iin(2)].withdrawn_on) == ("full_time", None)


def test_a_dormitory_document_file_without_valid_until_keeps_the_document_end(app_ctx, tmp_path):
    db.session.add(DormitoryDocument(number="D-1", dormitory_bin=COLLEGE_BIN, kind="ownership",
                                     valid_from=date(2020, 1, 1), valid_until=date(2026, 9, 30)))
    db.session.commit()
    path = tmp_path / "documents.csv"
    path.write_text(f"number,dormitory_bin,kind,valid_from\nD-1,{COLLEGE_BIN},ownership,2020-01-01\n",
                    encoding="utf-8")
    assert _run("dormitory_documents", path).loaded == 1
    assert db.session.scalars(select(DormitoryDocument.valid_until)).one() == date(2026, 9, 30)


def test_a_withdrawn_child_re_imported_without_withdrawn_on_is_still_clawed_back_and_not_paid_again(country,
                                                                                                   tmp_path):
    """The auditor's case: the next act paid the child again and the earlier claw-back was reversed."""
    from app.acts.verification import verify_act
    from tests.money.test_settle import AMOUNT, _being_verified, _paid_october, _settle
    from tests.registry.test_rules import outcomes

    school, child = country.school(), iin(701)
    country.enrol(child, school.bin, grade=3, withdrawn=date(2026, 10, 11))  # 1–10 October
    _paid_october(country, school, [child], [AMOUNT])
    november = _being_verified(country, school, earns=AMOUNT)
    db.session.commit()
    assert _settle(november) == {child: AMOUNT * 10 // 31 - AMOUNT}

    path = tmp_path / "nedb.csv"
    path.write_text(f"iin,full_name,school_bin,grade,enrolled_on\n{child},Student,{school.bin},3,2026-09-01\n",
                    encoding="utf-8")
    assert _run("nedb", path).rejected == 0
    november.amount_tiyn = AMOUNT  # verified again: the act's own lines earn the same, settled afresh
    assert _settle(november) == {child: AMOUNT * 10 // 31 - AMOUNT}, "the claw-back stands"
    december = country.act(school, [(child, 3)], period=date(2026, 12, 1))
    verify_act(december)
    assert outcomes(december) == [("excluded", "withdrawn")]
