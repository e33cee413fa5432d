"""The API's lists come a page at a time with their totals; before, /api/v1/tasks stopped at 500 without a word."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("username, path", [("official", "/api/v1/tasks"), ("operator", "/api/v1/orders")])
def test_a_list_is_paged_and_the_pages_add_up_to_the_whole(world, browser, username, path):
    from tests.inbox.conftest import make_clean_acts

    make_clean_acts()  # four acts waiting for the official
    client = browser(username)
    whole = client.get(path, query_string={"page_size": 500})
    everything = [item["id"] for item in whole.get_json()]
    total = json.loads(whole.headers["X-Pagination"])["total"]
    assert total == len(everything) >= 2, (path, total)
    pages, page = [], 1
    while True:
        answer = client.get(path, query_string={"page": page, "page_size": 1})
        header = json.loads(answer.headers["X-Pagination"])
        assert answer.status_code == 200 and header["total"] == total and header["page"] == page
        pages += [item["id"] for item in answer.get_json()]
        if "next_page" not in header:
            break
        page = header["next_page"]
    assert pages == everything, "no item twice, none skipped, in the same order"


def test_the_contracts_list_says_its_total(world, browser):
    answer = browser("operator").get("/api/v1/contracts")
    header = json.loads(answer.headers["X-Pagination"])
    assert header["total"] == len(answer.get_json()) and header["page"] == 1


def test_an_impossible_page_size_is_a_clear_error(world, browser):
    client = browser("official")
    for size in (0, 501, -1, "x"):
        answer = client.get("/api/v1/tasks", query_string={"page_size": size})
        assert answer.status_code == 422, size
        assert answer.get_json()["errors"], size
