"""A director's first day: nothing to sign yet, and the inbox says what will come to it and when — it said only
"No open tasks. Well done.", and a new director did not know whether anything ever would."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("username", ["director2"])
def test_an_empty_directors_inbox_says_what_comes_to_it(world, browser, username):
    page = browser(username).get("/inbox").get_data(as_text=True)
    assert 'id="inbox-empty"' in page
    note = page[page.index('id="inbox-next"'):].split("</p>")[0]
    assert "contract" in note and "sign" in note and "notif" in note, note


def test_an_accountants_and_an_officials_empty_inbox_do_not_say_a_director_will_sign(world, browser):
    for username in ("official_almaty", "auditor"):
        assert 'id="inbox-next"' not in browser(username).get("/inbox").get_data(as_text=True)
