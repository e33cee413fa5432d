"""Server-side form parsing: blank rows dropped, rows renumbered, typed text kept on errors."""

import re

from app.engine.forms import parse_and_validate, parse_form

SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["lines"],
    "properties": {"lines": {"type": "array", "minItems": 1, "items": {
        "type": "object", "additionalProperties": False, "required": ["iin", "grade"],
        "properties": {"iin": {"type": "string", "format": "iin"}, "grade": {"type": "integer", "maximum": 11}}}}},
}


def test_blank_rows_are_dropped_and_rows_renumbered(app_ctx):
    data, errors = parse_form(SCHEMA, {"lines.0.iin": "791028302728", "lines.0.grade": "3",
                                       "lines.1.iin": "", "lines.1.grade": " ",
                                       "lines.2.iin": "950440001673", "lines.2.grade": "10"})
    assert errors == {}
    assert data == {"lines": [{"iin": "791028302728", "grade": 3}, {"iin": "950440001673", "grade": 10}]}


def test_errors_point_at_renumbered_rows_and_keep_the_typed_text(app_ctx):
    with app_ctx.test_request_context(headers={"Accept-Language": "en"}):
        data, errors = parse_and_validate(SCHEMA, {"lines.0.iin": "", "lines.0.grade": "",
                                                   "lines.5.iin": "791028302728", "lines.5.grade": "three"})
    assert errors == {"lines.0.grade": "Enter a whole number."}
    assert data["lines"][0]["grade"] == "three"


def test_unknown_and_malformed_names_are_refused(app_ctx):
    with app_ctx.test_request_context(headers={"Accept-Language": "en"}):
        for name in ("school_id", "lines.0.amount", "lines", "__class__", "lines.x.iin"):
            _data, errors = parse_form(SCHEMA, {name: "1"})
            assert errors.get("_form", "").startswith("Unexpected field"), name


def test_a_decision_form_sent_without_a_decision_asks_only_for_the_decision(app_ctx):
    # The comment, required only to return or reject, was also marked "This field is required".
    import json
    from pathlib import Path

    from app.engine.forms import parse_and_validate

    forms = Path(__file__).resolve().parent.parent / "forms"
    for name, refusing in (("accept-act", "return"), ("approve-report", "return"), ("review-application", "reject"),
                           ("review-dorm-application", "reject")):
        schema = json.loads((forms / f"{name}.schema.json").read_text(encoding="utf-8"))
        _data, errors = parse_and_validate(schema, {})
        assert "decision" in errors and "comment" not in errors, name
        _data, errors = parse_and_validate(schema, {"decision": refusing})
        assert "comment" in errors, name


def test_the_payment_order_field_says_its_limit(app_ctx):
    import json
    from pathlib import Path

    from app.engine.forms import parse_and_validate

    schema = json.loads((Path(__file__).resolve().parent.parent / "forms" / "pay-act.schema.json").read_text())
    _data, errors = parse_and_validate(schema, {"order_number": "P" * 500, "paid_on": "2026-11-20"})
    assert errors["order_number"] == "Too long (at most 40 characters)."


def test_a_format_error_says_what_the_field_takes_and_the_page_focuses_it(world, browser):
    """"Invalid format." alone did not say that a payment order number takes Latin letters (an operator typed the
    Cyrillic "ПП-1001"): the field's hint goes with its error, in the user's language."""
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import act_of_school, open_task, user

    act = act_of_school("Bilim Innovation School")
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    task = open_task(act, "pay_act")
    operator = browser("operator")
    operator.post("/locale", {"locale": "ru", "next": "/inbox"})
    page = operator.post(f"/tasks/{task.id}", {"order_number": "ПП-1001", "paid_on": "2026-12-01"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    error = re.search(r'id="f-order_number-err">([^<]+)<', html).group(1)
    assert error.startswith("Неверный формат.") and "латинские буквы" in error


def test_a_date_refused_says_its_format_once(world, browser):
    """A payment date that is no date (31.02.2026) read "Введите существующую дату в формате дд.мм.гггг, например
    05.03.2026. Укажите дату в формате дд.мм.гггг." — the field's hint said the format again after the error that
    had just said it. A date left out still gets the hint after "required"."""
    from tests.helpers import act_of_school, open_task, submitted_and_accepted

    act = act_of_school("Bilim Innovation School")
    submitted_and_accepted(act)
    task = open_task(act, "pay_act")
    operator = browser("operator")
    operator.post("/locale", {"locale": "ru", "next": "/inbox"})
    page = operator.post(f"/tasks/{task.id}", {"order_number": "PP-1001", "paid_on": "31.02.2026"})
    assert page.status_code == 422
    error = re.search(r'id="f-paid_on-err">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert error.startswith("Введите существующую дату") and error.count("дд.мм.гггг") == 1, error
    page = operator.post(f"/tasks/{task.id}", {"order_number": "PP-1001", "paid_on": ""})
    error = re.search(r'id="f-paid_on-err">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert "Укажите дату в формате дд.мм.гггг." in error, error


def test_a_text_with_direction_controls_is_refused_at_its_field_and_nothing_is_saved(world, browser):
    """A name "\u202eаминА" shows reversed in every list that prints it (the probe stored one in an act line): the
    invisible direction controls are refused at the field, by the form and by the API, and nothing is saved."""
    from app.acts.models import Act
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import act_of_school, lines_form, open_task, user

    act = act_of_school("Bilim Innovation School")
    lines = prefill_lines(act)[:2]
    spoofed = [{**lines[0], "full_name": "\u202e" + lines[0]["full_name"]}, lines[1]]
    page = browser("accountant").post(f"/tasks/{open_task(act, 'submit_act').id}", lines_form(spoofed))
    assert page.status_code == 422
    assert re.search(r'id="f-lines-0-full_name-err">[^<]*text-direction', page.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "awaiting_submission"
    data, errors = parse_and_validate(SCHEMA | {"properties": {**SCHEMA["properties"], "note": {"type": "string"}}},
                                      {"lines.0.iin": "791028302728", "lines.0.grade": "3", "note": "a\u2067b"})
    assert list(errors) == ["note"]
    try:
        complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": spoofed})
        raise AssertionError("the API path took it")
    except Exception as err:  # FormInvalid: the same field, the same words
        assert "lines.0.full_name" in getattr(err, "errors", {}), err
    db.session.rollback()


def test_a_choice_refused_says_so_to_a_screen_reader(world, browser):
    """Keyboard and screen-reader probe: the official sent the act's decision without choosing; the page focused the
    first radio button, marked red — but neither the buttons nor a select or a text box with an error were marked
    invalid or pointed at their error, so a screen reader read "Accept the act, radio button" and nothing of what
    was wrong (only text inputs were)."""
    from app.acts.operations import prefill_lines
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import act_of_school, open_task, user

    act = act_of_school("Bilim Innovation School")
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    task = open_task(act, "accept_act")
    official = browser("official")
    official.post("/locale", {"locale": "kk", "next": "/inbox"})
    page = official.post(f"/tasks/{task.id}", {"comment": ""})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    radios = re.findall(r'<input class="form-check-input is-invalid" type="radio" name="decision"[^>]*>', html)
    assert len(radios) == 2
    assert all('aria-invalid="true"' in r and 'aria-describedby="f-decision-err"' in r for r in radios), radios
    assert 'id="f-decision-err"' in html
    page = official.post(f"/tasks/{task.id}", {"decision": "return", "comment": ""})
    html = page.get_data(as_text=True)
    textarea = re.search(r'<textarea[^>]*id="f-comment"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in textarea and 'aria-describedby="f-comment-err"' in textarea
