"""The education department amends a signed contract (places, amount, term) with a reason: one audited door, the
school sees it, payments follow the amended caps from the effective month, and nobody else can amend."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.audit.operations import verify_all_chains
from app.contracts import documents, operations
from app.contracts.handlers import within_contract_cap
from app.contracts.models import Contract, ContractAct, ContractAmendment
from app.engine.errors import DomainRefused
from app.extensions import db
from app.notifications.models import Notification
from tests.helpers import user

NEW_PLACES = {"places_primary": "1", "places_basic": "1", "places_secondary": "1"}


def samruk() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()


def form(contract: Contract, **changes) -> dict:
    values = {**NEW_PLACES, "amount": "5000000", "period_end": "2027-05-31", "effective_from": "2026-10",
              "rationale": "Fewer students enrolled after the school's building was partly closed.",
              "revision": str(len(contract.amendments)), "confirm": "true"}
    values.update(changes)
    return values


def snapshot(contract_id: int) -> tuple:
    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    return (contract.places_primary, contract.places_basic, contract.places_secondary, contract.monthly_cap_tiyn,
            contract.amount_cap_tiyn, contract.period_end,
            db.session.scalar(select(func.count(ContractAmendment.id))),
            db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "contract.amended")))


def test_the_department_amends_with_a_reason_audited_and_the_school_sees_it(world, browser):
    contract = samruk()
    signed_hash = documents.document_sha256(contract)
    old_monthly, old_amount = contract.monthly_cap_tiyn, contract.amount_cap_tiyn
    official = browser("official_shymkent")
    page = official.get(f"/contracts/{contract.id}/amend")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)

    response = official.post(f"/contracts/{contract.id}/amend", form(contract))
    assert response.status_code == 303, response.get_data(as_text=True)

    contract = samruk()
    amendment = db.session.scalars(select(ContractAmendment)).one()
    norms = sum(contract.order.norm(lv, contract.locality) for lv in ("primary", "basic", "secondary"))
    assert (contract.places_total, contract.monthly_cap_tiyn, contract.amount_cap_tiyn) == (3, norms, 500_000_000)
    assert amendment.seq == 1 and amendment.effective_from == date(2026, 10, 1)
    assert amendment.before["monthly_cap_tiyn"] == old_monthly and amendment.before["amount_cap_tiyn"] == old_amount
    assert amendment.after["amount_cap_tiyn"] == 500_000_000 and amendment.before_sha256 != amendment.after_sha256
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.amended")).one()
    assert event.actor_id == user("official_shymkent").id and event.object_id == contract.id
    assert event.details["before_sha256"] == amendment.before_sha256
    assert event.details["after_sha256"] == amendment.after_sha256
    assert event.facts["amount_cap_tiyn"] == 500_000_000 and "amendments_sha256" in event.facts
    assert verify_all_chains()[1] == []
    # the signed document is what was signed: its hash is unchanged by the amendment
    assert documents.document_sha256(contract) == signed_hash

    director = user("director4")
    note = db.session.scalars(select(Notification).where(Notification.user_id == director.id,
                                                         Notification.kind == "contract_amended")).one()
    assert note.params["subject"] == contract.number
    school_page = browser("director4").get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="contract-amendments"' in school_page and "partly closed" in school_page
    assert 'id="amend-link"' not in school_page


def test_tampering_with_an_amendment_is_found_by_the_audit_check(world, browser):
    contract = samruk()
    browser("head_shymkent").post(f"/contracts/{contract.id}/amend", form(contract))
    amendment = db.session.scalars(select(ContractAmendment)).one()
    amendment.rationale = "Something else entirely, written in later."
    db.session.commit()
    problems = verify_all_chains()[1]
    assert any("amendments_sha256" in p.reason for p in problems)


@pytest.mark.parametrize("username,status", [("director4", 403), ("accountant4", 403), ("auditor", 403),
                                             ("operator", 403), ("official", 404)])
def test_only_the_regions_department_amends(world, browser, username, status):
    contract = samruk()
    before = snapshot(contract.id)
    person = browser(username)
    assert person.get(f"/contracts/{contract.id}/amend").status_code == status
    assert person.post(f"/contracts/{contract.id}/amend", form(contract)).status_code == status
    assert person.post_json(f"/api/v1/contracts/{contract.id}/amendments", {
        "revision": 0, "places_primary": 1, "places_basic": 1, "places_secondary": 1, "amount_cap_tiyn": 500_000_000,
        "period_end": "2027-05-31", "effective_from": "2026-10-01",
        "rationale": "Fewer students enrolled this year."}).status_code == status
    assert snapshot(contract.id) == before


@pytest.mark.parametrize("changes,field", [
    ({"places_basic": "ten"}, "places_basic"),
    ({"places_primary": "-1"}, "places_primary"),
    ({"places_primary": "٣"}, "places_primary"),
    ({"places_primary": "0", "places_basic": "0", "places_secondary": "0"}, "places_primary"),
    ({"places_primary": "400"}, "places_primary"),  # over the design capacity of 300
    ({"amount": "1e9"}, "amount"),
    ({"amount": "12.345"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "9" * 30}, "amount"),
    ({"period_end": "2027-13-01"}, "period_end"),
    ({"period_end": "2027-08-31"}, "period_end"),  # after the order's period
    ({"period_end": "2026-09-30"}, "period_end"),  # the October act is already open
    ({"period_end": "2027-04-15"}, "period_end"),  # mid-month: April's act would pay to the 30th
    ({"effective_from": "2026-08"}, "effective_from"),  # before the term
    ({"effective_from": "2027-06"}, "effective_from"),  # after the term
    ({"effective_from": "someday"}, "effective_from"),
    ({"rationale": "because"}, "rationale"),
    ({"rationale": "x" * 1001}, "rationale"),
    ({"confirm": ""}, "confirm"),
    ({"revision": "abc"}, "revision"),
])
def test_bad_input_is_refused_per_field_and_changes_nothing(world, browser, changes, field):
    contract = samruk()
    before = snapshot(contract.id)
    response = browser("official_shymkent").post(f"/contracts/{contract.id}/amend", form(contract, **changes))
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True) or field == "revision"
    assert snapshot(contract.id) == before


def test_the_same_terms_or_a_missing_field_are_refused_without_a_500(world, browser):
    contract = samruk()
    before = snapshot(contract.id)
    official = browser("official_shymkent")
    same = form(contract, places_primary=str(contract.places_primary), places_basic=str(contract.places_basic),
                places_secondary=str(contract.places_secondary), amount=str(contract.amount_cap_tiyn // 100))
    response = official.post(f"/contracts/{contract.id}/amend", same)
    assert response.status_code == 422 and "Nothing to amend" in response.get_data(as_text=True)
    assert official.post(f"/contracts/{contract.id}/amend", {"rationale": "x"}).status_code == 422
    assert official.post(f"/contracts/{contract.id}/amend", form(contract), csrf=False).status_code == 400
    assert snapshot(contract.id) == before


def test_two_officials_amending_the_same_version_one_wins_the_other_is_told(world, browser):
    contract = samruk()
    first, second = browser("official_shymkent"), browser("head_shymkent")
    stale = form(contract, amount="6000000")
    assert first.post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303
    after_first = snapshot(contract.id)
    response = second.post(f"/contracts/{contract.id}/amend", stale)
    assert response.status_code == 422 and "Someone amended this contract meanwhile" in response.get_data(as_text=True)
    assert snapshot(contract.id) == after_first and samruk().amount_cap_tiyn == 500_000_000
    # the page now carries the new revision: amending again on top of the first amendment works
    assert 'name="revision" value="1"' in response.get_data(as_text=True)
    assert second.post(f"/contracts/{contract.id}/amend",
                       form(samruk(), amount="6000000", effective_from="2026-11")).status_code == 303
    assert [a.seq for a in samruk().amendments] == [1, 2]


def test_payment_caps_follow_the_amended_terms_from_the_effective_month(world, browser):
    contract = samruk()
    old_monthly = contract.monthly_cap_tiyn
    assert browser("official_shymkent").post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303
    contract = samruk()
    new_monthly = contract.monthly_cap_tiyn
    assert new_monthly < old_monthly
    acts = {link.period: link.act for link in db.session.scalars(
        select(ContractAct).where(ContractAct.contract_id == contract.id))}
    september, october = acts[date(2026, 9, 1)], acts[date(2026, 10, 1)]
    september.amount_tiyn = october.amount_tiyn = new_monthly + 1
    within_contract_cap(september)  # before the effective month: the signed cap applies
    with pytest.raises(DomainRefused, match="monthly cap"):
        within_contract_cap(october)
    october.amount_tiyn = new_monthly
    within_contract_cap(october)
    september.amount_tiyn = old_monthly + 1
    with pytest.raises(DomainRefused, match="monthly cap"):
        within_contract_cap(september)
    db.session.rollback()


def test_a_decided_month_cannot_be_amended(world, browser):
    contract = samruk()
    link = db.session.scalars(select(ContractAct).where(ContractAct.contract_id == contract.id,
                                                        ContractAct.period == date(2026, 9, 1))).one()
    link.act.status = "accepted"
    db.session.commit()
    official = browser("official_shymkent")
    page = official.get(f"/contracts/{contract.id}/amend").get_data(as_text=True)
    assert 'value="2026-10"' in page  # the first month still open to amendment is offered
    response = official.post(f"/contracts/{contract.id}/amend", form(contract, effective_from="2026-09"))
    assert response.status_code == 422 and 'id="effective_from-error"' in response.get_data(as_text=True)
    # the first month open to amendment is named as people name it — the Russian page said "с 2026-10"
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    said = official.post(f"/contracts/{contract.id}/amend", form(contract, effective_from="2026-09"))
    assert "октябрь 2026" in said.get_data(as_text=True) and "2026-10 " not in said.get_data(as_text=True)
    assert official.post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303


def test_the_api_amends_with_the_same_checks(world, browser):
    contract = samruk()
    official = browser("official_shymkent")
    body = {"revision": 0, "places_primary": 2, "places_basic": 2, "places_secondary": 2,
            "amount_cap_tiyn": 400_000_000, "period_end": "2027-04-30", "effective_from": "2026-11-15",
            "rationale": "Term shortened: the school closes for renovation in May."}
    bad = official.post_json(f"/api/v1/contracts/{contract.id}/amendments", {**body, "amount_cap_tiyn": "lots"})
    assert bad.status_code == 422
    refused = official.post_json(f"/api/v1/contracts/{contract.id}/amendments", {**body, "places_primary": 400})
    assert refused.status_code == 422 and "places_primary" in refused.get_json()["errors"]
    created = official.post_json(f"/api/v1/contracts/{contract.id}/amendments", body)
    assert created.status_code == 201, created.get_json()
    document = created.get_json()
    assert document["amount_cap_tiyn"] == 400_000_000 and document["period_end"] == "2027-04-30"
    assert document["amendments"][0]["effective_from"] == "2026-11-01"
    stale = official.post_json(f"/api/v1/contracts/{contract.id}/amendments", {**body, "amount_cap_tiyn": 1})
    assert stale.status_code == 409
    assert len(samruk().amendments) == 1


def test_an_integration_amends_with_a_contracts_token_and_not_with_a_tasks_one(world, app):
    """No token could amend (the route was in no scope): an integration of the department's got 403 for any."""
    from app.people.tokens import create_token
    from tests.conftest import Browser

    contract = samruk()
    body = {"revision": 0, "places_primary": 2, "places_basic": 2, "places_secondary": 2,
            "amount_cap_tiyn": 400_000_000, "period_end": "2027-04-30", "effective_from": "2026-11-15",
            "rationale": "Term shortened: the school closes for renovation in May."}
    answers = {}
    for scopes in (["read", "tasks"], ["contracts"]):
        _row, secret = create_token(user("official_shymkent"), "integration", scopes, 30)
        db.session.commit()
        client = Browser(app)
        client.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        answers[scopes[-1]] = client.post_json(f"/api/v1/contracts/{contract.id}/amendments", body).status_code
    assert answers == {"tasks": 403, "contracts": 201}
    assert len(samruk().amendments) == 1


