"""The year-end report of a dormitory contract through the generic year-end report: after the contract's last
month opens, the dormitory's accountant finds the report in the inbox with, per month, the places contracted
against the places occupied (accepted lines), the amount paid and what excluded lines withheld, by rule; the
department head approves it and the contract closes. The contract's months are opened by its own process."""

from __future__ import annotations

import random
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


def _anomalous_dormitory(seeded: dict):
    """A dormitory of Astana with one line of every anomaly each month, contracted for two months."""
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
    contract = place_dormitory_contract(org, places=PLACES, period_start=MONTHS[0], period_end=date(2027, 10, 31))
    db.session.commit()
    return world, contract


def _month(world, contract: Contract, period: date) -> Act:
    """The month ends: the contract's own timer opens its act; the accountant submits, the official accepts and the
    operator pays it."""
    following = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    clock.set_clock(clock.FrozenClock(datetime(following.year, following.month, 1, 0, 30, tzinfo=UTC)))
    fire_due_timers()
    act_id = db.session.scalar(select(ContractAct.act_id).where(ContractAct.contract_id == contract.id,
                                                                ContractAct.period == period))
    assert act_id is not None, f"the contract's process opened no act for {period:%Y-%m}"
    act = db.session.get(Act, act_id)
    submit_month(world, act, "kokterek")
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
