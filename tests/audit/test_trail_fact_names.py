"""The act's trail check names what differs in the reader's words (walk 9 left the stored names: ``amount_tiyn``),
and the whole check's "differs" sentence does too; the stored name stays beside it as the technical detail."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.acts.models import Act
from app.audit.facts import act_facts, payment_facts
from app.audit.problem_words import FACT_NAMES, fact_name, problem_in_words
from app.extensions import db
from app.payments.models import Payment
from tests.helpers import add_paid_history, school


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


def _paid_act() -> Act:
    return db.session.scalars(select(Act).where(Act.status == "paid", Act.school_id ==
                                                school("Bilim Innovation School").id).order_by(Act.id)).first()


@pytest.mark.parametrize(("language", "said"),
                         [("ru", "сумма в тиынах"), ("kk", "тиынмен сома"), ("en", "amount in tiyn")])
def test_a_changed_amount_is_named_in_the_readers_words(world, browser, language, said):
    act = _paid_act()
    db.session.execute(update(Act).where(Act.id == act.id).values(amount_tiyn=Act.amount_tiyn + 100_000))
    db.session.commit()
    auditor = browser("auditor")
    auditor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = auditor.get(f"/acts/{act.id}?trail=check").get_data(as_text=True)
    listed = page.split('id="trail-problems"', 1)[1].split("</ul>", 1)[0]
    assert f"— {said} <span" in listed  # the reader's word first…
    assert "<code>amount_tiyn</code>" in listed  # …the stored name beside it


def test_every_fact_of_an_act_and_of_a_payment_has_words(world):
    act = _paid_act()
    payment = db.session.scalars(select(Payment).where(Payment.act_id == act.id)).first()
    names = set(act_facts(act)) | set(payment_facts(payment))
    assert names <= set(FACT_NAMES), sorted(names - set(FACT_NAMES))


def test_the_differs_sentence_names_the_fact_in_words(app):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        said = problem_in_words("act 7: amount_tiyn differs from event act:7#3")
        assert "сумма в тиынах" in said, said
        assert fact_name("something_new") == "something_new"