@pytest.mark.parametrize("status", ["submitted", "verified"])
def test_a_month_whose_act_awaits_its_decision_cannot_be_amended(world, browser, status):
    """Amended under an act already verified, the act was accepted at an amount the new monthly cap then refused to
    pay — and a month decided meanwhile could not be amended back: stuck for good."""
    contract = samruk()
    link = db.session.scalars(select(ContractAct).where(ContractAct.contract_id == contract.id,
                                                        ContractAct.period == date(2026, 9, 1))).one()
    link.act.status = status
    db.session.commit()
    official = browser("official_shymkent")
    response = official.post(f"/contracts/{contract.id}/amend", form(contract, effective_from="2026-09"))
    assert response.status_code == 422 and 'id="effective_from-error"' in response.get_data(as_text=True)
    link.act.status = "returned"  # resubmitted later, it is verified again under the terms then in force
    db.session.commit()
    assert official.post(f"/contracts/{contract.id}/amend", form(contract, effective_from="2026-09")).status_code == 303


def test_an_increase_beyond_what_the_orders_budget_has_left_is_refused(world, browser):
    """2,000,000,000 ₸ was accepted under an order of 900,000,000 ₸: the order then showed more allocated than its
    budget. An increase is an allocation: it fits in what the budget has left, to the tiyn."""
    from app.orders.operations import allocated_tiyn

    contract = samruk()
    left = contract.order.budget_tiyn - allocated_tiyn(contract.order)
    official = browser("official_shymkent")
    too_much = (contract.amount_cap_tiyn + left + 1) / 100
    response = official.post(f"/contracts/{contract.id}/amend", form(contract, amount=f"{too_much:.2f}"))
    assert response.status_code == 422 and "exceeds what the state order" in response.get_data(as_text=True)
    assert samruk().amount_cap_tiyn == contract.amount_cap_tiyn
    just = (contract.amount_cap_tiyn + left) / 100
    assert official.post(f"/contracts/{contract.id}/amend", form(contract, amount=f"{just:.2f}")).status_code == 303
    assert allocated_tiyn(samruk().order) == samruk().order.budget_tiyn


