"""What a process owner's form or model puts in front of other people, and what a person types into it, is answered
as data: never a 500, never text that reads other than it is, never a page no browser can hold (second attack round
on models and forms)."""

from __future__ import annotations

import json

import pytest

from app.engine.forms import validate
from app.engine.publishing import publish_version
from app.engine.runtime import start_instance
from app.extensions import db
from tests.helpers import task_of, user
from tests.modeler.factory import chain_model, user_task

PATTERN_FORM = {"type": "object", "properties": {"rule": {"type": "string", "format": "regex", "title": "Rule"}}}


@pytest.mark.parametrize("typed", ["a{99999999999}", "(" * 2000 + ")" * 2000, "a{2,1}", "(?<=x)y", "["])
def test_a_pattern_typed_into_a_regex_field_is_a_field_error_or_taken_never_a_crash(app, typed):
    with app.test_request_context():
        errors = validate(PATTERN_FORM, {"rule": typed})
    assert set(errors) <= {"rule"}


def test_a_regex_field_takes_a_pattern_and_refuses_one_that_cannot_be_read(app):
    with app.test_request_context():
        assert validate(PATTERN_FORM, {"rule": r"^KZ\d{2}$"}) == {}
        assert list(validate(PATTERN_FORM, {"rule": "(unclosed"})) == ["rule"]


@pytest.mark.parametrize("typed", ["a{99999999999}", "(" * 2000 + "x" + ")" * 2000, "(?<=x)y"])
def test_submitting_such_a_pattern_in_a_task_is_answered_on_the_form_itself(world, browser, typed):
    """It was the error page "a value is too large" (OverflowError) or a 500 (RecursionError): the form and what was
    typed were gone."""
    files = chain_model("regexform", [("fill", "School accountant", user_task("fill", "Fill in"))])
    files["fill.schema.json"] = json.dumps(PATTERN_FORM)
    files["fill.uischema.json"] = "{}"
    publish_version(files)
    accountant = user("accountant")
    instance = start_instance("regexform", title="R-1", actor=accountant,
                              region_id=accountant.organisation.region_id, organisation_id=accountant.organisation_id)
    db.session.commit()
    task = task_of(instance, "fill")
    response = browser("accountant").post(f"/tasks/{task.id}", {"rule": typed})
    page = response.get_data(as_text=True)
    if response.status_code == 302:  # RE2 reads it (a literal where Python saw a repetition): taken
        assert typed != "(?<=x)y"
    else:
        assert response.status_code == 422 and 'id="f-rule-err"' in page, page[page.find("<main"):][:600]
        assert task_of(instance, "fill").status == "open"


@pytest.mark.parametrize("words", ["chr(0)", "chr(0xD800)"])
def test_a_script_failing_with_words_no_column_keeps_still_gets_its_incident(world, words):
    """The incident could not be written (PostgreSQL refuses NUL; no UTF-8 holds a lone surrogate): the instance
    stayed "running" without one, its timer due, and every background pass ran the failing script again."""
    from app import clock
    from app.audit.models import AuditEvent
    from app.engine import runtime
    from app.engine.models import ProcessInstance
    from tests.engine.test_incident_recovery import AT, _incidents, _publish, _start, _timed_script_model

    _publish(_timed_script_model(f'raise ValueError("total " + {words} + " refused")'))
    instance = _start("timed")
    instance_id = instance.id
    with clock.FrozenClock(AT) as now:
        runtime.complete_task(task_of(instance, "fill").id, user("operator"), data={"comment": "ok"})
        db.session.commit()
        now.advance(days=2)
        runtime.fire_due_timers()
    (incident,) = _incidents(instance_id)
    assert incident.element_id == "compute" and "total \ufffd refused" in incident.message
    assert "\ufffd" in incident.detail
    assert db.session.get(ProcessInstance, instance_id).status == "error"
    failed = db.session.query(AuditEvent).filter_by(chain=f"instance:{instance_id}", action="instance.failed").one()
    assert "total \ufffd refused" in failed.details["message"]


