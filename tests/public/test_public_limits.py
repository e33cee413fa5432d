"""The public portal answers anyone without a login, so its requests are counted per address (``PUBLIC_LIMIT``):
one address asking for the open data files and OCDS packages again and again — each built from the figures, a
year's bulk file at country scale many megabytes — could otherwise keep the web processes busy for everyone."""

from __future__ import annotations

from tests.conftest import Browser


def _visitor(app, address: str) -> Browser:
    visitor = Browser(app)
    visitor.client.environ_base["REMOTE_ADDR"] = address
    return visitor


def test_one_address_asking_too_often_is_told_when_to_come_back(world, throttled, monkeypatch):
    monkeypatch.setitem(throttled.config, "PUBLIC_LIMIT", "3/minute")
    harvester = _visitor(throttled, "203.0.113.9")
    urls = ["/public/data/schools.csv", "/public/ocds/releases.json?per_page=1000", "/public/"]
    assert [harvester.get(url).status_code for url in urls] == [200, 200, 200]
    for url in ("/public/data/regions.json", "/public/ocds/records.json", "/public/"):
        refused = harvester.get(url)
        assert refused.status_code == 429, url
        assert 1 <= int(refused.headers["Retry-After"]) <= 61
        assert "Too many requests" in refused.get_data(as_text=True)
        # a program parses a .json address: the refusal is JSON too, not an HTML page in place of the file
        assert refused.is_json == url.endswith(".json"), url
        if refused.is_json:
            assert refused.get_json()["code"] == 429
    assert _visitor(throttled, "198.51.100.30").get("/public/data/schools.csv").status_code == 200  # another address


def test_the_default_parses_as_a_limit(app_ctx):
    from limits import parse_many

    assert parse_many(app_ctx.config["PUBLIC_LIMIT"])
