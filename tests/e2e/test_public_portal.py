"""In a real browser, without logging in: the public portal draws its charts, reads on a phone, and an axe-core
run finds no serious or critical accessibility violation on any of its pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.people.models import Organisation, Region
from tests.helpers import add_paid_history

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture()
def world(world):
    add_paid_history()
    return world


def _serious_violations(page) -> list[str]:
    # Served from the app's own origin (routed by the browser context), so the page's CSP lets it run.
    page.add_script_tag(url="/__axe__/axe.min.js")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_a_visitor_on_a_phone_reads_the_figures_and_the_pages_pass_axe(chromium, live_server, app):
    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    school = db.session.scalars(select(Organisation).where(Organisation.name == "Bilim Innovation School")).one()
    context = chromium.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, locale="ru-RU")
    try:
        context.route("**/__axe__/axe.min.js", lambda route: route.fulfill(
            path=str(AXE), content_type="application/javascript"))
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        page.goto("/public/")
        expect(page.locator("h1")).to_contain_text("куда идут деньги")
        # Each sum is on one line (it broke between "9 174 619," and "35 ₸").
        heights = page.locator(".card .fs-4").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
        assert heights and max(heights) < 45, heights
        # the region's row of the figures (the list of every region above links to it as well)
        page.locator("#instrument-schools").get_by_role("link", name=astana.name_ru).click()
        expect(page.locator("h1")).to_have_text(astana.name_ru)
        # Chart.js drew the region's months: the canvas has a chart attached and a non-zero size
        # (one chart per funding instrument: the schools' here)
        page.wait_for_function(
            "() => window.Chart && !!Chart.getChart(document.getElementById('region-months-schools'))")
        assert page.locator("#region-months-schools").bounding_box()["width"] > 300
        no_scroll = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert no_scroll, "the page scrolls sideways on a phone"
        page.get_by_role("link", name="Bilim Innovation School").first.click()
        expect(page.locator("h1")).to_have_text(school.name)
        for url in ("/public/", f"/public/regions/{astana.id}", f"/public/schools/{school.bin}"):
            page.goto(url)
            assert _serious_violations(page) == [], url
        assert errors == []
    finally:
        context.close()


def test_a_kazakh_chart_writes_its_numbers_as_the_tables_do(new_page):
    """Users probe: on the Kazakh portal the charts' axis read 2,500,000 beside tables writing 2 811 800,00 ₸
    (Chromium's "kk-KZ" number format has English separators)."""
    from app.public.figures import refresh_public_figures

    refresh_public_figures()
    db.session.commit()
    page = new_page(locale="kk-KZ")
    page.goto("/public/")
    page.locator("button[value=kk]").first.evaluate("b => b.click()")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length > 0")
    labels = page.evaluate("() => Object.values(Chart.instances)[0].scales.y.ticks.map(t => t.label)")
    big = [label for label in labels if len(label) > 5]
    assert big and all("," not in label and "\u00a0" in label for label in big), labels
