"""Seed the demo: 20 regions, 3 departments, 3 schools, ~110 NEDB students (with anomalies), one user
per role, the shipped models, and the previous month's acts — one of them already submitted with
anomalous lines so the department's inbox shows the checks at work."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app import clock
from app.acts.models import StudentNorm
from app.acts.operations import open_monthly_act
from app.demo.regions import REGIONS
from app.engine.publishing import publish_directory
from app.extensions import db
from app.people.models import Organisation, Region, User
from app.people.roles import Role
from app.registry.identifiers import complete_12, iin_century_digit
from app.registry.models import NedbEnrollment

DEMO_PASSWORD = "demo-tapsyrys-2026"  # noqa: S105 - demo accounts only, printed at start

FIRST = ["Айгерим", "Нурлан", "Дана", "Арман", "Асель", "Ерлан", "Жанар", "Данияр", "Мадина", "Алихан",
         "Камила", "Тимур", "Аружан", "Санжар", "Алия", "Бекзат", "Томирис", "Ильяс", "Амина", "Нурсултан"]
LAST = ["Ахметов", "Серикова", "Жумабаев", "Касымова", "Нургалиев", "Омарова", "Сулейменов", "Абдрахманова",
        "Искаков", "Токаева", "Бекмухамедов", "Ермекова", "Садыков", "Есенова", "Мусин"]


@dataclass
class DemoUser:
    username: str
    role: Role
    org_key: str | None
    full_name: str
    hint: str = ""  # what to try with this login (``flask serve`` prints it)


DEMO_USERS = [
    DemoUser("accountant", Role.SCHOOL_ACCOUNTANT, "school_a", "Гүлнар Сейтқали"),
    DemoUser("director", Role.SCHOOL_DIRECTOR, "school_a", "Марат Жақыпов"),
    DemoUser("accountant2", Role.SCHOOL_ACCOUNTANT, "school_b", "Айнұр Бекова"),
    DemoUser("accountant3", Role.SCHOOL_ACCOUNTANT, "school_c", "Сәуле Нұрланқызы"),
    DemoUser("director2", Role.SCHOOL_DIRECTOR, "school_b", "Ерболат Нұрпейісов"),
    DemoUser("accountant4", Role.SCHOOL_ACCOUNTANT, "school_d", "Меруерт Әлібекова"),
    DemoUser("director4", Role.SCHOOL_DIRECTOR, "school_d", "Қанат Байжанов"),
    DemoUser("official_shymkent", Role.DEPARTMENT_OFFICIAL, "dept_shymkent", "Нұржан Әбілов"),
    DemoUser("head_shymkent", Role.DEPARTMENT_HEAD, "dept_shymkent", "Гүлмира Сапарова"),
    DemoUser("official", Role.DEPARTMENT_OFFICIAL, "dept_astana", "Ержан Қалиев"),
    DemoUser("head", Role.DEPARTMENT_HEAD, "dept_astana", "Лаура Әбдірова"),
    DemoUser("official_almaty", Role.DEPARTMENT_OFFICIAL, "dept_almaty", "Бауыржан Оспанов"),
    DemoUser("operator", Role.OPERATOR, "operator", "Әсем Төлеуова",
             "pays acts; records a payment the bank returned on the act's page"),
    # a second operator: the one who records a payment the bank returned does not pay the act again (four eyes)
    DemoUser("operator2", Role.OPERATOR, "operator", "Данияр Сәрсенбаев",
             "pays again an act whose bank return operator recorded (four eyes)"),
    DemoUser("owner", Role.PROCESS_OWNER, "ministry", "Дархан Мұратов"),
    DemoUser("auditor", Role.AUDITOR, "ministry", "Зарина Қасымова"),
    DemoUser("admin", Role.ADMIN, None, "System Administrator"),
]


def make_bin(rng: random.Random, registered: date) -> str:
    while True:
        candidate = complete_12(f"{registered:%y%m}4{rng.randint(0, 9)}{rng.randint(0, 99999):05d}")
        if candidate:
            return candidate


def make_iin(rng: random.Random, born: date, female: bool) -> str:
    century = iin_century_digit(born, female)
    while True:
        candidate = complete_12(f"{born:%y%m%d}{century}{rng.randint(0, 9999):04d}")
        if candidate:
            return candidate


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _student(rng: random.Random, grade: int, ref: date) -> tuple[str, str]:
    female = rng.random() < 0.5
    born = date(ref.year - 6 - grade, rng.randint(1, 12), rng.randint(1, 28))
    last = rng.choice(LAST)
    if female and not last.endswith("а"):
        last += "а"
    return make_iin(rng, born, female), f"{last} {rng.choice(FIRST)}"


def seed_demo(password: str = DEMO_PASSWORD, history: bool = False, dormitories: bool = False) -> dict:
    """Idempotent: does nothing when the demo regions already exist. ``history``: the Astana schools' earlier
    months of the year are also submitted, accepted and paid (the public portal's figures; `flask seed` and
    `make run` ask for it, tests that need it too). ``dormitories``: the dormitory-places instrument's demo
    (app.dormitories.demo) as well — `flask seed` and `make run` ask for it, the dormitory tests too."""
    if db.session.scalars(select(Region).limit(1)).first() is not None:
        return {"seeded": False}
    rng = random.Random(2026)
    today = clock.today()
    period = previous_month(today)
    year_start = date(period.year if period.month >= 9 else period.year - 1, 9, 1)

    regions = {code: Region(code=code, name_kk=kk, name_ru=ru, name_en=en) for code, kk, ru, en in REGIONS}
    db.session.add_all(regions.values())
    db.session.flush()
    orgs = {
        "operator": Organisation(kind="operator", bin=make_bin(rng, date(2010, 3, 1)),
                                 name="АО «Финансовый центр»"),
        "ministry": Organisation(kind="ministry", bin=make_bin(rng, date(2004, 1, 1)),
                                 name="Министерство просвещения РК"),
        "dept_astana": Organisation(kind="department", bin=make_bin(rng, date(2005, 5, 1)),
                                    name="Управление образования г. Астана", region_id=regions["ASTANA"].id),
        "dept_almaty": Organisation(kind="department", bin=make_bin(rng, date(2005, 6, 1)),
                                    name="Управление образования г. Алматы", region_id=regions["ALMATY"].id),
        "dept_shymkent": Organisation(kind="department", bin=make_bin(rng, date(2005, 7, 1)),
                                      name="Управление образования г. Шымкент", region_id=regions["SHYMKENT"].id),
        "school_a": Organisation(kind="school", bin=make_bin(rng, date(2015, 8, 1)), name="Bilim Innovation School",
                                 region_id=regions["ASTANA"].id, design_capacity=600,
                                 iban="KZ86125KZT5004100100"),
        "school_b": Organisation(kind="school", bin=make_bin(rng, date(2017, 4, 1)), name="Nur Private School",
                                 region_id=regions["ASTANA"].id, design_capacity=400,
                                 iban="KZ75125KZT2069100100"),
        "school_c": Organisation(kind="school", bin=make_bin(rng, date(2012, 2, 1)), name="Alatau Lyceum",
                                 region_id=regions["ALMATY"].id, design_capacity=500,
                                 iban="KZ563190000012344567"),
        "school_d": Organisation(kind="school", bin=make_bin(rng, date(2019, 6, 1)), name="Samruk Private School",
                                 region_id=regions["SHYMKENT"].id, design_capacity=300,
                                 iban="KZ396010111000227001"),
        "state_school": Organisation(kind="school", bin=make_bin(rng, date(1998, 9, 1)),
                                     name="Школа-гимназия №12 (государственная)", region_id=regions["ASTANA"].id),
    }
    db.session.add_all(orgs.values())
    db.session.flush()
    now = clock.now()
    for demo in DEMO_USERS:
        user = User(username=demo.username, full_name=demo.full_name, role=demo.role.value,
                    organisation_id=orgs[demo.org_key].id if demo.org_key else None, created_at=now,
                    email=f"{demo.username}@demo.tapsyrys.kz")
        user.set_password(password)
        db.session.add(user)
    academic_year = f"{year_start.year}/{year_start.year + 1}"
    db.session.add_all([
        StudentNorm(academic_year=academic_year, level="primary", monthly_tiyn=3_850_000),
        StudentNorm(academic_year=academic_year, level="basic", monthly_tiyn=4_230_000),
        StudentNorm(academic_year=academic_year, level="secondary", monthly_tiyn=4_610_000),
    ])

    def enrol(school: str, grade: int, enrolled: date = year_start, withdrawn: date | None = None,
              kind: str = "private", person: tuple[str, str] | None = None) -> tuple[str, str]:
        iin, name = person or _student(rng, grade, year_start)
        db.session.add(NedbEnrollment(iin=iin, full_name=name, school_bin=orgs[school].bin, school_kind=kind,
                                      grade=grade, enrolled_on=enrolled, withdrawn_on=withdrawn))
        return iin, name

    for school, count in (("school_a", 36), ("school_b", 30), ("school_c", 28), ("school_d", 24)):
        for i in range(count):
            enrol(school, 1 + i % 11)
    # Anomalies, each of a known kind (DESIGN.md §2):
    withdrawn = [enrol("school_c", 7, withdrawn=period - timedelta(days=20)) for _ in range(3)]
    moved = []
    for _ in range(3):  # left school C for a state school at the start of the year
        person = enrol("school_c", 5, withdrawn=year_start + timedelta(days=14))
        moved.append(enrol("state_school", 5, enrolled=year_start + timedelta(days=14), kind="state", person=person))
    shared = [enrol("school_b", 9) for _ in range(2)]  # studies at school B; school C claims them as well
    phantom = [_student(rng, 4, year_start) for _ in range(2)]  # valid IINs nobody registered
    db.session.flush()

    publish_directory(Path(current_app.config["BPMN_DIR"]), Path(current_app.config["FORMS_DIR"]))
    from app.demo.lifecycle import seed_registry

    seed_registry(orgs)  # no record, no payment: the schools' registry records exist before their acts are verified
    acts = {key: open_monthly_act(orgs[key], period) for key in ("school_a", "school_b", "school_c")}
    db.session.flush()
    db.session.commit()
    _submit_demo_act_with_anomalies(acts["school_c"], withdrawn, moved, shared, phantom)
    from app.demo.lifecycle import seed_lifecycle

    seed_lifecycle(orgs, password)
    from app.dormitories.demo import APPLICANT_USERS, DORM_USERS, seed_dormitory_demo

    dorms = seed_dormitory_demo(password, year_start, period) if dormitories else None
    from app.demo.history import seed_paid_history
    from app.public.figures import refresh_public_figures

    if history:
        seed_paid_history(orgs, year_start, period)
    refresh_public_figures()
    db.session.commit()
    from app.notifications.announce import announce_backlog

    announce_backlog()  # as the background pass would: the demo's open tasks are in everyone's bell
    return {"seeded": True, "period": period, "password": password,
            "users": [d.username for d in DEMO_USERS]
            + ([login for login, *_ in DORM_USERS + APPLICANT_USERS] if dorms else []),
            "dormitories": dorms}


def _submit_demo_act_with_anomalies(act, withdrawn, moved, shared, phantom) -> None:
    """School C's accountant has already submitted; the Almaty official finds it verified in the inbox."""
    from app.acts.operations import prefill_lines
    from app.engine.models import HumanTask
    from app.engine.runtime import complete_task

    accountant = db.session.scalars(select(User).where(User.username == "accountant3")).one()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == act.instance_id,
                                                      HumanTask.status == "open")).one()
    lines = prefill_lines(act)
    extra = [*withdrawn, *moved, *shared, *phantom]
    lines += [{"iin": iin, "full_name": name, "grade": 5, "days_attended": 18} for iin, name in extra]
    lines.append(dict(lines[0]))  # the same child twice in one act
    complete_task(task.id, accountant, data={"lines": lines, "note": ""})
    db.session.commit()
