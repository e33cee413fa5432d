"""A new school's accountant with nothing in the inbox is told the next step: apply to the state order of the
region that is open for applications."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.orders.models import StateOrder
from app.people.models import Organisation, User
from app.registry.identifiers import complete_12
from tests.helpers import school


def _new_school_accountant() -> User:
    astana = school("Bilim Innovation School").region_id
    org = Organisation(kind="school", bin=complete_12("26084000123"), name="Jana Mektep", region_id=astana)
    db.session.add(org)
    db.session.flush()
    person = User(username="jana", full_name="Жанар Бекова", role="school_accountant", organisation_id=org.id,
                  created_at=datetime(2026, 11, 1, tzinfo=UTC))
    person.set_password("pw")
    db.session.add(person)
    db.session.commit()
    return person


def test_an_empty_inbox_points_to_the_order_open_for_applications(world, browser):
    """New-user probe: a new school's accountant logged in and read "Ашық тапсырмалар жоқ. Жарайсыз." — no open
    tasks, well done — and no word that her next step was to apply on the state order's page."""
    order = db.session.scalars(select(StateOrder).where(StateOrder.number == "SO-ASTANA-2026")).one()
    _new_school_accountant()
    person = browser("jana")
    person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    page = person.get("/inbox").get_data(as_text=True)
    assert 'id="inbox-empty"' in page and 'id="inbox-to-apply"' in page
    box = page[page.index('id="inbox-to-apply"'):].split("</div>")[0]
    assert f'href="/orders/{order.id}">{order.number}</a>' in box
    assert "Өтінім қабылдау мерзімі" in box, "the window is said in the reader's language"
    # one whose inbox has work, or who may not apply, is not told
    for login in ("accountant", "official", "operator"):
        assert 'id="inbox-to-apply"' not in browser(login).get("/inbox").get_data(as_text=True), login


def test_a_role_without_tasks_is_sent_to_its_work_not_congratulated(world, browser):
    """New-user probe: the auditor (and the process owner) logged in to "Открытых задач нет. Отличная работа." — no
    open tasks, well done — on a page no process will ever put a task on, with nothing said of where their work is."""
    # the auditor has a landing of her own now (tests/inbox/test_walk9_auditor_reads.py)
    expected = {"owner": {"/modeler/", "/instances", "/analytics/"}}
    for login, links in expected.items():
        person = browser(login)
        person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
        page = person.get("/inbox").get_data(as_text=True)
        assert 'id="inbox-no-tasks"' in page and "Отличная работа" not in page, login
        box = page[page.index('id="inbox-no-tasks"'):].split("</div>")[0]
        assert "Ваша работа здесь" in box
        assert set(re.findall(r'href="([^"]+)"', box)) == links, login
        for link in links:
            assert person.get(link).status_code == 200, (login, link)
    # one whose role has steps is not told, even with an empty list
    for login in ("director", "official", "operator"):
        assert 'id="inbox-no-tasks"' not in browser(login).get("/inbox").get_data(as_text=True), login
