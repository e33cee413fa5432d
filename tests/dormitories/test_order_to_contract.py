"""The dormitory-places order and application stages, as the roles walk them through the pages: the department's
official places an order for dormitory places (rate from the rates decision table), a dormitory applies, the
official allocates places, the dormitory's director and the department head sign the contract on screen, and the
contract's months run. Bad input changes nothing; other roles and regions are refused on the server."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app import clock
from app.applications.models import Application
from app.audit.models import AuditEvent
from app.contracts.models import Contract, ContractSignature
from app.dormitories.models import DormitoryOrderTerms, DormitoryTerms
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.orders.models import StateOrder
from app.people.models import Organisation
from tests.lifecycle.flow import shown_sha256, sign

QAZYNA = "Qazyna Student Residence"
ORDER_FORM = {"instrument": "dormitory", "first_year": "2027", "years": "3", "locality": "urban", "places": "30",
              "excludes_local_residents": "true", "budget": "50000000", "window_opens": "2026-11-05",
              "window_closes": "2027-06-30"}


@pytest.fixture()
def frozen(dorm_world):
    at = clock.FrozenClock(datetime(2026, 11, 6, 5, 0, tzinfo=UTC))
    clock.set_clock(at)
    yield at
    clock.reset_clock()


def open_task(instance_id: int, spec_name: str) -> HumanTask:
    db.session.expire_all()
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.spec_name == spec_name,
                                                      HumanTask.status == "open")).one()


def dorm_orders() -> list[StateOrder]:
    db.session.expire_all()
    return list(db.session.scalars(select(StateOrder).where(StateOrder.instrument == "dormitory",
                                                            StateOrder.number == "DO-ASTANA-2027")))


def place(official, **overrides) -> StateOrder:
    response = official.post("/orders/new", {**ORDER_FORM, **overrides})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return dorm_orders()[0]


def apply(accountant, order: StateOrder, **form) -> Application:
    response = accountant.post(f"/orders/{order.id}/apply")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    dormitory = db.session.scalars(select(Organisation).where(Organisation.name == QAZYNA)).one()
    application = db.session.scalars(select(Application).where(Application.order_id == order.id,
                                                               Application.school_id == dormitory.id)
                                     .order_by(Application.id.desc())).first()
    task = open_task(application.instance_id, "submit_application")
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    page = accountant.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="beds-registered">24<' in page
    response = accountant.post(f"/tasks/{task.id}", {"places_requested": "20", "iban": dormitory.iban, **form})
    assert response.status_code == 302, response.get_data(as_text=True)[:4000]
    db.session.expire_all()
    return db.session.get(Application, application.id)


def test_an_official_places_an_order_for_dormitory_places_with_the_rate_from_the_table(frozen, browser):
    official = browser("official")
    assert 'id="place-dorm-order"' in official.get("/orders").get_data(as_text=True)
    assert official.get("/orders/new?instrument=dormitory").status_code == 200
    order = place(official)
    assert (order.status, order.period_start, order.period_end) == ("open", date(2027, 9, 1), date(2030, 8, 31))
    terms = db.session.scalars(select(DormitoryOrderTerms).where(DormitoryOrderTerms.order_id == order.id)).one()
    # bpmn/dorm_place_rates.dmn: Astana, urban — 19,000 ₸ a month per place
    assert (terms.places, terms.locality, terms.place_rate_tiyn, terms.excludes_local_residents) == \
        (30, "urban", 1_900_000, True)
    page = official.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "State order for student dormitory places" in page and 'id="order-places">30<' in page
    assert "19,000.00" in page.split('id="order-rate">')[1][:40]
    events = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "state_order",
                                                                            AuditEvent.object_id == order.id))]
    assert sorted(events) == ["order.opened", "order.placed"]
    # The department of another region does not see it; a dormitory of Almaty cannot apply to it.
    assert browser("official_almaty").get(f"/orders/{order.id}").status_code == 404
    assert browser("dorm_accountant3").post(f"/orders/{order.id}/apply").status_code == 404
    # A school's accountant of the region sees the order but cannot apply to it.
    assert browser("accountant").post(f"/orders/{order.id}/apply").status_code == 404


@pytest.mark.parametrize("field, value, message", [
    ("years", "0", "The term is from 1 to 10 years."),
    ("years", "three", "Term, years: enter a whole number."),
    ("places", "", "Places: enter a whole number."),
    ("places", "0", "Order at least one place."),
    ("locality", "mountain", "Choose the locality: urban or rural."),
    ("budget", "abc", "Enter the budget in tenge"),
    ("window_closes", "2027-09-15", "must close before the term starts"),
    ("window_opens", "x", "Window opens: enter a date."),
])
def test_bad_order_input_gets_a_clear_message_and_places_nothing(frozen, browser, field, value, message):
    official = browser("official")
    response = official.post("/orders/new", {**ORDER_FORM, field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert dorm_orders() == []


def test_only_the_department_official_places_orders_and_a_second_order_of_the_year_is_refused(frozen, browser):
    for login in ("dorm_applicant", "dorm_applicant_director", "head", "operator", "accountant"):
        assert browser(login).post("/orders/new", ORDER_FORM).status_code == 404, login
    assert dorm_orders() == []
    official = browser("official")
    place(official)
    again = official.post("/orders/new", ORDER_FORM)
    assert again.status_code == 422 and "already been placed" in again.get_data(as_text=True)
    assert official.post("/orders/new", {**ORDER_FORM, "instrument": "grants"}).status_code == 404
    # Without the CSRF token nothing is placed.
    raw = official.post("/orders/new", {**ORDER_FORM, "first_year": "2028"}, csrf=False)
    assert raw.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StateOrder)
                             .where(StateOrder.number == "DO-ASTANA-2028")) == 0


def test_a_dormitory_applies_the_official_allocates_both_sign_on_screen_and_the_months_run(frozen, browser):
    order = place(browser("official"))
    accountant = browser("dorm_applicant")
    application = apply(accountant, order)
    assert (application.status, application.dormitory_terms.places_requested) == ("eligible", 20)
    assert application.instrument == "dormitory" and application.reasons == []

    official = browser("official")
    review = open_task(application.instance_id, "review_application")
    page = official.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert 'id="places-left">30<' in page and 'id="places-requested">20<' in page
    # More than the dormitory offers: a clear message, nothing allocated, the task still open.
    too_many = official.post(f"/tasks/{review.id}", {"decision": "allocate", "places_allocated": "25"})
    assert too_many.status_code == 422 and "More places than the dormitory offers (20)" in \
        too_many.get_data(as_text=True)
    assert open_task(application.instance_id, "review_application").id == review.id
    assert db.session.scalar(select(func.count()).select_from(Contract)
                             .where(Contract.application_id == application.id)) == 0
    response = official.post(f"/tasks/{review.id}", {"decision": "allocate", "places_allocated": "15"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    contract = db.session.scalars(select(Contract).where(Contract.application_id == application.id)).one()
    terms = db.session.scalars(select(DormitoryTerms).where(DormitoryTerms.contract_id == contract.id)).one()
    assert (contract.instrument, contract.status) == ("dormitory", "awaiting_director")
    assert (terms.places, terms.place_rate_tiyn, terms.excludes_local_residents) == (15, 1_900_000, True)
    assert (contract.monthly_cap_tiyn, contract.amount_cap_tiyn) == (15 * 1_900_000, 15 * 1_900_000 * 36)

    director, head = browser("dorm_applicant_director"), browser("head")
    sign_task = open_task(contract.instance_id, "sign_dorm_director")
    assert sign_task.role == "dormitory_director"
    shown = director.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "awaiting the dormitory director" in shown and 'id="sign-form"' in shown
    document = director.get(f"/contracts/{contract.id}/document").get_data(as_text=True)
    assert "19 000" in document.replace("\u00a0", " ").replace("\u202f", " ")
    # The head cannot sign first; a wrong password signs nothing; another dormitory's accountant cannot see it.
    refused = head.post(f"/contracts/{contract.id}/sign", {"confirm": "true", "password": "pw",
                                                           "document_sha256": shown_sha256(head, contract)},
                        follow_redirects=True).get_data(as_text=True)
    assert "The dormitory director signs first" in refused
    wrong = director.post(f"/contracts/{contract.id}/sign", {"confirm": "true", "password": "nope",
                                                             "document_sha256": shown_sha256(director, contract)},
                          follow_redirects=True).get_data(as_text=True)
    assert "The password is not correct" in wrong
    assert db.session.scalar(select(func.count()).select_from(ContractSignature)
                             .where(ContractSignature.contract_id == contract.id)) == 0
    assert browser("dorm_accountant").get(f"/contracts/{contract.id}").status_code == 404

    assert sign(director, contract).status_code == 303
    assert sign(head, contract).status_code == 303
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status == "active"
    capacities = sorted(s.capacity for s in contract.signatures)
    assert capacities == ["department_head", "dormitory_director"]
    assert len({s.document_sha256 for s in contract.signatures}) == 1
    instance = db.session.get(ProcessInstance, contract.instance_id)
    # Signed: the contract's process waits for the end of its first month (September 2027) to open its act.
    assert instance.status == "running" and instance.next_timer_at is not None
    assert instance.next_timer_at.date() >= date(2027, 9, 30)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "contract", AuditEvent.object_id == contract.id).order_by(AuditEvent.id))]
    assert actions == ["contract.generated", "contract.document_stored", "contract.signed", "contract.signed",
                       "contract.activated"]


def test_an_ineligible_dormitory_sees_the_reasons(frozen, browser):
    order = place(browser("official"))
    accountant = browser("dorm_applicant")
    application = apply(accountant, order, places_requested="30")  # 24 beds registered
    assert (application.status, application.reasons) == ("ineligible", ["dorm_beds_short"])
    page = accountant.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "The places offered exceed the beds registered for the dormitory." in page
    assert browser("dorm_accountant").get(f"/applications/{application.id}").status_code == 404


def test_the_official_can_reject_a_dormitory_application_with_a_reason(frozen, browser):
    order = place(browser("official"))
    application = apply(browser("dorm_applicant"), order)
    official = browser("official")
    review = open_task(application.instance_id, "review_application")
    no_reason = official.post(f"/tasks/{review.id}", {"decision": "reject", "places_allocated": "0"})
    assert no_reason.status_code == 422
    response = official.post(f"/tasks/{review.id}", {"decision": "reject", "places_allocated": "0",
                                                     "comment": "Places are already covered in the city."})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == "rejected"
    assert db.session.scalar(select(func.count()).select_from(Contract)
                             .where(Contract.application_id == application.id)) == 0


@pytest.mark.parametrize("rate", [0, -150_000])
def test_a_rate_of_zero_or_less_puts_no_contract_in_force_and_sets_no_terms(dorm_year, rate):
    """Found by a security probe: a contract signed on paper took the rates table's rate unchecked (the order's
    opening refused a rate of zero or less) — its caps became places × a negative rate. The terms set before the
    signatures took it unchecked as well."""
    from app.dormitories.operations import place_dormitory_contract, put_in_force
    from app.dormitories.ordering import set_contract_terms

    contract = place_dormitory_contract(dorm_year["orgs"]["dorm_c"], places=3, period_start=date(2028, 9, 1),
                                        period_end=date(2029, 6, 30))
    caps = (contract.monthly_cap_tiyn, contract.amount_cap_tiyn)
    contract.status = "awaiting_head"
    with pytest.raises(ValueError, match="unusable rate"):
        put_in_force(contract, rate)
    assert contract.status == "awaiting_head" and (contract.monthly_cap_tiyn, contract.amount_cap_tiyn) == caps
    contract.status = "awaiting_director"
    with pytest.raises(ValueError, match="unusable rate"):
        set_contract_terms(contract, rate)
    assert (contract.monthly_cap_tiyn, contract.amount_cap_tiyn) == caps


def test_a_window_past_the_terms_start_names_the_day_in_the_readers_form(frozen, browser):
    """New-user probe: a Kazakh-reading official placing an order read "…2027-09-01 басталғанға дейін" — the term's
    first day as the database writes it, every other date of the page in words."""
    import re

    official = browser("official")
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    response = official.post("/orders/new", {**ORDER_FORM, "window_closes": "2027-09-15"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    said = [line for line in page.splitlines() if "2027" in line and "alert" in line]
    assert said and not any(re.search(r"\d{4}-\d{2}-\d{2}", line) for line in said), said
    assert "(1 қыркүйек 2027 ж.)" in page
    assert dorm_orders() == []
