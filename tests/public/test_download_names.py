"""A citizen's screen reader lists the portal's links: each file's link says which table it holds, not only its
format ("CSV", "JSON", "CSV", "JSON"… — six links named alike on the country page)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Browser
from tests.helpers import add_paid_history


@pytest.fixture()
def world(world):
    assert add_paid_history() == 2
    return world


def _download_links(page: str) -> list[str]:
    """The text of every link to a figures file, tags removed."""
    links = re.findall(r'<a href="/public/data/[^"]+">(.*?)</a>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", link).split()) for link in links]


@pytest.mark.parametrize("language, regions", [("en", "regions"), ("kk", "өңірлер"), ("ru", "регионы")])
def test_each_figures_file_link_names_its_table_and_format(world, app, language, regions):
    visitor = Browser(app)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    links = _download_links(visitor.get("/public/").get_data(as_text=True))
    assert links and len(set(links)) == len(links), links
    assert all(link.startswith(("CSV", "JSON")) for link in links), links
    assert any(link.startswith("CSV") and regions in link.lower() for link in links), links


@pytest.mark.parametrize("language, megabytes", [("en", "KB"), ("ru", "КБ")])
def test_the_years_bulk_file_says_its_format_and_size(world, app, language, megabytes):
    """"All releases of 2026/2027 (bulk file)" did not say it was JSON, nor how big: on a phone's data plan a citizen
    learnt it only by downloading it."""
    from app.public.cache import refresh_public

    refresh_public()
    visitor = Browser(app)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = visitor.get("/public/").get_data(as_text=True)
    link = re.search(r'<a href="(/public/ocds/\d{4}-\d{4}-releases\.json)">(.*?)</a>', page, re.S)
    assert link, "the bulk file's link"
    size = len(visitor.get(link.group(1)).get_data())
    shown = re.search(r"JSON, ([\d.,\s\u00a0]+) " + megabytes, link.group(2))
    assert shown, link.group(2)
    assert abs(float(re.sub(r"[\s\u00a0]", "", shown.group(1)).replace(",", ".")) * 1024 - size) <= 0.1 * size + 52
