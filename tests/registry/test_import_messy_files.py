"""Registry files as other agencies send them: encodings, delimiters, headings in Russian or Kazakh, title rows and
several sheets, dates as day numbers, identifiers grouped for the eye, names typed in two scripts, damaged cells.
Every bad row is named with its reason, the good rows load, nothing is read as something it is not."""

from __future__ import annotations

import codecs
from datetime import date

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import MAC_EPOCH
from sqlalchemy import select

from app.acts.models import Act
from app.acts.rules import normalise_name
from app.audit.models import AuditEvent
from app.extensions import db
from app.registry import cells
from app.registry.importers import FileUnreadable, import_file, scan
from app.registry.models import BusinessRecord, NedbEnrollment
from tests.registry.conftest import iin

SCHOOL_BIN = "950440001673"
HEADER = "iin,full_name,school_bin,grade,enrolled_on,withdrawn_on"


def _stored() -> list[tuple]:
    return db.session.execute(select(NedbEnrollment.iin, NedbEnrollment.full_name, NedbEnrollment.enrolled_on,
                                     NedbEnrollment.withdrawn_on).order_by(NedbEnrollment.iin)).all()


def _import(path, kind: str = "nedb"):
    scanned = scan(path)
    result = import_file(kind, path, formulas=scanned.formulas)
    db.session.commit()
    return result


def _errors(result) -> list[tuple]:
    return [(e["line"], e["column"], e["code"]) for e in result.errors]


def _xlsx(path, rows, setup=None):
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if setup:
        setup(wb, ws)
    wb.save(path)
    return path


# --- identifiers -------------------------------------------------------------------------------------------------


def test_identifiers_grouped_with_spaces_dashes_or_an_apostrophe_load_as_their_digits(app_ctx, tmp_path):
    """"150101 600107" as printed on a document, a BIN in groups of four, a non-breaking space from a web page, Excel's
    text mark: the same 12 digits, and the check digit guards them. They were refused as too long."""
    one, two, three = iin(1), iin(2), iin(3)
    path = tmp_path / "grouped.csv"
    path.write_text(HEADER + "\n"
                    f"{one[:6]} {one[6:]},Ерлан,{SCHOOL_BIN[:4]}-{SCHOOL_BIN[4:8]}-{SCHOOL_BIN[8:]},5,2026-09-01,\n"
                    f"{two[:6]}\u00a0{two[6:]},Айгүл,{SCHOOL_BIN},5,2026-09-01,\n"
                    f"'{three},Дана,{SCHOOL_BIN}.0,5,2026-09-01,\n", encoding="utf-8")
    result = _import(path)
    assert (result.loaded, result.errors) == (3, [])
    assert [r[0] for r in _stored()] == sorted([one, two, three])


def test_an_iin_saved_as_1_23457e11_is_refused_with_what_happened_to_it(app_ctx, tmp_path):
    """Excel shows a long number of a number column as 1.50101E+11 and a CSV saved from it keeps only that: the last
    six digits are gone. It was "not a valid IIN", and the operator looked for a wrong digit."""
    path = tmp_path / "sci.csv"
    path.write_text(HEADER + f"\n1.50101E+11,Ерлан,{SCHOOL_BIN},5,2026-09-01,\n{iin(2)},Айгүл,{SCHOOL_BIN},5,"
                    "2026-09-01,\n", encoding="utf-8")
    result = _import(path)
    assert (result.loaded, _errors(result)) == (1, [(2, "iin", "scientific_notation")])


def test_an_xlsx_iin_stored_as_a_number_gets_its_leading_zero_back(app_ctx, tmp_path):
    """A child born in 2009: the IIN starts with 0, a number cell holds 11 digits. The cell's type says it was a
    number; the 0 is written back and the check digit still guards the rest."""
    from app.registry.identifiers import complete_12

    born_2009 = complete_12("09010150001")
    path = _xlsx(tmp_path / "number.xlsx", [HEADER.split(","), [int(born_2009), "Ерлан", int(SCHOOL_BIN), 11,
                                                                 "01.09.2026", None]])
    result = _import(path)
    assert (result.loaded, result.errors) == (1, [])
    assert _stored()[0][0] == born_2009