def test_the_amount_cannot_go_below_what_the_contracts_acts_already_claim(world, browser):
    """An amount of 1,000 ₸ was accepted while 992,400 ₸ was accepted and unpaid: September was paid under the
    signed terms, and October, verified in full, was accepted and then refused at payment for good."""
    contract = samruk()
    link = db.session.scalars(select(ContractAct).where(ContractAct.contract_id == contract.id,
                                                        ContractAct.period == date(2026, 9, 1))).one()
    link.act.status, link.act.amount_tiyn = "accepted", 99_240_000
    db.session.commit()
    before = snapshot(contract.id)
    official = browser("official_shymkent")
    response = official.post(f"/contracts/{contract.id}/amend", form(contract, amount="1000"))
    assert response.status_code == 422 and "already claim" in response.get_data(as_text=True)
    assert snapshot(contract.id) == before
    assert official.post(f"/contracts/{contract.id}/amend", form(contract, amount="992400")).status_code == 303


def test_an_act_earns_at_most_what_the_contracts_amount_has_left(world):
    """Verified at the full monthly amount when the contract's amount had less left, an act was accepted and then
    refused at payment (within_contract_cap) — for good. Verification now caps it at what is left."""
    from app.acts.terms import terms_for

    contract = samruk()
    acts = {link.period: link.act for link in db.session.scalars(
        select(ContractAct).where(ContractAct.contract_id == contract.id))}
    september, october = acts[date(2026, 9, 1)], acts[date(2026, 10, 1)]
    assert terms_for(october).amount_cap_tiyn == contract.monthly_cap_tiyn
    september.status, september.amount_tiyn = "paid", contract.amount_cap_tiyn - 1_000_000
    db.session.flush()
    assert terms_for(october).amount_cap_tiyn == 1_000_000
    assert terms_for(september).amount_cap_tiyn == contract.monthly_cap_tiyn, "its own amount is not counted"
    october.amount_tiyn = 1_000_000
    within_contract_cap(october)  # what verification now allows is payable
    db.session.rollback()


