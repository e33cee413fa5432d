"""IIN/BIN/IBAN accept only the digits 0–9 on every path: form, importer, lookup. Full-width (０–９) and
Arabic-Indic (٠–٩) digits pass Python's ``\\d`` and ``int()``; stored, they would later fail the SQL check."""

from __future__ import annotations

from sqlalchemy import func, select

from app.engine.forms import validate
from app.extensions import db
from app.registry.importers import REASONS, import_file
from app.registry.models import NedbEnrollment
from tests.registry.conftest import iin
from tests.registry.test_pages import people  # noqa: F401 - fixture

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_form_formats_refuse_non_ascii_digits(app_ctx):
    schema = {"type": "object", "properties": {"iin": {"type": "string", "format": "iin"},
                                               "bin": {"type": "string", "format": "bin"},
                                               "iban": {"type": "string", "format": "iban-kz"}}}
    good = {"iin": iin(1), "bin": "950440001673", "iban": "KZ86125KZT5004100100"}
    assert validate(schema, good) == {}
    bad = {"iin": iin(1).translate(FULL_WIDTH), "bin": "950440001673".translate(ARABIC_INDIC),
           "iban": "KZ86125KZT5004100100".translate(FULL_WIDTH)}
    assert set(validate(schema, bad)) == {"iin", "bin", "iban"}


def test_importer_reports_non_ascii_digits_and_stores_nothing_of_that_row(app_ctx, tmp_path):
    path = tmp_path / "nedb.csv"
    path.write_text("iin,full_name,school_bin,school_kind,grade,enrolled_on,withdrawn_on\n"
                    f"{iin(1)},Good,950440001673,private,5,2026-09-01,\n"
                    f"{iin(2).translate(FULL_WIDTH)},Wide,950440001673,private,5,2026-09-01,\n"
                    f"{iin(3)},Arabic BIN,{'950440001673'.translate(ARABIC_INDIC)},private,5,2026-09-01,\n",
                    encoding="utf-8")
    result = import_file("nedb", path)
    db.session.commit()
    assert [(e["line"], e["column"], e["code"]) for e in result.errors] == [
        (3, "iin", "non_ascii_digits"), (4, "school_bin", "non_ascii_digits")]
    assert "non_ascii_digits" in REASONS
    assert db.session.scalar(select(func.count(NedbEnrollment.id))) == 1


def test_lookup_says_which_digits_to_use(people, browser):  # noqa: F811
    page = browser("op").get(f"/registry/lookup?q={iin(1).translate(FULL_WIDTH)}")
    assert page.status_code == 200
    assert "digits 0–9 only" in page.get_data(as_text=True)


def test_form_page_and_api_refuse_full_width_iins_and_store_nothing(world, browser):
    from app.acts.models import ActLine
    from tests.helpers import act_of_school, lines_form, open_task

    act = act_of_school("Bilim Innovation School")
    task = open_task(act, "submit_act")
    wide = {"iin": "791028302728".translate(FULL_WIDTH), "full_name": "Тест", "grade": 3, "days_attended": 20}
    accountant = browser("accountant")
    page = accountant.post(f"/tasks/{task.id}", lines_form([{k: str(v) for k, v in wide.items()}]))
    assert page.status_code == 422 and "ordinary digits 0–9" in page.get_data(as_text=True)
    api = accountant.post_json(f"/api/v1/tasks/{task.id}/complete", {"data": {"lines": [wide]}})
    assert api.status_code == 422 and "ordinary digits 0–9" in str(api.get_json())
    assert db.session.scalar(select(func.count(ActLine.id)).where(ActLine.act_id == act.id)) == 0
