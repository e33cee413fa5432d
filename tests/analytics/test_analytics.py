"""Analytics: red flags that point at the schools worth a look, process times per step, and nothing outside a
user's scope."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.acts.models import Act
from app.analytics.flags import school_flags
from app.engine.models import HumanTask, ProcessModelVersion
from app.extensions import db
from tests.conftest import Browser
from tests.helpers import act_of_school, school


def _flags_row(page: str, school_name: str) -> str:
    match = re.search(rf">{re.escape(school_name)}</a></th>(.*?)</tr>", page, re.S)
    return match.group(1) if match else ""


def test_the_school_with_excluded_lines_is_flagged_for_its_department_and_the_operator(world, app):
    alatau = act_of_school("Alatau Lyceum")
    assert alatau.withheld_tiyn * 10 >= alatau.amount_tiyn + alatau.withheld_tiyn  # ≥ 10 % withheld
    for username in ("official_almaty", "operator", "auditor"):
        page = Browser(app, username).get("/analytics/").get_data(as_text=True)
        assert 'data-flag="withheld"' in _flags_row(page, "Alatau Lyceum"), username


def test_a_department_sees_only_its_own_region(world, app):
    page = Browser(app, "official").get("/analytics/").get_data(as_text=True)
    assert "Alatau Lyceum" not in page
    alatau = school("Alatau Lyceum")
    assert Browser(app, "official").get(f"/analytics/schools/{alatau.id}").status_code == 404
    page = Browser(app, "official_almaty").get(f"/analytics/schools/{alatau.id}")
    assert page.status_code == 200
    act = db.session.scalars(select(Act).where(Act.school_id == alatau.id)).first()
    assert f"<td>{act.period:%B %Y}</td>" in page.get_data(as_text=True), "the month as people name it"


def test_a_year_that_is_no_academic_year_is_ignored_with_a_warning(world, app):
    """/analytics/?year=abc answered 404 "no such page"; the reports say a malformed month and show the latest."""
    operator = Browser(app, "operator")
    alatau = school("Alatau Lyceum")
    for url in ("/analytics/?year=abc", f"/analytics/schools/{alatau.id}?year=abc"):
        page = operator.get(url)
        assert page.status_code == 200, url
        assert "“abc” is not an academic year" in page.get_data(as_text=True), url
    assert operator.get("/analytics/?year=1999/2000").status_code == 404, "a year written as one, without acts"


@pytest.mark.parametrize("username", ["accountant", "director"])
def test_schools_have_no_analytics(world, app, username):
    assert Browser(app, username).get("/analytics/").status_code == 404
    assert Browser(app, username).get("/analytics/processes").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login(world, app):
    response = Browser(app).get("/analytics/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_each_flag_fires_on_its_own_evidence_and_not_below_its_threshold(world, app):
    bilim = school("Bilim Innovation School")
    act = act_of_school("Bilim Innovation School")

    def flags() -> dict:
        found = school_flags("2026/2027", Act.school_id == bilim.id)
        return found[0].flags if found else {}

    act.status, act.total_lines, act.accepted_lines = "accepted", 36, 36
    act.total_students, act.accepted_students = 36, 36  # as verification writes them with the line totals
    act.amount_tiyn, act.withheld_tiyn = 100_000_000, 10_000_000  # 9.1 %: under the 10 % threshold
    act.submitted_at, act.revision = datetime(2026, 11, 10, tzinfo=UTC), 1  # 10 days after the month: on time
    db.session.flush()
    assert flags() == {}
    act.withheld_tiyn = 12_000_000  # 10.7 %
    act.submitted_at = datetime(2026, 11, 12, tzinfo=UTC)  # 12 days after the month
    act.revision = 3  # returned twice
    bilim.design_capacity = 30
    earlier = Act(number="ACT-TEST-SEP", school_id=bilim.id, region_id=bilim.region_id, period=date(2026, 9, 1),
                  status="paid", revision=1, total_lines=20, accepted_lines=20, total_students=20, accepted_students=20,
                  amount_tiyn=1, withheld_tiyn=0,
                  created_at=datetime(2026, 10, 1, tzinfo=UTC), submitted_at=datetime(2026, 10, 3, tzinfo=UTC))
    db.session.add(earlier)
    db.session.flush()
    from flask_babel import refresh

    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()  # the locale is kept on the app context this test shares
        found = flags()
    assert set(found) == {"withheld", "late", "returns", "over_capacity", "jump"}
    assert found["jump"] == "September 2026: 20 → October 2026: 36" and found["over_capacity"] == "36 > 30"
    assert found["late"] == "October 2026" and found["returns"] == "October 2026 ×2"
    assert found["withheld"] == "11%"
    # in the reader's language and form: the Russian page said "2026-09 20 → 2026-10 36" and "11%"
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        refresh()
        found = flags()
    refresh()
    assert found["jump"] == "сентябрь 2026: 20 → октябрь 2026: 36" and found["late"] == "октябрь 2026"
    assert found["withheld"].replace("\u00a0", " ") == "11 %"


def test_an_act_submitted_just_after_midnight_in_kazakhstan_is_late_by_that_day(world, app):
    """Submitted at 00:30 on 11 November in Astana (19:30 on the 10th in UTC), eleven days after October: late, in
    the school's flags and the operator's figures — the UTC calendar's day said ten, on time."""
    from app.analytics.process import pilot_figures

    bilim = school("Bilim Innovation School")
    act = act_of_school("Bilim Innovation School")
    act.status, act.revision = "accepted", 1
    act.submitted_at = datetime(2026, 11, 10, 19, 30, tzinfo=UTC)
    db.session.flush()
    assert "late" in school_flags("2026/2027", Act.school_id == bilim.id)[0].flags
    assert pilot_figures(Act.id == act.id)["on_time"] == 0
    act.submitted_at = datetime(2026, 11, 10, 18, 30, tzinfo=UTC)  # 23:30 on the 10th there: on time
    db.session.flush()
    assert "late" not in school_flags("2026/2027", Act.school_id == bilim.id)[0].flags
    assert pilot_figures(Act.id == act.id)["on_time"] == 1


