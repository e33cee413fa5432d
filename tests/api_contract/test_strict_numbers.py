"""Amounts and counts sent to the API are whole JSON numbers or refused (422, per field): 1.5 tiyn used to be cut to 1
and "10" read as 10 — a client's mistake saved as something it did not mean. ``true`` is no number either."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.contracts.models import Contract
from app.engine.models import ProcessInstance
from app.extensions import db
from tests.api_contract.test_errors import assert_error_document
from tests.helpers import act_of_school, open_task, seen

AMENDMENT = {"revision": 0, "places_primary": 2, "places_basic": 2, "places_secondary": 2,
             "amount_cap_tiyn": 400_000_000, "period_end": "2027-04-30", "effective_from": "2026-11-15",
             "rationale": "Term shortened: the school closes for renovation in May."}
INTEGER_FIELDS = ("revision", "places_primary", "places_basic", "places_secondary", "amount_cap_tiyn")
NOT_INTEGERS = (1.5, "10", True)


def samruk() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.number == "C-SHYMKENT-2026-00001")).one()


def terms(contract_id: int) -> tuple:
    db.session.expire_all()
    contract = db.session.get(Contract, contract_id)
    return (contract.places_primary, contract.places_basic, contract.places_secondary, contract.amount_cap_tiyn,
            len(contract.amendments))


@pytest.mark.parametrize("field", INTEGER_FIELDS)
@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
def test_an_amendment_with_a_number_that_is_not_whole_is_refused(world, browser, field, value):
    contract = samruk()
    before = terms(contract.id)
    response = browser("official_shymkent").post_json(f"/api/v1/contracts/{contract.id}/amendments",
                                                      {**AMENDMENT, field: value})
    document = assert_error_document(response, 422)
    assert document["errors"]["json"][field] == ["Enter a whole number."]  # said by the catalogue
    assert terms(contract.id) == before, "nothing amended"


def test_an_amendment_in_whole_numbers_is_made(world, browser):
    contract = samruk()
    response = browser("official_shymkent").post_json(f"/api/v1/contracts/{contract.id}/amendments",
                                                      {**AMENDMENT, "amount_cap_tiyn": 400_000_001})
    assert response.status_code == 201, response.get_json()
    assert terms(contract.id) == (2, 2, 2, 400_000_001, 1)


@pytest.mark.parametrize("not_whole", [lambda v: v + 0.5, str, lambda v: True], ids=["1.5", "string", "true"])
def test_a_lock_version_that_is_not_whole_is_refused_and_the_step_not_taken(world, browser, not_whole):
    act = act_of_school("Alatau Lyceum")
    task = open_task(act, "accept_act")
    current = db.session.get(ProcessInstance, act.instance_id).lock_version
    official = browser("official_almaty")
    url = f"/api/v1/tasks/{task.id}/complete"
    response = official.post_json(url, {"data": {"decision": "accept"}, "lock_version": not_whole(current)})
    document = assert_error_document(response, 422)
    assert document["errors"]["json"]["lock_version"] == ["Enter a whole number."]  # said by the catalogue
    assert open_task(act, "accept_act").id == task.id, "the step is still open"
    assert official.post_json(url, {"data": {"decision": "accept"}, "lock_version": current,
                                    "seen": seen(task)}).status_code == 200
