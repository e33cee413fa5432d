"""Registry imports from CSV and XLSX: per-row error report, valid rows land, re-import updates."""

from __future__ import annotations

from datetime import date

from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.registry.importers import import_file
from app.registry.models import BusinessRecord, Licence, NedbEnrollment, RegistryImport
from tests.helpers import disk_fills_up
from tests.registry.conftest import bad_iin, iin

SCHOOL_BIN = "950440001673"


def write_xlsx(path, rows):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_nedb_xlsx_with_dates_numbers_and_bad_rows(app_ctx, tmp_path):
    path = write_xlsx(tmp_path / "nedb.xlsx", [
        ["IIN", "Full name", "School BIN", "School kind", "Grade", "Enrolled on", "Withdrawn on"],
        [iin(1), "Ерлан", SCHOOL_BIN, "private", 5, date(2026, 9, 1), None],
        [int(iin(2)), "As a number", int(SCHOOL_BIN), "STATE", 11.0, "01.09.2026", "2026-10-01"],
        [iin(3), "Grade 13", SCHOOL_BIN, "private", 13, date(2026, 9, 1), None],
        [iin(4), "Backwards", SCHOOL_BIN, "private", 5, date(2026, 9, 1), date(2026, 8, 1)],
        [None, None, None, None, None, None, None],
        [iin(5), "Odd kind", SCHOOL_BIN, "home", 5, date(2026, 9, 1), None],
        [iin(6), "", SCHOOL_BIN, "private", 5, date(2026, 9, 1), None],
        [iin(7), "A typed year", SCHOOL_BIN, "private", 5, date(2030, 9, 1), None],  # no registry enrols 2030
    ])
    result = import_file("nedb", path)
    db.session.commit()
    assert (result.total, result.loaded, result.rejected) == (7, 2, 5)
    assert [(e["line"], e["column"], e["code"]) for e in result.errors] == [
        (4, "grade", "invalid_grade"), (5, "withdrawn_on", "end_before_start"), (7, "school_kind", "invalid_kind"),
        (8, "full_name", "missing"), (9, "enrolled_on", "far_future")]
    second = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == iin(2))).one()
    assert (second.school_kind, second.grade, second.withdrawn_on) == ("state", 11, date(2026, 10, 1))


def test_licences_and_business_register_csv_reimport_without_duplicates(app_ctx, tmp_path):
    lic = tmp_path / "licences.csv"
    lic.write_text("number;bin;valid_from;valid_until;levels\n"
                   f"KZ01LAA1;{SCHOOL_BIN};2020-01-01;;primary basic\n"
                   f"KZ01LAA2;{SCHOOL_BIN};2020-01-01;2019-01-01;primary\n"
                   f"KZ01LAA3;123;2020-01-01;;primary\n"
                   f"KZ01LAA4;{SCHOOL_BIN};2020-01-01;;kindergarten\n", encoding="utf-8")
    result = import_file("licences", lic)
    assert (result.loaded, [e["code"] for e in result.errors]) == (1, ["end_before_start", "invalid_bin",
                                                                       "invalid_levels"])
    lic.write_text("number,bin,valid_from,valid_until,levels\n"
                   f"KZ01LAA1,{SCHOOL_BIN},2020-01-01,2030-06-30,\"primary,basic,secondary\"\n", encoding="utf-8")
    import_file("licences", lic)
    db.session.commit()
    row = db.session.scalars(select(Licence)).one()
    assert (row.levels, row.valid_until) == ("primary,basic,secondary", date(2030, 6, 30))

    biz = tmp_path / "business.csv"
    biz.write_text("bin,name,status,oked\n"
                   f"{SCHOOL_BIN},ТОО «Білім»,active,85.31\n"
                   f"{SCHOOL_BIN},ТОО «Білім»,active,85.31\n"
                   "791028302728,Shop,closed,47.11\n"
                   "791028302728,Shop,active,retail\n", encoding="utf-8")
    for _ in range(2):
        result = import_file("business", biz)
        db.session.commit()
    assert [e["code"] for e in result.errors] == ["invalid_status", "invalid_oked"]
    assert db.session.scalar(select(func.count(BusinessRecord.id))) == 1