# --- text -----------------------------------------------------------------------------------------------------------


def test_a_nul_byte_in_a_name_refuses_that_row_and_the_others_load(app_ctx, tmp_path):
    """A damaged export: PostgreSQL refused the batch's NUL outright (the import failed after its earlier batches);
    SQLite stored "Ер\\x00лан", a name no act's matches."""
    path = tmp_path / "nul.csv"
    path.write_bytes((HEADER + f"\n{iin(1)},Ер\x00лан,{SCHOOL_BIN},5,2026-09-01,\n{iin(2)},Айгүл,{SCHOOL_BIN},5,"
                      "2026-09-01,\n").encode())
    result = _import(path)
    assert (result.loaded, _errors(result)) == (1, [(2, "full_name", "control_character")])
    assert [r[1] for r in _stored()] == ["Айгүл"]


def test_a_name_wrapped_onto_two_lines_in_its_cell_is_stored_on_one(app_ctx, tmp_path):
    """A quoted field with a line break (the cell wrapped by Alt+Enter), doubled and trailing spaces: one name."""
    path = tmp_path / "wrapped.csv"
    path.write_text(HEADER + f'\n{iin(1)},"Әлиев\r\n  Ерлан ",{SCHOOL_BIN},5,2026-09-01,\n', encoding="utf-8")
    result = _import(path)
    assert (result.loaded, result.errors) == (1, [])
    assert _stored()[0][1] == "Әлиев Ерлан"


def test_a_name_whose_kazakh_letters_became_question_marks_is_refused(app_ctx, tmp_path):
    """Excel on a Russian Windows saves "CSV" in Windows-1251, which has no ә, ү, ң…: they become "?". The name is
    lost; it was stored as "Айг?л"."""
    path = tmp_path / "1251.csv"
    path.write_bytes(("iin;full_name;school_bin;grade;enrolled_on\r\n"
                      f"{iin(1)};Айгүл;{SCHOOL_BIN};5;01.09.2026\r\n{iin(2)};Иванов Олег;{SCHOOL_BIN};5;01.09.2026\r\n")
                     .encode("cp1251", errors="replace"))
    result = _import(path)
    assert (result.loaded, _errors(result)) == (1, [(2, "full_name", "lost_letters")])
    assert [r[1] for r in _stored()] == ["Иванов Олег"]


def test_a_csv_of_a_kazakh_windows_keeps_its_kazakh_letters(app_ctx, tmp_path):
    """KZ-1048, Windows-1251 with the Kazakh letters where 1251 has Serbian and Ukrainian ones: read as 1251,
    "Әлиев Қайрат" was stored as "Јлиев Ќайрат"."""
    path = tmp_path / "kz1048.csv"
    path.write_bytes(("iin;full_name;school_bin;grade;enrolled_on\r\n"
                      f"{iin(1)};Әлиев Қайрат Ұланұлы;{SCHOOL_BIN};5;01.09.2026\r\n").encode("kz1048"))
    result = _import(path)
    assert (result.loaded, result.errors) == (1, [])
    assert _stored()[0][1] == "Әлиев Қайрат Ұланұлы"


def test_utf16_with_and_without_its_byte_order_mark_and_a_utf8_bom_all_read(app_ctx, tmp_path):
    """Excel's "Unicode text" (UTF-16 with a mark, tab-separated), a program's UTF-16 without the mark, and a
    UTF-8 file with a BOM. Without its mark, UTF-16 was refused as lacking every column."""
    text = HEADER.replace(",", "\t") + f"\r\n{iin(1)}\tӘлиев Ерлан\t{SCHOOL_BIN}\t5\t01.09.2026\t\r\n"
    for name, data in (("excel.txt", text.encode("utf-16")), ("plain.txt", text.encode("utf-16-le")),
                       ("be.txt", text.encode("utf-16-be")), ("bom.csv", codecs.BOM_UTF8 + text.encode())):
        path = tmp_path / name
        path.write_bytes(data)
        result = _import(path)
        assert (name, result.loaded, result.errors) == (name, 1, [])
        assert _stored()[0][1] == "Әлиев Ерлан"


