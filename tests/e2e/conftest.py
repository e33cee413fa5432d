"""End-to-end fixtures: the real app served over HTTP on loopback, driven by Debian's Chromium.

The browser is never downloaded (no `playwright install`): Playwright launches /usr/bin/chromium.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


def _slow_scripts(app):
    """``E2E_SCRIPT_DELAY=0.5``: the page's own scripts arrive that many seconds late, as on a slow line. The page is
    usable before they run, so a test (or a person) can act before the listeners are there: run the suite this way
    to find the races CI would meet one day in a hundred."""
    delay = float(os.environ.get("E2E_SCRIPT_DELAY") or 0)
    if not delay:
        return app

    def serve(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/static/") and environ["PATH_INFO"].endswith(".js"):
            time.sleep(delay)
        return app(environ, start_response)

    return serve


@pytest.fixture()
def live_server(world, app):
    """Serve the seeded demo world on a free loopback port for the duration of one test."""
    server = make_server("127.0.0.1", 0, _slow_scripts(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture()
def new_page(chromium, live_server):
    """``page = new_page("accountant")`` — a fresh browser context logged in as that demo user (password pw)."""
    contexts = []

    def make(username: str | None = None, locale: str = "en-US"):
        context = chromium.new_context(locale=locale, base_url=live_server)
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        # A task's decisive submit (accept, pay, submit an act) asks first (app.js, data-confirm): the flows say
        # yes, and the questions asked are kept in ``page.confirmed``; a test of the question itself sets
        # ``page.own_dialogs = True`` and answers it. Other pages' dialogs are left to the tests that raise them.
        page.confirmed = []
        page.own_dialogs = False

        def answer(dialog, page=page):
            if page.own_dialogs or "/tasks/" not in page.url or dialog.type != "confirm":
                return
            page.confirmed.append(dialog.message)
            dialog.accept()

        page.on("dialog", answer)
        if username:
            page.goto("/login")
            page.fill("#username", username)
            page.fill("#password", "pw")
            page.click("#login-submit")
            page.wait_for_url("**/inbox")
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture()
def contract_to_sign(live_server, browser):
    """Nur's contract of a new state order, awaiting its signatures (a frozen clock in June 2027)."""
    from datetime import UTC, datetime

    from app import clock
    from app.extensions import db
    from tests.helpers import school
    from tests.lifecycle.flow import allocate, apply, place_order

    clock.set_clock(clock.FrozenClock(datetime(2027, 6, 1, 5, 0, tzinfo=UTC)))
    official = browser("official")
    order = place_order(official)
    contract = allocate(official, apply(browser("accountant2"), order, school("Nur Private School"),
                                        "KZ17LAA00004321"))
    db.session.commit()
    yield contract
    clock.reset_clock()
