"""The pages added on 5 December 2026, opened by the role that uses each, on a phone (390 px) in Kazakh: the registry
upload page's "complete register" box and a complete register's preview and refusal, the NEDB lookup of a merged IIN
and of a row taken out, the contracts list filtered to "signed document not found" and the contract page with the
operator's "restore the signed document" form, the reconciliation's "to be settled on a later act" figures and its
"adjusted" lines, the head's signing panel of a contract whose signed document is not found — and the same in
Russian. None may scroll sideways, show a sentence or a word of the English catalogue, or log a console error."""

from __future__ import annotations

import re
from datetime import date

import pytest

pytestmark = pytest.mark.e2e


def _world(app, tmp_path) -> dict[str, list[str]]:
    """Every new page's state in one world; returns each role's addresses."""
    import hashlib

    from sqlalchemy import delete, select

    from app.acts.operations import open_monthly_act
    from app.contracts import documents
    from app.contracts.models import ContractDocument
    from app.engine.runtime import complete_task
    from app.extensions import db
    from app.registry.models import NedbEnrollment
    from tests.helpers import act_of_school, open_task, school, user
    from tests.lifecycle.test_restore_signed_document import KEPT, samruk
    from tests.money.test_adjustments import BILIM, DECEMBER, NOVEMBER, _enrolment, _submit, _submit_accept_pay
    from tests.money.test_nedb_snapshot import NUR, _import, _merge, _roll, _row, _second_iin, _write

    # the reconciliation: October paid, twenty of its pupils withdrawn before it — November's act (accepted) holds
    # what it can, an "adjusted" figure; the rest waits for December's act, "to be settled on a later act"
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-E2E")
    for line in sorted(october.lines, key=lambda ln: ln.line_no)[:20]:
        _enrolment(line.iin).withdrawn_on = date(2026, 9, 20)
    db.session.commit()
    november = _submit(NOVEMBER)
    complete_task(open_task(november, "accept_act").id, user("official"), data={"decision": "accept"})
    open_monthly_act(school(BILIM), DECEMBER)  # the rest November could not hold waits for December's act
    db.session.commit()
    region = november.region_id
    # the signed document not found (Samruk's contract, flagged by the background pass)
    contract = samruk()
    db.session.execute(delete(ContractDocument).where(ContractDocument.contract_id == contract.id))
    for signature in contract.signatures:
        signature.document_sha256 = hashlib.sha256(KEPT).hexdigest()
    db.session.commit()
    assert documents.store_pending()["unmatched"] == 1
    contract = samruk()
    # NUR's complete register without one row (applied), a merge into one of its pupils, a preview and a refusal
    roll = _roll(NUR)
    gone, child = roll[0], next(e for e in roll[1:] if e.withdrawn_on is None)
    twin = _second_iin(set(db.session.scalars(select(NedbEnrollment.iin))))
    db.session.add(NedbEnrollment(iin=twin, full_name=child.full_name, school_bin=school(NUR).bin,
                                  school_kind="private", grade=child.grade, enrolled_on=child.enrolled_on))
    db.session.commit()
    gone_iin, child_iin = gone.iin, child.iin
    applied = _import(app, _write(tmp_path / "nur.csv", [_row(e) for e in roll if e.id != gone.id]))
    _merge(app, tmp_path, twin, child_iin)
    cut = _write(tmp_path / "cut.csv", [_row(e) for e in _roll(NUR)[:3]])
    preview = _import(app, cut, "--dry-run")
    refused = app.test_cli_runner().invoke(args=["import-nedb", str(cut), "--snapshot"])
    assert refused.exit_code == 1, refused.output
    from tests.money.test_nedb_snapshot import _last_import

    refused_job = _last_import()
    assert refused_job.status == "failed"
    # each address, and what shows it is in the state the test is about
    return {
        "operator": [("/registry", "#snapshot-fields"), (f"/registry/imports/{applied.id}", "#snapshot-applied"),
                     (f"/registry/imports/{preview.id}", "#snapshot-preview"),
                     (f"/registry/imports/{refused_job.id}", "#snapshot-refused"),
                     (f"/registry/lookup?q={gone_iin}", "#lookup-removed"),
                     (f"/registry/lookup?q={twin}", "#lookup-merged-into"),
                     (f"/registry/lookup?q={child_iin}", "#lookup-merged-from"),
                     ("/contracts", ".document-unmatched-badge"),
                     ("/contracts?document=unmatched", "#unmatched-filter"),
                     (f"/contracts/{contract.id}", "#restore-document-form"),
                     ("/reports/reconciliation?period=2026-10", "#reconciliation-later-note"),
                     ("/reports/reconciliation?period=2026-11", "[data-drill=adjusted]"),
                     (f"/reports/reconciliation/adjusted?period=2026-11&region={region}&instrument=schools",
                      "[data-adjustment-line]")],
        "official_shymkent": [("/contracts?document=unmatched", ".document-unmatched-badge"),
                              (f"/contracts/{contract.id}", "#document-unmatched")],
    }


