"""The acts list: filters by month, status and number or organisation, a page at a time with its total (it stopped
at 200 acts with no word), and each person sees only their scope whatever the filter says."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.acts import listing
from app.acts.models import Act
from app.extensions import db
from tests.helpers import add_paid_history, school


def _numbers(page: str) -> list[str]:
    table = page.split('id="acts-table"')[1]
    return re.findall(r'href="/acts/\d+">([^<]+)</a>', table)


def test_the_operator_pages_through_every_act_and_the_filters_narrow_them(world, browser, monkeypatch):
    add_paid_history()
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    everything = db.session.scalar(select(func.count(Act.id)))
    operator = browser("operator")
    first = operator.get("/acts").get_data(as_text=True)
    assert f"Acts found: {everything}" in first and len(_numbers(first)) == 2 and 'rel="next"' in first
    seen, page = [], 1
    while True:
        text = operator.get("/acts", query_string={"page": page}).get_data(as_text=True)
        seen += _numbers(text)
        if 'rel="next"' not in text:
            break
        page += 1
    assert len(seen) == len(set(seen)) == everything, "every act once, none skipped"

    paid = operator.get("/acts", query_string={"status": "paid"}).get_data(as_text=True)
    assert f"Acts found: {db.session.scalar(select(func.count(Act.id)).where(Act.status == 'paid'))}" in paid
    september = operator.get("/acts", query_string={"month": "2026-09", "status": "paid"}).get_data(as_text=True)
    assert _numbers(september) and all(n in seen for n in _numbers(september))
    bilim = school("Bilim Innovation School")
    by_name = operator.get("/acts", query_string={"q": "bilim"}).get_data(as_text=True)
    by_bin = operator.get("/acts", query_string={"q": bilim.bin}).get_data(as_text=True)
    expected = db.session.scalar(select(func.count(Act.id)).where(Act.school_id == bilim.id))
    assert f"Acts found: {expected}" in by_name and f"Acts found: {expected}" in by_bin
    nothing = operator.get("/acts", query_string={"q": "no such school"}).get_data(as_text=True)
    assert 'id="no-acts"' in nothing and "No act matches these filters" in nothing


def test_filters_that_make_no_sense_are_no_filter_and_scope_holds(world, browser):
    accountant = browser("accountant")
    own = school("Bilim Innovation School")
    mine = db.session.scalar(select(func.count(Act.id)).where(Act.school_id == own.id))
    for args in ({"month": "2026-13"}, {"month": "１２"}, {"status": "hacked"}, {"page": "-1"}, {"page": "x"},
                 {"page": "99999"}):
        answer = accountant.get("/acts", query_string=args)
        assert answer.status_code == 200, args
        assert f"Acts found: {mine}" in answer.get_data(as_text=True), args
    other = school("Nur Private School")
    assert other.name not in accountant.get("/acts", query_string={"q": other.bin}).get_data(as_text=True)


def test_wildcards_typed_into_the_search_are_literal(world, browser):
    operator = browser("operator")
    for typed in ("%", "_", "\\"):
        page = operator.get("/acts", query_string={"q": typed}).get_data(as_text=True)
        assert "Acts found: 0" in page, typed


def test_a_line_awaiting_review_shows_as_needing_review_on_the_page_and_in_the_export(world, browser):
    """The report counted it under review; the lines table and the files called it accepted."""
    from app.acts.models import ActLine
    from tests.inbox.conftest import make_clean_acts

    task = make_clean_acts()[0]
    act = db.session.get(Act, db.session.get(type(task), task.id).instance.subject_id)
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == act.id).order_by(ActLine.line_no)).first()
    line.review_codes = "name"
    db.session.commit()
    official = browser("official")
    page = official.get(f"/acts/{act.id}").get_data(as_text=True)
    assert "needs review" in page
    rows = official.get(f"/acts/{act.id}/lines.csv").get_data().decode("utf-8-sig").splitlines()
    assert ',"needs review",' in rows[1] and all('"needs review"' not in row for row in rows[2:])


def test_the_note_a_school_sends_with_its_act_is_shown_to_the_official_and_on_the_act(world, browser):
    """Users probe: the accountant's note was stored and shown nowhere."""
    from app.acts.models import Act
    from app.extensions import db
    from tests.helpers import act_of_school, open_task

    act = act_of_school("Alatau Lyceum")
    act.note = 'Two pupils moved <script>alert(1)</script>\nsee the second line'
    db.session.commit()
    official = browser("official_almaty")
    task = open_task(act, "accept_act")
    for page in (official.get(f"/tasks/{task.id}").get_data(as_text=True),
                 official.get(f"/acts/{act.id}").get_data(as_text=True)):
        assert 'id="act-note"' in page and "Two pupils moved &lt;script&gt;" in page and "<script>alert" not in page
    act.note = None
    db.session.commit()
    assert 'id="act-note"' not in official.get(f"/acts/{act.id}").get_data(as_text=True)
    assert db.session.get(Act, act.id).note is None


