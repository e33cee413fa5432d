"""The domain's task handlers check the data they write by their own shape, whatever form the model publishes.

A process owner could publish a loosened form for ``acts/submit`` (the grade as text, any twelve characters as an
IIN, no most lines) or ``applications/submit`` (the IBAN as any text): the handler wrote what the form let
through, and only the verification's rules caught the money effects later. Now each such handler declares the
shape it needs (``TaskHandler.data_shape``), checked on completion after the form, with the forms' own messages
in the person's language, and nothing is written on a refusal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act, ActLine
from app.applications.models import Application
from app.engine import runtime
from app.engine.errors import FormInvalid
from app.engine.models import ProcessInstance, ProcessModelVersion
from app.engine.runtime import complete_task
from app.engine.specs import validate_files
from app.extensions import db
from tests.helpers import act_of_school, open_task, user
from tests.i18n.catalogue import assert_translated
from tests.lifecycle.flow import open_task_of, place_order

SCHOOL = "Bilim Innovation School"
GOOD = {"iin": "791028302728", "full_name": "Фантом Тест", "grade": 3, "days_attended": 20}
#: the act form a process owner loosened: every field any text, no format, no most lines
LOOSE_ACT = {"type": "object", "properties": {"lines": {"type": "array", "items": {
    "type": "object", "properties": {"iin": {"type": "string"}, "full_name": {"type": "string"},
                                     "grade": {"type": ["string", "integer"]}, "days_attended": {"type": "integer"}}}},
    "note": {"type": "string"}}}


@pytest.fixture
def frozen(world):
    """The clock at 1 June 2027, in the schools' application window (as tests/lifecycle's)."""
    clock.set_clock(clock.FrozenClock(datetime(2027, 6, 1, 5, 0, tzinfo=UTC)))
    yield
    clock.reset_clock()


def _publish_loosened(instance_id: int, filename: str, schema: dict) -> None:
    """The instance's published version carries ``schema`` as ``filename`` (as a loosened version would)."""
    version = db.session.get(ProcessInstance, instance_id).model_version
    version.files = {**version.files, filename: json.dumps(schema)}
    db.session.flush()
    runtime._forms_cache.pop(version.id, None)


def _refused(task_id: int, actor: str, data: dict, locale: str = "en") -> dict:
    with force_locale(locale), pytest.raises(FormInvalid) as refused:
        complete_task(task_id, user(actor), data=data)
    db.session.rollback()
    return refused.value.errors


def _lines(act: Act) -> int:
    return db.session.scalar(select(func.count()).select_from(ActLine).where(ActLine.act_id == act.id))


def test_a_loosened_act_form_does_not_loosen_the_acts_lines(world, app):
    act = act_of_school(SCHOOL)
    _publish_loosened(act.instance_id, "submit-act.schema.json", LOOSE_ACT)
    task = open_task(act, "submit_act")
    with app.test_request_context():
        errors = _refused(task.id, "accountant", {"lines": [{**GOOD, "iin": "123456789012", "grade": "three"}]})
        assert errors["lines.0.iin"] == "Not a valid IIN: 12 digits with a correct check digit."
        assert errors["lines.0.grade"] == "Wrong kind of value."
        # the person reads the refusal in their language
        errors = _refused(task.id, "accountant", {"lines": [{**GOOD, "grade": 12}]}, "ru")
        assert errors["lines.0.grade"] != "Must be at most 11." and "11" in errors["lines.0.grade"]
        errors = _refused(task.id, "accountant", {"lines": [GOOD] * 3001})
        assert errors["lines"] == "At most 3000 rows."
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    assert act.status == "awaiting_submission" and _lines(act) == 0


def test_a_field_the_loosened_form_no_longer_draws_is_named_in_the_forms_heading(world, app):
    act = act_of_school(SCHOOL)
    without_days = json.loads(json.dumps(LOOSE_ACT))
    del without_days["properties"]["lines"]["items"]["properties"]["days_attended"]
    _publish_loosened(act.instance_id, "submit-act.schema.json", without_days)
    with app.test_request_context():
        errors = _refused(open_task(act, "submit_act").id, "accountant",
                          {"lines": [{k: v for k, v in GOOD.items() if k != "days_attended"}]})
    assert errors == {"_form": "lines.0.days_attended: This field is required."}
    assert _lines(act) == 0


def test_the_shipped_act_form_still_submits(world, app):
    act = act_of_school(SCHOOL)
    with app.test_request_context():
        complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": [GOOD], "note": ""})
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "verified"


def test_a_loosened_application_form_does_not_take_any_text_as_the_iban(frozen, browser, app):
    order = place_order(browser("official"))
    browser("accountant").post(f"/orders/{order.id}/apply")
    application = db.session.scalars(select(Application).where(Application.order_id == order.id)).one()
    loose = {"type": "object", "properties": {
        "licence_number": {"type": "string"}, "locality": {"type": "string"},
        "design_capacity": {"type": "integer"}, "iban": {"type": "string"},
        **{f"students_{level}": {"type": "integer"} for level in ("primary", "basic", "secondary")}}}
    _publish_loosened(application.instance_id, "submit-application.schema.json", loose)
    task = open_task_of(application.instance_id, "submit_application")
    data = {"licence_number": "KZ15LAA00001234", "locality": "urban", "students_primary": 10, "students_basic": 10,
            "students_secondary": 5, "design_capacity": 600, "iban": "not an account"}
    with app.test_request_context():
        errors = _refused(task.id, "accountant", {**data, "design_capacity": -5}, "kk")
    assert set(errors) == {"iban", "design_capacity"}
    assert errors["iban"] != "Not a valid Kazakh IBAN (KZ, 20 characters, check digits)."
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == "draft"


def _gap_problems(version, files) -> list:
    found = validate_files(files, process_id=version.process_id, primary=version.primary_file,
                           lane_role=version.lane_role)[1]
    return [p for p in found if p.detail and "in its form, as" in p.message]


def test_publishing_refuses_a_form_that_cannot_give_the_handler_its_data(world, app):
    """A form without the days attended, or with the grade as text, could never complete the step: the model check
    says so at the step, before anyone meets it; a form that only drops the IIN's format is checked on completion."""
    act = act_of_school(SCHOOL)
    version = db.session.get(ProcessInstance, act.instance_id).model_version
    form = json.loads(version.files["submit-act.schema.json"])
    line = form["properties"]["lines"]["items"]["properties"]
    del line["days_attended"]
    form["properties"]["lines"]["items"]["required"].remove("days_attended")
    line["grade"] = {"type": "string"}
    line["iin"] = {"type": "string"}
    with app.test_request_context():
        problems = _gap_problems(version, {**version.files, "submit-act.schema.json": json.dumps(form)})
    assert sorted((p.element_id, p.detail) for p in problems) == [
        ("submit_act", "lines.*.days_attended (integer)"), ("submit_act", "lines.*.grade (integer)")]
    assert all(p.line for p in problems)


def test_the_shipped_models_forms_give_their_handlers_what_they_need(world):
    versions = db.session.scalars(select(ProcessModelVersion).where(ProcessModelVersion.status == "published")).all()
    assert versions
    for version in versions:
        assert _gap_problems(version, version.files) == [], version.process_model.identifier


def test_the_model_checks_words_are_in_kazakh_and_russian(app):
    assert_translated(app, "The step %(handler)s needs %(field)s in its form, as %(kind)s: add it, or the step can "
                           "never be completed.")
    assert_translated(app, "the field «%(field)s» of each row of «%(table)s»")
    assert_translated(app, "a whole number")
