"""A school's accountant reads her submitted act's page: who decides next, by when, and what is then paid.

The page showed the verification and the amount, and nothing of what came next: not that the education department
was to accept or return the act (by its acceptance deadline), nor that the operator pays the amount, to which
account, once it is accepted. Now the page says so while the act waits, and nothing once it is paid."""

from __future__ import annotations

import re

from flask_babel import force_locale, format_date
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.i18n import format_tenge
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, user


def _next_step(page) -> str | None:
    found = re.search(r'<div class="alert alert-info" id="act-next">(.*?)</div>', page.get_data(as_text=True), re.S)
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).replace("&nbsp;", "\u00a0").split()) if found else None


def test_the_act_page_says_who_decides_next_by_when_and_what_is_then_paid(app, world):
    act = act_of_school("Alatau Lyceum")
    assert act.status == "verified"
    due = db.session.scalar(select(HumanTask.due_at).where(HumanTask.instance_id == act.instance_id,
                                                           HumanTask.spec_name == "accept_act",
                                                           HumanTask.status == "open"))
    amount = format_tenge(act.amount_tiyn)
    accountant = Browser(app, "accountant3")

    said = _next_step(accountant.get(f"/acts/{act.id}"))
    with app.test_request_context(), force_locale("en"):
        when = format_date(due, "d MMM y")  # the page writes its dates medium (walk9: one format a page)
    assert said is not None and said.startswith("Next: Accept act — Department official.")
    assert f"Due: {when}" in said and amount.replace(" ", "\u00a0") in said.replace(" ", "\u00a0")
    accountant.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    assert _next_step(accountant.get(f"/acts/{act.id}")).startswith("Келесі қадам: Актіні қабылдау")
    accountant.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    act = db.session.get(Act, act.id)
    said = _next_step(accountant.get(f"/acts/{act.id}"))
    assert said is not None and said.startswith("Next: Pay act — Operator.") and act.payee_iban in said

    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-W5-NEXT", "paid_on": clock.today().isoformat()})
    db.session.commit()
    assert _next_step(accountant.get(f"/acts/{act.id}")) is None  # paid: the page says so in its own words
