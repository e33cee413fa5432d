"""In Chromium: a line whose name differs from NEDB needs review; the official cannot accept the act until the
line is decided, sees both names, keeps the line, then accepts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.acts.models import Act, ActLine, ActLineReview
from app.acts.verification import verify_act
from app.extensions import db
from app.registry.models import NedbEnrollment
from tests.helpers import act_of_school

pytestmark = pytest.mark.e2e


def test_official_reviews_a_flagged_line_before_accepting(new_page, tmp_path):
    act = act_of_school("Alatau Lyceum")
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id, ActLine.outcome == "accepted")
                              .order_by(ActLine.line_no)).first()
    registered = db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == line.iin)).first()
    registered.full_name = "Басқа Бала"  # NEDB knows this IIN under another name
    verify_act(act)
    db.session.commit()
    assert line.review_codes == "name"

    official = new_page("official_almaty")
    official.get_by_role("link", name="Accept act").first.click()
    review = official.locator("#review-table")
    expect(review).to_contain_text(line.full_name)
    expect(review).to_contain_text("Басқа Бала")
    expect(official.locator("#review-undecided")).to_have_text("1")

    official.get_by_label("Accept the act").check()
    official.get_by_role("button", name="Submit").click()
    expect(official.locator("body")).to_contain_text("need review: 1")
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "verified"

    official.locator(f"#review-table tr[data-line='{line.line_no}']").get_by_role("button", name="Keep").click()
    expect(official.locator(".alert-success")).to_contain_text("Decision recorded")
    expect(official.locator("#review-undecided")).to_have_count(0)
    shots = Path(os.environ.get("E2E_SCREENSHOTS", tmp_path))
    official.screenshot(path=str(shots / "act-review.png"), full_page=True)
    official.get_by_label("Accept the act").check()
    official.get_by_role("button", name="Submit").click()
    expect(official.locator(".alert-success")).to_contain_text("Accept act")
    db.session.expire_all()
    assert db.session.get(Act, act.id).status == "accepted"
    assert db.session.scalars(select(ActLineReview.decision)).all() == ["confirm"]
