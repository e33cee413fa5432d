"""In a real browser: the school accountant fills the act's lines from a CSV file, reads the report, submits."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.acts.models import Act
from app.acts.operations import prefill_lines
from app.extensions import db
from tests.helpers import act_of_school, open_task

pytestmark = pytest.mark.e2e


def test_the_accountant_fills_the_lines_from_a_file_checks_them_and_submits(new_page):
    act = act_of_school("Bilim Innovation School")
    act_id = act.id
    lines = prefill_lines(act)[:3]
    rows = ["ИИН;ФИО;Класс;Дней посещения"] + [f'{x["iin"]};{x["full_name"]};{x["grade"]};17' for x in lines]
    wrong = lines[0]["iin"][:-1] + str((int(lines[0]["iin"][-1]) + 1) % 10)
    rows.append(f"{wrong};Қате Жол;3;17")  # line 5: a wrong IIN check digit is reported, not taken
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    expect(accountant.locator("#f-lines-10-iin")).not_to_have_value("")  # the NEDB prefill: more than three lines
    accountant.fill("#f-note", "Из табеля")
    accountant.set_input_files("#lines-file", files=[{"name": "act.csv", "mimeType": "text/csv",
                                                      "buffer": "\n".join(rows).encode("utf-8")}])
    accountant.click("#lines-file-btn")
    expect(accountant.locator("#lines-file-counts")).to_have_text("4 lines read, 1 refused.")
    expect(accountant.locator("#lines-file-refused")).to_contain_text("Not a valid IIN")
    expect(accountant.locator("#f-lines-0-iin")).to_have_value(lines[0]["iin"])
    expect(accountant.locator("#f-lines-2-days_attended")).to_have_value("17")
    expect(accountant.locator("#f-lines-3-iin")).to_have_value("")  # only the file's good lines
    expect(accountant.locator("#f-note")).to_have_value("Из табеля")  # what was typed is kept
    db.session.expire_all()
    assert db.session.get(Act, act_id).total_lines == 0, "nothing saved before Submit"

    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Submit monthly act")
    db.session.expire_all()
    act = db.session.get(Act, act_id)
    assert act.total_lines == 3 and act.note == "Из табеля"


def test_the_note_typed_before_the_page_scripts_arrived_goes_along_with_the_file(new_page):
    """On a slow line the page is usable before app.js (loaded last) runs: the file went without the typed note, and
    the page that came back had lost it. The task form's entries are carried from the page's head (early.js)."""
    act = act_of_school("Bilim Innovation School")
    line = prefill_lines(act)[0]
    accountant = new_page("accountant")
    accountant.route("**/static/app.js*", lambda route: route.abort())  # app.js never arrives on this page
    accountant.get_by_role("link", name="Submit monthly act").click()
    accountant.fill("#f-note", "Из табеля")
    accountant.set_input_files("#lines-file", files=[{"name": "act.csv", "mimeType": "text/csv", "buffer": (
        f"ИИН;ФИО;Класс;Дней посещения\n{line['iin']};{line['full_name']};{line['grade']};17").encode()}])
    accountant.click("#lines-file-btn")
    expect(accountant.locator("#f-lines-0-days_attended")).to_have_value("17")
    expect(accountant.locator("#f-note")).to_have_value("Из табеля")


def test_a_file_with_refused_lines_says_they_are_not_in_the_form_and_what_to_do(new_page):
    """A file of two lines, one with a wrong IIN: the report said "The form below now holds the file's lines: check
    them and press Submit", and a new accountant submitted the act without the refused student. It now says the
    listed lines are not in the form and how to bring them back (fix the file and fill again, or Add row)."""
    act = act_of_school("Bilim Innovation School")
    good, other = prefill_lines(act)[:2]
    wrong = other["iin"][:-1] + str((int(other["iin"][-1]) + 1) % 10)
    rows = ["ЖСН;Аты-жөні;Сынып;Қатысқан күндер", f'{good["iin"]};{good["full_name"]};{good["grade"]};20',
            f'{wrong};{other["full_name"]};{other["grade"]};20']
    accountant = new_page("accountant")
    accountant.goto(f"/tasks/{open_task(act, 'submit_act').id}")
    accountant.set_input_files("#lines-file", files=[{"name": "act.csv", "mimeType": "text/csv",
                                                      "buffer": "\n".join(rows).encode("utf-8")}])
    accountant.click("#lines-file-btn")
    expect(accountant.locator("#lines-file-refused")).to_contain_text(wrong)
    report = accountant.locator("#lines-file-report")
    expect(report).not_to_contain_text("check them and press Submit")
    expect(accountant.locator("#lines-file-left-out")).to_contain_text("the 1 line listed below is not in it")
    expect(accountant.locator("#f-lines-1-iin")).to_have_value("")  # the refused line is indeed not in the form


def test_a_file_of_good_lines_only_asks_to_check_them_and_submit(new_page):
    act = act_of_school("Bilim Innovation School")
    good = prefill_lines(act)[0]
    accountant = new_page("accountant")
    accountant.goto(f"/tasks/{open_task(act, 'submit_act').id}")
    accountant.set_input_files("#lines-file", files=[{"name": "act.csv", "mimeType": "text/csv", "buffer": (
        f'iin,full_name,grade,days_attended\n{good["iin"]},{good["full_name"]},{good["grade"]},20').encode()}])
    accountant.click("#lines-file-btn")
    expect(accountant.locator("#lines-file-report")).to_contain_text("check them and press Submit")
    expect(accountant.locator("#lines-file-left-out")).to_have_count(0)


def test_on_a_phone_the_reason_a_files_line_was_refused_is_on_the_screen(new_page):
    """At 390 px the refused lines' table ran past the report's right edge: the reason was a sideways swipe away."""
    act = act_of_school("Bilim Innovation School")
    good = prefill_lines(act)[0]
    accountant = new_page("accountant")
    accountant.set_viewport_size({"width": 390, "height": 844})
    accountant.goto(f"/tasks/{open_task(act, 'submit_act').id}")
    accountant.set_input_files("#lines-file", files=[{"name": "act.csv", "mimeType": "text/csv", "buffer": (
        f'iin,full_name,grade,days_attended\n{good["iin"]},{good["full_name"]},{good["grade"]},20\n'
        f'{good["iin"][:-1]}{(int(good["iin"][-1]) + 1) % 10},{good["full_name"]},{good["grade"]},20').encode()}])
    accountant.click("#lines-file-btn")
    reason = accountant.locator("#lines-file-refused td", has_text="Not a valid IIN")
    expect(reason).to_be_visible()
    box, report = reason.bounding_box(), accountant.locator("#lines-file-report").bounding_box()
    assert box["x"] >= report["x"] and box["x"] + box["width"] <= report["x"] + report["width"] + 1, box
    assert box["width"] > report["width"] / 2, "the reason is read across the card, not squeezed into a column"
