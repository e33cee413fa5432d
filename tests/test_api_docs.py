"""The API documentation page and the icon are served (the icon was a 404 on every page)."""

from __future__ import annotations

from tests.conftest import Browser


def test_favicon_and_api_docs_are_served(world, app):
    visitor = Browser(app)
    icon = visitor.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["Location"].endswith("/static/favicon.svg")
    assert visitor.get("/static/favicon.svg").status_code == 200
    page = Browser(app, "operator").get("/api/docs").get_data(as_text=True)
    assert 'data-spec-url="/api/openapi.json"' in page and "swagger-ui-bundle.js" in page
    assert Browser(app).get("/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
