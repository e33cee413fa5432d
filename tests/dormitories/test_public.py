"""The public portal and the Open Contracting data show the dormitory-places instrument's orders, contracts and
payments as that instrument (in kk, ru and en), with places and rates — and never a student."""

from __future__ import annotations

import json

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.acts.models import ActLine
from app.dormitories.models import StudentEnrolment
from app.extensions import db
from app.people.models import Organisation, Region
from app.public.figures import years
from tests.conftest import Browser
from tests.helpers import assert_no_personal_data, fetch_all
from tests.public.test_ocds import _errors, _validator

TITLE = "State order for student dormitory places"


def _pages(visitor: Browser) -> dict[str, str]:
    year = years()[0]
    urls = ["/public/", f"/public/?year={year}", "/public/data/regions.csv", "/public/data/schools.csv",
            "/public/data/schools.json", "/public/data/months.csv", "/public/data/months.json",
            "/public/ocds/releases.json?per_page=1000", "/public/ocds/records.json?per_page=1000"]
    for region in db.session.scalars(select(Region).where(Region.code.in_(("ASTANA", "ALMATY")))):
        urls += [f"/public/regions/{region.id}?year={year}", f"/public/data/schools.csv?region={region.id}"]
    for dormitory in db.session.scalars(select(Organisation).where(Organisation.kind == "dormitory")):
        urls.append(f"/public/schools/{dormitory.bin}?year={year}")
        assert TITLE in visitor.get(urls[-1]).get_data(as_text=True)
    return fetch_all(visitor, urls)


def test_dormitory_orders_and_contracts_are_labelled_as_their_instrument_in_every_language(dorm_world, app):
    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    url = f"/public/regions/{astana.id}?year={years()[0]}"
    for language in ("en", "ru", "kk"):
        visitor = Browser(app)
        visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        page = visitor.get(url).get_data(as_text=True)
        with app.test_request_context(), force_locale(language):
            title = _(TITLE)
        assert language == "en" or title != TITLE, f"no {language} translation of the instrument's title"
        orders = page.split('id="orders-h"')[1].split("</section>")[0]
        contracts = page.split('id="contracts-h"')[1].split("</section>")[0]
        assert 'data-instrument="dormitory"' in orders and title in orders, language
        assert 'data-instrument="dormitory"' in contracts and title in contracts, language
        assert 'data-instrument="schools"' in orders, "the schools' orders stay labelled as theirs"


def test_ocds_releases_of_dormitory_orders_validate_and_name_the_instrument(dorm_world, app):
    package = json.loads(Browser(app).get("/public/ocds/releases.json?per_page=1000").get_data(as_text=True))
    assert _errors(_validator("release-package-schema.json"), package) == []
    dorm = [r for r in package["releases"] if "-DO-" in r["ocid"]]
    tenders = [r["tender"] for r in dorm if "tender" in r["tag"]]
    assert tenders and all(t["title"].startswith(TITLE) for t in tenders)
    assert all(t["procurementMethodDetails"] == "Call for applications from dormitories" for t in tenders)
    contracts = [c for r in dorm if "contract" in r["tag"] for c in r["contracts"]]
    assert contracts and all(c["items"][0]["description"].startswith("Student dormitory place") for c in contracts)
    assert all(c["items"][0]["unit"]["value"]["currency"] == "KZT" for c in contracts)
    payments = [r for r in dorm if "implementation" in r["tag"]]
    assert payments, "the paid months of the demo's clean dormitory are published as transactions"
    schools = [r["tender"] for r in package["releases"] if "tender" in r["tag"] and "-DO-" not in r["ocid"]]
    assert schools and all(t["title"].startswith("State educational order") for t in schools)
    records = json.loads(Browser(app).get("/public/ocds/records.json?per_page=1000").get_data(as_text=True))
    assert _errors(_validator("record-package-schema.json"), records) == []


def test_no_student_of_a_dormitory_on_any_public_page_or_download(dorm_world, app):
    pages = _pages(Browser(app))
    students = list(db.session.execute(select(StudentEnrolment.iin, StudentEnrolment.full_name)))
    students += list(db.session.execute(select(ActLine.iin, ActLine.full_name)))
    assert len(students) > 100
    assert_no_personal_data(pages, students)


def test_the_norms_of_a_schools_order_are_named_in_the_visitors_language_not_by_their_codes(dorm_world, app):
    """A tester saw "basic/rural: 50 760,00 ₸" on the Russian and Kazakh portal: the level and locality codes."""
    from app.contracts.labels import LEVELS

    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    for language in ("en", "ru", "kk"):
        visitor = Browser(app)
        visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        page = visitor.get(f"/public/regions/{astana.id}?year={years()[0]}").get_data(as_text=True)
        orders = page.split('id="orders-h"')[1].split("</section>")[0]
        with app.test_request_context(), force_locale(language):
            basic, rural = str(LEVELS["basic"]), _("rural")
        assert f"{basic}, {rural}: " in orders, language
        assert "basic/" not in orders and "/rural" not in orders, language