# --- text-direction controls in what a model shows ----------------------------------------------------------------

REVERSED = "\u202e00.005 12 :тнемйаП"  # reads "Payment: 21 500.00"


def _model_problems(files: dict[str, str], **options) -> list:
    from app.engine.specs import validate_files

    _parsed, problems = validate_files(files, **options)
    return [p for p in problems if "text-direction" in p.message]


@pytest.mark.parametrize("where", ["task name", "lane name", "name property", "script", "message name"])
def test_a_model_whose_text_holds_a_direction_control_is_refused_on_its_element(app_ctx, where):
    task_name = REVERSED if where == "task name" else "Fill in"
    lane = "School \u2067accountant" if where == "lane name" else "School accountant"
    extra = ""
    if where == "name property":
        extra = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="name.ru" '
                 f'value="{REVERSED}" /></spiffworkflow:properties></bpmn:extensionElements>')
    steps = [("fill", lane, user_task("fill", task_name))]
    if where == "script":
        steps.append(("compute", lane, '<bpmn:scriptTask id="compute" name="Compute"><bpmn:script>'
                                       'ok = "\u202e"</bpmn:script></bpmn:scriptTask>'))
    files = chain_model("bidi", steps)
    if extra:
        files["bidi.bpmn"] = files["bidi.bpmn"].replace('<bpmn:startEvent id="start" />',
                                                        f'<bpmn:startEvent id="start">{extra}</bpmn:startEvent>')
    if where == "message name":
        files["bidi.bpmn"] = files["bidi.bpmn"].replace(
            "<bpmn:process ", f'<bpmn:message id="m_paid" name="{REVERSED}" /><bpmn:process ')
    problems = _model_problems(files, lane_role="starter")
    expected = {"task name": "fill", "lane name": "lane_0", "name property": "start", "script": "compute",
                "message name": "m_paid"}[where]
    assert [p.element_id for p in problems] == [expected], [str(p) for p in problems]
    assert problems[0].line


def test_such_a_model_is_not_published_and_no_step_of_it_reaches_an_inbox(world):
    from app.engine.errors import ModelInvalid

    files = chain_model("bidi", [("fill", "School accountant", user_task("fill", REVERSED))])
    with pytest.raises(ModelInvalid):
        publish_version(files)
    db.session.rollback()


def test_the_left_to_right_and_right_to_left_marks_stay_allowed(app_ctx):
    files = chain_model("marks", [("fill", "School accountant", user_task("fill", "Fill in \u200e(ru) \u200f"))])
    assert _model_problems(files) == []


def _form_problems(app, part: str, document: dict) -> list[tuple[str, str]]:
    """What the form checks say of a small form whose ``part`` ("schema" or "ui") holds ``document``."""
    from app.engine.forms import form_shape_problems

    schema = {"type": "object", "properties": {"amount": {"type": "string"}, "grade": {"type": "string",
                                                                                     "enum": ["1", "2"]}}}
    ui: dict = {}
    if part == "schema":
        schema["properties"].update(document["properties"])
    else:
        ui = document
    with app.test_request_context():
        return form_shape_problems(schema, ui)


@pytest.mark.parametrize("part, document", [
    ("schema", {"properties": {"amount": {"type": "string", "title": REVERSED}}}),
    ("schema", {"properties": {"grade": {"type": "string", "enum": ["1", "\u20662"]}}}),
    ("schema", {"properties": {"note": {"type": "string", "default": REVERSED}}}),
    ("schema", {"properties": {"note": {"type": "string", "description": REVERSED}}}),
    ("ui", {"amount": {"ui:title": {"ru": REVERSED}}}),
    ("ui", {"amount": {"ui:help": REVERSED}}),
    ("ui", {"grade": {"ui:enumNames": {"1": REVERSED}}}),
])
def test_a_form_whose_words_hold_a_direction_control_is_refused_naming_where(app, part, document):
    problems = [(p, m) for p, m in _form_problems(app, part, document) if "text-direction" in m]
    assert len(problems) == 1 and problems[0][0] == part, problems
    assert "\u202e" not in problems[0][1] and "\u2066" not in problems[0][1]


