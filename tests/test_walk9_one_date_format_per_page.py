"""A record's page writes its dates one way (walk9, ru).

The act's page wrote the payment's day "10 нояб. 2026 г." next to its history's "07.11.2026, 09:00", and the
contract's and the process instance's pages mixed the same two. Now dates are written in the medium pattern and
moments in the medium pattern with the time ("7 нояб. 2026 г., 09:00") on the act's, the contract's, the
application's and the process instance's pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.contracts.models import Contract
from app.extensions import db
from tests.helpers import add_paid_history, school

SHORT = re.compile(r"\b\d{2}\.\d{2}\.\d{4}\b")  # the short pattern: 07.11.2026
RU_MEDIUM = re.compile(r"\b\d{1,2}\s[а-я]+\.?\s\d{4}\sг\.")  # 7 нояб. 2026 г. (no-break spaces)


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


def test_the_act_contract_and_instance_pages_write_dates_one_way(world, browser):
    act = db.session.scalars(select(Act).where(Act.status == "paid", Act.school_id ==
                                               school("Bilim Innovation School").id).order_by(Act.id)).first()
    contract = db.session.scalars(select(Contract).order_by(Contract.id)).first()
    auditor = browser("auditor")
    auditor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    for url in (f"/acts/{act.id}", f"/contracts/{contract.id}", f"/instances/{act.instance_id}"):
        page = auditor.get(url).get_data(as_text=True)
        assert SHORT.findall(page) == [], url
        assert RU_MEDIUM.search(page), url
    history = auditor.get(f"/acts/{act.id}").get_data(as_text=True)
    assert re.search(r"\d{1,2}\s[а-я]+\.?\s\d{4}\sг\., \d{2}:\d{2}</time>", history), "the history's moments, medium"

