"""The auditor reads one act's whole story in Russian (walk8): lines, verification, acceptance, payment — and then had
to leave it for Administration and check every chain of the system to learn whether this act's trail held (the
verdict named no act). The act's page now checks its own chain and compares the act and its payments with the events
that vouch for them, by a link (a read: no POST, which an auditor is refused)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.acts.models import Act
from app.extensions import db
from tests.helpers import add_paid_history, school


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


def _paid_act() -> Act:
    return db.session.scalars(select(Act).where(Act.status == "paid", Act.school_id ==
                                                school("Bilim Innovation School").id).order_by(Act.id)).first()


def test_the_auditor_checks_a_paid_acts_trail_from_its_page(world, browser):
    act = _paid_act()
    auditor = browser("auditor")
    auditor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    page = auditor.get(f"/acts/{act.id}").get_data(as_text=True)
    assert 'id="check-trail"' in page and 'id="trail-ok"' not in page
    page = auditor.get(f"/acts/{act.id}?trail=check").get_data(as_text=True)
    assert 'id="trail-ok"' in page and 'id="trail-problems"' not in page
    assert "Проверка цепочек аудита" in page  # the way on to every chain, in the reader's language


def test_a_paid_amount_changed_in_the_database_is_shown_on_the_acts_page(world, browser):
    act = _paid_act()
    # a database writer adds 1 000 ₸ (100 000 tiyn) to the paid act's amount, past the application
    db.session.execute(update(Act).where(Act.id == act.id).values(amount_tiyn=Act.amount_tiyn + 100_000))
    db.session.commit()
    page = browser("auditor").get(f"/acts/{act.id}?trail=check").get_data(as_text=True)
    assert 'id="trail-problems"' in page and 'id="trail-ok"' not in page
    assert "amount_tiyn" in page


def test_a_school_is_not_offered_the_check(world, browser):
    act = _paid_act()
    response = browser("accountant").get(f"/acts/{act.id}?trail=check")
    assert response.status_code == 200
    assert 'id="trail"' not in response.get_data(as_text=True)
