"""The act's task forms as a new user meets them: decisive submits ask first, naming what is decided; days attended
within the act's month; a returned act's form marks the lines excluded; a line's review asks for its reason at its
own comment box (the dormitories' form: tests/dormitories/test_act_form.py)."""

from __future__ import annotations

import html
import re
from calendar import monthrange
from datetime import date

from flask_babel import force_locale, gettext
from sqlalchemy import select

from app import clock
from app.acts.models import Act, ActLine
from app.acts.operations import prefill_lines
from app.acts.verification import verify_act
from app.engine.runtime import complete_task
from app.extensions import db
from app.i18n import format_tenge
from app.payments.models import Payment
from app.registry.models import NedbEnrollment
from tests.helpers import act_of_school, lines_form, open_task, user

SCHOOL_A = "Bilim Innovation School"
PHANTOM = {"iin": "791028302728", "full_name": "Фантом Тест", "grade": "3", "days_attended": "20"}


def _confirm(page: str) -> tuple[str, str | None]:
    form = re.search(r'<form method="post"[^>]*id="task-form"[^>]*>', page, re.S).group(0)
    question = re.search(r'data-confirm="([^"]*)"', form)
    field = re.search(r'data-confirm-field="([^"]*)" data-confirm-value="([^"]*)"', form)
    return (html.unescape(question.group(1)) if question else None), (field.groups() if field else None)


def test_submit_accept_and_pay_ask_first_naming_the_school_month_and_amount(world, browser):
    act = act_of_school(SCHOOL_A)
    accountant = browser("accountant")
    question, condition = _confirm(accountant.get(f"/tasks/{open_task(act, 'submit_act').id}").get_data(as_text=True))
    assert SCHOOL_A in question and f"{act.period:%B %Y}" in question and condition is None
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    act = db.session.get(Act, act.id)
    amount = format_tenge(act.amount_tiyn)

    official = browser("official")
    question, condition = _confirm(official.get(f"/tasks/{open_task(act, 'accept_act').id}").get_data(as_text=True))
    assert act.number in question and SCHOOL_A in question and amount in question
    assert f"{act.period:%B %Y}" in question
    assert condition == ("decision", "accept"), "returning (which the school corrects) is not asked about"

    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    operator = browser("operator")
    question, condition = _confirm(operator.get(f"/tasks/{open_task(act, 'pay_act').id}").get_data(as_text=True))
    assert amount in question and act.number in question and SCHOOL_A in question and condition is None
    # The server's flow is unchanged: the question is the page's, the post is taken as before.
    paid = operator.post(f"/tasks/{open_task(act, 'pay_act').id}",
                         {"order_number": "PP-1", "paid_on": clock.now().date().isoformat()})
    assert paid.status_code == 302, re.findall(r"role=\"alert\"[^>]*>(.*?)</div>", paid.get_data(as_text=True), re.S)


def test_no_question_before_an_acceptance_the_server_refuses_anyway(world, browser):
    """Probe: "Accept act …?" was asked on an act with a line awaiting review, then refused with the count."""
    from app.acts.models import ActLine

    act = act_of_school(SCHOOL_A)
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id)).first()
    line.review_codes = "name"
    db.session.commit()
    question, _condition = _confirm(browser("official").get(f"/tasks/{open_task(act, 'accept_act').id}")
                                    .get_data(as_text=True))
    assert question is None


def test_days_attended_are_within_the_acts_month_and_at_least_one(world, browser):
    act = act_of_school(SCHOOL_A)
    act.period = date(2026, 11, 1)  # a month of 30 days (the form's schema allows 31 in every month)
    db.session.commit()
    days = monthrange(act.period.year, act.period.month)[1]
    task = open_task(act, "submit_act")
    accountant = browser("accountant")
    page = accountant.get(f"/tasks/{task.id}").get_data(as_text=True)
    day_input = re.search(r'<input[^>]*id="f-lines-0-days_attended"[^>]*>', page).group(0)
    assert f'max="{days}"' in day_input and 'min="1"' in day_input

    over = accountant.post(f"/tasks/{task.id}", lines_form([dict(PHANTOM, days_attended=str(days + 1))]))
    text = html.unescape(over.get_data(as_text=True))
    assert over.status_code == 422
    assert 'id="f-lines-0-days_attended-err"' in text
    assert f"Фантом Тест (791028302728): {act.period:%B %Y} has {days} days" in text

    none = accountant.post(f"/tasks/{task.id}", lines_form([dict(PHANTOM, days_attended="0")]))
    text = html.unescape(none.get_data(as_text=True))
    assert none.status_code == 422 and 'id="f-lines-0-days_attended-err"' in text
    assert "a student who attended no day of" in text and "remove the line" in text
    assert open_task(act, "submit_act").status == "open"

    accountant.post("/locale", {"locale": "ru", "next": "/inbox"})
    over = accountant.post(f"/tasks/{task.id}", lines_form([dict(PHANTOM, days_attended="31")]))
    assert over.status_code == 422 and 'id="f-lines-0-days_attended-err"' in over.get_data(as_text=True)
    assert "ноябрь 2026" in over.get_data(as_text=True), "the month as people name it, in the user's language"
    assert accountant.post(f"/tasks/{task.id}", lines_form([dict(PHANTOM, days_attended="30")])).status_code == 302


