"""In Chromium (issue 16 §2, §3): words in the user's language, and the rough edges a new user met.

Returned acts read rule names and are marked in the inbox; the operator's Pay act rows show the amount; a payment
date far ahead and a reused payment order number are refused with a clear message; Publish, Discard, Retire and
Migrate selected ask first; Add form warns about unsaved diagram changes; the Discrepancies total is filled;
English dates read one way; the printable contract and act come in Kazakh and Russian; the modeler's palette speaks
Kazakh and its side panel writes an element's names per language into the model.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.contracts.models import Contract
from app.engine.models import ProcessInstance, ProcessModelVersion
from app.engine.publishing import create_draft, publish_version
from app.engine.runtime import complete_task
from app.extensions import db
from app.modeler.models import InstanceMigration
from app.processes.trials import start_trial
from tests.helpers import act_of_school, lines_form, open_task, user
from tests.modeler.factory import two_step

pytestmark = pytest.mark.e2e

PHANTOM = {"iin": "791028302728", "full_name": "Фантом Тест", "grade": "3", "days_attended": "20"}


def _submit_with_a_phantom_and_return(browser) -> Act:
    act = act_of_school("Bilim Innovation School")
    accountant = browser("accountant")
    accountant.post(f"/tasks/{open_task(act, 'submit_act').id}", lines_form([*_prefilled(browser, act), PHANTOM]))
    complete_task(open_task(act, "accept_act").id, user("official"),
                  data={"decision": "return", "comment": "Remove the phantom line"})
    db.session.commit()
    return act


def test_a_returned_act_reads_rule_names_and_the_inbox_marks_it_returned(new_page, browser):
    act = _submit_with_a_phantom_and_return(browser)
    accountant = new_page("accountant")
    row = accountant.locator("#inbox-table tr", has_text=act.number)
    expect(row.locator(".returned-badge")).to_have_text("returned for correction")
    row.get_by_role("link", name="Submit monthly act").click()
    excluded = accountant.locator("#excluded-table")
    expect(excluded).to_contain_text("Not in NEDB")
    expect(excluded).to_contain_text("No student with this IIN is registered in the national education database.")
    assert "not_in_nedb" not in accountant.locator("main").inner_text()


def _prefilled(browser, act: Act) -> list[dict]:
    page = browser("accountant").get(f"/tasks/{open_task(act, 'submit_act').id}").get_data(as_text=True)
    count = len(re.findall(r'name="lines\.\d+\.iin"', page))
    return [{k: re.search(rf'name="lines\.{i}\.{k}"[^>]*value="([^"]*)"', page).group(1)
             for k in ("iin", "full_name", "grade", "days_attended")} for i in range(count)]


def _accepted(act: Act, official: str) -> Act:
    complete_task(open_task(act, "accept_act").id, user(official), data={"decision": "accept"})
    db.session.commit()
    return act


def test_pay_rows_show_the_amount_and_a_far_date_or_a_reused_order_is_refused_clearly(new_page, browser):
    first = _accepted(act_of_school("Alatau Lyceum"), "official_almaty")  # verified in the seed
    operator = new_page("operator")
    operator.goto("/inbox?view=group")
    row = operator.locator("#inbox-table tr", has_text=first.number)
    expect(row).to_contain_text(re.compile(r"1,154,000\.00 ₸"))

    row.get_by_role("link", name="Pay act").click()
    far = clock.today() + timedelta(days=183)
    operator.fill("#f-order_number", "PP-WORDS-1")
    operator.fill("#f-paid_on", far.isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator("main")).to_contain_text(
        f"The payment date {far.day} {far:%b %Y} is too far ahead: enter the day the payment order was executed, at "
        "most 31 days from today")
    operator.fill("#f-paid_on", clock.today().isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator(".alert-success")).to_contain_text("Pay act")

    second = act_of_school("Bilim Innovation School")
    browser("accountant").post(f"/tasks/{open_task(second, 'submit_act').id}", lines_form(_prefilled(browser, second)))
    _accepted(second, "official")
    operator.goto(f"/tasks/{open_task(second, 'pay_act').id}")
    operator.fill("#f-order_number", "PP-WORDS-1")
    operator.fill("#f-paid_on", clock.today().isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator("main")).to_contain_text(
        f"Payment order PP-WORDS-1 is already registered for act {first.number}; enter the number of this act's own "
        "payment order.")
    db.session.expire_all()
    assert db.session.get(Act, second.id).status == "accepted"


def test_discard_retire_and_migrate_selected_ask_first(new_page):
    v1, _ = publish_version(two_step("words_confirm"))
    db.session.commit()
    instance = start_trial(v1.process_model, user("owner"))
    db.session.commit()
    files = dict(v1.files)
    files["words_confirm.bpmn"] = files["words_confirm.bpmn"].replace('name="Review"', 'name="Review again"')
    v2, _ = publish_version(files)
    create_draft(v1.process_model, user("owner"))
    db.session.commit()

    owner = new_page("owner")
    owner.goto(f"/modeler/models/{v1.process_model_id}")
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    owner.on("dialog", dismiss)
    owner.get_by_role("button", name="Discard draft").click()
    assert questions == ["Discard the draft v3? Its changes are lost."]
    owner.locator("form[action$='/retire'] button").first.click()
    assert questions[-1].startswith("Retire v")
    db.session.expire_all()
    assert {v.status for v in db.session.scalars(select(ProcessModelVersion).where(
        ProcessModelVersion.process_model_id == v1.process_model_id))} == {"published", "draft"}

    owner.goto(f"/modeler/versions/{v2.id}/migrate")
    # nothing is ticked until the owner ticks it (every running instance came ticked: six migrated of two chosen)
    expect(owner.locator(".migrate-check:checked")).to_have_count(0)
    owner.check("#migrate-all")
    expect(owner.locator(".migrate-check:not(:checked)")).to_have_count(0)
    owner.click("#migrate-selected")
    assert questions[-1] == ("Migrate the selected instances to v2? Each migration is audited and can be "
                             "reverted.")
    assert db.session.scalars(select(InstanceMigration)).all() == [], "dismissed: nothing migrated"
    owner.remove_listener("dialog", dismiss)
    owner.once("dialog", lambda dialog: dialog.accept())
    owner.click("#migrate-selected")
    expect(owner.locator(".alert-success")).to_contain_text("1 instance migrated to version 2.")
    db.session.expire_all()
    assert db.session.get(ProcessInstance, instance.id).model_version_id == v2.id


def test_add_form_warns_about_unsaved_diagram_changes(new_page):
    v1, _ = publish_version(two_step("words_unsaved"))
    draft = create_draft(v1.process_model, user("owner"))
    db.session.commit()
    owner = new_page("owner")
    owner.goto(f"/modeler/versions/{draft.id}")
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "true")
    owner.locator('.djs-shape[data-element-id="fill"]').click(position={"x": 12, "y": 12})
    owner.locator("#panel").get_by_label("Name in Kazakh").fill("Толтыру")
    owner.locator("#panel").get_by_label("Name in Kazakh").press("Tab")
    questions = []
    owner.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    owner.fill("#new-form input[name=name]", "extra")
    owner.locator("#new-form button").click()
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "true")
    assert questions == ["The diagram has changes that are not saved. Leave the editor and lose them?"]
    assert owner.url.endswith(f"/modeler/versions/{draft.id}")
    db.session.expire_all()
    assert "extra.schema.json" not in db.session.get(ProcessModelVersion, draft.id).files

    owner.click("#save-draft")
    expect(owner.locator("#save-status")).to_contain_text("Draft saved. Problems: 0")
    db.session.expire_all()
    assert '<spiffworkflow:property name="name.kk" value="Толтыру"' in \
        db.session.get(ProcessModelVersion, draft.id).files["words_unsaved.bpmn"]
    owner.locator("#new-form button").click()  # saved: no question, the form editor opens
    expect(owner.locator("h1")).to_contain_text("extra")


def test_the_modeler_palette_and_context_pad_speak_kazakh(new_page):
    v1, _ = publish_version(two_step("words_palette"))
    draft = create_draft(v1.process_model, user("owner"))
    db.session.commit()
    owner = new_page("owner", locale="kk")
    owner.goto("/")
    owner.locator("button[name=locale][value=kk]").click()
    owner.goto(f"/modeler/versions/{draft.id}")
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "true")
    expect(owner.locator(".djs-palette .entry[aria-label='Тапсырма жасау']")).to_have_count(1)
    expect(owner.locator(".djs-palette .entry[aria-label='Create task']")).to_have_count(0)
    owner.locator('.djs-shape[data-element-id="fill"]').click(position={"x": 12, "y": 12})
    delete = owner.locator(".djs-context-pad .entry[title='Жою'], .djs-context-pad .entry[aria-label='Жою']")
    expect(delete).to_have_count(1)


def test_discrepancies_total_for_all_regions_is_filled(new_page):
    operator = new_page("operator")
    operator.goto("/reports/discrepancies")
    total = operator.locator("#all-regions-total")
    expect(total).to_contain_text("11")
    expect(total).to_contain_text("465,300.00 ₸")


def test_english_dates_read_one_way_and_printable_documents_come_in_kazakh_and_russian(new_page):
    accountant = new_page("accountant")
    created = accountant.locator("#inbox-table time").first.inner_text()
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", created), created

    contract = db.session.scalars(select(Contract)).first()
    operator = new_page("operator")
    operator.goto(f"/contracts/{contract.id}/document")
    expect(operator.locator("#contract-kk h1")).to_contain_text("Келісімшарт")
    expect(operator.locator("#contract-ru h1")).to_contain_text("Договор")
    expect(operator.locator("#contract-ru")).to_contain_text("Предмет договора")
    act = act_of_school("Alatau Lyceum")
    operator.goto(f"/acts/{act.id}")
    with operator.expect_popup() as popup:
        operator.click("#act-document")
    document = popup.value
    expect(document.locator("#act-kk h1")).to_contain_text("Көрсетілген қызметтер туралы акт")
    expect(document.locator("#act-ru h1")).to_contain_text("Акт оказанных услуг")


@pytest.mark.parametrize(("language", "missing"), [("kk", "Бұл өрісті толтыру міндетті."),
                                                   ("ru", "Это поле обязательно для заполнения.")])
def test_a_field_the_browser_refuses_is_said_in_the_pages_language(new_page, tmp_path, language, missing):
    """The registry's import sent without a file: the browser's own bubble said "Please select a file." on the
    Kazakh and the Russian page. It now says the page's words, and the file chosen, the form goes."""
    page = new_page("operator", locale=f"{language}-KZ")
    with page.expect_navigation():
        page.locator(f"button[value={language}]").first.click()
    page.goto("/registry")
    page.click("#import-submit")
    assert page.url.endswith("/registry")
    assert page.locator("#file").evaluate("el => el.validationMessage") == missing
    upload = tmp_path / "rows.txt"
    upload.write_text("hello")
    page.set_input_files("#file", str(upload))
    assert page.locator("#file").evaluate("el => el.validationMessage") == ""
    with page.expect_navigation():
        page.click("#import-submit")
    assert page.locator(".alert").first.is_visible()


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_modeler_replace_menu_speaks_the_pages_language(new_page, language):
    """The "Change element" menu of a task, a start and an end event: a Kazakh and a Russian process owner read
    "Ad-hoc sub-process (collapsed)", "Signal start event", "Escalation end event", "Compensation end event"."""
    v1, _ = publish_version(two_step(f"words_replace_{language}"))
    draft = create_draft(v1.process_model, user("owner"))
    db.session.commit()
    owner = new_page("owner", locale=language)
    owner.goto("/")
    with owner.expect_navigation():
        owner.locator(f"button[name=locale][value={language}]").click()
    owner.goto(f"/modeler/versions/{draft.id}")
    expect(owner.locator("#canvas")).to_have_attribute("data-ready", "true")
    english = []
    for shape in owner.locator(".djs-shape[data-element-id]").all():
        kind = shape.get_attribute("data-element-id")
        if not (kind in ("fill", "start", "end") or kind.startswith(("start", "end"))) or kind.endswith("_label"):
            continue
        shape.locator(".djs-hit").first.dispatch_event("click")  # the start event lies under the palette
        owner.locator(".djs-context-pad .entry[data-action=replace]").click()
        entries = owner.locator(".djs-popup .entry")
        expect(entries.first).to_be_visible()
        english += [f"{kind}: {t}" for t in entries.all_inner_texts() if re.search(r"[A-Za-z]{3,}", t)]
        owner.keyboard.press("Escape")
    assert not english, english
