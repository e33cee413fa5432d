"""An act's history in the reader's language, with no audit key on it.

A payment the bank sent back was listed in the act's history as "payment.returned" — in Kazakh, Russian and English
alike, on the act's page the school and the operator read, and on the process instance's page. Now every event of an
act's history has words (app.ui.AUDIT_ACTIONS)."""

from __future__ import annotations

import html
import re

import pytest

from app import clock
from app.payments.returns import record_return
from app.ui import AUDIT_ACTIONS
from tests.conftest import Browser
from tests.helpers import accepted_and_paid, user

TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


def _text(response) -> str:
    return html.unescape(TAG.sub(" ", response.get_data(as_text=True)))


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_a_returned_payment_is_named_in_words_in_the_act_history(app, world, language):
    act, payment = accepted_and_paid("Alatau Lyceum", "PP-W5-1")
    record_return(act, payment, clock.today(), "account_closed", "BANK/W5-1", "", user("operator"))
    operator = Browser(app, "operator")
    operator.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    for url in (f"/acts/{act.id}", f"/instances/{act.instance_id}"):
        page = operator.get(url)
        assert page.status_code == 200
        text = _text(page)
        assert "payment.returned" not in text, url
        assert "act.paid" not in text, url
    if language == "en":
        assert "Payment order returned by the bank" in _text(operator.get(f"/acts/{act.id}"))


def test_every_event_written_on_an_act_history_has_words():
    """A guard over the events the payment and engine code write on an act's (its instance's) chain."""
    on_an_act = {"act.paid", "payment.returned", "act.payee_changed", "act.closed_nothing_to_pay",
                 "task.due_corrected", "timer.due_corrected"}
    assert on_an_act - set(AUDIT_ACTIONS) == set()
