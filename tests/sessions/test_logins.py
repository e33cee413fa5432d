"""Logins (issue 13 §3): throttling per account and per address, and the same work whether or not the
account exists."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

import app.people.models as people_models
from app.extensions import db
from tests.conftest import Browser
from tests.helpers import user


def _from(app, address: str) -> Browser:
    person = Browser(app)
    person.client.environ_base["REMOTE_ADDR"] = address
    return person


def _login(person: Browser, username: str, password: str):
    response = person.post("/login", {"username": username, "password": password})
    if response.status_code == 302:
        person.get(response.headers["Location"])  # as a browser does: the page it lands on has the new form token
    return response


def test_bad_logins_are_throttled_but_the_owner_gets_in_from_elsewhere(world, throttled):
    guesser = _from(throttled, "203.0.113.7")
    for guess in ("123456", "qwerty", "password"):
        assert _login(guesser, "accountant", guess).status_code == 401

    refused = _login(guesser, "accountant", "pw")  # even the right password: this address must wait

    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many failed logins" in refused.get_data(as_text=True)
    assert _login(_from(throttled, "198.51.100.20"), "accountant", "pw").status_code == 302


def test_good_logins_do_not_count(world, throttled):
    office = _from(throttled, "192.0.2.10")
    for _ in range(5):
        assert _login(office, "accountant", "pw").status_code == 302
        office.post("/logout")
    assert _login(office, "accountant", "pw").status_code == 302


def test_guessing_one_account_from_many_addresses_is_throttled_per_account(world, throttled):
    for n in range(6):  # two wrong guesses from each of three addresses: under the per-address limits
        assert _login(_from(throttled, f"203.0.113.{n // 2 + 1}"), "official", f"guess{n}").status_code == 401

    assert _login(_from(throttled, "203.0.113.99"), "official", "guess-again").status_code == 429
    assert _login(_from(throttled, "203.0.113.99"), "accountant", "pw").status_code == 302  # others unaffected


def test_one_address_trying_many_accounts_is_throttled_per_address(world, throttled):
    sprayer = _from(throttled, "203.0.113.50")
    for name in ("accountant", "director", "official", "head", "operator", "owner", "auditor", "admin"):
        assert _login(sprayer, name, "Summer2026!").status_code == 401

    assert _login(sprayer, "accountant2", "Summer2026!").status_code == 429
    assert _login(_from(throttled, "203.0.113.51"), "accountant2", "pw").status_code == 302


class CountingHasher(PasswordHasher):
    def __init__(self):
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture()
def hasher(monkeypatch):
    counting = CountingHasher()
    monkeypatch.setattr(people_models, "_hasher", counting)
    return counting


@pytest.mark.parametrize("username, password", [
    ("accountant", "wrong password"),        # exists, wrong password
    ("nobody-by-this-name", "any password"),  # does not exist
    ("disabled", "pw"),                       # exists but is disabled
    ("accountant", "pw"),                     # the good one
])
def test_every_login_costs_one_password_hash(world, app_ctx, hasher, username, password):
    """Timing must not tell whether an account exists: counted in argon2 verifications, not milliseconds."""
    disabled = user("director2")
    disabled.username, disabled.active = "disabled", False
    disabled.set_password("pw")
    db.session.commit()
    person = Browser(app_ctx)
    person.get("/login")
    hasher.verifications = 0

    person.post("/login", {"username": username, "password": password})

    assert hasher.verifications == 1


def test_guessing_the_current_password_in_the_change_form_is_throttled(world, throttled):
    holder = Browser(throttled, "accountant")  # someone with the session, not the password
    attempt = {"new_password": "a long enough phrase", "confirm": "a long enough phrase"}
    assert holder.post("/account/password", dict(attempt, current_password="weak")).status_code == 422
    for guess in ("guess1", "guess2"):
        assert holder.post("/account/password", dict(attempt, current_password=guess)).status_code == 422
    refused = holder.post("/account/password", dict(attempt, current_password="pw"))
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert user("accountant").check_password("pw")


def test_a_guesser_spread_over_many_addresses_does_not_lock_the_owner_out_of_their_own_browser(world, throttled):
    """The account-wide limit had no exception: about 150 wrong passwords a day from a botnet kept a department
    official out of the system all day, whatever browser they used. A browser that has logged in to the account
    before carries a signed device cookie, and the account-wide limit does not hold it back."""
    office = _from(throttled, "192.0.2.10")
    assert _login(office, "official", "pw").status_code == 302
    office.post("/logout")
    for n in range(6):  # the account-wide limit is 6/minute in tests: two guesses from each of three addresses
        assert _login(_from(throttled, f"203.0.113.{n // 2 + 1}"), "official", f"guess{n}").status_code == 401

    assert _login(_from(throttled, "203.0.113.99"), "official", "pw").status_code == 429, \
        "a new browser is still held back: the guesser's next address gets nothing"
    assert _login(office, "official", "pw").status_code == 302, "the owner's own browser gets in"


def test_a_device_cookie_counts_only_for_its_own_account_and_only_when_signed(world, throttled):
    from app.limits import DEVICE_COOKIE

    office = _from(throttled, "192.0.2.10")
    assert _login(office, "accountant", "pw").status_code == 302
    token = office.client.get_cookie(DEVICE_COOKIE).value
    for n in range(6):
        assert _login(_from(throttled, f"203.0.113.{n // 2 + 1}"), "official", f"guess{n}").status_code == 401

    other = _from(throttled, "198.51.100.5")  # the accountant's cookie, used for the official's account
    other.client.set_cookie(DEVICE_COOKIE, token)
    assert _login(other, "official", "pw").status_code == 429
    forged = _from(throttled, "198.51.100.6")
    forged.client.set_cookie(DEVICE_COOKIE, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
    assert _login(forged, "official", "pw").status_code == 429


def test_a_guesser_behind_the_schools_address_does_not_lock_the_staff_out_of_their_own_browsers(world, throttled):
    """A school's staff share one public address (the office's NAT). A guesser on another computer there — a pupil,
    a visitor on the wifi — used up the per-address limit (any account) and the address-and-account limit of the
    accountant: every browser in the school got "Too many failed logins" until the day's counts ran out. A browser
    that has logged in to the account before is counted on its own (its device cookie), not with the address."""
    office = "192.0.2.10"
    accountant, director = _from(throttled, office), _from(throttled, office)
    for person, name in ((accountant, "accountant"), (director, "director")):
        assert _login(person, name, "pw").status_code == 302
        person.post("/logout")
    guesser = _from(throttled, office)
    targets = ["accountant"] * 3 + ["director2", "official", "head", "operator", "owner"]
    for n, name in enumerate(targets):  # the per-address limit is 8/minute in tests; the accountant's 3/minute too
        assert _login(guesser, name, f"guess{n}").status_code == 401
    assert _login(guesser, "accountant", "pw").status_code == 429, "the guesser's browser is held back"
    assert _login(_from(throttled, office), "director", "pw").status_code == 429, "so is any new browser here"

    assert _login(accountant, "accountant", "pw").status_code == 302, "the accountant's own browser gets in"
    assert _login(director, "director", "pw").status_code == 302, "the director's too"


def test_a_known_browser_is_still_throttled_on_its_own(world, throttled):
    """The device cookie is no licence to guess: a browser that knows the account (a stolen cookie, a shared
    computer) has the address-and-account pace of its own, kept apart from everyone else's count."""
    office = _from(throttled, "192.0.2.10")
    assert _login(office, "official", "pw").status_code == 302
    office.post("/logout")
    for n in range(3):
        assert _login(office, "official", f"guess{n}").status_code == 401

    refused = _login(office, "official", "pw")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    # that browser's count is its own: another browser at the same address is not held back by it
    laptop = _from(throttled, "192.0.2.10")
    assert _login(laptop, "official", "pw").status_code == 302


def test_a_known_browsers_guesses_at_another_account_count_as_any_browsers(world, throttled):
    """The cookie of one account is nothing for another: guesses at it count against the address as before."""
    office = _from(throttled, "192.0.2.10")
    assert _login(office, "accountant", "pw").status_code == 302
    office.post("/logout")
    for n in range(3):
        assert _login(office, "official", f"guess{n}").status_code == 401
    assert _login(office, "official", "pw").status_code == 429


def test_a_device_cookie_of_the_first_kind_still_lets_its_browser_past_the_guesser(world, throttled):
    """Cookies set before browsers had an id of their own (a bare list of accounts) are still known devices."""
    from app.limits import DEVICE_COOKIE, _device_signer

    with throttled.test_request_context("/login"):
        token = _device_signer().dumps(["official"])
    office = _from(throttled, "192.0.2.10")
    office.client.set_cookie(DEVICE_COOKIE, token)
    guesser = _from(throttled, "192.0.2.10")
    for n in range(3):
        assert _login(guesser, "official", f"guess{n}").status_code == 401
    assert _login(guesser, "official", "pw").status_code == 429
    assert _login(office, "official", "pw").status_code == 302
