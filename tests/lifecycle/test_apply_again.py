"""A school that has applied comes back to the order (it left the form half filled, or wants to see where its
application is): the order page takes it to its application — the form while a draft, the application's page once
submitted — instead of offering "Apply to this order" again, which only said "already has an application" and left
the person where they were."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.applications.models import Application
from app.extensions import db
from app.orders.models import StateOrder


@pytest.fixture()
def astana_order(world):
    clock.set_clock(clock.FrozenClock(datetime(2026, 11, 6, 6, 0, tzinfo=UTC)))
    yield db.session.scalars(select(StateOrder).where(StateOrder.number.like("SO-ASTANA-%"))).one()
    clock.reset_clock()


def test_the_order_page_leads_back_to_the_schools_application(astana_order, browser):
    accountant = browser("accountant")
    task_url = accountant.post(f"/orders/{astana_order.id}/apply").headers["Location"]
    page = accountant.get(f"/orders/{astana_order.id}").get_data(as_text=True)
    assert 'id="apply"' not in page
    application = db.session.scalars(select(Application).where(Application.order_id == astana_order.id)).one()
    assert f"Your application {application.number}: draft." in page
    assert f'id="continue-application" href="{task_url}">Continue the application' in page

    form = {"licence_number": "KZ15LAA00001234", "locality": "urban", "students_primary": "12",
            "students_basic": "15", "students_secondary": "6", "design_capacity": "600",
            "iban": "KZ86125KZT5004100100"}
    assert accountant.post(task_url, form).status_code == 302
    page = accountant.get(f"/orders/{astana_order.id}").get_data(as_text=True)
    assert 'id="apply"' not in page
    assert f'href="/applications/{application.id}">Open the application' in page, \
        "submitted: its page, not the department's review task"

    other = browser("accountant2").get(f"/orders/{astana_order.id}").get_data(as_text=True)
    assert 'id="apply"' in other and 'id="my-application"' not in other, "another school may still apply"
