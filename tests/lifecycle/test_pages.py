"""Every lifecycle page renders for the roles that may see it, and stays hidden from the others."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.applications.models import Application
from app.contracts.models import Contract
from app.extensions import db
from app.orders.models import StateOrder
from tests.lifecycle.flow import open_task_of


def _shymkent():
    contract = db.session.scalars(select(Contract)).one()  # the demo's active contract (Samruk, Shymkent)
    order = db.session.get(StateOrder, contract.order_id)
    return order, db.session.get(Application, contract.application_id), contract


@pytest.mark.parametrize("username", ["accountant4", "director4", "official_shymkent", "head_shymkent", "operator",
                                      "auditor", "owner"])
def test_the_demo_lifecycle_is_visible_to_its_people(world, browser, username):
    order, application, contract = _shymkent()
    person = browser(username)
    for url in ("/orders", "/applications", "/contracts", f"/orders/{order.id}",
                f"/applications/{application.id}", f"/contracts/{contract.id}", f"/contracts/{contract.id}/document"):
        response = person.get(url)
        assert response.status_code == 200, url
    page = person.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Samruk Private School" in page and "active" in page
    assert "September 2026" in page and "October 2026" in page, "acts of the ended months were opened at activation"


@pytest.mark.parametrize("username", ["accountant", "director2", "official", "head", "official_almaty"])
def test_other_schools_and_regions_do_not_see_it(world, browser, username):
    order, application, contract = _shymkent()
    person = browser(username)
    for url in (f"/orders/{order.id}", f"/applications/{application.id}", f"/contracts/{contract.id}",
                f"/contracts/{contract.id}/document"):
        assert person.get(url).status_code == 404, url
    assert "Samruk Private School" not in person.get("/contracts").get_data(as_text=True)
    assert person.post(f"/contracts/{contract.id}/sign", {"confirm": "true", "password": "pw"}).status_code == 404


@pytest.fixture()
def day_after_seed(world):
    clock.set_clock(clock.FrozenClock(datetime(2026, 11, 6, 6, 0, tzinfo=UTC)))
    yield
    clock.reset_clock()


def test_task_pages_of_the_application_render_with_their_panels(day_after_seed, browser):
    order = db.session.scalars(select(StateOrder).where(StateOrder.number.like("SO-ASTANA-%"))).one()
    accountant = browser("accountant")
    page = accountant.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="apply"' in page and 'id="norms-table"' in page
    response = accountant.post(f"/orders/{order.id}/apply")
    task_url = response.headers["Location"]
    page = accountant.get(task_url).get_data(as_text=True)
    assert 'id="application-summary"' in page and 'name="iban"' in page and "KZ86125KZT5004100100" in page
    assert 'value="KZ15LAA00001234"' in page, "the licence is prefilled from the licence registry"
    assert re.search(r'name="students_primary"[^>]*value="\d+"', page), "students prefilled from NEDB"
    application = db.session.scalars(select(Application).where(Application.order_id == order.id)).one()
    form = {"licence_number": "KZ15LAA00001234", "locality": "urban", "students_primary": "12",
            "students_basic": "15", "students_secondary": "6", "design_capacity": "600",
            "iban": "KZ86125KZT5004100100"}
    assert accountant.post(task_url, form).status_code == 302
    review = open_task_of(application.instance_id, "review_application")
    official = browser("official")
    assert f"/tasks/{review.id}" in official.get("/inbox").get_data(as_text=True)
    page = official.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert 'id="eligible"' in page and "Norms" in page and 'name="places_primary"' in page
    assert 'id="claim-vs-nedb"' in page and "In NEDB today" in page


def test_the_contract_page_shows_when_its_process_next_acts_by_itself(world, browser):
    from app.engine.models import ProcessInstance

    _order, _application, contract = _shymkent()
    instance = db.session.get(ProcessInstance, contract.instance_id)
    assert instance.status == "running" and instance.next_timer_at is not None
    page = browser("accountant4").get(f"/contracts/{contract.id}").get_data(as_text=True)
    shown = re.search(r'id="next-timer">(.*?)</p>', page, re.S).group(1)
    assert "Next automatic step" in shown and str(instance.next_timer_at.year) in shown
    instance.next_timer_at = None
    db.session.commit()
    assert 'id="next-timer"' not in browser("accountant4").get(f"/contracts/{contract.id}").get_data(as_text=True)


@pytest.mark.parametrize("username, links", [("accountant4", False), ("director4", False),
                                             ("official_shymkent", True), ("operator", True)])
def test_an_order_links_its_process_only_for_those_who_may_open_it(world, browser, username, links):
    """Users probe: a school accountant on an order's page followed "Process instance and history" to a 404 — the
    order's process runs in the department, which the school does not see."""
    order, _application, _contract = _shymkent()
    assert order.instance_id
    person = browser(username)
    page = person.get(f"/orders/{order.id}").get_data(as_text=True)
    href = f'href="/instances/{order.instance_id}"'
    assert (href in page) is links
    assert person.get(f"/instances/{order.instance_id}").status_code == (200 if links else 404)