# --- options a page can hold --------------------------------------------------------------------------------------


def _choice_form(options: int, *, table_rows: int | None = None, labelled: bool = False) -> tuple[dict, dict]:
    values = [f"v{i}" for i in range(options)]
    field = ({"type": "string", "oneOf": [{"const": v, "title": v.upper()} for v in values]} if labelled
             else {"type": "string", "enum": values})
    if table_rows is None:
        return {"type": "object", "properties": {"choice": field}}, {}
    schema = {"type": "object", "properties": {"rows": {"type": "array", "items": {
        "type": "object", "properties": {"choice": field}}}}}
    return schema, {"rows": {"ui:extraRows": table_rows}}


def _option_problems(schema: dict, ui: dict) -> list[str]:
    from app.engine.forms import form_shape_problems

    return [m for _p, m in form_shape_problems(schema, ui) if "options" in m]


@pytest.mark.parametrize("labelled", [False, True])
def test_a_choice_of_more_options_than_a_list_can_show_is_refused(app, labelled):
    with app.test_request_context():
        assert _option_problems(*_choice_form(500, labelled=labelled)) == []
        (problem,) = _option_problems(*_choice_form(40_000, labelled=labelled))
    assert "40000" in problem.replace(",", "").replace("\xa0", "") and "500" in problem


def test_a_table_whose_blank_rows_would_draw_too_many_options_is_refused(app):
    """40,000 options in a column of 50 blank rows was a 71 MB task page that took a worker 69 s to draw, on every
    opening of the step and in the editor's live preview; 400 options in 50 rows are still 20,000 <option>s."""
    with app.test_request_context():
        assert _option_problems(*_choice_form(400, table_rows=3)) == []
        (problem,) = _option_problems(*_choice_form(450, table_rows=50))
    assert "22500" in problem.replace(",", "").replace("\xa0", "") and "extraRows" in problem


def test_the_live_preview_draws_no_such_form(trial_v1, browser):
    schema, ui = _choice_form(40_000, table_rows=50)
    response = browser("owner").post("/modeler/forms/preview", {"schema": json.dumps(schema),
                                                               "uischema": json.dumps(ui)})
    page = response.get_data(as_text=True)
    assert "<option" not in page and len(page) < 100_000