def test_mixed_line_endings_keep_the_spreadsheets_line_numbers(app_ctx, tmp_path):
    path = tmp_path / "endings.csv"
    path.write_bytes((HEADER + "\r\n" + f"{iin(1)},Ерлан,{SCHOOL_BIN},5,2026-09-01,\n"
                      + f"{iin(2)},Айгүл,{SCHOOL_BIN},13,2026-09-01,\r" + f"{iin(3)},Дана,{SCHOOL_BIN},5,bad,\r\n")
                     .encode())
    result = _import(path)
    assert (result.loaded, _errors(result)) == (1, [(3, "grade", "invalid_grade"), (4, "enrolled_on",
                                                                                       "invalid_date")])


# --- names in two scripts -------------------------------------------------------------------------------------------


def test_a_name_with_latin_look_alikes_is_stored_in_cyrillic_and_noted(app_ctx, tmp_path):
    """"Aлиев" with a Latin A: the name check counts it the same as "Алиев", but a search for "Алиев" did not find it.
    Stored in one script, the row noted; a word whose letters cannot all be twins is left as written."""
    path = tmp_path / "latin.csv"
    path.write_text(HEADER + f"\n{iin(1)},Aлиев Ерлaн,{SCHOOL_BIN},5,2026-09-01,\n"
                    f"{iin(2)},Kim Oлeг,{SCHOOL_BIN},5,2026-09-01,\n{iin(3)},John Smith,{SCHOOL_BIN},5,2026-09-01,\n",
                    encoding="utf-8")
    result = _import(path)
    assert (result.loaded, result.errors) == (3, [])
    assert [r[1] for r in _stored()] == ["Алиев Ерлан", "Kim Олег", "John Smith"]
    assert [(n["line"], n["code"]) for n in result.notices] == [(2, "name_one_script"), (3, "name_one_script")]


def test_every_look_alike_the_import_changes_is_one_the_name_check_counts_the_same():
    """The import may write a letter in its word's script only where verification reads both the same: else a
    child's act line typed as NEDB had it would stop matching."""
    for latin, cyrillic in cells._LATIN_TO_CYRILLIC.items():
        assert normalise_name(latin) == normalise_name(cyrillic), latin
    for cyrillic, latin in cells._CYRILLIC_TO_LATIN.items():
        assert normalise_name(latin) == normalise_name(cyrillic), cyrillic


# --- headings ---------------------------------------------------------------------------------------------------------


def test_russian_and_kazakh_headings_in_another_order_with_extra_columns(app_ctx, tmp_path):
    """NEDB's export headed in Russian, columns in its own order, a row number and a remark beside them: read. Its
    "Дата выбытия" had been the silent case — with our required headings and a Russian withdrawal date, the file
    loaded without its withdrawals (an absent column keeps the stored value), and children who had left were paid."""
    path = tmp_path / "ru.csv"
    path.write_text("№;Класс;ФИО;ИИН;БИН школы;Дата зачисления;Дата выбытия;Примечание\n"
                    f"1;5;Ерлан;{iin(1)};{SCHOOL_BIN};01.09.2026;01.10.2026;переведён\n", encoding="utf-8")
    result = _import(path)
    assert (result.loaded, result.errors) == (1, [])
    assert _stored() == [(iin(1), "Ерлан", date(2026, 9, 1), date(2026, 10, 1))]
    assert result.ignored_columns == ["№", "Примечание"]

    kk = tmp_path / "kk.csv"
    kk.write_text("ЖСН,Аты-жөні,Мектептің БСН,Сынып,Қабылданған күні,Шыққан күні\n"
                  f"{iin(2)},Айгүл,{SCHOOL_BIN},6,01.09.2026,\n", encoding="utf-8")
    assert (_import(kk).loaded, _import(kk).ignored_columns) == (1, [])

    mixed = tmp_path / "mixed.csv"  # ours for the required columns, Russian for the withdrawal date
    mixed.write_text(HEADER.rsplit(",", 1)[0] + ",Дата выбытия\n"
                     f"{iin(1)},Ерлан,{SCHOOL_BIN},5,2026-09-01,2026-09-15\n", encoding="utf-8")
    assert _import(mixed).columns[-1] == "withdrawn_on"
    assert _stored()[0][3] == date(2026, 9, 15)


