"""From a red flag down to the act: children's IINs and names only for the roles whose work needs them (the school,
the department, the operator, the auditor); a process owner or an administrator follows the same drill-down and
sees them masked, and cannot export the lines."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Browser
from tests.helpers import act_of_school

FULL = ("official_almaty", "operator", "auditor")
MASKED = ("owner", "admin")


def _drill_down(app, username: str) -> tuple[str, str]:
    """The analytics page of the flagged school, and the act its first link leads to."""
    act = act_of_school("Alatau Lyceum")
    visitor = Browser(app, username)
    school_page = visitor.get(f"/analytics/schools/{act.school_id}")
    assert school_page.status_code == 200, username
    text = school_page.get_data(as_text=True)
    assert f"/acts/{act.id}" in text, "the drill-down links to the act"
    act_page = visitor.get(f"/acts/{act.id}")
    assert act_page.status_code == 200
    return text, act_page.get_data(as_text=True)


@pytest.mark.parametrize("username", FULL + MASKED)
def test_the_analytics_pages_themselves_carry_no_personal_data(world, app, username):
    act = act_of_school("Alatau Lyceum")
    school_page, _act_page = _drill_down(app, username)
    for line in act.lines:
        assert line.iin not in school_page and line.full_name not in school_page


@pytest.mark.parametrize("username", FULL)
def test_roles_that_work_with_the_children_see_them_in_the_act(world, app, username):
    act = act_of_school("Alatau Lyceum")
    _school, act_page = _drill_down(app, username)
    assert all(line.iin in act_page and line.full_name in act_page for line in act.lines[:20])
    assert Browser(app, username).get(f"/acts/{act.id}/lines.csv").status_code == 200


@pytest.mark.parametrize("username", MASKED)
def test_other_analysts_see_the_act_with_iins_and_names_masked(world, app, username):
    act = act_of_school("Alatau Lyceum")
    _school, act_page = _drill_down(app, username)
    for line in act.lines:
        assert line.iin not in act_page, f"{username} sees an IIN"
        assert line.full_name not in act_page, f"{username} sees a child's name"
    assert len(re.findall(r"••••••••[0-9]{4}", act_page)) >= len(act.lines[:20]), "masked, not dropped"
    assert 'id="export-filtered-csv"' not in act_page
    visitor = Browser(app, username)
    assert visitor.get(f"/acts/{act.id}/lines.csv").status_code == 403
    assert visitor.get(f"/acts/{act.id}/lines.xlsx").status_code == 403