# --- file names in a model ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["review\u202enosj.amehcs.bpmn", "fill\u200b.schema.json", "a\x85b.dmn"])
def test_a_model_file_named_with_an_invisible_character_is_refused_at_zip_import(app_ctx, name):
    import io
    import zipfile

    from app.modeler.operations import ImportRefused, is_safe_file_name, read_zip
    from tests.modeler.factory import two_step

    files = {**two_step(), name: "{}" if name.endswith(".json") else two_step()["trial.bpmn"]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file_name, text in files.items():
            archive.writestr(f"trial/{file_name}", text)
    assert not is_safe_file_name(name)
    with pytest.raises(ImportRefused):
        read_zip(buffer.getvalue())


@pytest.mark.parametrize("name", ["акт-2026.bpmn", "submit act.schema.json", "norms_v2.dmn"])
def test_letters_of_any_script_and_spaces_stay_allowed_in_a_file_name(name):
    from app.modeler.operations import is_safe_file_name

    assert is_safe_file_name(name)


# --- text-direction controls already stored: versions published before the refusal, a script's error words --------

def _outside_isolation(page: str, text: str) -> int:
    """How often ``text`` shows on the page outside an isolating <bdi> (the window title and attribute values, which
    hold no markup, left out)."""
    import re

    page = re.sub(r"<title>.*?</title>", "", page, flags=re.S).replace(f"<bdi>{text}</bdi>", "")
    return re.sub(r'="[^"]*"', '=""', page).count(text)


def test_a_title_holding_a_direction_control_is_isolated_on_the_inbox_the_task_and_the_cockpit(world, browser,
                                                                                                 monkeypatch):
    """A version published before such text was refused still names its steps so, and an instance's title comes from
    whoever started it: shown bare, "<U+202E>00.005 12 :тнемйаП" read "Payment: 21 500.00" and turned the words
    after it around too. Each is shown in its own <bdi>: it reads as written and leaves the rest of the line alone."""
    from app.engine import specs

    monkeypatch.setattr(specs, "direction_control_problems", lambda trees: [])
    publish_version(chain_model("bidi_old", [("fill", "School accountant", user_task("fill", REVERSED))]))
    accountant = user("accountant")
    title = "Act \u202e21 tcA"
    instance = start_instance("bidi_old", title=title, actor=accountant,
                              region_id=accountant.organisation.region_id, organisation_id=accountant.organisation_id)
    db.session.commit()
    task = task_of(instance, "fill")
    pages = {"inbox": browser("accountant").get("/inbox"), "task": browser("accountant").get(f"/tasks/{task.id}"),
             "instances": browser("admin").get("/instances"),
             "instance": browser("admin").get(f"/instances/{instance.id}")}
    for name, response in pages.items():
        page = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert f"<bdi>{title}</bdi>" in page, name
        if name != "instances":  # the list of instances names no step
            assert f"<bdi>{REVERSED}</bdi>" in page, name
        assert (_outside_isolation(page, title), _outside_isolation(page, REVERSED)) == (0, 0), name


def test_a_script_failing_with_a_direction_control_gets_an_incident_that_holds_none(world):
    """The model's text holds none (a script builds it), so no publish check sees it: the incident's message, its
    detail and the audit event kept "<U+202E>" and read other than they were in the cockpit."""
    from app import clock
    from app.audit.models import AuditEvent
    from app.engine import runtime
    from app.engine.forms import has_direction_control
    from tests.engine.test_incident_recovery import AT, _incidents, _publish, _start, _timed_script_model

    _publish(_timed_script_model('raise ValueError("total " + chr(0x202E) + "00.005 " + chr(0x2067) + " refused")'))
    instance = _start("timed")
    instance_id = instance.id
    with clock.FrozenClock(AT) as now:
        runtime.complete_task(task_of(instance, "fill").id, user("operator"), data={"comment": "ok"})
        db.session.commit()
        now.advance(days=2)
        runtime.fire_due_timers()
    (incident,) = _incidents(instance_id)
    assert incident.element_id == "compute" and "total \ufffd00.005 \ufffd refused" in incident.message
    assert not has_direction_control(incident.message) and not has_direction_control(incident.detail)
    failed = db.session.query(AuditEvent).filter_by(chain=f"instance:{instance_id}", action="instance.failed").one()
    assert not has_direction_control(failed.details["message"])


# --- options filled from task data at run time ------------------------------------------------------------------

def test_options_filled_from_task_data_are_cut_to_a_pages_limits_and_the_page_says_so(world, browser):
    """A form's own options are bounded at publishing; those from task data (``options_from_task_data_var:``) were
    bounded only by the task data's size: every one was drawn, in each blank row of a table. Now the field offers its
    first options (500 a field, 20,000 a page, a column counted in each blank row), says so, and a value it did not
    offer is refused as one not offered."""
    from app.engine.forms import MAX_DRAWN_OPTIONS, MAX_OPTIONS

    schema = {"type": "object", "required": ["school"], "properties": {
        "school": {"type": "string", "title": "School", "anyOf": ["options_from_task_data_var:schools"]},
        "lines": {"type": "array", "title": "Lines", "items": {"type": "object", "properties": {
            "grade": {"type": "string", "title": "Grade", "enum": ["options_from_task_data_var:grades"]}}}}}}
    files = chain_model("many", [("pick", "Operator", user_task("pick", "Pick", form="pick.json", ui="pick.ui.json"))])
    files["pick.json"] = json.dumps(schema)
    files["pick.ui.json"] = json.dumps({"lines": {"ui:extraRows": 50}})
    publish_version(files)
    schools = [{"value": f"s-{n}", "label": f"School {n}"} for n in range(1200)]
    grades = [f"g-{n}" for n in range(600)]
    instance = start_instance("many", title="Many", actor=user("owner"), data={"schools": schools, "grades": grades})
    db.session.commit()
    task = task_of(instance, "pick")
    operator = browser("operator")
    page = operator.get(f"/tasks/{task.id}").get_data(as_text=True)
    per_row = (MAX_DRAWN_OPTIONS - MAX_OPTIONS) // 50
    assert (MAX_OPTIONS, per_row) == (500, 390)
    assert page.count('value="s-') == MAX_OPTIONS and 'value="s-499"' in page and 'value="s-500"' not in page
    assert page.count('value="g-') == per_row * 50 and 'value="g-389"' in page and 'value="g-390"' not in page
    assert "Only the first 500 of 1200 options can be shown here" in page
    assert "Grade: Only the first 390 of 600 options can be shown here" in page
    refused = operator.post(f"/tasks/{task.id}", {"school": "s-800"})
    assert refused.status_code == 422 and task_of(instance, "pick").status == "open"
    assert operator.post(f"/tasks/{task.id}", {"school": "s-10", "lines.0.grade": "g-5"}).status_code == 302
    assert task_of(instance, "pick").status == "completed"


# --- other invisible characters in what a model shows -------------------------------------------------------------

INVISIBLE = {"zero-width space": "\u200b", "zero-width non-joiner": "\u200c", "zero-width joiner": "\u200d",
             "word joiner": "\u2060", "byte-order mark": "\ufeff", "C1 next line": "\x85", "C1 CSI": "\x9b",
             "line separator": "\u2028", "paragraph separator": "\u2029"}


def _invisible_problems(files: dict[str, str]) -> list:
    from app.engine.specs import validate_files

    _parsed, problems = validate_files(files, lane_role="starter")
    return [p for p in problems if "invisible" in p.message]


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("where", ["task name", "lane name"])
def test_a_model_whose_name_holds_an_invisible_character_is_refused_on_its_element(app_ctx, char, where):
    """"Accept" and "Acc<U+200B>ept" are two steps that look the same in every inbox."""
    task_name = f"Acc{char}ept" if where == "task name" else "Accept"
    lane = f"School{char} accountant" if where == "lane name" else "School accountant"
    problems = _invisible_problems(chain_model("zw", [("fill", lane, user_task("fill", task_name))]))
    expected = "fill" if where == "task name" else "lane_0"
    assert [p.element_id for p in problems] == [expected], [str(p) for p in problems]
    assert problems[0].line and char not in problems[0].message


def test_such_a_model_is_not_published(world):
    from app.engine.errors import ModelInvalid

    with pytest.raises(ModelInvalid):
        publish_version(chain_model("zw", [("fill", "School accountant", user_task("fill", "Acc\u200bept"))]))
    db.session.rollback()


def test_kazakh_and_russian_names_with_marks_and_line_breaks_stay_allowed(app_ctx):
    name = "Мектептің актісін қабылдау\u00a0/ Принять акт школы \u200e(kk)\u200f"
    files = chain_model("kk", [("fill", "Мектеп бухгалтері", user_task("fill", name))])
    files["kk.bpmn"] = files["kk.bpmn"].replace(name, name.replace("/", "&#10;/"))
    assert _invisible_problems(files) == []


@pytest.mark.parametrize("part, document", [
    ("schema", {"properties": {"amount": {"type": "string", "title": "Acc\u200bept"}}}),
    ("schema", {"properties": {"grade": {"type": "string", "enum": ["1", "\u20602"]}}}),
    ("schema", {"properties": {"grade": {"type": "string", "oneOf": [{"const": "1", "title": "One\u2028"}]}}}),
    ("schema", {"properties": {"note": {"type": "string", "default": "Accept\ufeff"}}}),
    ("schema", {"properties": {"note": {"type": "string", "default": "no\x00te"}}}),
    ("ui", {"amount": {"ui:title": {"kk": "Сома\x85"}}}),
    ("ui", {"grade": {"ui:enumNames": {"1": "Acc\u200cept"}}}),
])
def test_a_form_whose_words_hold_an_invisible_character_is_refused_naming_where(app, part, document):
    problems = [(p, m) for p, m in _form_problems(app, part, document) if "invisible" in m or "control" in m]
    assert len(problems) == 1 and problems[0][0] == part, problems
    assert all(char not in problems[0][1] for char in (*INVISIBLE.values(), "\x00"))


@pytest.mark.parametrize("field", [
    {"type": "string", "enum": ["yes", "n\x00o"]},
    {"type": "string", "enum": ["yes", "two\nlines"]},
    {"type": "string", "oneOf": [{"const": "yes", "title": "Yes"}, {"const": "n\ro", "title": "No"}]},
])
def test_an_option_a_browser_cannot_send_back_is_refused(app, field):
    """A NUL in an option's value was a 400 on every submit choosing it (the request guard), a line break came back
    as CR LF and was "not one of the offered values": the option could never be chosen."""
    from app.engine.forms import form_shape_problems

    with app.test_request_context():
        problems = [m for _p, m in form_shape_problems({"type": "object", "properties": {"answer": field}}, {})
                    if "could never be chosen" in m]
    assert len(problems) == 1 and "answer" in problems[0], problems


def test_kazakh_form_words_and_a_multi_line_default_stay_allowed(app):
    from app.engine.forms import form_shape_problems

    schema = {"type": "object", "properties": {
        "note": {"type": "string", "title": "Ескерту\u00a0(міндетті емес)", "default": "Бірінші жол\nЕкінші\tжол"},
        "grade": {"type": "string", "title": "Сынып \u200e", "enum": ["бірінші", "екінші сынып"]}}}
    with app.test_request_context():
        assert form_shape_problems(schema, {"grade": {"ui:enumNames": {"бірінші": "1-сынып"}}}) == []


# --- an option's value in the page's markup -----------------------------------------------------------------------


def test_each_radio_buttons_label_targets_its_own_input(trial_v1, browser):
    """An option's value made the radio's id ("f-decision-Return to school"): an id with spaces is not a valid HTML
    id, and a label may not bind to it (clicking the words chose nothing). The id is the option's place now."""
    import re

    schema = {"type": "object", "properties": {"decision": {
        "type": "string", "title": "Decision", "oneOf": [{"const": "Accept the act", "title": "Accept"},
                                                         {"const": "Return to school", "title": "Return"},
                                                         {"const": 'x" y', "title": "Quoted"}]}}}
    ui = {"decision": {"ui:widget": "radio"}}
    page = browser("owner").post("/modeler/forms/preview", {"schema": json.dumps(schema),
                                                           "uischema": json.dumps(ui)}).get_data(as_text=True)
    inputs = re.findall(r'<input[^>]*type="radio"[^>]*>', page)
    ids = [re.search(r'id="([^"]*)"', tag).group(1) for tag in inputs]
    assert len(ids) == 3 and len(set(ids)) == 3, inputs
    assert all(re.fullmatch(r"[A-Za-z][\w-]*", i) for i in ids), ids
    labels = dict(re.findall(r'<label class="form-check-label" for="([^"]*)">([^<]*)</label>', page))
    assert [labels.get(i) for i in ids] == ["Accept", "Return", "Quoted"], (ids, labels)
    assert [re.search(r'value="([^"]*)"', tag).group(1) for tag in inputs] == [
        "Accept the act", "Return to school", "x&#34; y"]