def test_cli_imports_with_progress_and_error_report(app_ctx, tmp_path):
    rows = [f"{iin(n)},Student {n},{SCHOOL_BIN},private,{1 + n % 11},2026-09-01," for n in range(1, 2501)]
    rows.insert(10, f"{bad_iin(9999)},Broken,{SCHOOL_BIN},private,5,2026-09-01,")
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    runner = app_ctx.test_cli_runner()
    errors_csv = tmp_path / "errors.csv"
    result = runner.invoke(args=["import-nedb", str(path), "--errors-csv", str(errors_csv)])
    assert result.exit_code == 0, result.output
    assert "line 12: iin: not a valid IIN" in result.output
    assert "2501 row(s): 2500 loaded, 1 rejected." in result.output
    assert errors_csv.read_text(encoding="utf-8").splitlines()[1].startswith('"12","iin","not a valid IIN ')
    again = runner.invoke(args=["import-nedb", str(path)])
    assert again.exit_code == 0
    assert db.session.scalar(select(func.count(NedbEnrollment.id))) == 2500
    jobs = db.session.scalars(select(RegistryImport).order_by(RegistryImport.id)).all()
    assert [(j.status, j.loaded_rows, j.rejected_rows) for j in jobs] == [("done", 2500, 1)] * 2

    missing = tmp_path / "bad.csv"
    missing.write_text("bin,name\n1,2\n", encoding="utf-8")
    failed = runner.invoke(args=["import-business", str(missing)])
    assert failed.exit_code == 1 and "header lacks required columns" in failed.output
    binary = tmp_path / "latin.csv"
    binary.write_bytes(b"bin,name,status,oked\n\x98\xfe,\xff,active,85\n")  # 0x98: in neither UTF-8 nor 1251
    assert runner.invoke(args=["import-business", str(binary)]).exit_code == 1


def test_generate_country_command(app_ctx, tmp_path):
    runner = app_ctx.test_cli_runner()
    truth = tmp_path / "truth.csv"
    result = runner.invoke(args=["generate-country", "--seed", "3", "--students", "900", "--schools", "5",
                                 "--private-students", "250", "--truth", str(truth)])
    assert result.exit_code == 0, result.output
    assert "5 schools" in result.output and truth.exists()
    again = runner.invoke(args=["generate-country", "--seed", "3", "--students", "900", "--schools", "5",
                                "--private-students", "250", "--truth", str(truth)])
    assert again.exit_code != 0
    verify = runner.invoke(args=["verify-month", "--period", "2026-10"])
    assert verify.exit_code == 0 and "5 act(s)" in verify.output


def test_verify_month_refuses_a_malformed_month_with_the_expected_shape(app_ctx):
    """``--period 2026-13`` ended in a ValueError traceback."""
    result = app_ctx.test_cli_runner().invoke(args=["verify-month", "--period", "2026-13"])
    assert result.exit_code == 2 and "YYYY-MM" in result.output, result.output


def test_a_csv_saved_by_excel_on_a_russian_windows_imports_with_its_cyrillic_names(app_ctx, tmp_path):
    # Excel's "CSV" on a Russian or Kazakh Windows is Windows-1251: it was refused as "not UTF-8", with Python's
    # exception text glued to the message.
    text = ("IIN;Full name;School BIN;School kind;Grade;Enrolled on;Withdrawn on\n"
            f"{iin(1)};Ахметов Ерлан;{SCHOOL_BIN};private;5;01.09.2026;\n"
            f"{iin(2)};Сейтова Айгерим;{SCHOOL_BIN};private;6;01.09.2026;\n")
    for encoding, name in (("cp1251", "nedb-1251.csv"), ("utf-16", "nedb-16.csv"), ("utf-8-sig", "nedb-8.csv")):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        result = import_file("nedb", path)
        db.session.commit()
        assert (result.total, result.loaded, result.rejected) == (2, 2, 0), encoding
        names = set(db.session.scalars(select(NedbEnrollment.full_name)))
        assert names == {"Ахметов Ерлан", "Сейтова Айгерим"}, encoding


def test_a_file_in_no_encoding_we_read_is_refused_whole(app_ctx, tmp_path):
    from app.registry.importers import FileUnreadable

    path = tmp_path / "nedb.csv"
    path.write_bytes(b"IIN;Full name\n" + b"\x98\x98\x98;x\n")  # 0x98 is no character of Windows-1251
    try:
        import_file("nedb", path)
    except FileUnreadable as err:
        assert err.code == "unreadable"
    else:
        raise AssertionError("read as something")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(NedbEnrollment)) == 0


def _run(kind: str, path):
    from app.registry.operations import create_import, run_import

    job = create_import(kind, path.name, source=path)
    db.session.commit()
    result = run_import(job.id)
    db.session.expire_all()
    return result, db.session.get(RegistryImport, job.id)


