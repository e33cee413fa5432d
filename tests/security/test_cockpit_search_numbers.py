"""The cockpit's search takes a bare number as an instance id as well as the start of a business key. A number past
the ids' integer column (2,147,483,647: ten or eleven digits, like the start of a BIN or an act number) was compared
with it anyway, and PostgreSQL refused the query: "Invalid input … Nothing was saved" (422) instead of the
instances whose title begins with it. (SQLite compares any integer, so only a PostgreSQL run shows it.)"""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("number", ["2147483648", "99999999999"])
def test_a_number_beyond_any_id_still_searches_the_titles(world, browser, number):
    response = browser("owner").get("/instances", query_string={"q": number})
    assert response.status_code == 200
    assert re.findall(r'data-instance-id="(\d+)"', response.get_data(as_text=True)) == []


def test_an_instance_is_still_found_by_its_id(world, browser):
    owner = browser("owner")
    ids = re.findall(r'data-instance-id="(\d+)"', owner.get("/instances").get_data(as_text=True))
    found = owner.get("/instances", query_string={"q": ids[0]}).get_data(as_text=True)
    assert ids[0] in re.findall(r'data-instance-id="(\d+)"', found)


def test_a_region_number_beyond_its_column_is_ignored_with_the_message(world, browser):
    # ("version" is a version counter's name: the request guard answers 404 past the column before any view runs)
    response = browser("owner").get("/instances", query_string={"region": "99999999999"})
    assert response.status_code == 200
    assert "filter was ignored" in response.get_data(as_text=True)
