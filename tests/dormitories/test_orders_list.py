"""The state orders list of a funded organisation's person names the orders they may apply to: a school's accountant
was listed the region's dormitory order (no Apply button for her, and no word why); the department sees both."""

from __future__ import annotations

import re


def _numbers(page: str) -> set[str]:
    table = re.search(r'<table[^>]*id="orders-table".*?</table>', page, re.S)
    return set(re.findall(r'href="/orders/\d+">([^<]+)</a>', table.group(0) if table else page))


def test_each_funded_organisation_sees_its_own_instruments_orders(dorm_world, browser):
    school = _numbers(browser("accountant").get("/orders").get_data(as_text=True))
    dormitory = _numbers(browser("dorm_accountant").get("/orders").get_data(as_text=True))
    department = _numbers(browser("official").get("/orders").get_data(as_text=True))
    assert school and dormitory
    assert not school & dormitory, (school, dormitory)
    assert school | dormitory <= department