def test_the_contracts_amount_is_one_budget_whatever_month_an_amendment_takes_effect(world, browser):
    """The amount lowered from a later month had left the earlier months checked against the old amount: all three
    were then verified in full and paid, three times the amended contract."""
    from app.acts.terms import terms_for

    contract = samruk()
    official = browser("official_shymkent")
    assert official.post(f"/contracts/{contract.id}/amend",
                         form(contract, amount="9539.01", effective_from="2026-12")).status_code == 303
    contract = samruk()
    september = next(link.act for link in db.session.scalars(
        select(ContractAct).where(ContractAct.contract_id == contract.id, ContractAct.period == date(2026, 9, 1))))
    assert terms_for(september).amount_cap_tiyn == min(953_901, contract.monthly_cap_tiyn)
    september.amount_tiyn = 953_902
    with pytest.raises(DomainRefused, match="amount cap"):
        within_contract_cap(september)
    db.session.rollback()


def test_an_act_is_accepted_only_if_the_contracts_amount_can_still_pay_it(world, browser):
    """Two months verified side by side, each within what was left: both were accepted, the second then refused at
    payment for good (no return, no amendment, no cancel could clear it). The second acceptance is refused with
    what to do, and the act can be returned."""
    from app.acts.operations import decide

    contract = samruk()
    acts = {link.period: link.act for link in db.session.scalars(
        select(ContractAct).where(ContractAct.contract_id == contract.id))}
    september, october = acts[date(2026, 9, 1)], acts[date(2026, 10, 1)]
    half = contract.amount_cap_tiyn // 2 + 1
    for act in (september, october):
        act.status, act.amount_tiyn = "verified", half
    db.session.commit()
    decide(september, "accept", None, user("official_shymkent"))
    db.session.commit()
    with pytest.raises(DomainRefused, match="Return the act"):
        decide(october, "accept", None, user("official_shymkent"))
    db.session.rollback()
    decide(db.session.get(type(october), october.id), "return", "resubmit within what is left",
           user("official_shymkent"))
    db.session.commit()
    assert db.session.get(type(october), october.id).status == "returned"