def test_two_headings_of_the_same_column_are_refused_not_one_dropped(app_ctx, tmp_path):
    """"ИИН" and "iin" (a copied column, one of them edited): the row kept the last one's value, the other unsaid."""
    path = tmp_path / "twice.csv"
    path.write_text(HEADER + ",ИИН\n" + f"{iin(1)},Ерлан,{SCHOOL_BIN},5,2026-09-01,,{iin(2)}\n", encoding="utf-8")
    with pytest.raises(FileUnreadable) as err:
        _import(path)
    assert (err.value.code, err.value.detail) == ("duplicate_columns", "iin / ИИН")
    assert _stored() == []


def test_a_business_register_headed_in_russian_names_bin_alone(app_ctx, tmp_path):
    path = tmp_path / "business.csv"
    path.write_text("БИН;Наименование;Статус;ОКЭД\n"
                    f"{SCHOOL_BIN};ТОО  «Білім\n Lyceum»;active;85.31\n".replace("\n Lyceum", " Lyceum"),
                    encoding="utf-8")
    result = _import(path, "business")
    assert (result.loaded, result.errors) == (1, [])
    assert db.session.scalars(select(BusinessRecord.name)).one() == "ТОО «Білім Lyceum»"


# --- workbooks ------------------------------------------------------------------------------------------------------


def test_a_workbook_with_a_title_an_empty_row_and_an_instructions_sheet(app_ctx, tmp_path):
    """The export's title merged over the columns, an empty row, the header in row 3; an instructions sheet first.
    Refused as lacking every column; now the table is found and rows are named by the sheet's own row numbers."""
    def shape(wb, ws):
        ws.title = "Деректер"
        ws.insert_rows(1, 2)
        ws["A1"] = "Выгрузка НОБД на 01.09.2026"
        ws.merge_cells("A1:F1")
        guide = wb.create_sheet("Нұсқаулық", 0)
        guide.append(["Заполните лист «Деректер»"])

    path = _xlsx(tmp_path / "titled.xlsx", [HEADER.split(","), [iin(1), "Ерлан", SCHOOL_BIN, 5, "01.09.2026", None],
                                            [iin(2), "Айгүл", SCHOOL_BIN, 15, "01.09.2026", None]], shape)
    result = _import(path)
    assert (result.loaded, _errors(result)) == (1, [(5, "grade", "invalid_grade")])


def test_the_progress_counts_the_rows_of_the_sheet_the_import_reads(app_ctx, tmp_path):
    """The import's progress bar (count_rows) counted the first sheet's rows less one: a workbook whose first sheet
    is twelve lines of instructions was "11 rows" while the import read the two of the data sheet."""
    from app.registry.importers import KINDS, count_rows

    def shape(wb, ws):
        ws.insert_rows(1, 2)
        ws["A1"] = "Выгрузка НОБД на 01.09.2026"
        guide = wb.create_sheet("Нұсқаулық", 0)
        for number in range(12):
            guide.append([f"{number + 1}. Заполните лист «Деректер»"])

    path = _xlsx(tmp_path / "titled.xlsx", [HEADER.split(","), [iin(1), "Ерлан", SCHOOL_BIN, 5, "01.09.2026", None],
                                            [iin(2), "Айгүл", SCHOOL_BIN, 5, "01.09.2026", None]], shape)
    assert count_rows(path, KINDS["nedb"].headings) == 2 == scan(path, KINDS["nedb"].headings).rows
    text = tmp_path / "titled.csv"
    text.write_text(f"Выгрузка НОБД на 01.09.2026\n\n{HEADER}\n{iin(1)},Ерлан,{SCHOOL_BIN},5,01.09.2026,\n",
                    encoding="utf-8")
    assert count_rows(text, KINDS["nedb"].headings) == 1


