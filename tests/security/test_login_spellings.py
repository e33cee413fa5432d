"""A login typed the way phones and input methods type it names the same account — and only that one.

Logins are ASCII, stored in lower case, and unique whatever their case (app/admin). The login page compared the
typed text exactly: "Accountant" (a phone capitalises the first letter) and full-width "ａｃｃｏｕｎｔａｎｔ" (an
input method left in full-width mode) were "Wrong login or password" for the right password. The failed-login
throttle counts by the same normalised name, so no spelling of an account is a fresh account to guess at; a
look-alike letter from another script (Cyrillic "а") names no account at all.
"""

from __future__ import annotations

import pytest

from tests.conftest import Browser
from tests.helpers import user


def _from(app, address: str) -> Browser:
    person = Browser(app)
    person.client.environ_base["REMOTE_ADDR"] = address
    return person


def _login(person: Browser, username: str, password: str):
    return person.post("/login", {"username": username, "password": password})


@pytest.mark.parametrize("typed", ["Accountant", "ACCOUNTANT", " accountant ",
                                   "ＡＣＣＯＵＮＴＡＮＴ", "ａｃｃｏｕｎｔａｎｔ"])
def test_a_login_typed_in_capitals_or_full_width_letters_signs_in_its_account(world, app_ctx, typed):
    person = Browser(app_ctx)

    response = _login(person, typed, "pw")

    assert response.status_code == 302
    with person.client.session_transaction() as session:
        assert session["_user_id"] == str(user("accountant").id)


@pytest.mark.parametrize("typed", ["\u0430ccountant", "accountant\u200b", "acc\u0455untant"])  # Cyrillic а, ZWSP, ѕ
def test_a_look_alike_login_names_no_account(world, app_ctx, typed):
    response = _login(Browser(app_ctx), typed, "pw")

    assert response.status_code == 401
    assert "Wrong login or password." in response.get_data(as_text=True)


def test_guessing_one_account_under_many_spellings_is_throttled_as_one_account(world, throttled):
    spellings = ["official", "Official", "OFFICIAL", "ｏｆｆｉｃｉａｌ", "ＯＦＦＩＣＩＡＬ", " Official"]
    for n, spelling in enumerate(spellings):  # two wrong guesses from each of three addresses
        assert _login(_from(throttled, f"203.0.113.{n // 2 + 1}"), spelling, f"guess{n}").status_code == 401

    refused = _login(_from(throttled, "203.0.113.99"), "ｏｆｆｉｃｉａｌ", "guess-again")

    assert refused.status_code == 429
    assert "Too many failed logins" in refused.get_data(as_text=True)
