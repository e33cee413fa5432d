"""Walk 7: a school director opens the year's new order for the first time, and the school's application after it.

The director found the order open, "No applications yet", and no button: the accountant applies, the director signs,
and neither page said so. The order page now tells the director who applies and by when, and what comes to them after;
once the school has applied, it leads to the application. The application page says what happens next while it
waits for the department (review and allocation, then the contract signed by the director, then the head)."""

from __future__ import annotations

import re

from app.extensions import db
from app.people.models import Organisation
from tests.lifecycle.flow import apply, place_order


def _nur() -> Organisation:
    return db.session.query(Organisation).filter_by(name="Nur Private School").one()


def test_the_director_is_told_the_accountant_applies_by_the_windows_last_day(frozen, browser):
    order = place_order(browser("official"))  # window 1 June – 15 August 2027
    page = browser("director2").get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="apply"' not in page
    hint = re.search(r'<div[^>]*id="who-applies"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "accountant submits the application" in hint
    assert "by 15 Aug 2027;" in hint  # the window's last day
    assert "sign" in hint


def test_once_the_school_applied_the_director_is_led_to_its_application_and_what_comes_next(frozen, browser):
    order = place_order(browser("official"))
    application = apply(browser("accountant2"), order, _nur(), "KZ17LAA00004321")
    director = browser("director2")
    page = director.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'href="/applications/{application.id}"' in re.search(r'id="who-applies"[^>]*>(.*?)</div>', page,
                                                                 re.S).group(1)
    page = director.get(f"/applications/{application.id}").get_data(as_text=True)
    step = re.search(r'id="next-step"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "reviews the application and allocates places" in step
    assert "the director" in step and "department head" in step


def test_guard_the_accountant_who_can_apply_sees_the_button_not_the_directors_note(frozen, browser):
    order = place_order(browser("official"))
    page = browser("accountant2").get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'id="apply"' in page and 'id="who-applies"' not in page


def test_the_department_head_come_to_place_the_order_is_told_who_places_it_and_what_waits_for_them(frozen, browser):
    from tests.lifecycle.flow import allocate, sign

    official = browser("official")
    order = place_order(official)
    contract = allocate(official, apply(browser("accountant2"), order, _nur(), "KZ17LAA00004321"))
    sign(browser("director2"), contract)
    page = browser("head").get("/orders").get_data(as_text=True)
    assert 'id="place-order"' not in page
    note = re.search(r'id="head-part"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "officials place the orders" in note
    assert "/contracts?status=awaiting_head" in note and ">1<" in note  # Nur's contract, signed by its director


def test_guard_the_official_places_orders_and_reads_no_heads_note(frozen, browser):
    page = browser("official").get("/orders").get_data(as_text=True)
    assert 'id="place-order"' in page and 'id="head-part"' not in page


def test_the_head_opening_a_contract_before_the_director_signed_is_told_it_will_come_to_their_inbox(frozen, browser):
    from tests.lifecycle.flow import allocate

    official = browser("official")
    contract = allocate(official, apply(browser("accountant2"), place_order(official), _nur(), "KZ17LAA00004321"))
    page = browser("head").get(f"/contracts/{contract.id}").get_data(as_text=True)
    note = re.search(r'id="not-your-turn"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "The school director signs first" in note
    assert "comes to your inbox once the director has signed" in note
