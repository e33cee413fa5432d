"""The import page of a children's registry (NEDB) shows the rows it names — a loaded row that may correct an earlier
one, a rejected row's value — to the roles that work with children's records in full, and masked to the
administrator, who imports files but is not cleared for children's IINs and names (the lookup page masks a school's
roll for that role and looks no child up). The page had shown every IIN and rejected name to the administrator."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.people.models import Organisation
from app.registry.models import RegistryImport
from tests.registry.conftest import iin
from tests.registry.test_pages import _user

HEADER = "iin,full_name,school_bin,grade,enrolled_on,withdrawn_on\n"


def _imported_by(browser, username: str, body: str) -> str:
    person = browser(username)
    response = person.post("/registry/imports", {"kind": "nedb", "file": (io.BytesIO(body.encode()), "nedb.csv")},
                           content_type="multipart/form-data")
    return person.get(response.headers["Location"]).get_data(as_text=True)


def test_the_administrator_sees_the_rows_a_childrens_import_names_masked(country, browser):
    school_a, school_b, child = country.school("A"), country.school("B"), iin(705)
    country.enrol(child, school_a.bin)
    operator = Organisation(kind="operator", bin="791028302728", name="Operator")
    db.session.add(operator)
    db.session.flush()
    _user("op", "operator", operator)
    _user("root", "admin", None)
    db.session.commit()
    refused_child = iin(706)
    body = (HEADER + f"{child},Student,{school_b.bin},5,2026-09-01,\n"
            f"{refused_child[:-1]}x,Айгерим Серикова,{school_b.bin},5,2026-09-01,\n")

    admin_page = _imported_by(browser, "root", body)
    job = db.session.scalars(select(RegistryImport).order_by(RegistryImport.id.desc())).first()
    assert [n["iin"] for n in job.notices] == [child] and job.errors, "a notice and a rejected row to show"
    assert 'id="import-notices"' in admin_page and 'id="import-errors"' in admin_page
    assert child not in admin_page and "••••••••" + child[-4:] in admin_page
    assert refused_child[:-1] not in admin_page and "Айгерим Серикова" not in admin_page
    assert school_a.bin in admin_page, "the earlier row's school is an organisation, not a child"

    operator_page = _imported_by(browser, "op", body)
    assert child in operator_page and refused_child[:-1] + "x" in operator_page
