"""Bad input that answered 500 or was silently misread, now refused like any other wrong value.

* Digits are ASCII 0–9 (app/registry/identifiers.py). "²" passed ``str.isdigit`` and then broke ``int`` (a 500);
  Arabic-Indic "١" and full-width "１" passed both and were read as 1. Now they are what letters always were: an
  ignored filter, an unknown id, or a field error (app/user_input.py).
* JSON typed into a form field (a form schema, a workflow variable) nested 100,000 levels deep broke the parser's
  recursion (a 500); ``NaN``, ``Infinity`` and ``1e999`` were written into the saved workflow state.
* An administrator could create logins that look like existing ones and e-mail addresses with a header or markup
  in them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.acts.models import Act
from app.engine import runtime
from app.engine.models import HumanTask, ProcessInstance
from app.engine.publishing import create_draft, publish_version
from app.extensions import db
from app.orders.models import StateOrder
from app.people.models import Organisation, Region, User
from app.user_input import (
    MAX_JSON_DEPTH,
    JsonTooDeep,
    NonFiniteNumber,
    UnreadableJson,
    ascii_int,
    is_ascii_digits,
    loads_json_field,
)
from tests.helpers import user
from tests.i18n.catalogue import assert_translated
from tests.modeler.factory import chain_model, user_task

SUPERSCRIPT_TWO, ARABIC_INDIC_ONE, FULL_WIDTH_ONE = "\u00b2", "\u0661", "\uff11"
FOREIGN_DIGITS = (SUPERSCRIPT_TWO, ARABIC_INDIC_ONE, FULL_WIDTH_ONE)
DEEP = "[" * 100_000
FORM_SCHEMA = json.dumps({"type": "object", "properties": {"comment": {"type": "string"}}})


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.fixture()
def one_step(world):
    """A running instance of a one-task model, at its task, with an amount in its data."""
    publish_version(chain_model("one_step", [("fill", "School accountant", user_task("fill", "Fill in"))]))
    with clock.FrozenClock(datetime(2026, 11, 5, 9, 0, tzinfo=UTC)):
        instance = runtime.start_instance("one_step", title="O-0001", actor=user("official"),
                                          region_id=user("accountant").organisation.region_id,
                                          organisation_id=user("accountant").organisation_id,
                                          data={"amount_tiyn": 125000})
    db.session.commit()
    return instance


def _variables(instance: ProcessInstance) -> dict:
    db.session.expire_all()
    return runtime._load(db.session.get(ProcessInstance, instance.id)).get_tasks(spec_name="fill")[0].data


def _confirmed(**fields) -> dict:
    return {"confirm": "yes", "reason": "checked with the school", **fields}


def _free_bin() -> str:
    from app.registry.identifiers import complete_12

    taken = set(db.session.scalars(select(Organisation.bin)))
    return next(b for n in range(10_000) if (b := complete_12(f"990202{n:05d}")) and b not in taken)


# --- the helper ---------------------------------------------------------------------------------------------------


def test_only_ascii_digits_are_digits():
    assert is_ascii_digits("0123456789") and ascii_int("42") == 42
    for text in ("", "-1", "+1", " 1", "1.0", "x", None, 7, *FOREIGN_DIGITS, "1" + SUPERSCRIPT_TWO):
        assert not is_ascii_digits(text) and ascii_int(text) is None, repr(text)
    assert ascii_int("9" * 18) == int("9" * 18) and ascii_int("9" * 19) is None
    assert ascii_int("1234567", max_digits=6) is None


def test_form_field_json_is_plain_finite_and_shallow():
    assert loads_json_field('{"a": [1, 2.5, "x", null]}') == {"a": [1, 2.5, "x", None]}
    assert loads_json_field(_nested(MAX_JSON_DEPTH)) is not None
    for text in (DEEP, _nested(MAX_JSON_DEPTH + 1)):
        with pytest.raises(JsonTooDeep):
            loads_json_field(text)
    for text in ("NaN", "Infinity", "-Infinity", "1e999", '{"a": [1E400]}'):
        with pytest.raises(NonFiniteNumber):
            loads_json_field(text)
    with pytest.raises(UnreadableJson):
        loads_json_field("9" * 5000)  # past Python's int-from-string limit: a ValueError that is not JSON's
    with pytest.raises(json.JSONDecodeError) as typo:
        loads_json_field("{broken")
    assert not isinstance(typo.value, UnreadableJson)


# --- digits that are not ASCII ------------------------------------------------------------------------------------


def test_an_operator_filtering_instances_by_a_foreign_digit_gets_the_filter_ignored(one_step, browser):
    operator = browser("operator")
    for digit in FOREIGN_DIGITS:
        page = operator.get("/instances", query_string={"region": digit})
        assert page.status_code == 200 and "Unknown region" in page.get_data(as_text=True), digit
        version = operator.get("/instances", query_string={"process": "one_step", "version": digit})
        assert version.status_code == 200 and "The version is a number" in version.get_data(as_text=True)
        search = operator.get("/instances", query_string={"q": digit})
        assert search.status_code == 200, digit
    # "１" is not instance 1: the search is a title prefix only.
    found = operator.get("/instances", query_string={"q": FULL_WIDTH_ONE * (len(str(one_step.id)))})
    assert f"/instances/{one_step.id}\"" not in found.get_data(as_text=True)


def test_inbox_filters_and_bulk_accept_ignore_foreign_digits(world, browser):
    official = browser("official")
    for digit in FOREIGN_DIGITS:
        assert official.get("/inbox", query_string={"filter": digit}).status_code == 200, digit
        asked = official.get("/inbox/bulk-accept", query_string={"task": digit})
        assert asked.status_code == 302, digit
        done = official.post("/inbox/bulk-accept", {"task": digit, "confirm": "1"})
        assert done.status_code == 200 and "0 of 0 acts accepted" in done.get_data(as_text=True), digit


def test_a_task_is_not_reassigned_to_a_person_named_in_foreign_digits(world, browser):
    from tests.inbox.conftest import make_clean_acts, make_official2

    task, official2 = make_clean_acts()[0], make_official2()
    head = browser("head")
    full_width_id = "".join(chr(0xFF10 + int(d)) for d in str(official2.id))  # "１２" for 12
    response = head.post(f"/tasks/{task.id}/reassign", {"user_id": full_width_id}, follow_redirects=True)
    assert "Choose a person" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).assignee_id != official2.id
    assert head.post(f"/tasks/{task.id}/reassign", {"user_id": str(official2.id)}).status_code == 302


def test_reconciliation_by_a_foreign_digit_region_is_an_unknown_region(world, browser):
    operator = browser("operator")
    for digit in FOREIGN_DIGITS:
        page = operator.get("/reports/reconciliation", query_string={"region": digit})
        assert page.status_code == 200 and "Unknown region" in page.get_data(as_text=True), digit
        assert operator.get("/reports/reconciliation.csv", query_string={"region": digit}).status_code == 303
        api = operator.get("/api/v1/reconciliation", query_string={"region": digit})
        assert api.status_code == 422 and "Unknown region" in api.get_json()["message"], digit
    too_long = operator.get("/reports/reconciliation", query_string={"region": "9" * 5000})
    assert too_long.status_code == 200 and "Unknown region" in too_long.get_data(as_text=True)


def test_admin_forms_refuse_foreign_digits_as_ids_and_numbers(world, browser):
    admin = browser("admin")
    users, organisations = (db.session.scalar(select(func.count()).select_from(m)) for m in (User, Organisation))
    region = db.session.scalars(select(Region).order_by(Region.id)).first()
    operator_org = user("operator").organisation
    free_bin = _free_bin()
    for digit in FOREIGN_DIGITS:
        person = admin.post("/admin/users/new", {"username": "newbie", "full_name": "N", "role": "operator",
                                                 "organisation_id": digit * len(str(operator_org.id))})
        assert person.status_code == 422 and "existing organisation" in person.get_data(as_text=True), digit
        school = {"kind": "school", "bin": free_bin, "name": "Digit School", "region_id": str(region.id)}
        in_region = admin.post("/admin/organisations/new", {**school, "region_id": digit * len(str(region.id))})
        assert in_region.status_code == 422 and "Choose a region" in in_region.get_data(as_text=True), digit
        capacity = admin.post("/admin/organisations/new", {**school, "design_capacity": digit * 3})
        assert capacity.status_code == 422 and "design capacity" in capacity.get_data(as_text=True), digit
    assert (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(Organisation))) == (users, organisations)


def test_a_foreign_digit_incident_id_retries_the_latest_incident_as_before(one_step, browser):
    response = browser("admin").post(f"/instances/{one_step.id}/retry", _confirmed(incident_id=SUPERSCRIPT_TWO),
                                     follow_redirects=True)
    assert response.status_code == 200 and "no open incident" in response.get_data(as_text=True).lower()


def test_migrating_foreign_digit_instance_ids_selects_nothing(trial_v1, browser):
    response = browser("owner").post(f"/modeler/versions/{trial_v1.id}/migrate",
                                     {"instance_id": SUPERSCRIPT_TWO}, follow_redirects=True)
    assert response.status_code == 200 and "Select at least one instance" in response.get_data(as_text=True)


def test_an_order_budget_or_year_in_foreign_digits_is_a_field_error(world, browser):
    official = browser("official")
    orders = db.session.scalar(select(func.count()).select_from(StateOrder))
    for digit in FOREIGN_DIGITS:
        school_order = official.post("/orders/new", {"academic_year": "2027/2028", "budget": digit * 7,
                                                     "window_opens": "2026-11-05", "window_closes": "2027-06-30"})
        assert school_order.status_code == 422 and "Enter the budget in tenge" in school_order.get_data(as_text=True)
        dorm_order = official.post("/orders/new", {
            "instrument": "dormitory", "first_year": digit * 4, "years": "3", "locality": "urban", "places": "30",
            "budget": "50000000", "window_opens": "2026-11-05", "window_closes": "2027-06-30"})
        assert dorm_order.status_code == 422 and "enter a whole number" in dorm_order.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StateOrder)) == orders


def test_a_session_whose_user_id_is_not_ascii_digits_is_signed_out(world, browser):
    person = browser()
    with person.client.session_transaction() as session:
        session["_user_id"] = SUPERSCRIPT_TWO
    response = person.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- JSON in form fields -----------------------------------------------------------------------------------------


def test_the_form_preview_reports_json_nested_too_deeply_as_invalid(trial_v1, browser):
    owner = browser("owner")
    for fields, label in (({"schema": DEEP, "uischema": "{}"}, "JSON Schema: not valid JSON"),
                          ({"schema": FORM_SCHEMA, "uischema": DEEP}, "UI schema: not valid JSON"),
                          ({"schema": _nested(MAX_JSON_DEPTH + 1), "uischema": "{}"}, "JSON Schema: not valid JSON"),
                          ({"schema": "9" * 5000, "uischema": "{}"}, "JSON Schema: not valid JSON")):
        response = owner.post("/modeler/forms/preview", fields)
        assert response.status_code == 200 and label in response.get_data(as_text=True), label


def test_saving_a_form_nested_too_deeply_is_refused_and_nothing_stored(trial_v1, browser):
    owner = browser("owner")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    url = f"/modeler/versions/{draft.id}/forms/fill.schema.json"
    before = dict(draft.files)
    for fields, label in (({"schema": DEEP, "uischema": "{}"}, "JSON Schema: not valid JSON"),
                          ({"schema": FORM_SCHEMA, "uischema": DEEP}, "UI schema: not valid JSON"),
                          ({"schema": '{"type": "object", "properties": {}, "maximum": NaN}', "uischema": "{}"},
                           "JSON Schema: not valid JSON")):
        response = owner.post(url, fields)
        assert response.status_code == 422 and label in response.get_data(as_text=True), label
    db.session.refresh(draft)
    assert draft.files == before


def test_the_editor_refuses_a_form_file_nested_too_deeply_and_lists_other_broken_json(trial_v1, browser):
    owner = browser("owner")
    draft = create_draft(trial_v1.process_model, user("owner"), from_version=trial_v1)
    db.session.commit()
    url, before = f"/modeler/versions/{draft.id}/save", dict(draft.files)
    for text in (DEEP, '{"type": "object", "properties": {}, "maximum": NaN}'):
        response = owner.post_json(url, {"files": {"fill.schema.json": text}})
        assert response.status_code == 422 and "Not valid JSON: fill.schema.json" in response.get_json()["error"]
    db.session.refresh(draft)
    assert draft.files == before
    typo = owner.post_json(url, {"files": {"fill.schema.json": "{broken"}})
    assert typo.status_code == 200 and any("Not valid JSON" in p["message"] for p in typo.get_json()["problems"])


def test_a_variable_nested_too_deeply_is_invalid_json_and_nothing_changes(one_step, browser):
    admin = browser("admin")
    for value in (DEEP, _nested(MAX_JSON_DEPTH + 1)):
        response = admin.post(f"/instances/{one_step.id}/variables", _confirmed(name="amount_tiyn", value=value),
                              follow_redirects=True)
        assert response.status_code == 200 and "The value is not valid JSON." in response.get_data(as_text=True)
    assert _variables(one_step)["amount_tiyn"] == 125000


def test_a_variable_that_is_not_a_finite_number_is_refused(one_step, browser):
    admin = browser("admin")
    for value in ("NaN", "Infinity", "-Infinity", "1e999", "[1, 1E400]", '{"a": NaN}'):
        response = admin.post(f"/instances/{one_step.id}/variables", _confirmed(name="amount_tiyn", value=value),
                              follow_redirects=True)
        assert response.status_code == 200 and "Numbers must be finite" in response.get_data(as_text=True), value
    assert _variables(one_step)["amount_tiyn"] == 125000
    admin.post(f"/instances/{one_step.id}/variables", _confirmed(name="amount_tiyn", value="1250.5"))
    admin.post(f"/instances/{one_step.id}/variables", _confirmed(name="note", value="nan"))
    assert _variables(one_step)["amount_tiyn"] == 1250.5 and _variables(one_step)["note"] == "nan", "a word is text"


# --- logins and e-mail addresses ----------------------------------------------------------------------------------


def test_new_logins_are_latin_letters_digits_dots_dashes_and_underscores(world, browser):
    admin = browser("admin")
    for login in ("\u0430ccountant", "\uff41\uff43\uff43\uff4f\uff55\uff4e\uff54\uff41\uff4e\uff54", "\u212aate",
                  "accountant\u0661", "acc ountant", "accountant!"):
        response = admin.post("/admin/users/new", {"username": login, "full_name": "Look Alike", "role": "auditor"})
        assert response.status_code == 422 and "A login is letters (a–z)" in response.get_data(as_text=True), login
    assert db.session.scalar(select(func.count()).select_from(User).where(User.full_name == "Look Alike")) == 0
    created = admin.post("/admin/users/new", {"username": "New.User-2_x", "full_name": "Good", "role": "auditor"})
    assert created.status_code == 200 and user("new.user-2_x").full_name == "Good"


def test_an_e_mail_address_with_a_header_markup_or_no_domain_is_refused(world, browser):
    admin = browser("admin")
    bad = ("a@b.kz\r\nBcc: evil@x.com", "a@b.kz\nBcc: evil@x.com", '"><img src=x onerror=alert(1)>@x.kz',
           '"<b>"@x.kz', "a@localhost", "a b@x.kz", "a@@x.kz", "a@b@x.kz", "@x.kz", "a@", "a@[127.0.0.1]",
           "a\t@x.kz", "a\u2028b@x.kz")
    for number, email in enumerate(bad):
        response = admin.post("/admin/users/new", {"username": f"mail{number}", "full_name": "M", "role": "auditor",
                                                   "email": email})
        assert response.status_code == 422 and "valid e-mail address" in response.get_data(as_text=True), email
    auditor = user("auditor")
    edited = admin.post(f"/admin/users/{auditor.id}", {"full_name": auditor.full_name, "role": "auditor",
                                                       "organisation_id": str(auditor.organisation_id or ""),
                                                       "email": bad[0]})
    assert edited.status_code == 422
    created = admin.post("/admin/users/new", {"username": "mailok", "full_name": "M", "role": "auditor",
                                              "email": "Ivan.Petrov+acts@mail.gov.kz"})
    assert created.status_code == 200 and user("mailok").email == "Ivan.Petrov+acts@mail.gov.kz"


def test_the_new_messages_have_kazakh_and_russian_words(app_ctx):
    for msgid in ("A login is letters (a–z), digits, dots, dashes or underscores (at most 80).",
                  "Numbers must be finite: NaN, Infinity and numbers as large as 1e999 cannot be saved."):
        assert_translated(app_ctx, msgid)


def test_an_id_in_a_path_is_written_in_the_digits_0_to_9(world, browser):
    """/api/v1/acts/１ (a full-width one) answered act 1, as did the pages: werkzeug's int converter takes any
    Unicode digit. Only 0–9 make an id; anything else is no such page."""
    operator = browser("operator")
    act = db.session.scalars(select(Act).order_by(Act.id)).first()
    assert operator.get(f"/api/v1/acts/{act.id}").status_code == 200
    for digit in (FULL_WIDTH_ONE, ARABIC_INDIC_ONE):
        foreign = str(act.id).replace("1", digit) if "1" in str(act.id) else digit
        assert operator.get(f"/api/v1/acts/{foreign}").status_code == 404, foreign
        assert operator.get(f"/acts/{foreign}").status_code == 404, foreign
