"""The operator finds instances: by state, process and version, organisation, region, number, current step and
dates; counts per state; paging; bad filter values are a message, never a 500; trial runs stay out."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.engine.models import ProcessInstance
from app.extensions import db
from app.processes import queries
from tests.helpers import user


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-instance-id="(\d+)"', page)]


def test_operator_searches_and_filters_the_instance_list(waits, browser):
    operator = browser("operator")
    everything = operator.get("/instances")
    assert everything.status_code == 200
    all_ids = _ids(everything.get_data(as_text=True))
    assert waits.id in all_ids and len(all_ids) > 1

    def ids(**params) -> list[int]:
        response = operator.get("/instances", query_string=params)
        assert response.status_code == 200
        return _ids(response.get_data(as_text=True))

    assert ids(q="w-0001") == [waits.id]
    assert ids(q=str(waits.id)) == [waits.id]
    assert ids(process="waits") == [waits.id]
    assert ids(process="waits", version="1") == [waits.id]
    assert ids(process="waits", version="2") == []
    assert waits.id in ids(org="Bilim") and waits.id not in ids(org="Nur Private")
    bilim = user("accountant").organisation
    assert waits.id in ids(org=bilim.bin)
    assert waits.id in ids(region=str(bilim.region_id))
    assert waits.id not in ids(region=str(user("accountant3").organisation.region_id))
    assert waits.id in ids(element="fill") and waits.id not in ids(element="review")
    assert waits.id in ids(state="waiting") and waits.id not in ids(state="completed")
    assert waits.id in ids(started_from="2026-11-05", started_to="2026-11-05")
    assert waits.id not in ids(started_from="2026-11-06")
    assert waits.id in ids(updated_to="2026-11-05") and waits.id not in ids(updated_to="2026-11-04")


def test_counts_per_state_and_paging(waits, browser):
    operator = browser("operator")
    page = operator.get("/instances").get_data(as_text=True)
    running = db.session.scalar(select(db.func.count()).select_from(ProcessInstance)
                                .where(ProcessInstance.status == "running"))
    assert re.search(rf'data-state="running"[^>]*>[^<]*<span class="badge bg-secondary count">{running}</span>', page)
    counts = queries.state_counts(user("operator"), queries.InstanceFilter(), cap=2)
    assert counts["running"] == min(running, 2), "counts stop at the cap"
    assert queries.state_counts(user("operator"), queries.InstanceFilter(element="fill")) == {}
    assert 'id="no-counts"' in operator.get("/instances?element=fill").get_data(as_text=True)
    first = queries.instance_page(user("operator"), queries.InstanceFilter(), page=1, page_size=2)
    second = queries.instance_page(user("operator"), queries.InstanceFilter(), page=2, page_size=2)
    assert first.has_next and not set(i.id for i in first.instances) & set(i.id for i in second.instances)


def test_bad_filter_values_are_explained_not_a_500(waits, browser):
    operator = browser("operator")
    for params in ({"state": "exploded"}, {"version": "v2", "process": "waits"}, {"started_from": "05.11.2026"},
                   {"region": "'; drop table"}, {"page": "-3"}, {"page": "abc"}, {"trial": "maybe"},
                   {"q": "%_\\"}, {"org": "%"}, {"updated_to": "2026-13-45"}):
        response = operator.get("/instances", query_string=params)
        assert response.status_code == 200, params
    assert "Unknown state" in operator.get("/instances?state=exploded").get_data(as_text=True)


def test_the_list_is_for_the_cockpit_roles_and_keeps_to_scope(waits, browser):
    assert browser("accountant").get("/instances").status_code == 403
    assert browser("official").get("/instances").status_code == 403
    for login in ("auditor", "owner", "admin"):
        assert waits.id in _ids(browser(login).get("/instances").get_data(as_text=True))
    # The base query holds the scope: a regional user would see only their region.
    official = user("official_almaty")
    assert waits.id not in [i.id for i in queries.instance_page(official, queries.InstanceFilter()).instances]


def test_the_list_costs_the_same_statements_whatever_its_rows(waits, browser):
    """An N+1 (a look-up per listed instance, e.g. its organisation's name) fails here: more rows from more
    organisations on the page, the same number of statements."""
    from app.engine import runtime
    from app.people.models import Organisation
    from tests.test_query_budget import counting

    operator = browser("operator")
    operator.get("/instances")
    with counting() as before:
        page = operator.get("/instances").get_data(as_text=True)
    shown_before = len(_ids(page))
    schools = db.session.scalars(select(Organisation).where(Organisation.kind == "school")).all()
    assert len(schools) >= 3
    for n, school in enumerate(schools * 3):
        runtime.start_instance("waits", title=f"W-{100 + n:04d} · {school.name}", actor=user("official"),
                               region_id=school.region_id, organisation_id=school.id, data={})
    db.session.commit()
    with counting() as after:
        page = operator.get("/instances").get_data(as_text=True)
    assert len(_ids(page)) > shown_before
    assert all(s.name in page for s in schools), "every organisation's name is on the page"
    assert after.count == before.count, after.report()
