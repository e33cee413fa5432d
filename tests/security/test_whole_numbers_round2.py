"""A number in an address or a form is written in the digits 0–9, nothing else, on every page and in the API.

Flask's ``request.args.get(name, type=int)`` is Python's ``int``: it reads Arabic-Indic "١", full-width "１", " 1 ",
"+1" and "1_000" as numbers, and a word ("abc") as the default without a word. ``schools.csv?region=١`` was region
1's file, ``region=abc`` the whole country's; the model diff compared version 1 for ``old=١``; a deputy chosen as
"١٢" was person 12; a task form whose ``_version`` was no number skipped the lost-update check; the API's
``page=１`` was page 1. Now each is read by one helper (app/user_input.py ``whole_number``): the parameter is named in
a 400 (a 422 in the API, as its other field errors), or the page's own note says what it could not read.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import clock
from app.engine.models import HumanTask, ProcessModelVersion
from app.extensions import db
from app.people.models import Region
from app.people.substitutions import Substitution
from app.user_input import NotAWholeNumber, page_number, whole_number
from tests.helpers import seen
from tests.inbox.conftest import make_clean_acts, make_official2


def _arabic_indic(number: int) -> str:
    return "".join(chr(0x0660 + int(d)) for d in str(number))


def _full_width(number: int) -> str:
    return "".join(chr(0xFF10 + int(d)) for d in str(number))


#: the spellings Python's int() reads as ``number`` (or as a number near it), and a word it does not
SPELLINGS = {
    "arabic-indic": _arabic_indic,
    "full-width": _full_width,
    "spaces": lambda n: f" {n} ",
    "plus sign": lambda n: f"+{n}",
    "underscore": lambda n: f"{n}_0",
    "a word": lambda n: "abc",
}


def test_the_helper_reads_ascii_digits_only():
    assert whole_number({"page": "12"}, "page") == 12
    assert whole_number({}, "page", 1) == 1 and whole_number({"page": ""}, "page", 1) == 1
    assert whole_number({"region": "-5"}, "region") == -5, "a negative number is a number; no id has it (404)"
    assert page_number({"page": "-3"}) == page_number({"page": "x"}) == page_number({"page": "２"}) == 1
    for spelling in SPELLINGS.values():
        with pytest.raises(NotAWholeNumber) as refused:
            whole_number({"region": spelling(12)}, "region")
        assert refused.value.code == 400 and set(refused.value.data["errors"]) == {"region"}
        assert whole_number({"page": spelling(12)}, "page", 1, lenient=True) == 1


def test_no_view_reads_a_number_with_pythons_int(project_root):
    """The class, not its instances: a new ``type=int`` in a view is found here the day it is written."""
    found = []
    for path in sorted((Path(project_root) / "app").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.get\([^)]*type=int\b", line):
                found.append(f"{path.relative_to(project_root)}:{number}: {line.strip()}")
    assert found == [], "read it with app.user_input.whole_number:\n" + "\n".join(found)
    smorest = [str(p.relative_to(project_root)) for p in (Path(project_root) / "app").rglob("*.py")
               if "from flask_smorest import Blueprint" in p.read_text(encoding="utf-8")]
    assert smorest == [], "an API blueprint is app.api.blueprint.Blueprint, which reads numbers in digits only"


@pytest.mark.parametrize("url, parameter", [
    (f"/public/ocds/releases.json?per_page={'1' * 5000}", "per_page"),  # a 500: past Python's int-from-string limit
    ("/public/ocds/records.json?page=%2B1", "page"), ("/public/ocds/releases.json?per_page=%201", "per_page"),
])
def test_an_open_data_page_is_written_in_digits(world, app, url, parameter):
    from tests.conftest import Browser

    answer = Browser(app).get(url)
    assert answer.status_code == 400 and set(answer.get_json()["errors"]) == {parameter}, answer.status_code


@pytest.mark.parametrize("spelling", SPELLINGS, ids=list(SPELLINGS))
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_region_in_a_download_address_is_written_in_digits(world, app, spelling, fmt):
    from tests.conftest import Browser

    region = db.session.scalars(select(Region).order_by(Region.id)).first()
    typed = SPELLINGS[spelling](region.id)
    answer = Browser(app).get(f"/public/data/schools.{fmt}", query_string={"region": typed})
    assert answer.status_code == 400, (typed, answer.status_code)
    if fmt == "json":
        assert set(answer.get_json()["errors"]) == {"region"}
    else:
        assert "region must be a whole number." in answer.get_data(as_text=True)
    assert Browser(app).get(f"/public/data/schools.{fmt}", query_string={"region": region.id}).status_code == 200


@pytest.mark.parametrize("spelling", SPELLINGS, ids=list(SPELLINGS))
def test_a_version_in_the_model_diff_address_is_written_in_digits(world, browser, spelling):
    version = db.session.scalars(select(ProcessModelVersion).order_by(ProcessModelVersion.id)).first()
    typed = SPELLINGS[spelling](version.id)
    answer = browser("owner").get(f"/modeler/models/{version.process_model_id}/diff",
                                  query_string={"old": typed, "new": version.id})
    assert answer.status_code == 400, (typed, answer.status_code)
    assert "old must be a whole number." in answer.get_data(as_text=True)


@pytest.mark.parametrize("spelling", ["arabic-indic", "full-width", "plus sign"])
def test_a_deputy_is_not_named_by_an_id_in_other_digits(world, browser, spelling):
    official2 = make_official2()
    today = clock.today()
    typed = SPELLINGS[spelling](official2.id)
    answer = browser("official").post("/substitutions", {"deputy_id": typed, "starts_on": today.isoformat(),
                                                         "ends_on": (today + timedelta(days=7)).isoformat()})
    assert "Choose an active colleague" in answer.get_data(as_text=True), typed
    assert db.session.scalars(select(Substitution)).first() is None


def test_a_task_form_whose_version_is_no_number_is_refused_and_the_task_stays_open(world, browser):
    task = make_clean_acts()[0]
    answer = browser("official").post(f"/tasks/{task.id}", {"decision": "accept", "_seen": seen(task),
                                                            "_version": "abc"})
    assert answer.status_code == 400 and "_version must be a whole number." in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"


@pytest.mark.parametrize("spelling", ["arabic-indic", "full-width", "spaces", "plus sign", "underscore"])
@pytest.mark.parametrize("parameter", ["page", "page_size"])
def test_an_api_page_in_other_digits_is_a_field_error(world, browser, spelling, parameter):
    typed = SPELLINGS[spelling](1)
    answer = browser("operator").get("/api/v1/orders", query_string={parameter: typed})
    assert answer.status_code == 422, (typed, answer.status_code)
    assert parameter in str(answer.get_json().get("errors")), answer.get_json()
    assert browser("operator").get("/api/v1/orders", query_string={parameter: "1"}).status_code == 200


def test_the_version_the_task_page_wrote_still_completes_the_task(world, browser):
    task = make_clean_acts()[0]
    official = browser("official")
    written = re.search(r'name="_version" value="([0-9]+)"', official.get(f"/tasks/{task.id}").get_data(as_text=True))
    answer = official.post(f"/tasks/{task.id}", {"decision": "accept", "_seen": seen(task), "_version": written[1]})
    assert answer.status_code == 302


@pytest.mark.parametrize("typed", ["١٢", "１２", "1_000", "١.٥", "１.５", "٣e2", "1_0.5"])
def test_a_number_field_of_a_task_form_takes_ascii_digits_as_its_whole_number_fields_do(app, typed):
    """A form's ``integer`` field refused "١٢" (Enter a whole number.); its ``number`` field read it as 12, and
    "1_000" as 1000 — Python's ``int`` and ``float``."""
    from app.engine.forms import parse_form

    schema = {"type": "object", "properties": {"amount": {"type": "number"}, "count": {"type": "integer"}}}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for name in ("amount", "count"):
            data, errors = parse_form(schema, {name: typed})
            assert name in errors and data == {name: typed}, (name, data, errors)
        assert parse_form(schema, {"amount": "1500.25", "count": "12"}) == ({"amount": 1500.25, "count": 12}, {})
        assert parse_form(schema, {"amount": "-2e3"}) == ({"amount": -2000.0}, {})


@pytest.mark.parametrize("typed", ["١٢", "１", "1_0", "+3"])
def test_a_registry_files_grade_is_written_in_digits(typed):
    """A registry file's grade (NEDB) and course (student registry) were Python's ``int``: "١٢" was grade 12."""
    from app.registry.importers import RowError, _grade

    with pytest.raises(RowError) as refused:
        _grade({"grade": typed})
    assert (refused.value.column, refused.value.code) == ("grade", "invalid_grade")
    assert _grade({"grade": " 5 "}) == _grade({"grade": "5.0"}) == _grade({"grade": 5}) == 5
