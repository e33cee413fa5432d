"""The contracts list: a department or the operator with many contracts finds one by its number, its organisation's
name or BIN, and narrows the list by status — a page at a time with its total. It had no search and no filter, and
stopped at its 200th contract without a word."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app import clock, listing
from app.extensions import db
from tests.helpers import school
from tests.lifecycle.flow import allocate, apply, place_order


def _numbers(page: str) -> list[str]:
    return re.findall(r'href="/contracts/\d+">([^<]+)</a>', page.split('id="contracts-table"')[1])


def _list(person, **args) -> str:
    answer = person.get("/contracts", query_string=args)
    assert answer.status_code == 200, args
    return answer.get_data(as_text=True)


@pytest.fixture()
def nur_to_sign(world, browser):
    """Nur's contract of a new state order, awaiting the school director's signature (a frozen clock in June 2027)."""
    clock.set_clock(clock.FrozenClock(datetime(2027, 6, 1, 5, 0, tzinfo=UTC)))
    official = browser("official")
    contract = allocate(official, apply(browser("accountant2"), place_order(official), school("Nur Private School"),
                                        "KZ17LAA00004321"))
    db.session.commit()
    yield contract
    clock.reset_clock()


def test_the_operator_finds_a_contract_by_number_organisation_or_bin(nur_to_sign, browser):
    operator = browser("operator")
    everything = _list(operator)
    assert set(_numbers(everything)) == {"C-SHYMKENT-2026-00001", nur_to_sign.number}
    assert "Contracts found: 2" in everything
    assert _numbers(_list(operator, q="samruk")) == ["C-SHYMKENT-2026-00001"]
    assert _numbers(_list(operator, q="c-shymkent")) == ["C-SHYMKENT-2026-00001"]
    nur = school("Nur Private School")
    assert _numbers(_list(operator, q=nur.bin)) == [nur_to_sign.number]
    assert _numbers(_list(operator, q=nur.bin[:6])) == [], "a BIN is looked up whole"
    nothing = _list(operator, q="no such school")
    assert 'id="no-contracts"' in nothing and "No contract matches these filters." in nothing
    assert 'value="no such school"' in nothing, "the search box keeps what was typed"


def test_the_status_filter_narrows_and_a_status_it_does_not_know_is_said_not_applied(nur_to_sign, browser):
    official = browser("official")
    waiting = _list(official, status="awaiting_director")
    assert _numbers(waiting) == [nur_to_sign.number]
    assert '<option value="awaiting_director" selected>' in waiting
    assert _numbers(_list(official, status="active")) == []
    assert _numbers(_list(browser("operator"), status="active")) == ["C-SHYMKENT-2026-00001"]
    unknown = _list(official, status="hacked")
    assert 'id="contracts-ignored"' in unknown and "status=hacked" in unknown
    assert nur_to_sign.number in _numbers(unknown), "an unknown status filters nothing"


def test_scope_holds_whatever_the_search_says(world, browser):
    samruk = school("Samruk Private School")
    for person in ("official", "accountant"):  # Astana's department, Bilim's accountant
        assert _numbers(_list(browser(person), q=samruk.bin)) == []
        assert _numbers(_list(browser(person), q="C-SHYMKENT")) == []
    assert _numbers(_list(browser("official_shymkent"), q=samruk.bin)) == ["C-SHYMKENT-2026-00001"]


def test_a_long_list_comes_a_page_at_a_time_and_every_contract_once(nur_to_sign, browser, monkeypatch):
    monkeypatch.setattr(listing, "PAGE_SIZE", 1)
    operator = browser("operator")
    first = _list(operator)
    total = int(re.search(r"Contracts found: (\d+)", first).group(1))
    assert total == 2 and len(_numbers(first)) == 1 and 'rel="next"' in first
    seen = []
    for page in range(1, total + 1):
        seen += _numbers(_list(operator, page=page))
    assert len(seen) == len(set(seen)) == total
    for page in ("-1", "x", "99999"):
        assert len(_numbers(_list(operator, page=page))) == 1, page