def test_a_file_that_breaks_after_the_first_batches_changes_nothing(app_ctx, tmp_path):
    """2,100 good rows, then a field over the CSV reader's limit: the import failed — after committing the first
    2,000 rows, which then appeared in the schools' prefilled acts."""
    rows = [f"{iin(n)},Student {n},{SCHOOL_BIN},private,5,2026-09-01," for n in range(1, 2101)]
    rows.append(f"{iin(3000)},{'x' * 200_000},{SCHOOL_BIN},private,5,2026-09-01,")
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    result, job = _run("nedb", path)
    assert result is None and job.status == "failed" and job.message.startswith("unreadable:")
    assert job.loaded_rows == 0
    assert db.session.scalar(select(func.count()).select_from(NedbEnrollment)) == 0


def test_a_formula_with_no_saved_value_is_rejected_not_read_as_an_empty_cell(app_ctx, tmp_path):
    """A workbook written by a program holds formulas without their values: read as values, a withdrawal date
    ``=DATE(2026,10,1)`` was an empty cell and cleared the student's real withdrawal."""
    db.session.add(NedbEnrollment(iin=iin(1), full_name="Ерлан", school_bin=SCHOOL_BIN, school_kind="private",
                                  grade=5, enrolled_on=date(2026, 9, 1), withdrawn_on=date(2026, 10, 1)))
    db.session.commit()
    path = write_xlsx(tmp_path / "nedb.xlsx", [
        ["iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on", "withdrawn_on"],
        [iin(1), "Ерлан", SCHOOL_BIN, "private", 5, date(2026, 9, 1), "=DATE(2026,10,1)"],
        [iin(2), '=CMD|" /C calc"!A0', SCHOOL_BIN, "private", 5, date(2026, 9, 1), None],
        [iin(3), "Fine", SCHOOL_BIN, "private", 5, date(2026, 9, 1), None],
    ])
    result, job = _run("nedb", path)
    assert (result.total, result.loaded, result.rejected) == (3, 1, 2)
    assert [(e["line"], e["column"], e["code"], e["value"]) for e in result.errors] == [
        (2, "withdrawn_on", "formula", "=DATE(2026,10,1)"), (3, "full_name", "formula", '=CMD|" /C calc"!A0')]
    kept = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == iin(1))).one()
    assert kept.withdrawn_on == date(2026, 10, 1)


def test_a_short_or_long_csv_row_is_refused_not_read_into_the_wrong_cells(app_ctx, tmp_path):
    """A row with fewer values than the header read its last cells as empty — a missing withdrawal date cleared the
    real one and the withdrawn child was paid again; a row with more values (an unquoted comma in a name) moved
    every value after the comma into another column. Both are refused with their line; a trailing separator is
    only an empty last value."""
    db.session.add(NedbEnrollment(iin=iin(1), full_name="Ерлан", school_bin=SCHOOL_BIN, school_kind="private",
                                  grade=5, enrolled_on=date(2026, 9, 1), withdrawn_on=date(2026, 10, 1)))
    db.session.commit()
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on\n"
                    f"{iin(1)},Ерлан,{SCHOOL_BIN},private,5,2026-09-01\n"
                    f"{iin(2)},Ivanov, Ivan,{SCHOOL_BIN},private,5,2026-09-01,2026-10-05\n"
                    f"{iin(3)},Fine,{SCHOOL_BIN},private,5,2026-09-01,,\n"
                    f'{iin(4)},"Quoted, Name",{SCHOOL_BIN},private,5,2026-09-01,\n', encoding="utf-8")
    result, _job = _run("nedb", path)
    assert (result.total, result.loaded, result.rejected) == (4, 2, 2)
    assert [(e["line"], e["column"], e["code"]) for e in result.errors] == [
        (2, "withdrawn_on", "short_row"), (3, "withdrawn_on", "long_row")]
    kept = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == iin(1))).one()
    assert kept.withdrawn_on == date(2026, 10, 1)
    assert db.session.scalar(select(NedbEnrollment.full_name).where(NedbEnrollment.iin == iin(4))) == "Quoted, Name"


