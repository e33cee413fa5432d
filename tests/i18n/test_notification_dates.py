"""A notification names its dates as the pages do, in its reader's language: never an ISO date, and in the same
pattern as the time written under it (users probe: "2026 ж. 10 қар. күнгі PP-00018 төлем тапсырмасы" above
"10.11.2026, 09:00"; "due 2026-12-11" and "from 2026-11-01 to 2026-11-20" in other notices)."""

from __future__ import annotations

import pytest

from app.notifications.operations import render_text, translator_for

CASES = {
    "kk": ("10.11.2026 күнгі PP-18 төлем тапсырмасы", "11.12.2026", "қараша 2026 айынан"),
    "ru": ("платёжное поручение PP-18 от 10.11.2026", "11.12.2026", "с ноября 2026"),
    "en": ("payment order PP-18 of 10 Nov 2026", "11 Dec 2026", "from November 2026"),
}


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_notification_dates_are_written_as_the_pages_write_them(app, language):
    paid, due, month = CASES[language]
    with app.app_context():
        t = translator_for(language)
        paid_text = render_text("act_paid", {"subject": "ACT-1", "amount_tiyn": 100, "order": "PP-18",
                                             "paid_on": "2026-11-10"}, t, language)
        due_text = render_text("due_soon", {"subject": "ACT-1", "task": "Accept act", "due": "2026-12-11"}, t,
                               language)
        deputy_text = render_text("deputy_named", {"principal": "A", "start": "2026-11-01", "end": "2026-11-20"}, t,
                                  language)
        amended_text = render_text("contract_amended", {"subject": "C-1", "start": "2026-11"}, t, language)
    assert paid in paid_text
    assert due in due_text and "2026-12-11" not in due_text
    assert "2026-11-01" not in deputy_text and "2026-11-20" not in deputy_text
    assert month in amended_text and "2026-11" not in amended_text


@pytest.mark.parametrize("stored_naive", [False, True], ids=["aware", "naive UTC (SQLite)"])
def test_a_due_date_just_after_midnight_in_kazakhstan_is_that_day_in_the_notice(stored_naive):
    """Due at 00:30 on Friday 13 November in Astana — 19:30 on the 12th in UTC: the inbox shows the 13th, and the
    notice said the 12th (the UTC calendar's day)."""
    from datetime import UTC, datetime

    from app.engine.models import HumanTask
    from app.notifications.operations import task_params

    due = datetime(2026, 11, 12, 19, 30, tzinfo=UTC)
    task = HumanTask(spec_name="accept_act", title="Accept act", subject_title="ACT-1",
                     due_at=due.replace(tzinfo=None) if stored_naive else due)
    assert task_params(task)["due"] == "2026-11-13"