def test_process_analytics_show_time_per_step_and_where_instances_wait(world, app):
    act = act_of_school("Alatau Lyceum")
    version_id = act_instance_version(act)
    done = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.status == "completed")).one()
    done.created_at, done.completed_at = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    db.session.commit()
    operator = Browser(app, "owner")
    page = operator.get(f"/analytics/processes/{version_id}").get_data(as_text=True)
    row = re.search(rf'data-element="{done.spec_name}">(.*?)</tr>', page, re.S).group(1)
    assert "48.0" in row  # two days
    data = json.loads(re.search(r'id="heat-data">(.*?)</script>', page, re.S).group(1))
    assert data["heat"][done.spec_name] == 1.0
    from app.engine.models import ProcessInstance

    open_tasks = db.session.execute(select(HumanTask.spec_name, db.func.count()).join(ProcessInstance)
                                    .where(ProcessInstance.model_version_id == version_id, HumanTask.status == "open")
                                    .group_by(HumanTask.spec_name)).all()
    assert data["waiting"] == dict(open_tasks) and data["waiting"]["accept_act"] == 1
    diagram = operator.get(f"/analytics/processes/{version_id}/diagram.bpmn")
    assert diagram.status_code == 200 and "attachment" in diagram.headers["Content-Disposition"]
    assert operator.get("/analytics/processes/2147483648").status_code == 404


def act_instance_version(act: Act) -> int:
    from app.engine.models import ProcessInstance

    version_id = db.session.get(ProcessInstance, act.instance_id).model_version_id
    assert db.session.get(ProcessModelVersion, version_id).status == "published"
    return version_id


def test_a_student_on_two_lines_of_a_month_is_one_student_for_the_capacity_and_the_change_flags(world, app):
    """Students on two lines of a month (a dormitory's move to another room: a line per room, each paid its days)
    are as many students as before: neither more than the capacity nor a sudden change in the number of children
    when the next month has them on one line each."""
    import math

    from app.analytics.flags import JUMP_MIN, JUMP_SHARE
    from tests.helpers import add_paid_history, also_on

    add_paid_history()
    bilim = school("Bilim Innovation School")
    september = db.session.scalars(select(Act).where(Act.school_id == bilim.id,
                                                     Act.period == date(2026, 9, 1))).one()
    students = len({line.iin for line in september.lines if line.outcome == "accepted"})
    assert students == september.accepted_lines == september.total_lines
    moved = max(JUMP_MIN, math.ceil(JUMP_SHARE * students / (1 - JUMP_SHARE)) + 1)
    assert moved <= students
    for line in list(september.lines)[:moved]:
        also_on(september, line, days=10)
    bilim.design_capacity = students
    october = db.session.scalars(select(Act).where(Act.school_id == bilim.id,
                                                   Act.period == date(2026, 10, 1))).one()
    october.status, october.total_lines, october.accepted_lines = "accepted", students, students
    october.total_students = october.accepted_students = students
    october.submitted_at, october.revision = datetime(2026, 11, 5, tzinfo=UTC), 1
    db.session.flush()
    assert september.accepted_lines == september.total_lines == students + moved

    found = school_flags("2026/2027", Act.school_id == bilim.id)
    assert found[0].flags == {}
    assert found[0].claimed_tiyn == sum(a.amount_tiyn + a.withheld_tiyn for a in (september, october)), \
        "the money is every line's"


def test_the_flags_read_the_acts_students_not_the_years_lines(world, app):
    """For the operator every line of the year is in scope (≈ 6.7 million at country scale): the flags count students
    from what verification stored on each act, and reading them touches no act line (benchmarks/analytics_flags.py)."""
    from sqlalchemy import event, true

    from tests.helpers import add_paid_history

    add_paid_history()
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    db.session.expunge_all()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        found = school_flags("2026/2027", true())
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert found and statements
    assert not [s for s in statements if "act_line" in s], statements
