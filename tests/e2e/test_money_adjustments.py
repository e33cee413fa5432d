"""In a real browser: a withdrawal found after October was paid shows on November's act as a claw-back; the
official accepts it with the act, the operator pays the net, and the reconciliation page explains every tenge."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.extensions import db
from app.payments.models import Payment
from app.registry.models import NedbEnrollment
from tests.helpers import act_of_school
from tests.money.test_adjustments import _submit, _submit_accept_pay

pytestmark = pytest.mark.e2e
NOVEMBER = date(2026, 11, 1)


def test_claw_back_is_seen_accepted_paid_and_reconciled(new_page, tmp_path):
    october = _submit_accept_pay(act_of_school("Bilim Innovation School"), "PP-E2E-OCT")
    gone = october.lines[2]
    db.session.scalars(select(NedbEnrollment).where(NedbEnrollment.iin == gone.iin)).one().withdrawn_on = \
        date(2026, 9, 20)
    db.session.commit()
    november = _submit(NOVEMBER)
    net = november.amount_tiyn
    assert november.adjustment_tiyn < 0

    official = new_page("official")
    official.get_by_role("link", name="Accept act").click()
    table = official.locator("#adjustments-table")
    expect(table).to_contain_text(october.number)
    expect(table).to_contain_text(gone.iin)
    expect(table).to_contain_text("Withdrawn")
    expect(table).to_contain_text("20 Sep 2026")
    expect(official.locator("#act-adjustment")).to_be_visible()
    official.screenshot(path=str(tmp_path / "accept-with-adjustment.png"), full_page=True)
    official.get_by_label("Accept the act").check()
    official.get_by_role("button", name="Submit").click()
    expect(official.locator(".alert-success")).to_contain_text("Accept act")

    operator = new_page("operator")
    operator.get_by_role("link", name="Pay act").click()
    expect(operator.locator("#pay-adjustment")).to_be_visible()
    operator.fill("#f-order_number", "PP-E2E-NOV")
    operator.fill("#f-paid_on", clock.today().isoformat())
    operator.get_by_role("button", name="Submit").click()
    expect(operator.locator(".alert-success")).to_contain_text("Pay act")
    db.session.expire_all()
    assert db.session.scalars(select(Payment.amount_tiyn).where(Payment.act_id == november.id)).one() == net
    assert db.session.get(Act, october.id).status == "paid"

    operator.locator("#nav-reconciliation").click()
    operator.select_option("#period", "2026-11")
    operator.click("#reconciliation-show")
    total = operator.locator("#reconciliation-total")
    expect(total.locator('[data-col="adjusted"]')).to_contain_text("-")
    expect(total.locator('[data-col="outstanding"]')).to_have_text("0.00 ₸")
    operator.screenshot(path=str(tmp_path / "reconciliation.png"), full_page=True)
    with operator.expect_download() as download:
        operator.click("#reconciliation-csv")
    assert download.value.suggested_filename == "reconciliation-2026-11.csv"