def test_a_workbook_with_the_columns_on_two_sheets_is_refused(app_ctx, tmp_path):
    """September and October on two sheets: reading the first silently left the other unloaded."""
    def second(wb, _ws):
        october = wb.create_sheet("Октябрь")
        october.append(HEADER.split(","))
        october.append([iin(2), "Айгүл", SCHOOL_BIN, 5, "01.10.2026", None])

    path = _xlsx(tmp_path / "two.xlsx", [HEADER.split(","), [iin(1), "Ерлан", SCHOOL_BIN, 5, "01.09.2026", None]],
                 second)
    with pytest.raises(FileUnreadable) as err:
        _import(path)
    assert (err.value.code, err.value.detail) == ("several_sheets", "Sheet, Октябрь")
    assert _stored() == []


def test_dates_as_excel_day_numbers_and_as_text_with_a_midnight_time(app_ctx, tmp_path):
    """A date column formatted as General holds 46266 (2026-09-01), in the workbook and in a CSV saved from it; a
    program's export writes "2026-09-01 00:00:00". All were refused as not dates. A number that is no date of
    1990–2099, and DD/MM/YYYY (MM/DD in an English Excel), stay refused."""
    path = _xlsx(tmp_path / "serial.xlsx", [HEADER.split(","), [iin(1), "Ерлан", SCHOOL_BIN, 5, 46266, 46296],
                                            [iin(2), "Айгүл", SCHOOL_BIN, 5, 7, None]])
    result = _import(path)
    assert (result.loaded, _errors(result)) == (1, [(3, "enrolled_on", "invalid_date")])
    assert _stored()[0][2:] == (date(2026, 9, 1), date(2026, 10, 1))

    text = tmp_path / "serial.csv"
    text.write_text(HEADER + f"\n{iin(3)},Дана,{SCHOOL_BIN},5,46266,\n{iin(4)},Аян,{SCHOOL_BIN},5,"
                    f"2026-09-01 00:00:00,01.10.2026 0:00\n{iin(5)},Ким,{SCHOOL_BIN},5,01/09/2026,\n", encoding="utf-8")
    result = _import(text)
    assert (result.loaded, _errors(result)) == (2, [(4, "enrolled_on", "invalid_date")])
    assert {r[0]: r[2:] for r in _stored()}[iin(4)] == (date(2026, 9, 1), date(2026, 10, 1))


def test_a_workbook_in_the_1904_date_system_reads_its_day_numbers_there(app_ctx, tmp_path):
    """Old Mac Excel counts days from 1904: read from 1900, every date was four years and a day early."""
    def mac(wb, _ws):
        wb.epoch = MAC_EPOCH

    path = _xlsx(tmp_path / "mac.xlsx", [HEADER.split(","), [iin(1), "Ерлан", SCHOOL_BIN, 5, 46266 - 1462, None]],
                 mac)
    result = _import(path)
    assert (result.loaded, result.errors) == (1, [])
    assert _stored()[0][2] == date(2026, 9, 1)


def test_a_sheet_as_long_as_excel_allows_is_not_refused_for_its_rows(app_ctx, tmp_path):
    """A stray cell in Excel's last row (1,048,576) stretches the sheet's used range to it: the file of two rows was
    refused as too large before a row was read (the bound was 1,000,000 rows)."""
    def stray(_wb, ws):
        ws["G1048576"] = " "

    path = _xlsx(tmp_path / "long.xlsx", [HEADER.split(","), [iin(1), "Ерлан", SCHOOL_BIN, 5, "01.09.2026", None]],
                 stray)
    result = _import(path)
    assert (result.total, result.loaded, result.errors) == (1, 1, [])


# --- dates no registry means -----------------------------------------------------------------------------------------


def test_a_withdrawal_years_ahead_and_an_enrolment_before_birth_are_refused(app_ctx, tmp_path):
    """2062 typed for 2026 kept a child who had left "enrolled", and paid, for decades; 1926 for 2026 is before the
    birth the IIN carries (iin() gives children born in 2015)."""
    path = tmp_path / "typos.csv"
    path.write_text(HEADER + f"\n{iin(1)},Ерлан,{SCHOOL_BIN},5,2026-09-01,2062-10-01\n"
                    f"{iin(2)},Айгүл,{SCHOOL_BIN},5,1926-09-01,\n{iin(3)},Дана,{SCHOOL_BIN},5,2026-09-01,2027-05-25\n",
                    encoding="utf-8")
    result = _import(path)
    assert (result.loaded, _errors(result)) == (1, [(2, "withdrawn_on", "far_future"),
                                                    (3, "enrolled_on", "before_birth")])


