"""The API's refusals are in the reader's language like its pages': signing a contract whose signing step is not open
(its process suspended by an administrator) answered in English whatever the client asked for."""

from __future__ import annotations

from sqlalchemy import select

from app.engine.models import HumanTask
from app.extensions import db
from tests.helpers import school
from tests.lifecycle.flow import allocate, apply, place_order


def test_a_contract_whose_signing_step_is_not_open_is_refused_in_russian(frozen, browser):
    official = browser("official")
    contract = allocate(official, apply(browser("accountant"), place_order(official),
                                        school("Bilim Innovation School"), "KZ15LAA00001234"))
    for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == contract.instance_id,
                                                           HumanTask.status == "open")):
        task.status = "suspended"
    db.session.commit()
    director = browser("director")
    director.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    refused = director.post_json(f"/api/v1/contracts/{contract.id}/sign",
                                 {"password": "pw", "document_sha256": "0" * 64})
    assert refused.status_code == 422
    assert refused.get_json()["message"] == "Этот договор не ожидает вашей подписи."
