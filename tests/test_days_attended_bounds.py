"""Tester's probe: a school act line's days attended got three answers from three rules — the page limits the field to
1…(days of the month), −5 got the form's "Must be at least 0", 0 the domain's "a student who attended no day … remove
the line", and a file of lines for November "at most 31". Now the act's month decides, on the page, in a file of
lines and through the API, whatever bounds the published form carries (app.acts.instrument.school_line_values)."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import date

import pytest

from app.engine import runtime
from app.engine.models import ProcessInstance, ProcessModelVersion
from app.extensions import db
from app.people.tokens import create_token
from tests.conftest import Browser
from tests.helpers import act_of_school, lines_form, open_task, user

PHANTOM = {"iin": "791028302728", "full_name": "Фантом Тест", "grade": "3"}
#: what each value says in November 2026 (30 days)
ANSWERS = {"-5": "Фантом Тест (791028302728): days attended is a number from 1 to 30, the days of November 2026.",
           "0": "Фантом Тест (791028302728): a student who attended no day of November 2026 is not listed in the act",
           "31": "Фантом Тест (791028302728): November 2026 has 30 days; days attended cannot be more.",
           "32": "Фантом Тест (791028302728): November 2026 has 30 days; days attended cannot be more."}
OLD_FORM_BOUNDS = '"minimum": 0, "maximum": 31'


def _publish_old_bounds(act) -> None:
    """The act's process version as one published before: its form says days attended are 0–31."""
    version = db.session.get(ProcessModelVersion, db.session.get(ProcessInstance, act.instance_id).model_version_id)
    name = next(n for n in version.files if n.endswith("submit-act.schema.json"))
    files = dict(version.files)
    files[name] = files[name].replace('"minimum": 1, "maximum": 31', OLD_FORM_BOUNDS)
    assert OLD_FORM_BOUNDS in files[name]
    version.files = files
    db.session.commit()
    runtime._forms_cache.clear()


@pytest.mark.parametrize("published", ["shipped", "published with 0–31"])
def test_days_attended_get_one_month_aware_answer_on_the_page_from_a_file_and_through_the_api(world, browser,
                                                                                               published):
    act = act_of_school("Bilim Innovation School")
    act.period = date(2026, 11, 1)
    db.session.commit()
    if published != "shipped":
        _publish_old_bounds(act)
    task = open_task(act, "submit_act")
    accountant = browser("accountant")
    _row, secret = create_token(user("accountant"), "days", ["read", "tasks"], 1)
    db.session.commit()
    api = Browser(accountant.app)
    api.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    for typed, says in ANSWERS.items():
        page = accountant.post(f"/tasks/{task.id}", lines_form([dict(PHANTOM, days_attended=typed)]))
        text = html.unescape(page.get_data(as_text=True))
        field = re.search(r'id="f-lines-0-days_attended-err"[^>]*>(.*?)</', text, re.S)
        assert page.status_code == 422 and field and says in field.group(1), (typed, "page")

        rows = "iin,full_name,grade,days_attended\n" + ",".join([PHANTOM["iin"], PHANTOM["full_name"], "3", typed])
        sent = accountant.post(f"/tasks/{task.id}/lines-from-file",
                               {"file": (io.BytesIO(rows.encode()), "act.csv")}, content_type="multipart/form-data")
        report = html.unescape(sent.get_data(as_text=True))
        refused = re.search(r'<table[^>]*id="lines-file-refused">.*?</table>', report, re.S)
        assert refused and says in refused.group(0) and "Must be at" not in refused.group(0), (typed, "file")

        answer = api._request("post", f"/api/v1/tasks/{task.id}/complete",
                              json={"data": {"lines": [dict(PHANTOM, grade=3, days_attended=int(typed))]}})
        document = json.dumps(answer.get_json(), ensure_ascii=False)
        assert answer.status_code == 422 and says in document and "Must be at" not in document, (typed, document)
    assert open_task(act, "submit_act").status == "open", "nothing was submitted"
    assert accountant.post(f"/tasks/{task.id}", lines_form([dict(PHANTOM, days_attended="30")])).status_code == 302
