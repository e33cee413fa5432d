"""The public caches: the background pass stores the open data and the country-wide downloads, pages serve what is
stored (the same documents as built live), and a pass rebuilds only what audit events since the last one touched."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.audit.models import AuditEvent
from app.background import tick
from app.contracts.models import Contract
from app.extensions import db
from app.people.models import Organisation
from app.public.cache import refresh_public
from app.public.models import OcdsRecord, OcdsRelease, PublicRefresh
from tests.conftest import Browser
from tests.helpers import add_paid_history
from tests.lifecycle.test_contract_amendments import form, samruk
from tests.public.test_ocds import _errors, _validator

OCDS_URLS = ("/public/ocds/releases.json?per_page=1000", "/public/ocds/releases.json?per_page=3&page=2",
             "/public/ocds/records.json", "/public/ocds/records.json?per_page=1&page=2")


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    db.session.commit()
    return world


def _documents(app, urls) -> dict[str, dict]:
    visitor = Browser(app)
    found = {}
    for url in urls:
        response = visitor.get(url)
        assert response.status_code == 200, url
        found[url] = json.loads(response.get_data(as_text=True))
    return found


def _without_date(documents: dict[str, dict]) -> dict[str, dict]:
    return {url: {k: v for k, v in document.items() if k != "publishedDate"} for url, document in documents.items()}


def _bulk_url() -> str:
    year = db.session.scalars(select(Contract).limit(1)).one().order.academic_year
    return f"/public/ocds/{year.replace('/', '-')}-releases.json"


def test_stored_open_data_is_the_same_as_built_live_and_validates(world, app):
    urls = (*OCDS_URLS, _bulk_url())
    live = _documents(app, urls)
    outcome = refresh_public()
    db.session.commit()
    assert outcome.full and outcome.orders == db.session.scalar(select(func.count(OcdsRecord.id))) > 0
    stored = _documents(app, urls)
    assert _without_date(stored) == _without_date(live)
    assert _errors(_validator("release-package-schema.json"), stored[OCDS_URLS[0]]) == []
    assert _errors(_validator("record-package-schema.json"), stored["/public/ocds/records.json"]) == []
    # served from the store: a release changed there (and only there) shows on the page
    row = db.session.scalars(select(OcdsRelease).order_by(OcdsRelease.order_number, OcdsRelease.position)).first()
    row.body = row.body.replace('"language":"en"', '"language":"kk"')
    db.session.commit()
    first = _documents(app, ["/public/ocds/releases.json?per_page=1"])["/public/ocds/releases.json?per_page=1"]
    assert first["releases"][0]["language"] == "kk"


def test_the_country_download_is_served_as_stored_in_the_visitors_language(world, app):
    visitor = Browser(app)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    live = visitor.get("/public/data/schools.csv").get_data(as_text=True)
    refresh_public()
    db.session.commit()
    assert visitor.get("/public/data/schools.csv").get_data(as_text=True) == live
    school = db.session.scalars(select(Organisation).where(Organisation.name == "Bilim Innovation School")).one()
    school.name = "Renamed without an audited operation"
    db.session.commit()
    stored = visitor.get("/public/data/schools.csv").get_data(as_text=True)
    assert "Bilim Innovation School" in stored and "Renamed" not in stored
    assert "Renamed" in visitor.get(f"/public/data/schools.csv?region={school.region_id}").get_data(as_text=True)
    english = Browser(app).get("/public/data/schools.json")
    assert json.loads(english.get_data(as_text=True))["rows"] and "attachment" in english.headers["Content-Disposition"]


def test_a_pass_without_new_audit_events_does_nothing(world, app):
    refresh_public()
    db.session.commit()
    again = refresh_public()
    assert again.skipped and (again.figure_rows, again.orders, again.downloads) == (0, 0, 0)


@pytest.fixture()
def no_overlap(app, monkeypatch):
    """Passes look back at no event before the watermark, so what one event touches can be told apart."""
    monkeypatch.setitem(app.config, "PUBLIC_REFRESH_OVERLAP_EVENTS", 0)


def test_an_amendment_rebuilds_only_its_order_and_the_record_shows_it(world, app, browser, no_overlap):
    refresh_public()
    db.session.commit()
    contract = samruk()
    assert browser("official_shymkent").post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303
    before = _documents(app, ["/public/ocds/records.json"])["/public/ocds/records.json"]
    assert "contractAmendment" not in json.dumps(before), "pages serve the last pass until the next one"
    outcome = refresh_public()
    db.session.commit()
    assert not outcome.full and outcome.orders == 1 and outcome.figure_rows == 0 and outcome.downloads == 0
    records = _documents(app, ["/public/ocds/records.json"])["/public/ocds/records.json"]
    record = next(r for r in records["records"] if r["ocid"].endswith(contract.order.number))
    merged = next(c for c in record["compiledRelease"]["contracts"] if c["id"] == contract.number)
    assert merged["value"]["amount"] == 5_000_000 and len(merged["amendments"]) == 1


def test_an_event_committed_after_the_pass_moved_past_its_id_is_still_taken(world, app, browser, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_REFRESH_OVERLAP_EVENTS", 1)  # look back at one event: the amendment's
    refresh_public()
    db.session.commit()
    contract = samruk()
    assert browser("official_shymkent").post(f"/contracts/{contract.id}/amend", form(contract)).status_code == 303
    state = db.session.get(PublicRefresh, 1)
    state.watermark = db.session.scalar(select(func.max(AuditEvent.id)))  # as if the pass had seen it, not its data
    db.session.commit()
    db.session.add(AuditEvent(chain="probe", seq=1, at=clock.now(), action="probe", object_type="probe",
                              prev_hash="0", hash="0", key_id="probe", details={}))
    db.session.commit()  # a newer event, so the pass runs; the amendment's own id is behind the watermark
    assert refresh_public().orders == 1
    db.session.commit()
    assert "contractAmendment" in Browser(app).get("/public/ocds/records.json").get_data(as_text=True)
    db.session.delete(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == "probe")).one())
    db.session.commit()


def test_a_payment_rebuilds_its_schools_figures_and_the_downloads(world, app, no_overlap):
    refresh_public()
    db.session.commit()
    from app.acts.operations import prefill_lines
    from app.contracts.models import ContractAct
    from app.engine.runtime import complete_task
    from tests.helpers import open_task, user

    link = db.session.scalars(select(ContractAct).order_by(ContractAct.period)).first()
    act = link.act
    complete_task(open_task(act, "submit_act").id, user("accountant4"), data={"lines": prefill_lines(act)})
    complete_task(open_task(act, "accept_act").id, user("official_shymkent"), data={"decision": "accept"})
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  data={"order_number": "PP-2026-0099", "paid_on": clock.today().isoformat()})
    db.session.commit()
    outcome = refresh_public()
    db.session.commit()
    assert not outcome.full and outcome.figure_rows == 1 and outcome.orders == 1 and outcome.downloads > 0
    assert "PP-2026-0099" in Browser(app).get("/public/ocds/releases.json?per_page=1000").get_data(as_text=True)
    assert "Samruk Private School" in Browser(app).get("/public/data/schools.csv").get_data(as_text=True)


def test_the_background_pass_keeps_the_caches_and_rebuilds_everything_once_a_day(world, app):
    tick(app)
    state = db.session.get(PublicRefresh, 1)
    assert state is not None and db.session.scalar(select(func.count(OcdsRecord.id))) > 0
    with clock.FrozenClock(clock.now() + timedelta(days=1)):
        outcome = refresh_public()
    assert outcome.full and not outcome.skipped
