"""An act accepted at 0 ₸ and closed without a payment order has the status "paid" (the process is done), and every
page showed the word "paid" beside 0 ₸: the school read money sent that never came, the operator a payment with no
order. Its status word is now "closed with nothing to pay" wherever a person reads it — the acts list, the act's page
(the school's, the department's in the inbox, the operator's), the printable act, the organisation's analytics page —
derived from the status, the amount and no standing payment (nothing stored); a paid act still says "paid"."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.acts.models import Act
from app.acts.operations import _say_who_decided
from app.engine.errors import ConflictError
from app.engine.models import HumanTask
from app.extensions import db
from app.ui import ACT_STATUS, NOTHING_TO_PAY, act_status_label
from tests.helpers import accepted_and_paid, act_of_school
from tests.money.test_nothing_to_pay import _accept, _every_line_excluded

WORD = "closed with nothing to pay"


def _closed_at_zero() -> Act:
    act = act_of_school("Alatau Lyceum")
    _every_line_excluded(act)
    _accept(act)
    return db.session.get(Act, act.id)


def _status_on_page(page: str) -> str:
    return re.search(r'id="act-status">([^<]*)<', page).group(1)


def test_a_zero_act_reads_closed_with_nothing_to_pay_on_every_page(world, browser):
    act = _closed_at_zero()
    assert act.status == "paid" and act.amount_tiyn == 0  # the status stays: the word is derived

    for who in ("operator", "accountant3", "official_almaty"):  # the operator, the school, the department
        assert _status_on_page(browser(who).get(f"/acts/{act.id}").get_data(as_text=True)) == WORD, who
    listing = browser("operator").get(f"/acts?q={act.number}").get_data(as_text=True)
    assert re.search(r'class="act-status">([^<]*)<', listing).group(1) == WORD
    decided = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                         HumanTask.spec_name == "accept_act")).one()
    task_page = browser("official_almaty").get(f"/tasks/{decided.id}")
    assert task_page.status_code == 200 and _status_on_page(task_page.get_data(as_text=True)) == WORD
    analytics = browser("operator").get(f"/analytics/schools/{act.school_id}").get_data(as_text=True)
    assert f"<td>{WORD}</td>" in analytics and "<td>paid</td>" not in analytics

    document = browser("accountant3").get(f"/acts/{act.id}/document").get_data(as_text=True)
    for language in ("kk", "ru"):  # the printable act, in each of its languages
        with force_locale(language):
            assert str(NOTHING_TO_PAY) in document and f"<td>{ACT_STATUS['paid']}</td>" not in document


def test_a_paid_act_still_reads_paid_and_the_word_needs_no_standing_payment(world, browser):
    act, payment = accepted_and_paid("Alatau Lyceum", "PP-WORD-1")
    assert act.amount_tiyn > 0
    assert _status_on_page(browser("accountant3").get(f"/acts/{act.id}").get_data(as_text=True)) == "paid"
    assert act_status_label(act) == "paid" and act_status_label("paid") == "paid"
    # a 0 ₸ act with a standing payment order (registered before acts of 0 ₸ closed themselves) was paid: "paid"
    act.amount_tiyn = payment.amount_tiyn = 0
    db.session.flush()
    assert act_status_label(act) == "paid"
    assert act_status_label({"status": "paid", "amount_tiyn": 0, "act_id": act.id}) == "paid"
    db.session.rollback()


def test_the_year_end_months_say_closed_with_nothing_to_pay(world):
    act = _closed_at_zero()
    assert act_status_label({"status": "paid", "amount_tiyn": 0, "act_id": act.id}) == WORD
    assert act_status_label({"status": "missing", "amount_tiyn": 0, "act_id": None}) == "missing"


def test_the_loser_of_a_race_to_decide_a_zero_act_reads_it_was_closed_with_nothing_to_pay(world):
    """Two officials decide one act; the winner accepts it at 0 ₸, which closes it at once (status "paid"). The
    loser read "it is now paid" of an act no money was sent for."""
    act = _closed_at_zero()
    with pytest.raises(ConflictError) as lost:
        _say_who_decided(act)
    assert f"it is now {WORD}." in str(lost.value) and "it is now paid" not in str(lost.value)
