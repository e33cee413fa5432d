"""From a region's "Adjusted" figure to the adjustment lines it sums: each line's act, the month it corrects, the rule
and the amount — for whoever may see the region's reconciliation, and no one else."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.models import ActAdjustment
from app.engine.runtime import complete_task
from app.extensions import db
from app.reports.reconciliation import reconcile
from tests.helpers import act_of_school, open_task, user
from tests.money.reconciliation_checks import everything
from tests.money.test_adjustments import BILIM, NOVEMBER, _enrolment, _submit, _submit_accept_pay


def _november_clawing_back_october():
    october = _submit_accept_pay(act_of_school(BILIM), "PP-OCT-D")
    gone = sorted(october.lines, key=lambda ln: ln.line_no)[0]
    _enrolment(gone.iin).withdrawn_on = date(2026, 9, 20)
    db.session.commit()
    november = _submit(NOVEMBER)
    complete_task(open_task(november, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    return october, november, gone


def test_a_regions_adjusted_figure_opens_onto_the_lines_it_sums(world, browser):
    october, november, gone = _november_clawing_back_october()
    rows, _total = reconcile(NOVEMBER, everything())
    (row,) = [r for r in rows if r.region_id == november.region_id]
    assert row.adjusted_tiyn == -gone.amount_tiyn != 0

    operator = browser("operator")
    page = operator.get("/reports/reconciliation?period=2026-11").get_data(as_text=True)
    address = f"/reports/reconciliation/adjusted?period=2026-11&amp;region={november.region_id}&amp;instrument=schools"
    assert 'data-drill="adjusted"' in page and address in page
    lines = operator.get(address.replace("&amp;", "&"))
    assert lines.status_code == 200
    html = lines.get_data(as_text=True)
    assert html.count("data-adjustment-line") == 1
    assert november.number in html and 'data-rule="withdrawn"' in html
    assert "October 2026" in html  # the month it corrects
    total = html.split('id="adjusted-lines-total"')[1]
    assert f"-{-row.adjusted_tiyn // 100:,}.{-row.adjusted_tiyn % 100:02d} ₸" in total

    # a cause the page does not know is shown as text, never as markup
    adjustment = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == november.id)).one()
    adjustment.rule_code = "<b>x</b>"
    db.session.commit()
    html = operator.get(address.replace("&amp;", "&")).get_data(as_text=True)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_the_adjustment_lines_are_authorised_as_the_reconciliation_is(world, browser):
    _october, november, _gone = _november_clawing_back_october()
    address = f"/reports/reconciliation/adjusted?period=2026-11&region={november.region_id}"
    other = browser("official_almaty").get(address)  # another region's department: not its region
    assert other.status_code == 303 and november.number not in other.get_data(as_text=True)
    assert browser("accountant").get(address).status_code == 403
    assert browser("operator").post(address).status_code == 405  # read only: a GET, nothing to forge
    for bad in ("period=2026-13", "period=abc", "region=x", "region=%C2%B2", ""):
        response = browser("operator").get(f"/reports/reconciliation/adjusted?{bad}")
        assert response.status_code == 303, bad
