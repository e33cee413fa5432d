"""In Chromium: the operator finds a monthly act's instance in the cockpit, opens it and suspends it with a reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.acts.models import Act
from app.engine.models import ProcessInstance
from app.extensions import db

pytestmark = pytest.mark.e2e


def test_operator_searches_opens_and_suspends_an_instance(new_page):
    act = db.session.scalars(select(Act).where(Act.instance_id.is_not(None)).order_by(Act.id)).first()
    page = new_page("operator")
    page.click("#nav-instances")
    page.wait_for_url("**/instances")
    assert page.locator("#state-counts [data-state='running'] .count").inner_text().strip() != "0"

    page.fill("#f-q", act.number.lower())
    page.click("#apply-filters")  # a plain GET form: wait for the filtered page, not the one being left
    page.wait_for_url("**/instances?q=*")
    expect(page.locator("#instances tbody tr[data-instance-id]")).to_have_count(1)
    page.click(f"#instances tr[data-instance-id='{act.instance_id}'] a")
    page.wait_for_url(f"**/instances/{act.instance_id}")
    page.wait_for_selector("#diagram[data-rendered='true']")
    assert page.locator("#variables").count() == 1

    page.fill("#suspend-reason", "school asked to check the list")
    page.check("#suspend-confirm")
    page.click("#suspend")
    page.wait_for_selector("#instance-status[data-state='suspended']")
    assert "school asked to check the list" in page.locator("#timeline").inner_text()
    assert page.locator("#resume").count() == 1
    db.session.expire_all()
    assert db.session.get(ProcessInstance, act.instance_id).status == "suspended"
