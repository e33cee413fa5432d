"""In a real browser: the accountant submits the act, the official accepts it, the operator pays it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app import clock
from app.acts.models import Act
from app.extensions import db
from tests.helpers import act_of_school, submitted_and_accepted

pytestmark = pytest.mark.e2e


def test_accountant_submits_official_accepts_operator_pays(new_page):
    act_id = act_of_school("Bilim Innovation School").id

    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    expect(accountant.locator("#f-lines-0-iin")).not_to_have_value("")  # prefilled from NEDB
    # A typo in an IIN is caught on the page and nothing is saved.
    good_iin = accountant.locator("#f-lines-0-iin").input_value()
    accountant.fill("#f-lines-0-iin", good_iin[:-1] + str((int(good_iin[-1]) + 1) % 10))
    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator("#f-lines-0-iin-err")).to_contain_text("Not a valid IIN")
    expect(accountant.locator("#f-lines-0-iin")).to_be_focused()  # the field to correct, not the page's top
    accountant.fill("#f-lines-0-iin", good_iin)
    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Submit monthly act")

    official = new_page("official")
    official.get_by_role("link", name="Accept act").click()
    expect(official.locator("#verification-report")).to_be_visible()
    expect(official.locator("#accepted-lines")).to_have_text("36")
    official.get_by_label("Accept the act").check()
    official.get_by_role("button", name="Submit").click()
    expect(official.locator(".alert-success")).to_contain_text("Accept act")

    operator = new_page("operator")
    operator.get_by_role("link", name="Pay act").click()
    operator.fill("#f-order_number", "PP-2026-0042")
    operator.fill("#f-paid_on", clock.today().isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator(".alert-success")).to_contain_text("Pay act")

    operator.goto(f"/acts/{act_id}")
    expect(operator.locator("#payment-info")).to_contain_text("PP-2026-0042")
    operator.get_by_role("link", name="Process instance and history").click()
    expect(operator.locator("#instance-status")).to_have_text("completed")
    expect(operator.locator("#timeline")).to_contain_text("Payment registered")
    expect(operator.locator("#diagram")).to_have_attribute("data-rendered", "true")
    assert re.search(r"tap-completed", operator.locator("#diagram").inner_html())

    db.session.expire_all()
    assert db.session.get(Act, act_id).status == "paid"


def test_a_student_listed_twice_is_marked_before_sending_and_a_row_comes_out_with_one_click(new_page):
    """Users probe: a duplicate IIN was learnt of only from the verification report (the line withheld), and taking a
    student out of a returned act meant emptying each cell of the row."""
    act = act_of_school("Bilim Innovation School")
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    expect(accountant.locator("#f-lines-0-iin")).not_to_have_value("")  # evaluate_all does not wait for the page
    rows = accountant.locator('tbody input[data-format="iin"]').evaluate_all("els => els.filter(e => e.value).length")
    first, fifth = accountant.locator("#f-lines-0-iin"), accountant.locator("#f-lines-4-iin")
    kept = fifth.input_value()
    fifth.fill(first.input_value())
    expect(fifth).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(accountant.locator("tr", has=fifth)).to_contain_text("The same IIN as line 1")
    accountant.get_by_role("button", name="Submit").click()  # not sent: the duplicate gets the focus
    expect(fifth).to_be_focused()
    expect(accountant.locator(".alert-success")).to_have_count(0)

    row = accountant.locator("tbody tr", has=fifth)
    row.get_by_role("button", name="Remove").click()  # the second listing comes out: nothing is marked any more
    expect(fifth).to_be_disabled()
    expect(fifth).not_to_have_class(re.compile(r"\bis-invalid\b"))
    row.get_by_role("button", name="Put back").click()
    expect(fifth).to_be_enabled()
    expect(fifth).to_have_class(re.compile(r"\bis-invalid\b"))
    fifth.fill(kept)
    expect(fifth).not_to_have_class(re.compile(r"\bis-invalid\b"))
    second = accountant.locator("tbody tr", has=accountant.locator("#f-lines-1-iin"))
    second.get_by_role("button", name="Remove").click()
    accountant.get_by_role("button", name="Submit").click()
    expect(accountant.locator(".alert-success")).to_contain_text("Submit monthly act")
    db.session.expire_all()
    assert len(db.session.get(Act, act.id).lines) == rows - 1


def test_a_student_listed_twice_with_the_iin_written_in_groups_is_marked_too(new_page):
    """Attacker probe: the duplicate check compared the raw text, so "900101300123" and "900101 300 123" (or with a
    non-breaking space, as copied from a table) on two lines were not marked; the server reads both as one IIN."""
    act_of_school("Bilim Innovation School")
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    first, fifth = accountant.locator("#f-lines-0-iin"), accountant.locator("#f-lines-4-iin")
    expect(first).not_to_have_value("")
    iin = first.input_value().strip()
    for grouped in (f"{iin[:6]} {iin[6:9]} {iin[9:]}", f"{iin[:6]}\u00a0{iin[6:]}", f"{iin[:4]}-{iin[4:8]}-{iin[8:]}"):
        fifth.fill(grouped)
        expect(fifth).to_have_class(re.compile(r"\bis-invalid\b"))
        expect(accountant.locator("tr", has=fifth)).to_contain_text("The same IIN as line 1")
    fifth.fill(f"{iin[:6]} {iin[6:11]}")  # eleven digits: another text, not this child
    expect(fifth).not_to_have_class(re.compile(r"\bis-invalid\b"))


def test_after_submitting_the_accountant_goes_from_the_message_to_the_acts_verification_report(new_page):
    """A new accountant submitted her act and landed on an empty inbox with "Done: Submit monthly act." and nothing to
    click: which lines verification excluded was under Acts, which she had to find. The message links the act."""
    act_id = act_of_school("Bilim Innovation School").id
    accountant = new_page("accountant")
    accountant.get_by_role("link", name="Submit monthly act").click()
    expect(accountant.locator("#f-lines-0-iin")).not_to_have_value("")
    accountant.get_by_role("button", name="Submit").click()
    done = accountant.locator(".alert-success")
    expect(done).to_contain_text("Done: Submit monthly act.")
    done.get_by_role("link", name="See the act and its verification report").click()
    expect(accountant).to_have_url(re.compile(rf"/acts/{act_id}$"))
    expect(accountant.locator("#verification-report")).to_be_visible()


def test_the_operator_sees_an_account_changed_after_acceptance_and_pays_the_accepted_one(new_page):
    """The department accepts the act with its payee: an administrator who changes the school's IBAN afterwards
    redirected the payment. The pay page names both accounts and who changed it; the accepted one is paid."""
    act = act_of_school("Bilim Innovation School")
    accepted_with, other = act.school.iban, "KZ77125KZT9999999999"
    submitted_and_accepted(act)

    admin = new_page("admin")
    admin.goto(f"/admin/organisations/{act.school_id}")
    admin.fill("#f-iban", other)
    admin.locator("#save-organisation").click()
    expect(admin.locator("#form-errors")).to_have_count(0)

    operator = new_page("operator")
    operator.get_by_role("link", name="Pay act").click()
    expect(operator.locator("#pay-iban")).to_have_text(accepted_with)
    changed = operator.locator("#pay-iban-changed")
    expect(changed).to_be_visible()
    expect(changed).to_contain_text(accepted_with)
    expect(changed).to_contain_text(other)
    expect(operator.locator("#pay-iban-changed-by")).to_contain_text("Changed by")
    operator.fill("#f-order_number", "PP-2026-0043")
    operator.fill("#f-paid_on", clock.today().isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator(".alert-success")).to_contain_text("Pay act")
    operator.goto(f"/acts/{act.id}")
    expect(operator.locator("#payment-iban")).to_have_text(accepted_with)
