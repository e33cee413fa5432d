"""In a real browser: a comment posted from a task page does not wipe what the user typed into the task's form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.acts.models import ActLine
from app.extensions import db
from app.people.models import User
from tests.helpers import act_of_school, user

pytestmark = pytest.mark.e2e


def test_a_comment_keeps_the_unsaved_days_and_says_they_are_not_saved_yet(new_page):
    # The accountant changed days attended from 21 to 7, posted a comment, and the field showed 21 again.
    act = act_of_school("Bilim Innovation School")
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    before = accountant.locator("#f-lines-0-days_attended").input_value()
    typed = "7" if before != "7" else "8"
    accountant.fill("#f-lines-0-days_attended", typed)
    accountant.fill("#comment-body", "Two children moved mid-month")
    accountant.get_by_role("button", name="Comment").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Comment added")
    expect(accountant.locator("#f-lines-0-days_attended")).to_have_value(typed)
    expect(accountant.locator("#unsaved-kept")).to_contain_text("not saved until you submit")
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0, "kept in the page, not saved"

    accountant.reload()  # kept once: a later visit shows the stored form again
    expect(accountant.locator("#unsaved-kept")).to_have_count(0)
    expect(accountant.locator("#f-lines-0-days_attended")).to_have_value(before)


def test_entries_typed_before_the_page_scripts_arrived_are_kept_by_a_comment(new_page):
    """CI caught it: on a slow line the task page is usable before app.js (loaded last) runs; a comment posted then
    wiped what was typed. The keeping is done from the page's head (early.js): here app.js never arrives on the page
    where the accountant types, only on the page that comes back."""
    act_of_school("Bilim Innovation School")
    accountant = new_page("accountant")
    accountant.route("**/static/app.js*", lambda route: route.abort())
    accountant.get_by_role("link", name="Submit monthly act").click()
    field = accountant.locator("#f-lines-0-days_attended")
    typed = "7" if field.input_value() != "7" else "8"
    field.fill(typed)
    accountant.fill("#comment-body", "Two children moved mid-month")
    accountant.unroute("**/static/app.js*")
    accountant.get_by_role("button", name="Comment").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Comment added")
    expect(field).to_have_value(typed)
    expect(accountant.locator("#unsaved-kept")).to_contain_text("not saved until you submit")


def test_an_entry_that_raised_no_event_is_kept_too(new_page):
    """An entry the page saw no event for (filled in by the browser itself) differs from what the page came with:
    that is enough to keep it."""
    act_of_school("Bilim Innovation School")
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    field = accountant.locator("#f-lines-0-days_attended")
    typed = "7" if field.input_value() != "7" else "8"
    field.evaluate("(el, v) => { el.value = v; }", typed)  # no input or change event
    accountant.fill("#comment-body", "Two children moved mid-month")
    accountant.get_by_role("button", name="Comment").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Comment added")
    expect(field).to_have_value(typed)


def test_a_refused_comment_comes_back_into_its_box_and_a_saved_one_does_not(new_page):
    """A comment the server refuses (here: a hidden direction mark that would make it read otherwise than written) came
    back as a message only, and what was written was gone with the page."""
    act_of_school("Bilim Innovation School")
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    written = "Two children moved \u202emid-month"
    accountant.fill("#comment-body", written)
    accountant.get_by_role("button", name="Comment").click()
    expect(accountant.locator("main .alert-danger")).to_be_visible()
    expect(accountant.locator("#comment-body")).to_have_value(written)  # to correct, not to write again

    accountant.fill("#comment-body", "Two children moved mid-month")
    accountant.get_by_role("button", name="Comment").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Comment added")
    expect(accountant.locator("#comment-body")).to_have_value("")


def test_entries_kept_in_the_tab_are_offered_only_to_the_person_who_typed_them(new_page, monkeypatch):
    """Attacker probe: the tab kept entries by the page's address alone, so a colleague who logged in on the same tab
    after a login had ended was offered the first person's children (IINs, names, days) and note."""
    import time

    from app.people import sessions

    act = act_of_school("Bilim Innovation School")
    first = user("accountant")
    colleague = User(username="bilim_accountant2", full_name="Айгерім Нұрланқызы", role=first.role,
                     organisation_id=first.organisation_id, created_at=first.created_at)
    colleague.set_password("pw")
    db.session.add(colleague)
    db.session.commit()
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    task_url = accountant.url
    accountant.fill("#f-note", "Checked against the class registers")
    later = time.time() + 3 * 3600  # the login ends
    monkeypatch.setattr(sessions, "_now", lambda: int(later))
    accountant.get_by_role("button", name="Submit").click()
    accountant.wait_for_url("**/login**")
    accountant.fill("#username", "bilim_accountant2")  # a colleague at the same computer, same tab
    accountant.fill("#password", "pw")
    accountant.click("#login-submit")
    accountant.goto(task_url)
    expect(accountant.locator("#task-form")).to_be_visible()
    expect(accountant.locator("#unsaved-kept")).to_have_count(0)
    expect(accountant.locator("#f-note")).not_to_have_value("Checked against the class registers")
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0


def test_entries_sent_after_the_login_ended_come_back_after_logging_in_again(new_page, monkeypatch):
    """Logged out for inactivity while checking an act: the submit went to the login page with no word, and after
    logging in the form showed the stored values — every edit lost. Now the login page says why, and the task page
    offers back what was sent; typing also counts as activity (the page tells the server)."""
    import time

    from app.people import sessions

    act = act_of_school("Bilim Innovation School")
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    task_url = accountant.url
    before = accountant.locator("#f-lines-0-days_attended").input_value()
    typed = "7" if before != "7" else "8"
    accountant.fill("#f-lines-0-days_attended", typed)
    accountant.fill("#f-note", "Checked against the class registers")
    later = time.time() + 3 * 3600  # three hours without a request
    monkeypatch.setattr(sessions, "_now", lambda: int(later))
    accountant.get_by_role("button", name="Submit").click()
    accountant.wait_for_url("**/login**")
    expect(accountant.locator(".alert-warning")).to_contain_text("Your session has ended")
    expect(accountant.locator(".alert-warning")).to_contain_text("was not saved")
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() == 0

    accountant.fill("#username", "accountant")
    accountant.fill("#password", "pw")
    accountant.click("#login-submit")
    accountant.wait_for_url(task_url)
    expect(accountant.locator("#unsaved-kept")).to_contain_text("were not saved")
    expect(accountant.locator("#f-lines-0-days_attended")).to_have_value(typed)
    expect(accountant.locator("#f-note")).to_have_value("Checked against the class registers")
    accountant.get_by_role("button", name="Submit").click()
    accountant.wait_for_url("**/inbox**")
    db.session.expire_all()
    assert db.session.query(ActLine).filter_by(act_id=act.id).count() > 0
    days = db.session.query(ActLine.days_attended).filter_by(act_id=act.id, line_no=1).scalar()
    assert str(days) == typed
