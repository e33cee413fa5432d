"""OCDS 1.1 open data: every release and record package validates against the official schemas, and the
merged records carry the values of the orders, contracts and payments they come from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import select

from app import clock
from app.contracts.models import Contract, ContractAct
from app.engine.runtime import complete_task
from app.extensions import db
from app.orders.models import StateOrder
from app.payments.models import Payment
from tests.conftest import Browser
from tests.helpers import open_task, user

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "ocds" / "1__1__5"
BASE = "https://standard.open-contracting.org/schema/1__1__5/"


def _validator(name: str) -> Draft4Validator:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        resources.append((BASE + path.name, Resource.from_contents(json.loads(path.read_text()), DRAFT4)))
    registry = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    return Draft4Validator(schema, registry=registry, format_checker=FormatChecker())


def _errors(validator: Draft4Validator, document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture()
def paid_contract_act(world):
    """Samruk Private School's first contract month: submitted, accepted and paid through the workflow."""
    link = db.session.scalars(select(ContractAct).order_by(ContractAct.period)).first()
    act = link.act
    from app.acts.operations import prefill_lines

    complete_task(open_task(act, "submit_act").id, user("accountant4"), data={"lines": prefill_lines(act)})
    db.session.commit()
    complete_task(open_task(act, "accept_act").id, user("official_shymkent"), data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": "PP-2026-0042", "paid_on": clock.today().isoformat()})
    db.session.commit()
    return db.session.scalars(select(Payment).where(Payment.act_id == act.id)).one(), link.contract


def test_release_packages_validate_and_cover_every_stage(paid_contract_act, app):
    payment, contract = paid_contract_act
    package = json.loads(Browser(app).get("/public/ocds/releases.json?per_page=1000").get_data(as_text=True))
    assert _errors(_validator("release-package-schema.json"), package) == []
    tags = {tag for release in package["releases"] for tag in release["tag"]}
    assert tags == {"planning", "tender", "award", "contract", "implementation"}
    ocids = {release["ocid"] for release in package["releases"]}
    orders = db.session.scalars(select(StateOrder)).all()
    assert ocids == {f"ocds-tpsrys-{order.number}" for order in orders}
    ids = [release["id"] for release in package["releases"]]
    assert len(ids) == len(set(ids)) and not any("#" in i for i in ids)
    transaction = next(r for r in package["releases"] if "implementation" in r["tag"])
    tx = transaction["contracts"][0]["implementation"]["transactions"][0]
    assert tx["id"] == "PP-2026-0042" and tx["value"] == {"amount": payment.amount_tiyn / 100, "currency": "KZT"}
    assert tx["payee"]["id"] == f"KZ-BIN-{contract.school.bin}"


def test_record_packages_validate_and_the_compiled_release_has_the_contracts_values(paid_contract_act, app):
    payment, contract = paid_contract_act
    package = json.loads(Browser(app).get("/public/ocds/records.json").get_data(as_text=True))
    assert _errors(_validator("record-package-schema.json"), package) == []
    record = next(r for r in package["records"] if r["ocid"].endswith(contract.order.number))
    compiled = record["compiledRelease"]
    assert compiled["planning"]["budget"]["amount"] == {"amount": contract.order.budget_tiyn // 100, "currency": "KZT"}
    assert compiled["tender"]["tenderPeriod"]["endDate"].startswith(contract.order.window_closes.isoformat())
    merged = next(c for c in compiled["contracts"] if c["id"] == contract.number)
    assert merged["value"] == {"amount": contract.amount_cap_tiyn / 100, "currency": "KZT"}
    assert merged["period"]["startDate"].startswith(contract.period_start.isoformat())
    # the payment's release and the contract's release merged into one contract (by id), nothing lost
    assert merged["implementation"]["transactions"][0]["value"]["amount"] == payment.amount_tiyn / 100
    assert merged["status"] == "active" and merged["dateSigned"]
    award = next(a for a in compiled["awards"] if a["id"] == contract.application.number)
    assert sum(i["quantity"] for i in award["items"]) == (contract.places_primary + contract.places_basic
                                                          + contract.places_secondary)
    parties = {p["id"]: p for p in compiled["parties"]}
    assert set(parties[f"KZ-BIN-{contract.school.bin}"]["roles"]) >= {"supplier", "payee"}
    assert parties[compiled["buyer"]["id"]]["identifier"]["scheme"] == "KZ-BIN"


def test_release_pages_link_to_each_other_and_the_bulk_file_is_a_download(world, app):
    visitor = Browser(app)
    first = json.loads(visitor.get("/public/ocds/releases.json?per_page=2").get_data(as_text=True))
    assert len(first["releases"]) == 2 and "prev" not in first["links"]
    second = json.loads(visitor.get(first["links"]["next"].split("localhost", 1)[-1]).get_data(as_text=True))
    assert {r["id"] for r in second["releases"]}.isdisjoint({r["id"] for r in first["releases"]})
    year = db.session.scalars(select(StateOrder.academic_year)).first()
    bulk = visitor.get(f"/public/ocds/{year.replace('/', '-')}-releases.json")
    assert bulk.status_code == 200 and "attachment" in bulk.headers["Content-Disposition"]
    assert _errors(_validator("release-package-schema.json"), json.loads(bulk.get_data(as_text=True))) == []


@pytest.mark.parametrize("url", ["/public/ocds/releases.json?year=1999/2000", "/public/ocds/releases.json?page=0",
                                 "/public/ocds/records.json?per_page=100000", "/public/ocds/2026-2030-releases.json",
                                 "/public/ocds/1990-1991-releases.json"])
def test_bad_paging_or_unknown_years_are_404(world, app, url):
    assert Browser(app).get(url).status_code == 404


def test_a_validator_that_can_fail(world, app):
    """The schemas are really applied: a release without its ocid is refused."""
    package = json.loads(Browser(app).get("/public/ocds/releases.json").get_data(as_text=True))
    del package["releases"][0]["ocid"]
    assert any("ocid" in e for e in _errors(_validator("release-package-schema.json"), package))
    assert db.session.scalars(select(Contract)).first() is not None


def test_following_next_links_yields_every_release_of_the_year_once(paid_contract_act, app):
    visitor = Browser(app)
    year = db.session.scalars(select(StateOrder.academic_year)).first()
    bulk = json.loads(visitor.get(f"/public/ocds/{year.replace('/', '-')}-releases.json").get_data(as_text=True))
    paged, url, pages = [], f"/public/ocds/releases.json?year={year}&per_page=3", 0
    while url:
        package = json.loads(visitor.get(url).get_data(as_text=True))
        paged += [release["id"] for release in package["releases"]]
        url = package.get("links", {}).get("next", "").split("localhost", 1)[-1] or None
        pages += 1
    assert paged == [release["id"] for release in bulk["releases"]] and pages == -(-len(paged) // 3)


def test_a_forged_host_is_refused_when_the_deployment_names_its_hosts(world, app, monkeypatch):
    """Attacker probe: ``Host: evil.example`` was written into open data's "uri" and "next" links."""
    from app.config import build_config

    monkeypatch.setenv("TRUSTED_HOSTS", "tapsyrys.example.kz, www.tapsyrys.example.kz")
    assert build_config(Path(app.instance_path))["TRUSTED_HOSTS"] == ["tapsyrys.example.kz", "www.tapsyrys.example.kz"]
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["tapsyrys.example.kz"])
    client = app.test_client()
    forged = client.get("/public/ocds/releases.json?per_page=1", headers={"Host": "evil.example"})
    assert forged.status_code == 400 and b"evil.example" not in forged.data
    good = client.get("/public/ocds/releases.json?per_page=1", headers={"Host": "tapsyrys.example.kz"})
    assert good.status_code == 200
    assert good.get_json()["uri"].startswith("http://tapsyrys.example.kz/public/ocds/releases.json")


def test_before_the_figures_are_built_a_payment_for_fewer_than_five_students_is_not_published(paid_contract_act):
    """Until the first pass builds the figures, a payment's amount is withheld when its month paid for fewer than 5
    students — students, not lines: four children, one of them on two lines (moved to another room, or class, within
    the month), are four. Its amount divided by the norm would give the small count away."""
    from app.acts.models import Act
    from app.public import open_contracting
    from app.public.models import PublicSchoolMonth

    payment, contract = paid_contract_act
    act = db.session.get(Act, payment.act_id)
    lines = sorted(act.lines, key=lambda ln: ln.line_no)
    for line in lines[5:]:
        db.session.delete(line)
    lines[4].iin, lines[4].full_name = lines[0].iin, lines[0].full_name
    for line in lines[:5]:
        line.outcome, line.rule_code = "accepted", None
    act.accepted_lines = act.total_lines = 5
    db.session.flush()
    assert db.session.scalar(select(PublicSchoolMonth.id).where(PublicSchoolMonth.school_id == act.school_id,
                                                                PublicSchoolMonth.period == act.period)) is None
    assert payment.id in open_contracting.load([contract.order]).hidden_payments
