"""What an official types that the world reads: an amendment's reason is published in the open data with the contract
(OCDS ``contracts[].amendments[].rationale``), to anyone, without a login.

Public data holds no child's IIN (DESIGN §3). The reason is free text: an official explaining "places for the pupil
7910 2830 2728 who moved here" had that child's IIN published on the portal's OCDS packages. Such a reason is refused
at the one door of amendments (page and API alike) with the reason why, and a reason stored before this rule is
published without the IIN. An organisation's BIN (its 5th and 6th digits are no day of a month) stays allowed: the
contracts' parties are public.
"""

from __future__ import annotations

import json

from sqlalchemy import update

from app.contracts.models import ContractAmendment
from app.extensions import db
from tests.conftest import Browser
from tests.lifecycle.test_contract_amendments import form, samruk, snapshot

#: a valid IIN (born 1979-10-28, DESIGN §2's example) as people write it on paper, in groups
CHILD_IIN = "791028302728"
GROUPED = "7910 2830 2728"


def _ocds(app) -> str:
    return Browser(app).get("/public/ocds/releases.json?per_page=1000").get_data(as_text=True)


def test_an_amendment_reason_holding_a_childs_iin_is_refused_and_nothing_is_amended(world, app, browser):
    contract = samruk()
    before = snapshot(contract.id)
    official = browser("official_shymkent")
    for written in (CHILD_IIN, GROUPED, "791028-302728"):
        answer = official.post(f"/contracts/{contract.id}/amend", form(
            contract, rationale=f"Two more places for the pupil {written} who moved here in October."))
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422, written
        assert 'id="rationale-error"' in page and "published in the open data" in page
        assert snapshot(contract.id) == before
    assert CHILD_IIN not in _ocds(app)


def test_the_api_refuses_it_too(world, app, browser):
    contract = samruk()
    before = snapshot(contract.id)
    answer = browser("official_shymkent").post_json(f"/api/v1/contracts/{contract.id}/amendments", {
        "revision": 0, "places_primary": 2, "places_basic": 2, "places_secondary": 2,
        "amount_cap_tiyn": 400_000_000, "period_end": "2027-04-30", "effective_from": "2026-11-01",
        "rationale": f"Places for the pupil with IIN {CHILD_IIN}, moved from another school."})
    assert answer.status_code == 422
    assert "published in the open data" in answer.get_json()["errors"]["rationale"]
    assert snapshot(contract.id) == before


def test_a_bin_or_other_numbers_in_the_reason_stay_allowed(world, app, browser):
    contract = samruk()
    official = browser("official_shymkent")
    reason = "Places handed over from the school with BIN 950440001673 (letter 2026-10-05 No 123456)."
    assert official.post(f"/contracts/{contract.id}/amend", form(contract, rationale=reason)).status_code == 303
    assert reason in _ocds(app)


def test_the_amendment_page_says_the_reason_is_published(world, browser):
    page = browser("official_shymkent").get(f"/contracts/{samruk().id}/amend").get_data(as_text=True)
    assert 'id="rationale-public"' in page and 'aria-describedby="rationale-public"' in page


def test_a_reason_stored_before_the_rule_is_published_without_the_iin(world, app, browser):
    contract = samruk()
    assert browser("official_shymkent").post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303
    db.session.execute(update(ContractAmendment).values(
        rationale=f"Fewer students: the pupil {GROUPED} and two others left."))
    db.session.commit()
    published = _ocds(app)
    releases = json.loads(published)["releases"]
    rationale = next(r for r in releases if r["tag"] == ["contractAmendment"])["contracts"][0]["amendments"][0][
        "rationale"]
    assert CHILD_IIN not in published and GROUPED not in published and "2830" not in rationale
    assert rationale.startswith("Fewer students: the pupil ") and rationale.endswith(" and two others left.")