def test_two_acts_accepted_at_once_do_not_together_go_over_the_contracts_amount(world, app):
    """On PostgreSQL two acceptances under one contract read what was committed before either: each fitted what
    was left, together they went over it. The second now waits for the first and is refused."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second transaction waits for the database lock")
    from app.acts.models import Act
    from app.acts.operations import decide
    from tests.audit.test_concurrent_chain_writers import _at_once

    contract = samruk()
    acts = {link.period: link.act for link in db.session.scalars(
        select(ContractAct).where(ContractAct.contract_id == contract.id))}
    september, october = acts[date(2026, 9, 1)].id, acts[date(2026, 10, 1)].id
    half = contract.amount_cap_tiyn // 2 + 1
    for act_id in (september, october):
        act = db.session.get(Act, act_id)
        act.status, act.amount_tiyn = "verified", half
    db.session.commit()
    outcome = _at_once(app, lambda: decide(db.session.get(Act, september), "accept", None, user("official_shymkent")),
                       lambda: decide(db.session.get(Act, october), "accept", None, user("official_shymkent")))
    assert "Return the act" in outcome["second"]
    db.session.expire_all()
    assert [db.session.get(Act, i).status for i in (september, october)] == ["accepted", "verified"]


def test_a_claw_back_of_another_contracts_month_makes_no_room_in_this_contract(world):
    """Last year's August clawed back on this year's September: the school is paid less, but this year's contract
    counted the net, and October's lines were then let past its amount (1,385,000 ₸ of lines under 1,000,000 ₸)."""
    from app.acts.models import ActAdjustment
    from app.contracts.handlers import contract_terms
    from tests.helpers import act_of_school

    contract = samruk()
    acts = {link.period: link.act for link in db.session.scalars(
        select(ContractAct).where(ContractAct.contract_id == contract.id))}
    september, october = acts[date(2026, 9, 1)], acts[date(2026, 10, 1)]
    from app.acts.models import ActLine

    elsewhere = act_of_school("Alatau Lyceum")  # an act under no link to this contract
    line = ActLine(act_id=elsewhere.id, period=elsewhere.period, school_id=elsewhere.school_id, line_no=999,
                   iin="000000000000", full_name="—", grade=3, days_attended=0)
    db.session.add(line)
    db.session.flush()
    september.status, september.amount_tiyn = "accepted", 60_000_000
    db.session.add(ActAdjustment(act_id=september.id, original_act_id=elsewhere.id, original_line_id=line.id,
                                 period=date(2026, 8, 1), iin="000000000000", full_name="—", rule_code="withdrawn",
                                 original_amount_tiyn=40_000_000, corrected_amount_tiyn=0, amount_tiyn=-40_000_000,
                                 created_at=september.created_at))
    db.session.flush()
    assert operations.committed_under([contract.id])[contract.id] == 100_000_000, "the lines, not the net"
    assert operations.taken_by(september, contract.id) == 100_000_000
    left = contract_terms(october).total_left_tiyn
    assert left == contract.amount_cap_tiyn - 100_000_000
    db.session.rollback()


