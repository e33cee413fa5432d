"""A contract amended: the open data gains a ``contractAmendment`` release pointing at the release it amends, the
signed contract's release keeps the signed values, and the record's compiled release carries the amended ones."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.contracts.models import Contract
from app.extensions import db
from tests.conftest import Browser
from tests.lifecycle.test_contract_amendments import form, samruk
from tests.public.test_ocds import _errors, _validator


def _amend_twice(app, browser) -> Contract:
    contract = samruk()
    official = browser("official_shymkent")
    assert official.post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303
    assert official.post(f"/contracts/{contract.id}/amend", form(
        samruk(), places_primary="2", amount="7000000.50", period_end="2027-04-30", effective_from="2026-11",
        rationale="Two primary places restored after the inspection.")).status_code == 303
    return samruk()


def test_amendment_releases_validate_and_point_at_what_they_amend(world, app, browser):
    contract = _amend_twice(app, browser)
    signed_amount = contract.amendments[0].before["amount_cap_tiyn"]
    package = json.loads(Browser(app).get("/public/ocds/releases.json?per_page=1000").get_data(as_text=True))
    assert _errors(_validator("release-package-schema.json"), package) == []
    by_id = {r["id"]: r for r in package["releases"]}
    original = next(r for r in package["releases"] if r["tag"] == ["contract"]
                    and r["contracts"][0]["id"] == contract.number)
    assert original["contracts"][0]["value"]["amount"] == signed_amount / 100
    amended = [r for r in package["releases"] if r["tag"] == ["contractAmendment"]]
    assert len(amended) == 2
    first, second = (r["contracts"][0]["amendments"][0] for r in amended)
    assert first["amendsReleaseID"] == original["id"] and first["releaseID"] == amended[0]["id"]
    assert second["amendsReleaseID"] == amended[0]["id"] and second["releaseID"] == amended[1]["id"]
    assert first["rationale"].startswith("Fewer students") and by_id[second["releaseID"]]["date"] == second["date"]
    assert amended[1]["contracts"][0]["value"] == {"amount": 7000000.5, "currency": "KZT"}


def test_the_record_merges_the_amendments_into_the_contract(world, app, browser):
    contract = _amend_twice(app, browser)
    package = json.loads(Browser(app).get("/public/ocds/records.json").get_data(as_text=True))
    assert _errors(_validator("record-package-schema.json"), package) == []
    record = next(r for r in package["records"] if r["ocid"].endswith(contract.order.number))
    merged = next(c for c in record["compiledRelease"]["contracts"] if c["id"] == contract.number)
    assert merged["value"] == {"amount": 7000000.5, "currency": "KZT"}
    assert merged["period"]["endDate"].startswith("2027-04-30")
    assert {i["id"]: i["quantity"] for i in merged["items"]} == {"primary": 2, "basic": 1, "secondary": 1}
    assert [a["id"] for a in merged["amendments"]] == [f"{contract.number}-A1", f"{contract.number}-A2"]
    assert merged["dateSigned"] and merged["status"] == "active"
    assert db.session.scalars(select(Contract).where(Contract.id == contract.id)).one().amount_cap_tiyn == 700_000_050
