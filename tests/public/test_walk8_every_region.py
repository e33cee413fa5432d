"""A citizen of Almaty looks for their region on the portal (walk8, kk and ru): the page linked only the regions where
an act had been decided (Astana), so Almaty's page — its dormitory order and contract — was there but no link led to
it, nor to the 18 regions without figures. The portal now lists every region by name, in the reader's alphabet."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.people.models import Region
from tests.conftest import Browser


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_region_is_linked_from_the_portal_in_the_readers_alphabet(world, app, language):
    visitor = Browser(app)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = visitor.get("/public/").get_data(as_text=True)
    nav = re.search(r'<nav[^>]*id="every-region".*?</nav>', page, re.S)
    assert nav, "no list of regions"
    linked = re.findall(r'href="/public/regions/(\d+)[^"]*">([^<]+)</a>', nav.group(0))
    regions = list(db.session.scalars(select(Region)))
    assert len(regions) == 20
    assert {int(rid) for rid, _name in linked} == {r.id for r in regions}
    names = [name for _rid, name in linked]
    almaty = next(r for r in regions if r.code == "ALMATY")
    assert getattr(almaty, f"name_{language}") in names
    if language == "kk":  # Ақмола comes after Абай and before Алматы (code points put Қ after Я)
        assert names.index("Абай облысы") < names.index("Ақмола облысы") < names.index("Алматы облысы")
    # the link leads to the region's page
    response = visitor.get(f"/public/regions/{almaty.id}")
    assert response.status_code == 200
    assert f"<h1 class=\"h3\">{getattr(almaty, f'name_{language}')}</h1>" in response.get_data(as_text=True)