def _visible_texts(page) -> list[str]:
    """Each visible text node of the page, trimmed (<code> holds identifiers, not words)."""
    return page.evaluate("""() => {
        const out = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            const el = n.parentElement, t = n.textContent.trim();
            if (!t || !el || el.closest('script, style, code, template, noscript')) continue;
            if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
            out.push(t.replace(/\\s+/g, ' '));
        }
        return out; }""")


def _english(language: str) -> tuple[list[str], set[str]]:
    """The English catalogue's phrases (two words or more) and single words that have a translation in ``language``
    (as tests/i18n/test_kazakh_pages.py reads them)."""
    from babel.messages.pofile import read_po

    from tests.i18n.test_kazakh_pages import CATALOGUE, NAMES

    with (CATALOGUE.parents[2] / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh, locale=language)
    ids = {m.id for m in catalogue if isinstance(m.id, str) and m.string and m.string != m.id
           and "%(" not in m.id and "{" not in m.id}
    return (sorted((i for i in ids if len(i.split()) >= 2), key=len, reverse=True),
            {i for i in ids if len(i.split()) == 1 and len(i) > 2} - NAMES)


def _problems(page, where: str, phrases: list[str], words: set[str], errors: list[str]) -> list[str]:
    problems = []
    if page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"):
        wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.getClientRects().length)
            .slice(-3).map(e => e.tagName + '#' + e.id + '.' + e.className)""")
        problems.append(f"{where}: scrolls sideways ({wide})")
    texts = _visible_texts(page)
    whole = " ".join(texts)
    problems += [f"{where}: English “{p}”" for p in phrases if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", whole)]
    problems += [f"{where}: English word “{t}”" for t in texts if t in words]
    return problems + [f"{where}: console error {e}" for e in errors]


def _phone(new_page, username: str, language: str):
    """A phone (390×844) logged in as ``username`` in ``language``; ``page.errors`` gathers its console errors."""
    page = new_page(username, locale=f"{language}-KZ")
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    with page.expect_navigation():  # the language is set before the next page is asked for
        page.locator(f"button[value={language}]").first.click()
    page.set_viewport_size({"width": 390, "height": 844})
    return page


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_new_pages_fit_a_phone_without_english_or_console_errors(app, world, tmp_path, new_page, language):
    urls = _world(app, tmp_path)
    phrases, words = _english(language)
    problems = []
    for username, addresses in urls.items():
        page = _phone(new_page, username, language)
        for url, shown in addresses:
            page.errors.clear()
            response = page.goto(url)
            assert response.status == 200, (username, url, response.status)
            page.wait_for_load_state()
            where = f"{username} {url}"
            assert page.locator(shown).count(), f"{where}: {shown} is not on the page"
            problems += _problems(page, where, phrases, words, page.errors)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_heads_sign_panel_of_a_document_not_found_fits_a_phone(new_page, contract_to_sign, language):
    """The head's signing task of a contract whose first signature's document no layout gives again: the panel says
    it cannot be signed until the operator restores it — on a phone, in the head's language."""
    from sqlalchemy import delete, select

    from app.contracts import documents
    from app.contracts.models import ContractDocument
    from app.engine.models import HumanTask
    from app.engine.runtime import complete_task
    from app.extensions import db
    from tests.helpers import user

    contract = contract_to_sign

    def task(name: str) -> HumanTask:
        db.session.expire_all()
        return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == contract.instance_id,
                                                          HumanTask.spec_name == name,
                                                          HumanTask.status == "open")).one()

    first = task("sign_director")
    complete_task(first.id, user("director2"), data={"confirm": True, "password": "pw"},
                  seen=documents.document_of(contract).sha256)
    db.session.commit()
    db.session.execute(delete(ContractDocument).where(ContractDocument.contract_id == contract.id))
    for signature in contract.signatures:
        signature.document_sha256 = "ab" * 32  # signed before the bytes were kept, on a layout no longer given
    db.session.commit()
    assert documents.store_pending()["unmatched"] == 1
    head_task = task("sign_head")
    page = _phone(new_page, "head", language)
    page.goto(f"/tasks/{head_task.id}")
    page.wait_for_load_state()
    assert page.locator("#document-unmatched").count(), "the panel says the signed document is not found"
    problems = _problems(page, "head's signing task", *_english(language), page.errors)
    assert not problems, "\n".join(problems)
