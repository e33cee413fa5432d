"""An operator and an auditor read a process instance's data in words.

The instance page listed the variables as the workflow holds them — ``acceptance {"due": "2026-11-12T09:00:00+00:00",
"working_days": 5}``, ``decision "accept"``, ``amount_tiyn 125000`` — to people who do not read JSON. Now the known
variables are named in the reader's language, with tenge, dates in the reader's format and decisions in words; the
raw names and JSON stay on the page, folded under "technical details"."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import force_locale

from app.engine.runtime import complete_task
from app.extensions import db
from app.i18n import format_moment
from tests.conftest import Browser
from tests.helpers import act_of_school, open_task, user


def _process_data(page: str) -> str:
    found = re.search(r'<h2 class="h5">[^<]*</h2>\s*(<dl class="row small" id="process-data">.*?</dl>)', page, re.S)
    assert found, "the instance page has its process data in words"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_an_acts_process_data_reads_in_words_with_the_raw_view_folded(app, world):
    act = act_of_school("Alatau Lyceum")
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()

    for reader in ("operator", "auditor"):
        page = Browser(app, reader).get(f"/instances/{act.instance_id}").get_data(as_text=True)
        said = _process_data(page)
        with app.test_request_context(), force_locale("en"):
            due = format_moment(datetime.fromisoformat("2026-11-12T09:00:00+00:00"))
        assert "Decision accepted" in said, said
        assert f"Acceptance due {due}" in said, said
        assert "Month of the act October 2026" in said, said
        assert "Lines accepted by the verification 28" in said and "Lines excluded by the verification 11" in said
        for raw in ("amount_tiyn", "2026-11-12T", "working_days", '"accept"', "acceptance"):
            assert raw not in said, raw
        # the raw names and JSON are still there, folded
        folded = page.split('<details class="mb-3" id="technical-details">', 1)
        assert len(folded) == 2 and 'data-name="acceptance"' in folded[1] and "2026-11-12T09:00:00+00:00" in folded[1]


def test_an_amount_in_tiyn_reads_in_tenge(waits, browser):
    said = _process_data(browser("operator").get(f"/instances/{waits.id}").get_data(as_text=True))
    # 125000 tiyn / 100 = 1,250 tenge, nothing after the point
    assert re.search(r"Amount 1[\s\u00a0,]?250(\.00)?[\s\u00a0]?₸", said), said
    assert "125000" not in said and "Aliya" not in said
