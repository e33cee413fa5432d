"""The year-end report of a dormitory contract through the generic year-end report: after the last month of each
academic year the contract covers opens, the dormitory's accountant finds that year's report in the inbox with, per
month, the places contracted against the places occupied (accepted lines), the amount paid and what excluded lines
withheld, by rule; the department head approves it, and the approval of the last year's report closes the contract.
The contract's months are opened by its own process."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.contracts.models import Contract, ContractAct
from app.dormitories.demo import submit_month
from app.dormitories.operations import place_dormitory_contract
from app.dormitories.synthetic import build_dormitory
from app.engine.models import HumanTask, ProcessInstance
from app.engine.runtime import complete_task, fire_due_timers
from app.extensions import db
from app.people.models import Organisation, Region, User
from app.people.roles import Role
from app.yearend.models import YearEndReport
from tests.helpers import user
from tests.lifecycle.flow import open_task_of

PLACES = 5
MONTHS = (date(2027, 9, 1), date(2027, 10, 1))


def _anomalous_dormitory(seeded: dict, period_end: date = date(2027, 10, 31)):
    """A dormitory of Astana with one line of every anomaly each month, contracted from September 2027 (for two
    months unless told)."""
    from app.demo.seed import make_bin

    rng = random.Random(7)
    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    org = Organisation(kind="dormitory", bin=make_bin(rng, date(2020, 2, 1)), name="Kökterek Hostel",
                       region_id=astana.id, design_capacity=PLACES + 12, iban="KZ86125KZT5004100100")
    db.session.add(org)
    db.session.flush()
    world = build_dormitory(rng, org, places=PLACES, beds=PLACES + 12, institutions=seeded["institutions"],
                            year_start=MONTHS[0], home_regions=sorted(db.session.scalars(select(Region.code))),
                            anomalies=True)
    accountant = User(username="kokterek", full_name="Әлия Серікова", role=Role.DORMITORY_ACCOUNTANT.value,
                      organisation_id=org.id, created_at=clock.now(), email="kokterek@demo.tapsyrys.kz")
    accountant.set_password("pw")
    db.session.add(accountant)
    contract = place_dormitory_contract(org, places=PLACES, period_start=MONTHS[0], period_end=period_end)
    db.session.commit()
    return world, contract


def _month(world, contract: Contract, period: date, lines: list[dict] | None = None) -> Act:
    """The month ends: the contract's own timer opens its act; the accountant submits (``lines``, or the world's),
    the official accepts and the operator pays it."""
    following = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    clock.set_clock(clock.FrozenClock(datetime(following.year, following.month, 1, 0, 30, tzinfo=UTC)))
    fire_due_timers()
    act_id = db.session.scalar(select(ContractAct.act_id).where(ContractAct.contract_id == contract.id,
                                                                ContractAct.period == period))
    assert act_id is not None, f"the contract's process opened no act for {period:%Y-%m}"
    act = db.session.get(Act, act_id)
    if lines is None:
        submit_month(world, act, "kokterek")
    else:
        complete_task(open_task_of(act.instance_id, "submit_act").id, user("kokterek"),
                      data={"lines": lines, "note": ""})
    db.session.commit()
    complete_task(open_task_of(act.instance_id, "accept_act").id, user("official"), data={"decision": "accept"})
    db.session.commit()
    complete_task(open_task_of(act.instance_id, "pay_act").id, user("operator"),
                  data={"order_number": f"DP-{act.id:05d}", "paid_on": f"{clock.today()}"})
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Act, act.id)


def test_a_dormitory_year_end_report_shows_places_contracted_occupied_paid_and_withheld_by_rule(dorm_year, browser):
    world, contract = _anomalous_dormitory(dorm_year)
    acts = [_month(world, contract, period) for period in MONTHS]
    assert [a.status for a in acts] == ["paid", "paid"]

    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "dorm_year_end",
                                                                ProcessInstance.subject_id == contract.id)).one()
    task = open_task_of(instance.id, "submit_report")
    assert task.role == "dormitory_accountant"
    accountant = browser("kokterek")
    page = accountant.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="report-months"' in page and "Places contracted" in page
    # Another dormitory's accountant cannot open it.
    assert browser("dorm_accountant").get(f"/tasks/{task.id}").status_code == 404

    response = accountant.post(f"/tasks/{task.id}", {"comment": "Two months, as contracted."})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    report = db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)).one()
    assert report.total_paid_tiyn == sum(a.amount_tiyn for a in acts) > 0
    for month, act in zip(report.months, acts, strict=True):
        expected = Counter(rule for _line, rule in world.lines_for(act.period) if rule)
        assert month["contracted"] == PLACES
        assert month["accepted_lines"] == act.accepted_lines
        assert month["by_rule"] == dict(expected), month["period"]
        assert month["withheld_tiyn"] > 0 and month["paid_tiyn"] == act.amount_tiyn

    head = browser("head")
    approve = open_task_of(instance.id, "approve_report")
    shown = head.get(f"/tasks/{approve.id}").get_data(as_text=True)
    assert 'id="report-withheld"' in shown
    for code in report.months[0]["by_rule"]:
        assert f'data-rule="{code}"' in shown, code
    assert head.post(f"/tasks/{approve.id}", {"decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "closed"
    assert db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                      HumanTask.status == "open")).all() == []


def _months(first: date, count: int) -> list[date]:
    out = [first]
    while len(out) < count:
        out.append(date(out[-1].year + out[-1].month // 12, out[-1].month % 12 + 1, 1))
    return out


def _report(contract: Contract, year: str) -> YearEndReport:
    db.session.expire_all()
    return db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id,
                                                          YearEndReport.academic_year == year)).one()


def test_a_two_year_contract_gets_a_report_per_academic_year_each_with_its_own_months(dorm_year, browser):
    world, contract = _anomalous_dormitory(dorm_year, period_end=date(2029, 8, 31))
    first_year, second_year = _months(date(2027, 9, 1), 12), _months(date(2028, 9, 1), 12)
    acts = {period: _month(world, contract, period) for period in first_year[:-1]}
    assert db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)).all() == [], \
        "no report while the academic year's months are still opening"
    acts[first_year[-1]] = _month(world, contract, first_year[-1])  # August 2028's act opened on 1 September

    # 2027/2028: its own report, its own twelve months, in the dormitory's inbox.
    report = _report(contract, "2027/2028")
    assert report.status == "awaiting" and report.instance_id is not None
    instance = db.session.get(ProcessInstance, report.instance_id)
    assert instance.process_id == "dorm_year_end" and "2027/2028" in instance.title
    accountant, head = browser("kokterek"), browser("head")
    task = open_task_of(instance.id, "submit_report")
    page = accountant.get(f"/tasks/{task.id}").get_data(as_text=True)
    table = page.split('id="report-months"')[1].split("</table>")[0]
    assert "2027/2028" in page.split('id="report-year"')[1][:80]
    assert re.findall(r"<td>(\d{4}-\d{2})</td>", table) == [f"{m:%Y-%m}" for m in first_year]
    assert accountant.post(f"/tasks/{task.id}", {"comment": "First year"}).status_code == 302
    report = _report(contract, "2027/2028")
    assert [m["period"] for m in report.months] == [f"{m:%Y-%m}" for m in first_year]
    assert report.total_paid_tiyn == sum(a.amount_tiyn for a in acts.values()) > 0
    assert [m["accepted_lines"] for m in report.months] == [acts[m].accepted_lines for m in first_year]
    # The head returns it: it goes back to the dormitory, and the contract runs on.
    approve = open_task_of(instance.id, "approve_report")
    assert head.post(f"/tasks/{approve.id}", {"decision": "return", "comment": "Explain May"}).status_code == 302

    later = {period: _month(world, contract, period) for period in second_year}
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "active"
    second = _report(contract, "2028/2029")
    assert second.status == "awaiting"
    second_instance = db.session.get(ProcessInstance, second.instance_id)
    task = open_task_of(second_instance.id, "submit_report")
    assert accountant.post(f"/tasks/{task.id}", {"comment": "Second year"}).status_code == 302
    second = _report(contract, "2028/2029")
    assert [m["period"] for m in second.months] == [f"{m:%Y-%m}" for m in second_year]
    assert second.total_paid_tiyn == sum(a.amount_tiyn for a in later.values())
    assert {m["contracted"] for m in second.months} == {PLACES}

    # The last year's approval would close the contract: not while 2027/2028 is unapproved.
    approve_last = open_task_of(second_instance.id, "approve_report")
    refused = head.post(f"/tasks/{approve_last.id}", {"decision": "approve"})
    assert refused.status_code != 302 and "2027/2028" in refused.get_data(as_text=True)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "active" and _report(contract, "2028/2029").status == \
        "submitted"

    task = open_task_of(instance.id, "submit_report")
    assert accountant.post(f"/tasks/{task.id}", {"comment": "May: two students moved in late"}).status_code == 302
    approve = open_task_of(instance.id, "approve_report")
    assert head.post(f"/tasks/{approve.id}", {"decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "active", "an earlier year's approval does not close it"
    assert db.session.get(ProcessInstance, instance.id).status == "completed"

    assert head.post(f"/tasks/{approve_last.id}", {"decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "closed"
    assert [(r.academic_year, r.status) for r in db.session.scalars(
        select(YearEndReport).where(YearEndReport.contract_id == contract.id).order_by(YearEndReport.academic_year))] \
        == [("2027/2028", "approved"), ("2028/2029", "approved")]
    page = head.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="report-status-2027-2028"' in page and 'id="report-status-2028-2029"' in page


def test_the_academic_years_of_a_three_year_span_each_end_in_august_or_at_the_contract_end(dorm_year):
    """A contract from August 2028 to September 2030 spans four academic years; its process asks for a year's report
    after the year's last month under the contract — August, or the contract's last month."""
    from app.contracts.operations import contract_years, open_contract_act, plan_next_month

    org = dorm_year["orgs"]["dorm_c"]
    contract = place_dormitory_contract(org, places=3, period_start=date(2028, 8, 1), period_end=date(2030, 9, 30))
    years = contract_years(contract)
    assert list(years) == ["2027/2028", "2028/2029", "2029/2030", "2030/2031"]
    assert [len(months) for months in years.values()] == [1, 12, 12, 1]
    ends = []
    for period in [m for months in years.values() for m in months]:
        plan = plan_next_month(contract)
        assert plan["period"] == period.isoformat()
        if plan["year_end"]:
            ends.append((plan["academic_year"], plan["period"][:7]))
        open_contract_act(contract, period)  # the month ends: the process opens its act
    assert ends == [("2027/2028", "2028-08"), ("2028/2029", "2029-08"), ("2029/2030", "2030-08"),
                    ("2030/2031", "2030-09")]



def test_a_contract_whose_process_predates_reports_per_year_gets_one_for_every_year_at_its_end(dorm_year):
    """A two-year contract still running the earlier contract process asks once, after its last month, for "the"
    year-end report: it gets one per academic year, none of its months left out."""
    from types import SimpleNamespace

    from app.yearend.handlers import start_year_end

    org = dorm_year["orgs"]["dorm_c"]
    contract = place_dormitory_contract(org, places=3, period_start=date(2028, 9, 1), period_end=date(2030, 8, 31))
    ctx = SimpleNamespace(instance=SimpleNamespace(subject_type="contract", subject_id=contract.id), actor=None)
    start_year_end(ctx, contract.id)
    start_year_end(ctx, contract.id)  # asked again: nothing more
    reports = db.session.scalars(select(YearEndReport).where(YearEndReport.contract_id == contract.id)
                                 .order_by(YearEndReport.academic_year)).all()
    assert [(r.academic_year, r.status) for r in reports] == [("2028/2029", "awaiting"), ("2029/2030", "awaiting")]
    instances = [db.session.get(ProcessInstance, r.instance_id) for r in reports]
    assert len({i.id for i in instances}) == 2 and all(i.process_id == "dorm_year_end" for i in instances)
    assert all(open_task_of(i.id, "submit_report").role == "dormitory_accountant" for i in instances)


def test_a_student_who_moved_rooms_is_one_student_in_the_year_end_report_and_both_lines_are_paid(dorm_year, browser):
    """A move to another room within the month gives the act a line per room, each paid its own days: the report's
    month counts the student once beside its two accepted lines, and its amount is every line's."""
    from app.acts.models import ActLine
    from app.dormitories.models import DormitoryBed

    world, contract = _anomalous_dormitory(dorm_year)
    lines = [dict(line) for line, rule in world.lines_for(MONTHS[0])]
    mover = next(line for line, (_l, rule) in zip(lines, world.lines_for(MONTHS[0]), strict=True) if rule is None)
    taken = {(line["room"], line["bed"]) for line in lines}
    free = next(b for b in db.session.scalars(select(DormitoryBed).where(
        DormitoryBed.dormitory_bin == contract.school.bin).order_by(DormitoryBed.id)) if (b.room, b.bed) not in taken)
    mover["moved_out"] = "2027-09-16"  # the first room 1–15 September, the other from the 16th
    moved = {key: value for key, value in mover.items() if key != "moved_out"}
    lines.append(dict(moved, room=free.room, bed=free.bed, moved_in="2027-09-16"))
    september = _month(world, contract, MONTHS[0], lines)
    accepted = db.session.scalars(select(ActLine).where(ActLine.act_id == september.id,
                                                        ActLine.outcome == "accepted")).all()
    assert sum(line.iin == mover["iin"] for line in accepted) == 2, "a move, not a copy: both lines paid"
    _month(world, contract, MONTHS[1])

    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "dorm_year_end",
                                                                ProcessInstance.subject_id == contract.id)).one()
    task = open_task_of(instance.id, "submit_report")
    accountant = browser("kokterek")
    page = accountant.get(f"/tasks/{task.id}").get_data(as_text=True)
    first = page.split('id="report-months"')[1].split("<tr")[2]
    assert "Residents paid for" in page and "Accepted lines" in page
    assert f'data-figure="students">{len(accepted) - 1}<' in first
    assert accountant.post(f"/tasks/{task.id}", {"comment": "A room move in September."}).status_code == 302
    month = _report(contract, "2027/2028").months[0]
    assert (month["students"], month["accepted_lines"]) == (len(accepted) - 1, len(accepted))
    assert month["amount_tiyn"] == sum(line.amount_tiyn for line in accepted) == month["paid_tiyn"]