def test_a_step_without_a_handler_on_an_acts_process_shows_the_act(world, browser):
    """Process owner probe: a co-signature step the owner added to the act's process showed its form fields only —
    the head approved without seeing the amount, the lines or the report."""
    from app.engine.models import HumanTask
    from app.extensions import db
    from tests.helpers import act_of_school, open_task

    act = act_of_school("Alatau Lyceum")
    task = open_task(act, "accept_act")
    db.session.get(HumanTask, task.id).handler = None  # as a step drawn by the owner has none
    db.session.commit()
    page = browser("official_almaty").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="act-summary"' in page and 'id="verification-report"' in page and 'id="act-amount"' in page
    assert act.number in page


def test_a_filter_that_is_not_understood_is_said_not_silently_dropped(world, browser):
    """New-user probe: /acts?month=garbage showed every act under the address of a filter, with no word that the
    filter was not applied."""
    page = browser("official").get("/acts", query_string={"month": "garbage", "status": "hacked",
                                                           "decided_from": "2026-02-30"}).get_data(as_text=True)
    notice = re.search(r'id="acts-ignored"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "<code>month=garbage</code>" in notice and "<code>status=hacked</code>" in notice
    assert "<code>decided_from=2026-02-30</code>" in notice
    assert 'id="acts-ignored"' not in browser("official").get("/acts", query_string={"month": "2026-10"}).get_data(
        as_text=True)


def test_an_official_finds_the_acts_decided_in_a_week_whoever_decided_them(world, browser):
    """New-user probe: an act a colleague accepted last week could be found only under "Completed by me". The list
    shows when each act was decided and filters by the days (the app's time zone, Almaty: an act decided at 20:30
    UTC on the 9th was decided on the 10th there)."""
    from datetime import UTC, datetime

    from tests.helpers import user

    add_paid_history()
    acts = db.session.scalars(select(Act).where(Act.region_id == user("official").region_id).order_by(Act.id)).all()
    assert len(acts) >= 3
    for act in acts[3:]:
        act.decided_at = None  # only the three below were decided in November
    acts[0].status, acts[0].decided_at = "accepted", datetime(2026, 11, 9, 20, 30, tzinfo=UTC)  # 10th in Almaty
    acts[1].status, acts[1].decided_at = "paid", datetime(2026, 11, 16, 4, 0, tzinfo=UTC)
    acts[2].status, acts[2].decided_at = "returned", datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    db.session.commit()
    official = browser("official")
    week = official.get("/acts", query_string={"decided_from": "2026-11-10", "decided_to": "2026-11-16"})
    text = week.get_data(as_text=True)
    assert _numbers(text) == [acts[1].number, acts[0].number], "the latest decision first"
    assert 'class="text-nowrap act-decided"' in text
    day = official.get("/acts", query_string={"decided_from": "2026-11-09", "decided_to": "2026-11-09"})
    assert _numbers(day.get_data(as_text=True)) == []


def test_the_demos_acts_carry_no_made_up_note(world):
    """Users probe: the auditor read "Note with the act: Октябрь" on Alatau Lyceum's November act, and an official
    "Примечание к акту: 2026-11" on a dormitory's — notes the demo had typed for the accountants."""
    from sqlalchemy import select

    assert [a.note for a in db.session.scalars(select(Act)) if a.note] == []


def test_the_operator_finds_a_paid_act_again_by_its_payment_order_number(world, browser):
    """The operator has the payment order in hand ("which act did PP-…/123 pay?"): its number finds the act; the
    payments register was a download only."""
    from app.payments.models import Payment

    add_paid_history()
    payment = db.session.scalars(select(Payment).order_by(Payment.id)).first()
    operator = browser("operator")
    found = operator.get("/acts", query_string={"q": payment.order_number.lower()}).get_data(as_text=True)
    assert _numbers(found) == [payment.act.number]
    assert "Act or payment order number, organisation or BIN" in found
