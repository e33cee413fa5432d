"""A moment is written to the minute, in the reader's language: the contract page said when its next step comes as
"1 қаңтар 2027 ж., 00:00:00" / "1 янв. 2027 г., 00:00:00" — seconds no one schedules or reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.i18n import format_moment

SECONDS = re.compile(r"\d\d:\d\d:\d\d")
NEW_YEAR = datetime(2026, 12, 31, 19, 0, tzinfo=UTC)  # midnight in Astana


@pytest.mark.parametrize(("language", "written"), [("kk", "1 қаңтар 2027 ж., 00:00"),
                                                   ("ru", "1 янв. 2027\u202fг., 00:00"),
                                                   ("en", "1 Jan 2027, 00:00")])
def test_a_moment_is_written_to_the_minute(app, language, written):
    with app.test_request_context(), force_locale(language):
        assert format_moment(NEW_YEAR) == written
        for length in ("short", "medium", "long", "full"):
            assert not SECONDS.search(format_moment(NEW_YEAR, length)), length


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_contract_page_says_when_its_next_step_comes_without_seconds(world, browser, language):
    from app.contracts.models import Contract

    head = browser("head_shymkent")
    head.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    shown = []
    for contract_id in db_ids(select(Contract.id)):
        page = head.get(f"/contracts/{contract_id}").get_data(as_text=True)
        if 'id="next-timer"' in page:
            shown.append(page.split('id="next-timer"')[1].split("</p>")[0])
    assert shown, "a contract of the demo world has a next automatic step"
    for text in shown:
        assert not SECONDS.search(text), text


def db_ids(query) -> list[int]:
    from app.extensions import db

    return list(db.session.scalars(query))