def test_a_row_repeating_an_earlier_rows_key_is_named_and_the_counts_add_up(app_ctx, tmp_path, monkeypatch):
    """Two rows of one student, school and enrolment date: the later replaced the earlier unsaid, and the page read
    "5 of 5 processed: 1 loaded, 3 rejected" — one row nowhere. Named now, with the line it replaced, also when the
    two rows fall in different batches."""
    from app.registry import importers

    monkeypatch.setattr(importers, "BATCH", 2)
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on\n"
                    f"{iin(1)},First,{SCHOOL_BIN},private,5,2026-09-01\n"
                    f"{iin(1)},Second,{SCHOOL_BIN},private,5,2026-09-01\n"
                    f"{iin(2)},Other,{SCHOOL_BIN},private,5,2026-09-01\n"
                    f"{iin(1)},Third,{SCHOOL_BIN},private,5,2026-09-01\n"
                    f"{bad_iin(3)},Bad,{SCHOOL_BIN},private,5,2026-09-01\n", encoding="utf-8")
    result, job = _run("nedb", path)
    assert (result.total, result.loaded, result.rejected, result.repeated) == (5, 2, 1, 2)
    assert result.loaded + result.rejected + result.repeated == result.total
    assert [(n["line"], n["code"], n["earlier_line"]) for n in result.notices] == [
        (3, "repeated_in_file", 2), (5, "repeated_in_file", None)]
    assert db.session.scalars(select(NedbEnrollment.full_name).where(NedbEnrollment.iin == iin(1))).all() == ["Third"]


def test_rows_of_one_key_in_a_file_count_as_one_record_loaded(app_ctx, tmp_path):
    path = tmp_path / "business.csv"
    path.write_text("bin,name,status,oked\n"
                    f"{SCHOOL_BIN},First name,active,85.31\n{SCHOOL_BIN},Second name,active,85.31\n", encoding="utf-8")
    result, _job = _run("business", path)
    assert (result.total, result.loaded, result.rejected) == (2, 1, 0)
    assert db.session.scalars(select(BusinessRecord.name)).all() == ["Second name"]


def test_verify_month_says_a_run_is_going_on_without_a_traceback(app_ctx, tmp_path):
    """A month whose run is still going on (or whose worker was killed: its lease expires and the ticker resumes
    it) was refused with a DomainRefused traceback."""
    from app.reports.operations import start_month_verification

    runner = app_ctx.test_cli_runner()
    generated = runner.invoke(args=["generate-country", "--seed", "3", "--students", "900", "--schools", "5",
                                    "--private-students", "250", "--truth", str(tmp_path / "truth.csv")])
    assert generated.exit_code == 0, generated.output
    start_month_verification(date(2026, 10, 1), actor=None, dispatch_job=False)
    db.session.commit()
    result = runner.invoke(args=["verify-month", "--period", "2026-10"])
    assert result.exit_code == 1 and "already running" in result.output, result.output
    assert result.exc_info is None or result.exc_info[0] is SystemExit


def test_an_error_report_cut_by_a_full_disk_is_not_left_as_a_shorter_list(app_ctx, tmp_path, monkeypatch):
    rows = [f"{bad_iin(n)},Broken {n},{SCHOOL_BIN},private,5,2026-09-01," for n in range(1, 6)]
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    reports = tmp_path / "reports"
    reports.mkdir()
    disk_fills_up(reports, monkeypatch, room=100)
    result = app_ctx.test_cli_runner().invoke(
        args=["import-nedb", str(path), "--errors-csv", str(reports / "errors.csv")])
    assert result.exit_code == 1 and "errors.csv: not written (No space left on device)" in result.output
    assert list(reports.iterdir()) == [], "a CSV cut after a line break reads as a complete, shorter report"


def test_the_cli_names_a_rejected_rows_column_as_the_files_heading_does(app_ctx, tmp_path):
    """The import's page names a column as the file writes it ("IIN"); the command line's report and its errors file
    said "iin"."""
    path = tmp_path / "nedb.csv"
    path.write_text("IIN,Full name,School BIN,School kind,Grade,Enrolled on,Withdrawn on\n"
                    f"{bad_iin(7)},Broken,{SCHOOL_BIN},private,5,2026-09-01,\n", encoding="utf-8")
    errors_csv = tmp_path / "errors.csv"
    result = app_ctx.test_cli_runner().invoke(args=["import-nedb", str(path), "--errors-csv", str(errors_csv)])
    assert result.exit_code == 0, result.output
    assert "line 2: IIN: not a valid IIN" in result.output
    assert errors_csv.read_text(encoding="utf-8").splitlines()[1].startswith('"2","IIN","not a valid IIN ')