@pytest.mark.parametrize(("language", "month"), [("ru", "апр"), ("kk", "сәу")])
def test_a_refused_end_of_term_names_its_dates_in_the_readers_form(world, browser, language, month):
    """New-user probe: an official amending the term in Russian read "(например, 2027-04-30)" and "с 2026-09-01 до
    2027-05-31" — dates as the database writes them, in a sentence that writes every other date in words."""
    import re

    contract = samruk()
    before = snapshot(contract.id)
    official = browser("official_shymkent")
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    said = {}
    for end in ("2027-04-15", "2027-08-31"):  # mid-month; after the order's period
        response = official.post(f"/contracts/{contract.id}/amend", form(contract, period_end=end))
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        said[end] = page[page.index('id="period_end-error"'):][:600].split("</div>")[0]
        assert not re.search(r"\d{4}-\d{2}-\d{2}", said[end]), said[end]
    assert f"30 {month}" in said["2027-04-15"], said["2027-04-15"]
    assert snapshot(contract.id) == before


def test_the_apis_field_errors_are_in_the_readers_language(world, browser):
    """New-user probe: an official's integration reading Russian got "Запрос некорректен; см. ошибки по каждому полю."
    over "Not a valid integer.", "Missing data for required field." — marshmallow's own English sentences."""
    contract = samruk()
    before = snapshot(contract.id)
    official = browser("official_shymkent")
    official.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    answer = official.post_json(f"/api/v1/contracts/{contract.id}/amendments",
                                {"places_primary": "x", "amount_cap_tiyn": "lots", "period_end": "2027-13-01"})
    assert answer.status_code == 422
    fields = answer.get_json()["errors"]["json"]
    said = {message for messages in fields.values() for message in messages}
    assert not said & {"Not a valid integer.", "Not a valid date.", "Missing data for required field."}, said
    assert fields["rationale"] == ["Это поле обязательно для заполнения."]
    assert fields["places_primary"] == ["Введите целое число."] and fields["period_end"] == [
        "Введите дату в формате ГГГГ-ММ-ДД."]
    assert snapshot(contract.id) == before
