"""A section's address with a trailing slash ("/registry/", as a person types it or a bookmark keeps it) leads to the
section rather than to "There is no such page"; "/reports" leads to the reports a person may open."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/registry/", "/inbox/", "/acts/", "/orders/", "/contracts/", "/notifications/",
                                  "/substitutions/", "/reports/reconciliation/", "/reports/"])
def test_a_section_with_a_trailing_slash_leads_to_the_section(world, browser, path):
    person = browser("operator")
    response = person.get(path)
    assert response.status_code == 308, (path, response.status_code)
    assert response.headers["Location"] == path[:-1]
    assert person.get(path, follow_redirects=True).status_code == 200


def test_the_query_is_kept_and_other_addresses_stay_unknown(world, browser):
    person = browser("operator")
    assert person.get("/registry/lookup/?iin=1").headers["Location"] == "/registry/lookup?iin=1"
    assert person.get("/no-such-section/").status_code == 404
    other_site = person.get("/", environ_overrides={"PATH_INFO": "//example.org/"})
    assert not other_site.headers.get("Location", "").startswith("//"), "never a redirect to another site"
    # A form's POST is not redirected (its body would be sent to an address that does not take it).
    assert person.post("/inbox/filters/", {}).status_code == 404


def test_reports_leads_to_the_reports_a_person_may_open(world, browser):
    assert browser("operator").get("/reports").headers["Location"] == "/reports/reconciliation"
    assert browser("accountant").get("/reports").headers["Location"] == "/reports/discrepancies"
