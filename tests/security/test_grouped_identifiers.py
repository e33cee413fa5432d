"""Attacker probe: an IIN written in groups ("900101 300 123", a non-breaking space copied from a table, hyphens) was
read as its twelve digits by the page's form and a lines file, but refused by the JSON API, which took the data as
sent ("Not a valid IIN"). The API now reads it as the page does (app.engine.forms.typed_json). And as money: one
child on two lines written two ways is one IIN to the verification — one line is paid, the other a duplicate_line,
whichever door the act came through."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.acts.models import ActLine
from app.acts.operations import prefill_lines
from app.extensions import db
from app.people.tokens import create_token
from tests.conftest import Browser
from tests.helpers import act_of_school, lines_form, open_task, user


def _grouped(iin: str, how: str) -> str:
    return {"spaces": f"{iin[:6]} {iin[6:9]} {iin[9:]}", "nbsp": f"{iin[:6]}\u00a0{iin[6:]}",
            "hyphens": f"{iin[:4]}-{iin[4:8]}-{iin[8:]}", "narrow": f"{iin[:6]}\u202f{iin[6:]}"}[how]


def _api(browser):
    accountant = browser("accountant")
    _row, secret = create_token(user("accountant"), "grouped", ["read", "tasks"], 1)
    db.session.commit()
    api = Browser(accountant.app)
    api.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return api


def _lines_of(act) -> list[tuple[str, str, int]]:
    db.session.expire_all()
    return [(line.iin, line.outcome, line.amount_tiyn) for line in db.session.scalars(
        select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.id))]


@pytest.mark.parametrize("how", ["spaces", "nbsp", "hyphens", "narrow"])
def test_the_api_reads_a_grouped_iin_as_the_page_does(world, browser, how):
    act = act_of_school("Bilim Innovation School")
    lines = prefill_lines(act)[:3]
    sent = [dict(line, iin=_grouped(line["iin"], how)) if i == 0 else line for i, line in enumerate(lines)]
    task = open_task(act, "submit_act")
    answer = _api(browser)._request("post", f"/api/v1/tasks/{task.id}/complete", json={"data": {"lines": sent}})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert [iin for iin, _outcome, _amount in _lines_of(act)] == [line["iin"] for line in lines]


def test_the_api_still_refuses_an_iin_that_grouping_does_not_make_valid(world, browser):
    act = act_of_school("Bilim Innovation School")
    line = prefill_lines(act)[0]
    wrong = line["iin"][:11] + str((int(line["iin"][11]) + 1) % 10)  # another check digit
    task = open_task(act, "submit_act")
    for iin in (_grouped(wrong, "spaces"), "900101 300 12", "９００１０１３００１２３"):
        answer = _api(browser)._request("post", f"/api/v1/tasks/{task.id}/complete",
                                        json={"data": {"lines": [dict(line, iin=iin)]}})
        assert answer.status_code == 422, iin
        assert "lines.0.iin" in answer.get_json()["errors"], iin
    assert _lines_of(act) == []


@pytest.mark.parametrize("door", ["page", "api"])
def test_one_child_on_two_lines_written_two_ways_is_paid_once(world, browser, door):
    act = act_of_school("Bilim Innovation School")
    lines = prefill_lines(act)[:2]
    twice = [*lines, dict(lines[0], iin=_grouped(lines[0]["iin"], "nbsp"))]
    task = open_task(act, "submit_act")
    if door == "page":
        page = browser("accountant").post(f"/tasks/{task.id}", lines_form(twice))
        assert page.status_code == 302
    else:
        answer = _api(browser)._request("post", f"/api/v1/tasks/{task.id}/complete", json={"data": {"lines": twice}})
        assert answer.status_code == 200, answer.get_data(as_text=True)
    stored = _lines_of(act)
    assert [iin for iin, _o, _a in stored] == [lines[0]["iin"], lines[1]["iin"], lines[0]["iin"]]
    first, _second, copy = stored
    assert copy[1:] == ("excluded", 0)
    assert first[2] > 0  # the child's month is paid on the first line only
    assert db.session.scalars(select(ActLine.rule_code).where(
        ActLine.act_id == act.id, ActLine.iin == lines[0]["iin"], ActLine.outcome == "excluded")).all() \
        == ["duplicate_line"]
