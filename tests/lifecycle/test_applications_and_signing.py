"""Applications that fail the registry checks, allocation limits, and the order of signatures."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.applications.models import Application
from app.audit.models import AuditEvent
from app.contracts.documents import document_sha256
from app.contracts.models import Contract, ContractSignature
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.orders.models import StateOrder
from app.registry.models import BusinessRecord, Licence
from tests.helpers import school
from tests.lifecycle.flow import allocate, apply, open_task_of, place_order, sign

NUR = "Nur Private School"
BILIM = "Bilim Innovation School"


def test_an_ineligible_application_ends_with_the_reasons_shown_to_the_school(frozen, browser):
    order = place_order(browser("official"))
    nur = school(NUR)
    business = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == nur.bin)).one()
    business.oked = "47.11"  # registered as a retail shop, not an education organisation
    licence = db.session.scalars(select(Licence).where(Licence.bin == nur.bin)).one()
    licence.levels, licence.valid_until = "primary", date(2027, 5, 31)
    db.session.commit()

    accountant = browser("accountant2")
    application = apply(accountant, order, nur, licence.number, design_capacity=20)
    assert application.status == "ineligible"
    assert application.reasons == ["not_education", "licence_expired", "licence_levels", "over_capacity"]
    instance = db.session.get(ProcessInstance, application.instance_id)
    assert instance.status == "completed", "an ineligible application ends"
    assert db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.status == "open")).all() == []

    page = accountant.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'id="ineligible-reasons"' in page
    for text in ("main activity is not education", "not valid at the start of the contract period",
                 "does not cover every level", "exceed the building"):
        assert text in page, text
    # …and says how to go on: the process has ended, a new application may be made to the order.
    assert 'id="apply-again"' in page and f'href="/orders/{application.order_id}"' in page
    # The school hears it (it learnt it only by opening the application), and the bell leads to the page.
    bell = accountant.get("/notifications").get_data(as_text=True)
    assert f"Application {application.number} is not eligible" in bell
    from app.notifications.models import Notification
    from tests.helpers import user

    note = db.session.scalars(select(Notification).where(Notification.kind == "application_ineligible",
                                                         Notification.user_id == user("accountant2").id)).one()
    opened = accountant.post(f"/notifications/{note.id}/open")
    assert opened.headers["Location"].endswith(f"/applications/{application.id}")
    # Another school of the region, or another region, does not see it.
    assert browser("accountant").get(f"/applications/{application.id}").status_code == 404
    assert browser("official_almaty").get(f"/applications/{application.id}").status_code == 404
    assert browser("official").get(f"/applications/{application.id}").status_code == 200

    # Once the registries are put right, the school applies again and is eligible.
    business.oked, licence.levels, licence.valid_until = "85.31", "primary,basic,secondary", None
    db.session.commit()
    again = apply(accountant, order, nur, licence.number)
    assert again.id != application.id and again.status == "eligible" and again.reasons == []


def test_the_official_can_reject_an_application_with_a_reason(frozen, browser):
    official = browser("official")
    order = place_order(official)
    application = apply(browser("accountant"), order, school(BILIM), "KZ15LAA00001234")
    task = open_task_of(application.instance_id, "review_application")
    no_reason = official.post(f"/tasks/{task.id}", {"decision": "reject", "places_primary": "0", "places_basic": "0",
                                                    "places_secondary": "0"})
    assert no_reason.status_code == 422, "a rejection needs a comment"
    response = official.post(f"/tasks/{task.id}", {"decision": "reject", "places_primary": "0", "places_basic": "0",
                                                   "places_secondary": "0", "comment": "Budget exhausted"})
    assert response.status_code == 302
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.status == "rejected"
    assert db.session.get(ProcessInstance, application.instance_id).status == "completed"
    assert db.session.scalars(select(Contract).where(Contract.application_id == application.id)).all() == []
    page = browser("accountant").get(f"/applications/{application.id}").get_data(as_text=True)
    assert "rejected" in page and "Budget exhausted" in page


def test_application_form_rejects_a_bad_iban_and_nothing_is_submitted(frozen, browser):
    order = place_order(browser("official"))
    accountant = browser("accountant")
    response = accountant.post(f"/orders/{order.id}/apply")
    application = db.session.scalars(select(Application).where(Application.order_id == order.id)).one()
    task = open_task_of(application.instance_id, "submit_application")
    form = {"licence_number": "KZ15LAA00001234", "locality": "urban", "students_primary": "10",
            "students_basic": "10", "students_secondary": "5", "design_capacity": "600",
            "iban": "KZ00125KZT5004100100"}
    response = accountant.post(f"/tasks/{task.id}", form)
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == "draft"
    # Applying twice while the first application is open is refused.
    response = accountant.post(f"/orders/{order.id}/apply", follow_redirects=True)
    assert "already has application" in response.get_data(as_text=True)


def test_allocation_cannot_exceed_the_claim_or_the_budget(frozen, browser):
    official = browser("official")
    order = place_order(official, budget="1000000")  # 1 million tenge: far too little for a year
    application = apply(browser("accountant"), order, school(BILIM), "KZ15LAA00001234")
    task = open_task_of(application.instance_id, "review_application")
    too_many = {"decision": "allocate", "places_primary": str(application.students_primary + 1),
                "places_basic": "0", "places_secondary": "0"}
    page = official.post(f"/tasks/{task.id}", too_many).get_data(as_text=True)
    assert "More places than students claimed: Primary" in page
    over_budget = {"decision": "allocate", "places_primary": str(application.students_primary),
                   "places_basic": "0", "places_secondary": "0"}
    response = official.post(f"/tasks/{task.id}", over_budget)
    assert response.status_code == 422 and "budget remains" in response.get_data(as_text=True)
    assert db.session.scalars(select(Contract).where(Contract.order_id == order.id)).all() == []


def test_the_head_cannot_sign_before_the_director_and_a_wrong_password_signs_nothing(frozen, browser):
    official = browser("official")
    order = place_order(official)
    contract = allocate(official, apply(browser("accountant"), order, school(BILIM), "KZ15LAA00001234"))
    head, director = browser("head"), browser("director")

    response = sign(head, contract)
    assert response.status_code == 303
    page = head.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "The school director signs first" in page
    # The head has no task to complete either: the director's task is not theirs.
    director_task = open_task_of(contract.instance_id, "sign_director")
    assert head.post(f"/tasks/{director_task.id}", {"confirm": "true", "password": "pw"}).status_code == 404

    sign(director, contract, password="wrong")
    assert "password is not correct" in director.get(f"/contracts/{contract.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(ContractSignature).where(ContractSignature.contract_id == contract.id)).all() == []
    assert db.session.get(Contract, contract.id).status == "awaiting_director"

    # Another school's director cannot sign (and does not even see the contract).
    assert sign(browser("director2"), contract).status_code == 404

    sign(director, contract)
    sign(head, contract)
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status == "active"
    assert [s.capacity for s in contract.signatures] == ["school_director", "department_head"]
    digest = document_sha256(contract)
    assert all(s.document_sha256 == digest for s in contract.signatures)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"instance:{contract.instance_id}",
                                                         AuditEvent.action == "contract.signed")).all()
    assert [e.details["document_sha256"] for e in events] == [digest, digest]
    # The printable document is exactly what was hashed.
    import hashlib

    document = head.get(f"/contracts/{contract.id}/document").get_data()
    assert hashlib.sha256(document).hexdigest() == digest
    # A second signature by the head is refused.
    sign(head, contract)
    assert len(db.session.scalars(select(ContractSignature).where(
        ContractSignature.contract_id == contract.id)).all()) == 2


def test_order_placement_validates_input_and_refuses_a_second_order(frozen, browser):
    official = browser("official")
    base = {"academic_year": "2027/2028", "budget": "1000", "window_opens": "2027-06-01", "window_closes": "2027-08-15"}
    for changes, said in (({"academic_year": "2027-2028"}, "academic year must look like"),
                          ({"budget": "abc"}, "Enter the budget in tenge"),
                          ({"budget": "12 345,50", "window_opens": "x"}, "enter a date"),
                          # A year already over (a school applied to an order for 2020/2021), a window past its end.
                          ({"academic_year": "2020/2021"}, "The academic year 2020/2021 has ended"),
                          ({"window_closes": "2029-12-31"}, "must close before the academic year ends")):
        bad = official.post("/orders/new", {**base, **changes})
        assert bad.status_code == 422 and said in bad.get_data(as_text=True), changes
    assert db.session.scalars(select(StateOrder).where(StateOrder.academic_year.in_(("2020/2021", "2027/2028")))
                              ).all() == []
    order = place_order(official)
    assert order.budget_tiyn == 500_000_000 * 100
    again = official.post("/orders/new", {"academic_year": "2027/2028", "budget": "1", "window_opens": "2027-06-01",
                                          "window_closes": "2027-08-15"})
    assert again.status_code == 422 and "already been placed" in again.get_data(as_text=True)
    # Only department officials place orders.
    assert browser("accountant").get("/orders/new").status_code == 404
    assert browser("accountant").get(f"/orders/{order.id}").status_code == 200
    assert browser("official_almaty").get(f"/orders/{order.id}").status_code == 404


def test_an_application_not_submitted_when_the_window_closes_expires(frozen, browser):
    from datetime import UTC, datetime

    from app.engine.runtime import fire_due_timers

    order = place_order(browser("official"))
    accountant = browser("accountant")
    accountant.post(f"/orders/{order.id}/apply")
    application = db.session.scalars(select(Application).where(Application.order_id == order.id)).one()
    task = open_task_of(application.instance_id, "submit_application")

    frozen.at = datetime(2027, 8, 15, 18, 0, tzinfo=UTC)  # 23:00 in Astana on the last day: still open
    fire_due_timers()
    assert open_task_of(application.instance_id, "submit_application").id == task.id
    frozen.at = datetime(2027, 8, 15, 19, 1, tzinfo=UTC)  # 00:01 on 16 August in Astana
    fire_due_timers()
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert application.status == "expired"
    assert db.session.get(HumanTask, task.id).status == "cancelled"
    assert db.session.get(ProcessInstance, application.instance_id).status == "completed"
    assert db.session.get(StateOrder, order.id).status == "closed"
    page = accountant.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "not submitted before the window closed" in page
    late = accountant.post(f"/orders/{order.id}/apply", follow_redirects=True).get_data(as_text=True)
    assert "window for this order is not open" in late


def test_the_database_holds_one_application_in_play_per_school_and_order(frozen, browser):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from app import clock

    order = place_order(browser("official"))
    first = apply(browser("accountant"), order, school(BILIM), "KZ15LAA00001234")
    assert first.status == "eligible"
    db.session.add(Application(number="APP-DUPLICATE", order_id=order.id, school_id=first.school_id,
                               region_id=first.region_id, status="draft", created_at=clock.now()))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_window_closes_at_midnight_in_astana_even_before_the_ticker_has_run(frozen, browser):
    """The window's last day is Astana's day: at 00:30 on 16 August there (19:30 UTC on the 15th) the Apply button
    took an application, because the check read UTC's calendar, until the ticker's next pass closed the order."""
    from datetime import UTC, datetime

    from app import clock

    order = place_order(browser("official"))
    accountant = browser("accountant")
    frozen.at = datetime(2027, 8, 15, 19, 30, tzinfo=UTC)
    assert clock.today() == date(2027, 8, 16)
    assert db.session.get(StateOrder, order.id).status == "open", "the ticker has not run yet"
    late = accountant.post(f"/orders/{order.id}/apply", follow_redirects=True).get_data(as_text=True)
    assert "window for this order is not open" in late
    assert db.session.scalars(select(Application).where(Application.order_id == order.id)).all() == []
    assert f'action="/orders/{order.id}/apply"' not in accountant.get(f"/orders/{order.id}").get_data(as_text=True)
