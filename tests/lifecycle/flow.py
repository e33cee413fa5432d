"""The lifecycle as the roles walk it through the pages: place an order, apply, allocate, sign.

Shared by the lifecycle tests and the end-to-end signing test; every step goes through HTTP (with CSRF)
or the engine API exactly as the pages call it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.applications.models import Application
from app.contracts.models import Contract
from app.engine.models import HumanTask
from app.extensions import db
from app.orders.models import StateOrder
from app.people.models import Organisation
from app.registry.models import NedbEnrollment

LEVEL_OF = {**{g: "primary" for g in range(1, 5)}, **{g: "basic" for g in range(5, 10)},
            **{g: "secondary" for g in range(10, 12)}}


def open_task_of(instance_id: int, spec_name: str) -> HumanTask:
    db.session.expire_all()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.spec_name == spec_name,
                                                      HumanTask.status == "open")).one()


def place_order(official, academic_year: str = "2027/2028", budget: str = "500000000",
                opens: date = date(2027, 6, 1), closes: date = date(2027, 8, 15)) -> StateOrder:
    response = official.post("/orders/new", {"academic_year": academic_year, "budget": budget,
                                             "window_opens": opens.isoformat(), "window_closes": closes.isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return db.session.scalars(select(StateOrder).where(StateOrder.academic_year == academic_year)
                              .order_by(StateOrder.id.desc())).first()


def students_by_level(school: Organisation) -> dict[str, int]:
    counts = {"primary": 0, "basic": 0, "secondary": 0}
    for row in db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.school_bin == school.bin,
                                                               NedbEnrollment.withdrawn_on.is_(None))):
        counts[LEVEL_OF[row.grade]] += 1
    return counts


def apply(accountant, order: StateOrder, school: Organisation, licence: str, **overrides) -> Application:
    """The accountant presses Apply on the order page and submits the application form."""
    response = accountant.post(f"/orders/{order.id}/apply")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    application = db.session.scalars(select(Application).where(Application.order_id == order.id,
                                                               Application.school_id == school.id)
                                     .order_by(Application.id.desc())).first()
    task = open_task_of(application.instance_id, "submit_application")
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    counts = students_by_level(school)
    form = {"licence_number": licence, "locality": "urban", "students_primary": counts["primary"],
            "students_basic": counts["basic"], "students_secondary": counts["secondary"],
            "design_capacity": school.design_capacity, "iban": school.iban, **overrides}
    response = accountant.post(f"/tasks/{task.id}", {k: str(v) for k, v in form.items()})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    return db.session.get(Application, application.id)


def allocate(official, application: Application) -> Contract:
    task = open_task_of(application.instance_id, "review_application")
    form = {"decision": "allocate", **{f"places_{lv}": str(application.students(lv))
                                       for lv in ("primary", "basic", "secondary")}}
    response = official.post(f"/tasks/{task.id}", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    return db.session.scalars(select(Contract).where(Contract.application_id == application.id)).one()


def shown_sha256(person, contract: Contract) -> str:
    """The SHA-256 of the printable contract as the contract's page shows it to ``person`` (what the signing form
    sends back), or "" when the page shows none."""
    import re

    page = person.get(f"/contracts/{contract.id}").get_data(as_text=True)
    found = re.search(r'id="document-sha">([0-9a-f]{64})<', page)
    return found.group(1) if found else ""


def sign(person, contract: Contract, password: str = "pw"):  # noqa: S107 - the test users' password
    """Sign on the contract's page as a person does: the form sends the SHA-256 of the document the page showed."""
    return person.post(f"/contracts/{contract.id}/sign", {"confirm": "true", "password": password,
                                                          "document_sha256": shown_sha256(person, contract)})


def active_contract(browser, order: StateOrder, school_name: str, accountant: str, director: str,
                    licence: str) -> Contract:
    """Apply, allocate every claimed place, sign by the director and the head: an active contract."""
    from tests.helpers import school

    official = browser("official")
    contract = allocate(official, apply(browser(accountant), order, school(school_name), licence))
    sign(browser(director), contract)
    sign(browser("head"), contract)
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status == "active"
    return contract