def test_a_student_listed_twice_has_only_the_excluded_duplicate_marked_on_the_returned_form(world, browser):
    """Both rows of a student listed twice were marked "Excluded: Duplicate line" though one of them was paid: an
    accountant removing the marked rows removed the student from the act."""
    act = act_of_school(SCHOOL_A)
    accountant = browser("accountant")
    lines = [{k: str(v) for k, v in ln.items()} for ln in prefill_lines(act)]
    assert accountant.post(f"/tasks/{open_task(act, 'submit_act').id}",
                           lines_form([*lines, dict(lines[0])])).status_code == 302
    db.session.expire_all()
    outcomes = [(ln.line_no, ln.outcome, ln.rule_code) for ln in act.lines if ln.iin == lines[0]["iin"]]
    assert [o[1] for o in outcomes] == ["accepted", "excluded"], outcomes
    complete_task(open_task(act, "accept_act").id, user("official"),
                  data={"decision": "return", "comment": "List each student once"})
    db.session.commit()
    page = accountant.get(f"/tasks/{open_task(act, 'submit_act').id}").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"([^\"]*)\"[^>]*>(.*?)</tr>", page, re.S)
    theirs = [cls for cls, body in rows if f'value="{lines[0]["iin"]}"' in body]
    assert len(theirs) == 2
    assert "row-excluded" not in theirs[0], "the paid line is not marked excluded"
    assert "row-excluded" in theirs[1]


def test_a_returned_acts_form_marks_each_excluded_line_with_its_rule(world, browser):
    act = act_of_school(SCHOOL_A)
    accountant = browser("accountant")
    lines = [{k: str(v) for k, v in ln.items()} for ln in prefill_lines(act)]
    assert accountant.post(f"/tasks/{open_task(act, 'submit_act').id}",
                           lines_form([*lines, PHANTOM])).status_code == 302
    complete_task(open_task(act, "accept_act").id, user("official"),
                  data={"decision": "return", "comment": "Remove the phantom"})
    db.session.commit()
    page = accountant.get(f"/tasks/{open_task(act, 'submit_act').id}").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"([^\"]*)\"[^>]*>(.*?)</tr>", page, re.S)
    marked = [(cls, body) for cls, body in rows if "row-excluded" in cls]
    assert len(marked) == 1 and 'value="791028302728"' in marked[0][1]
    assert "Excluded: " in marked[0][1]
    assert "table-warning" in marked[0][0]


def _flagged_line(act: Act) -> ActLine:
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.outcome == "accepted")
                              .order_by(ActLine.line_no)).first()
    registered = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin)).first()
    registered.full_name = "Басқа Бала"
    verify_act(act)
    db.session.commit()
    return line


def test_excluding_a_line_without_a_reason_is_said_at_its_comment_box(world, browser):
    act = act_of_school("Alatau Lyceum")
    line = _flagged_line(act)
    task = open_task(act, "accept_act")
    official = browser("official_almaty")
    page = official.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'placeholder="Why (required to exclude)"' in page
    assert "<details" in page and "even after ignoring case" in page, "the check's explanation is on the page"
    response = official.post(f"/acts/{act.id}/lines/{line.id}/review",
                             {"decision": "exclude", "comment": " ", "next": f"/tasks/{task.id}?"})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert f"review_comment={line.id}" in location and location.endswith(f"#review-line-{line.id}")
    page = official.get(location.split("#")[0]).get_data(as_text=True)
    box = re.search(rf'<input[^>]*id="review-comment-{line.id}"[^>]*>', page).group(0)
    assert "is-invalid" in box and 'aria-invalid="true"' in box
    assert f'id="review-comment-{line.id}-err">Say why the line is excluded.' in page
    assert 'class="alert alert-danger' not in page.split('id="task-form"')[0].split("</nav>")[0]

    done = official.post(f"/acts/{act.id}/lines/{line.id}/review",
                         {"decision": "confirm", "comment": "", "next": f"/tasks/{task.id}?review_comment={line.id}"})
    assert "review_comment" not in done.headers["Location"]


def test_a_returns_missing_comment_shows_the_hint_once(world, browser):
    act = act_of_school("Alatau Lyceum")
    official = browser("official_almaty")
    response = official.post(f"/tasks/{open_task(act, 'accept_act').id}", {"decision": "return", "comment": ""})
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("Required when returning the act") == 1


def test_a_payment_date_is_typed_day_first_as_the_users_language_writes_it(world, browser):
    """New-user probe: the payment date was the browser's own date field, which orders day and month by the
    browser's language (mm/dd/yyyy in an English browser) whatever language the operator chose. It is typed as
    dd.mm.yyyy now, the format said in the user's language; an impossible date keeps what was typed."""
    act = act_of_school(SCHOOL_A)
    complete_task(open_task(act, "submit_act").id, user("accountant"), data={"lines": prefill_lines(act)})
    db.session.commit()
    complete_task(open_task(act, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    operator = browser("operator")
    operator.post("/locale", {"locale": "ru", "next": "/inbox"})
    url = f"/tasks/{open_task(act, 'pay_act').id}"
    page = operator.get(url).get_data(as_text=True)
    field = re.search(r'<input[^>]*id="f-paid_on"[^>]*>', page).group(0)
    with force_locale("ru"):
        said = gettext("dd.mm.yyyy")  # дд.мм.гггг once the catalogue has it
    assert 'type="text"' in field and 'lang="ru"' in field and f'placeholder="{said}"' in field
    assert said in page[page.find('id="f-paid_on"') + 200:][:1500], "the format is said beside the field"

    refused = operator.post(url, {"order_number": "PP-1", "paid_on": "31.02.2026"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="31.02.2026"' in page and "05.03.2026" in page
    assert db.session.get(Act, act.id).status == "accepted"

    day = clock.today()
    paid = operator.post(url, {"order_number": "PP-1", "paid_on": f"{day:%d.%m.%Y}"})
    assert paid.status_code == 302
    db.session.expire_all()
    act = db.session.get(Act, act.id)
    payment = db.session.scalars(select(Payment).where(Payment.act_id == act.id)).one()
    assert act.status == "paid" and payment.paid_on == day