# --- the same registry again, and its correction ---------------------------------------------------------------------


def test_an_agencys_messy_export_of_the_registry_as_it_is_changes_nothing_and_its_correction_reverifies(world,
                                                                                                       tmp_path):
    """The registry as stored, sent as an agency sends it (a title, Russian headings in another order, an IIN in
    groups, a day number for a date): every row is the stored one, no record is rewritten, no act verified again.
    The corrected export withdraws a pupil: the open act is verified again, and the audit trail says so."""
    from app.registry.models import RegistryImport
    from app.registry.operations import create_import, run_import
    from tests.money.test_adjustments import _enrolment
    from tests.money.test_import_reverifies import _verified_bilim

    act = _verified_bilim()
    seen = str(act.lock_version)
    pupil = next(ln for ln in act.lines if ln.outcome == "accepted")
    stored = _enrolment(pupil.iin)
    serial = (stored.enrolled_on - date(1899, 12, 30)).days

    def export(name, withdrawn):
        def title(_wb, ws):
            ws.insert_rows(1)
            ws["A1"] = "Выгрузка НОБД"
        path = _xlsx(tmp_path / name, [["ФИО", "ИИН", "Класс", "БИН школы", "Вид школы", "Дата зачисления",
                                        "Дата выбытия", "Примечание"],
                                       [stored.full_name, f"{stored.iin[:6]} {stored.iin[6:]}", stored.grade,
                                        stored.school_bin, stored.school_kind, serial, withdrawn, ""]], title)
        job = create_import("nedb", name, source=path)
        db.session.commit()
        run_import(job.id)
        db.session.expire_all()
        return db.session.get(RegistryImport, job.id)

    same = export("same.xlsx", stored.withdrawn_on)
    assert (same.status, same.loaded_rows, same.rejected_rows) == ("done", 1, 0), same.message
    assert str(db.session.get(Act, act.id).lock_version) == seen, "nothing changed, no act verified again"

    corrected = export("corrected.xlsx", act.period.strftime("%d.%m.%Y"))
    assert (corrected.status, corrected.loaded_rows) == ("done", 1)
    act = db.session.get(Act, act.id)
    assert str(act.lock_version) != seen
    line = next(ln for ln in act.lines if ln.id == pupil.id)
    assert (line.outcome, line.rule_code) == ("excluded", "withdrawn")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.imported",
                                                        AuditEvent.object_id == corrected.id)).one()
    assert event.details["reverified_acts"]["acts"] == 1
    assert event.details["ignored_columns"] == ["Примечание"]


def test_the_student_registry_reads_names_and_dates_as_nedb_does(app_ctx, tmp_path):
    """Colleges' and universities' students (the dormitory instrument): the same name and date rules as NEDB's."""
    from app.dormitories.models import StudentEnrolment

    path = tmp_path / "students.csv"
    path.write_text("ИИН;ФИО;БИН вуза;Курс;Регион;Дата зачисления;Дата выбытия\n"
                    f"{iin(1)};Aлиев  Ерлан;{SCHOOL_BIN};1;ASTANA;01.09.2026;\n"
                    f"{iin(2)};Айг?л;{SCHOOL_BIN};1;ASTANA;01.09.2026;\n"
                    f"{iin(3)};Дана;{SCHOOL_BIN};1;ASTANA;01.09.2026;01.09.2062\n", encoding="utf-8")
    result = _import(path, "students")
    assert (result.loaded, _errors(result)) == (1, [(3, "full_name", "lost_letters"),
                                                    (4, "withdrawn_on", "far_future")])
    assert db.session.scalars(select(StudentEnrolment.full_name)).all() == ["Алиев Ерлан"]
    assert [n["code"] for n in result.notices] == ["name_one_script"]
