"""Demo of the whole lifecycle, driven through the real operations and the engine as each role would.

Astana's and Shymkent's departments place the order for the current academic year (Astana's schools can
apply in the browser). In Shymkent, Samruk Private School has applied, the official allocated places, the
director and the head signed: the contract is active, and its timers open the months already ended.
Registry rows (business register, licences) are written for every demo school so the eligibility check
has something true to check against."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app import clock
from app.engine.models import HumanTask
from app.engine.runtime import complete_task
from app.extensions import db
from app.people.models import User

LICENCES = {  # school key -> (licence number, levels)
    "school_a": ("KZ15LAA00001234", "primary,basic,secondary"),
    "school_b": ("KZ17LAA00004321", "primary,basic,secondary"),
    "school_c": ("KZ12LAA00000777", "primary,basic,secondary"),
    "school_d": ("KZ19LAA00002019", "primary,basic,secondary"),
}


def _user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def _open_task(instance_id: int, spec_name: str) -> HumanTask:
    return db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.spec_name == spec_name, HumanTask.status == "open")).one()


def seed_registry(orgs: dict) -> None:
    """Business register and licence rows for the demo schools (when the registry tables exist)."""
    from app.registry import models

    business, licence = getattr(models, "BusinessRecord", None), getattr(models, "Licence", None)
    for key, (number, levels) in LICENCES.items():
        org = orgs[key]
        if business is not None and not db.session.scalars(select(business).where(business.bin == org.bin)).first():
            db.session.add(business(bin=org.bin, name=org.name, status="active", oked="85.31"))
        if licence is not None and not db.session.scalars(select(licence).where(licence.number == number)).first():
            db.session.add(licence(number=number, bin=org.bin, valid_from=date(2010, 1, 1), valid_until=None,
                                   levels=levels))
    db.session.flush()


def seed_lifecycle(orgs: dict, password: str) -> None:
    from app.applications.operations import start_application
    from app.contracts.models import Contract
    from app.orders.operations import place_order

    seed_registry(orgs)
    today = clock.today()
    start = today.year if today.month >= 9 else today.year - 1
    window = (today - timedelta(days=30), today + timedelta(days=45))
    place_order(orgs["dept_astana"].region, f"{start}/{start + 1}", 2_000_000_000 * 100, *window, _user("official"))
    order = place_order(orgs["dept_shymkent"].region, f"{start}/{start + 1}", 900_000_000 * 100, *window,
                        _user("official_shymkent"))
    db.session.commit()

    school = orgs["school_d"]
    application = start_application(order, school, _user("accountant4"))
    complete_task(_open_task(application.instance_id, "submit_application").id, _user("accountant4"), data={
        "licence_number": LICENCES["school_d"][0], "locality": "urban", "students_primary": 9,
        "students_basic": 10, "students_secondary": 5, "design_capacity": 300, "iban": school.iban})
    complete_task(_open_task(application.instance_id, "review_application").id, _user("official_shymkent"), data={
        "decision": "allocate", "places_primary": 9, "places_basic": 10, "places_secondary": 5,
        "comment": "Демо: места распределены"})
    db.session.commit()
    contract = db.session.scalars(select(Contract).where(Contract.application_id == application.id)).one()
    complete_task(_open_task(contract.instance_id, "sign_director").id, _user("director4"),
                  data={"confirm": True, "password": password})
    complete_task(_open_task(contract.instance_id, "sign_head").id, _user("head_shymkent"),
                  data={"confirm": True, "password": password})
    db.session.commit()
