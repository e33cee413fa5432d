"""Walk 7: the operator reads the month's reconciliation — "город Алматы: 1 act, 1 154 000 ₸ under review" — and wants
the act behind the figure. The count led nowhere, and the acts list could not be narrowed to a region or a funding
instrument (only month, status, number). A region's act count now opens the acts list of that month, region and
instrument, which counts the same acts."""

from __future__ import annotations

import html
import re
from datetime import date

from sqlalchemy import select

from app.acts.models import Act
from app.extensions import db
from app.people.models import Region


def _acts_link(page: str, region_id: int) -> str:
    row = re.search(rf'<tr data-region="{region_id}">(.*?)</tr>', page, re.S).group(1)
    return html.unescape(re.search(r'<a [^>]*href="(/acts\?[^"]+)"', row).group(1))


def test_a_regions_act_count_opens_the_same_acts(world, browser):
    almaty = db.session.scalars(select(Region).where(Region.code == "ALMATY")).one()
    operator = browser("operator")
    page = operator.get("/reports/reconciliation?period=2026-10&instrument=schools").get_data(as_text=True)
    link = _acts_link(page, almaty.id)
    listed = operator.get(link).get_data(as_text=True)
    expected = db.session.scalars(select(Act.number).where(Act.region_id == almaty.id, Act.instrument == "schools",
                                                           Act.period == date(2026, 10, 1))).all()
    assert len(expected) == 1  # Alatau Lyceum's October act: the reconciliation row says 1
    assert re.findall(r"ACT-\d{12}-\d{6}", re.search(r'id="acts-table"(.*?)</table>', listed, re.S).group(1)) \
        == expected
    assert "Acts found: 1" in listed


def test_the_whole_countrys_act_count_opens_the_months_submitted_acts_only(world, browser):
    operator = browser("operator")
    page = operator.get("/reports/reconciliation?period=2026-10&instrument=schools").get_data(as_text=True)
    total = re.search(r'id="reconciliation-total">(.*?)</tr>', page, re.S).group(1)
    listed = operator.get(html.unescape(re.search(r'<a [^>]*href="(/acts\?[^"]+)"', total).group(1))).get_data(
        as_text=True)
    # October 2026 in the demo world: other schools' acts still await submission (they claim nothing, the
    # reconciliation leaves them out); Alatau Lyceum's is the one submitted
    waiting = db.session.scalars(select(Act).where(Act.period == date(2026, 10, 1),
                                                   Act.status == "awaiting_submission")).all()
    assert waiting
    assert "Acts found: 1" in listed


def test_a_region_or_instrument_the_list_cannot_read_is_said_and_not_applied(world, browser):
    page = browser("operator").get("/acts?region=abc&instrument=grants").get_data(as_text=True)
    ignored = re.search(r'id="acts-ignored"(.*?)</div>', page, re.S).group(1)
    assert "abc" in ignored and "grants" in ignored
