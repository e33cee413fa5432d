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


def test_the_api_says_its_line_counts_are_lines_not_students(world, app):
    """The acts' and the reconciliation's counts are of act lines: a student who moved rooms or schools within the
    month is on two lines, each paid. The document says so, so that no one reads them as students."""
    import json

    document = json.loads(Browser(app, "operator").get("/api/openapi.json").get_data(as_text=True))
    described = {(name, field): spec.get("description", "")
                 for name, schema in document["components"]["schemas"].items()
                 for field, spec in schema.get("properties", {}).items()}
    counts = {key: text for key, text in described.items() if key[1] in ("lines", "total_lines", "accepted_lines")
              and "items" not in str(document["components"]["schemas"][key[0]]["properties"][key[1]])}
    assert {field for _name, field in counts} == {"lines", "total_lines", "accepted_lines"}
    for key, text in counts.items():
        assert text.startswith("act lines, not students"), key
