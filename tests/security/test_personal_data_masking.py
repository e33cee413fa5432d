"""Children's IINs and names of an act follow one rule on every way out, not only on the act's page: in full for
the roles whose work needs them (the school, the department that accepts the act), masked for a process owner or
an administrator — in the API's act document and in the printable act as on the page (app.people.access)."""

from __future__ import annotations

import re

import pytest

from app.acts.models import Act
from tests.conftest import Browser
from tests.helpers import act_of_school

FULL = ("accountant3", "official_almaty")  # Alatau Lyceum's accountant, the Almaty department's official
MASKED = ("owner", "admin")
MASKED_IIN = re.compile(r"^••••••••[0-9]{4}$")


def alatau() -> Act:
    act = act_of_school("Alatau Lyceum")
    assert act.accepted_lines > 0 and act.total_lines > act.accepted_lines, "the seeded act has both outcomes"
    return act


@pytest.mark.parametrize("username", MASKED)
def test_the_api_masks_the_childrens_iins_and_names_for_other_roles(world, app, username):
    act = alatau()
    response = Browser(app, username).get(f"/api/v1/acts/{act.id}")
    assert response.status_code == 200
    lines = response.get_json()["lines"]
    assert len(lines) == act.total_lines, "masked, not dropped"
    assert all(MASKED_IIN.match(line["iin"]) and line["full_name"] == "•••" for line in lines), lines[0]
    text = response.get_data(as_text=True)
    for line in act.lines:
        assert line.iin not in text and line.full_name not in text, f"{username} reads a child's IIN or name"
    assert [line["iin"][-4:] for line in lines] == [line.iin[-4:] for line in act.lines], "lines told apart"


@pytest.mark.parametrize("username", FULL)
def test_the_api_gives_the_school_and_the_department_the_children_in_full(world, app, username):
    act = alatau()
    response = Browser(app, username).get(f"/api/v1/acts/{act.id}")
    assert response.status_code == 200
    assert [(line["iin"], line["full_name"]) for line in response.get_json()["lines"]] == \
        [(line.iin, line.full_name) for line in act.lines]


def _accepted(act: Act) -> list:
    return [line for line in act.lines if line.outcome == "accepted"]


@pytest.mark.parametrize("username", MASKED)
def test_the_printable_act_masks_the_childrens_iins_and_names_for_other_roles(world, app, username):
    act = alatau()
    response = Browser(app, username).get(f"/acts/{act.id}/document")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for line in act.lines:
        assert line.iin not in text and line.full_name not in text, f"{username} reads a child's IIN or name"
    sections = 2  # Kazakh and Russian
    assert len(re.findall(r"••••••••[0-9]{4}", text)) == sections * len(_accepted(act)), "masked, not dropped"


@pytest.mark.parametrize("username", FULL)
def test_the_printable_act_shows_the_school_and_the_department_the_children_paid_for(world, app, username):
    act = alatau()
    text = Browser(app, username).get(f"/acts/{act.id}/document").get_data(as_text=True)
    assert all(line.iin in text and line.full_name in text for line in _accepted(act))
    assert "••••" not in text
