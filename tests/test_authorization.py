"""A user of school B / region B gets nothing of school A's tasks, acts or instances."""

from __future__ import annotations

import pytest

from tests.helpers import act_of_school, open_task

SCHOOL_A = "Bilim Innovation School"


@pytest.fixture()
def school_a(world):
    act = act_of_school(SCHOOL_A)
    return act, open_task(act, "submit_act")


@pytest.mark.parametrize("intruder", ["accountant2", "accountant3", "official_almaty", "director"])
def test_outsiders_cannot_see_or_complete_school_a_task(school_a, browser, intruder):
    act, task = school_a
    other = browser(intruder)
    assert f"/tasks/{task.id}" not in other.get("/inbox").get_data(as_text=True)
    if intruder in ("accountant2", "accountant3", "official_almaty"):
        assert other.get(f"/tasks/{task.id}").status_code == 404
        assert other.get(f"/acts/{act.id}").status_code == 404
        assert other.get(f"/instances/{act.instance_id}").status_code == 404
        assert other.get(f"/instances/{act.instance_id}/diagram.bpmn").status_code == 404
        assert other.get(f"/api/v1/acts/{act.id}").status_code == 404
        assert other.get(f"/api/v1/instances/{act.instance_id}").status_code == 404
        assert f"ACT-{act.school.bin}" not in other.get("/acts").get_data(as_text=True)
    # Same organisation but another role (the director) may look but not complete the accountant's task.
    response = other.post(f"/tasks/{task.id}", {"lines.0.iin": "791028302728"})
    assert response.status_code == 404
    assert other.post_json(f"/api/v1/tasks/{task.id}/complete", {"data": {"lines": []}}).status_code == 404
    assert open_task(act, "submit_act").status == "open"


def test_department_sees_its_region_only(world, browser):
    astana = browser("official")
    almaty = browser("official_almaty")
    lyceum = act_of_school("Alatau Lyceum")
    accept = open_task(lyceum, "accept_act")
    assert f"/tasks/{accept.id}" in almaty.get("/inbox").get_data(as_text=True)
    assert f"/tasks/{accept.id}" not in astana.get("/inbox").get_data(as_text=True)
    assert astana.get(f"/tasks/{accept.id}").status_code == 404
    assert astana.post(f"/tasks/{accept.id}", {"decision": "accept"}).status_code == 404
    assert open_task(lyceum, "accept_act").status == "open"
    assert almaty.get(f"/acts/{lyceum.id}").status_code == 200


def test_national_roles_read_everything(world, browser):
    act = act_of_school(SCHOOL_A)
    for username in ("operator", "auditor", "owner"):
        assert browser(username).get(f"/instances/{act.instance_id}").status_code == 200


def test_pages_require_login(world, browser):
    anonymous = browser()
    act = act_of_school(SCHOOL_A)
    for url in ("/inbox", f"/acts/{act.id}", f"/instances/{act.instance_id}"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert anonymous.get("/api/v1/tasks").status_code == 401


def test_api_lists_only_my_tasks(world, browser):
    accountant = browser("accountant")
    tasks = accountant.get("/api/v1/tasks").get_json()
    assert [t["spec_name"] for t in tasks] == ["submit_act"]
    assert {t["organisation_id"] for t in tasks} == {act_of_school(SCHOOL_A).school_id}
