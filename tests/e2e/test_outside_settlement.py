"""In a real browser: a carried top-up of a closed year is closed on the contract's page — the operator records the
payment order that paid it (a wrong date comes back on its field, read out with the field), the education department
writes one off with the reason on a phone — and the month's reconciliation says where the money went. A claw-back
older than the look-back is listed as time-barred on the contract's page and in its month's reconciliation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.acts.models import OutsideSettlement
from app.extensions import db
from tests.money.test_outside_settlement import _carried_may, _time_barred_august

pytestmark = pytest.mark.e2e


def _field_error(page, field_id: str, error_key: str) -> None:
    """The field is marked invalid, has the focus, and names its error for a screen reader."""
    field = page.locator(f"#{field_id}")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    error = page.locator(f'[data-error="{error_key}"]')
    expect(error).to_be_visible()
    expect(field).to_have_attribute("aria-describedby", error.get_attribute("id"))


def test_the_operator_records_the_payment_order_of_a_carried_top_up(new_page, tmp_path):
    contract, line, carried = _carried_may()
    operator = new_page("operator", locale="ru-RU")
    operator.set_viewport_size({"width": 1366, "height": 768})
    operator.goto(f"/contracts/{contract.id}")
    form = operator.locator(f'[data-settle-line="{line.id}"]')
    expect(form.get_by_label("Сумма, ₸")).to_have_value(f"{carried / 100:.2f}")
    form.get_by_label("Номер платёжного поручения").fill("pp-2027-0042")
    form.get_by_label("Дата оплаты").fill("2026-04-30")  # before May, the month it pays for
    form.get_by_role("button", name="Зарегистрировать оплату").click()
    _field_error(operator, f"paid-on-{line.id}", "paid_on")
    expect(operator.locator('[data-error="paid_on"]')).to_contain_text("1 мая 2026")
    assert db.session.scalars(select(OutsideSettlement)).all() == []
    operator.screenshot(path=str(tmp_path / "settle-error.png"), full_page=True)

    expect(form.get_by_label("Номер платёжного поручения")).to_have_value("pp-2027-0042"), "kept as typed"
    form.get_by_label("Дата оплаты").fill("2026-11-02")
    form.get_by_role("button", name="Зарегистрировать оплату").click()
    expect(operator.locator(".alert-success")).to_contain_text("май 2026")
    settled = operator.locator("#settled-outside-table")
    expect(settled).to_contain_text("PP-2027-0042")
    expect(operator.locator(f'[data-settle-line="{line.id}"]')).to_have_count(0)
    db.session.expire_all()
    assert [(s.kind, s.amount_tiyn) for s in db.session.scalars(select(OutsideSettlement))] == [("paid", carried)]

    operator.goto("/reports/reconciliation?period=2026-05")
    expect(operator.locator('#reconciliation-total [data-col="settled-outside"]')).to_contain_text(
        f"{carried // 100:,}".replace(",", "\u00a0"))


def test_the_department_writes_a_carried_top_up_off_on_a_phone(new_page, tmp_path):
    contract, line, carried = _carried_may()
    official = new_page("official_shymkent", locale="kk-KZ")
    official.set_viewport_size({"width": 390, "height": 844})
    official.goto(f"/contracts/{contract.id}")
    form = official.locator(f'[data-settle-line="{line.id}"]')
    expect(form.locator('[name="order_number"]')).to_have_count(0)
    form.locator('[name="reason"]').fill("жоқ")
    form.locator("button").click()
    _field_error(official, f"reason-{line.id}", "reason")
    official.screenshot(path=str(tmp_path / "write-off-error.png"), full_page=True)

    form.locator('[name="reason"]').fill("Сынып мектеппен тексерілді: оқушы 2-сыныпта оқыды, төлем тиесілі емес.")
    form.locator("button").click()
    expect(official.locator(".alert-success")).to_be_visible()
    expect(official.locator('#settled-outside-table [data-kind="written_off"]')).to_contain_text("2-сыныпта")
    db.session.expire_all()
    assert [(s.kind, s.amount_tiyn) for s in db.session.scalars(select(OutsideSettlement))] == [
        ("written_off", carried)]
    official.goto("/reports/reconciliation?period=2026-05")
    expect(official.locator('#reconciliation-total [data-col="written-off"]')).to_be_visible()


def test_a_time_barred_claw_back_is_seen_on_the_contract_and_in_the_months_reconciliation(new_page):
    contract, barred = _time_barred_august()
    official = new_page("official_shymkent", locale="ru-RU")
    official.set_viewport_size({"width": 390, "height": 844})
    official.goto(f"/contracts/{contract.id}")
    row = official.locator(f'[data-time-barred="{barred.line.id}"]')
    expect(row).to_contain_text("август 2025")
    expect(row).to_contain_text("Student Gone")
    expect(official.locator("#time-barred-note")).to_be_visible()
    expect(official.locator("#unsettled")).to_have_count(0)
    official.goto("/reports/reconciliation?period=2025-08")
    expect(official.locator('#reconciliation-total [data-col="time-barred"]')).to_contain_text("-")
    expect(official.locator("#reconciliation-time-barred-note")).to_be_visible()
