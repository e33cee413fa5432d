"""Demo of the dormitory instrument: three dormitories with their registries, contracts whose rate comes from the
rates decision table, last month's acts — one waiting for its accountant, one submitted with one line of every
anomaly — and, when the year has an earlier month, that month submitted, accepted and paid."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from app import clock
from app.contracts.operations import open_contract_act
from app.demo.seed import make_bin
from app.dormitories.operations import place_dormitory_contract
from app.dormitories.synthetic import DormitoryWorld, build_dormitory
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.people.models import Organisation, Region, User
from app.people.roles import Role
from app.registry.synthetic import _iban as valid_iban


@dataclass(frozen=True)
class DemoDormitory:
    key: str
    name: str
    region: str
    places: int
    beds: int
    anomalies: bool = False


DORMITORIES = (
    DemoDormitory("dorm_a", "Jastar Student Residence", "ASTANA", 40, 44),
    DemoDormitory("dorm_c", "Alatau Campus Hostel", "ALMATY", 12, 12),
    DemoDormitory("dorm_b", "Nomad Student House", "ASTANA", 30, 42, anomalies=True),
)
DORM_USERS = (  # login, role, dormitory, name
    ("dorm_accountant", Role.DORMITORY_ACCOUNTANT, "dorm_a", "Ақмарал Жолдасова"),
    ("dorm_director", Role.DORMITORY_DIRECTOR, "dorm_a", "Серік Әбенов"),
    ("dorm_accountant2", Role.DORMITORY_ACCOUNTANT, "dorm_b", "Динара Құлжанова"),
    ("dorm_accountant3", Role.DORMITORY_ACCOUNTANT, "dorm_c", "Ерік Тоқтаров"),
)
#: A dormitory with beds, documents and residents in the registries but no contract yet: it applies to an order
#: for dormitory places placed in the browser (order → application → contract signed on screen).
APPLICANT = DemoDormitory("dorm_d", "Qazyna Student Residence", "ASTANA", 20, 24)
APPLICANT_USERS = (
    ("dorm_applicant", Role.DORMITORY_ACCOUNTANT, "Әйгерім Нұрланова"),
    ("dorm_applicant_director", Role.DORMITORY_DIRECTOR, "Нұрлан Бекенов"),
)
INSTITUTIONS = ("L.N. Gumilyov Eurasian National University", "Astana Polytechnic College",
                "Al-Farabi Kazakh National University")


def academic_year_end(year_start: date) -> date:
    """Dormitory contracts run the whole year, summer included (students on practice, summer terms)."""
    return date(year_start.year + 1, 8, 31)


def seed_dormitories(password: str, year_start: date, *, rng: random.Random | None = None) -> dict:
    """Organisations, users, registries and contracts in force (rates from the DMN table) for the demo dormitories.

    Needs the regions, the departments and the published models (``dorm_contract``, ``dorm_monthly_act``)."""
    rng = rng or random.Random(2027)
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    institutions = [make_bin(rng, date(1996 + i, 5, 1)) for i in range(len(INSTITUTIONS))]
    orgs, worlds, contracts = {}, {}, {}
    for demo in DORMITORIES:
        org = Organisation(kind="dormitory", bin=make_bin(rng, date(2019, 3, 1)), name=demo.name,
                           region_id=regions[demo.region].id, design_capacity=demo.beds,
                           iban=f"KZ{rng.randint(10, 99)}125KZT{rng.randint(10**9, 10**10 - 1)}")
        db.session.add(org)
        db.session.flush()
        orgs[demo.key] = org
        worlds[demo.key] = build_dormitory(rng, org, places=demo.places, beds=demo.beds, institutions=institutions,
                                           year_start=year_start, home_regions=sorted(regions),
                                           anomalies=demo.anomalies, other=worlds.get("dorm_c"))
        contracts[demo.key] = place_dormitory_contract(org, places=demo.places, period_start=year_start,
                                                       period_end=academic_year_end(year_start))
    now = clock.now()
    for login, role, key, name in DORM_USERS:
        user = User(username=login, full_name=name, role=role.value, organisation_id=orgs[key].id, created_at=now,
                    email=f"{login}@demo.tapsyrys.kz")
        user.set_password(password)
        db.session.add(user)
    db.session.flush()
    return {"orgs": orgs, "worlds": worlds, "contracts": contracts, "institutions": institutions}


def seed_applicant_dormitory(password: str, year_start: date, institutions: list[str], *,
                             rng: random.Random | None = None) -> Organisation:
    """The applicant dormitory (registries filled, no contract) and its accountant and director."""
    rng = rng or random.Random(2028)
    region = db.session.scalars(select(Region).where(Region.code == APPLICANT.region)).one()
    org = Organisation(kind="dormitory", bin=make_bin(rng, date(2021, 4, 1)), name=APPLICANT.name,
                       region_id=region.id, design_capacity=APPLICANT.beds, iban=valid_iban(rng))
    db.session.add(org)
    db.session.flush()
    regions = sorted(db.session.scalars(select(Region.code)))
    build_dormitory(rng, org, places=APPLICANT.places, beds=APPLICANT.beds, institutions=institutions,
                    year_start=year_start, home_regions=regions)
    now = clock.now()
    for login, role, name in APPLICANT_USERS:
        user = User(username=login, full_name=name, role=role.value, organisation_id=org.id, created_at=now,
                    email=f"{login}@demo.tapsyrys.kz")
        user.set_password(password)
        db.session.add(user)
    db.session.flush()
    return org


def submit_month(world: DormitoryWorld, act, username: str) -> None:
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.spec_name == "submit_act",
                                                      HumanTask.status == "open")).one()
    user = db.session.scalars(select(User).where(User.username == username)).one()
    complete_task(task.id, user, data={"lines": [line for line, _ in world.lines_for(act.period)],
                                       "note": ""})


def seed_dormitory_demo(password: str, year_start: date, period: date) -> dict:
    """The demo: every earlier month of the year paid for the clean dormitory (lived on its own days), last month's
    acts opened, the anomalous and the Almaty dormitories' submitted and verified."""
    seeded = seed_dormitories(password, year_start)
    seeded["orgs"]["dorm_d"] = seed_applicant_dormitory(password, date(year_start.year + 1, 9, 1),
                                                        seeded["institutions"])
    db.session.commit()
    contracts, worlds = seeded["contracts"], seeded["worlds"]
    official, operator = (db.session.scalars(select(User).where(User.username == u)).one()
                          for u in ("official", "operator"))
    month = year_start
    while month < period:
        following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        with clock.FrozenClock(datetime(following.year, following.month, 3, 5, 0, tzinfo=UTC)) as day:
            act = open_contract_act(contracts["dorm_a"], month)
            db.session.commit()
            day.advance(days=2)
            submit_month(worlds["dorm_a"], act, "dorm_accountant")
            db.session.commit()
            day.advance(days=2)
            complete_task(_task(act, "accept_act").id, official, data={"decision": "accept"})
            db.session.commit()
            day.advance(days=3)
            complete_task(_task(act, "pay_act").id, operator,
                          data={"order_number": f"DP-{act.id:05d}", "paid_on": f"{day.at.date()}"})
            db.session.commit()
        month = following
    acts = {key: open_contract_act(contract, period) for key, contract in contracts.items()}
    db.session.commit()
    for key, login in (("dorm_b", "dorm_accountant2"), ("dorm_c", "dorm_accountant3")):
        submit_month(worlds[key], acts[key], login)
        db.session.commit()
    return {**seeded, "acts": acts}


def _task(act, spec_name: str) -> HumanTask:
    return db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.spec_name == spec_name,
                                                      HumanTask.status == "open")).one()
