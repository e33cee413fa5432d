"""Who hears of a payment the bank sent back and of the account it is paid again to — ``app.payments.returns``'s
``_tell_department``, ``_tell_operators`` and ``tell_of_new_account`` (an administrator's IBAN edit announced to the
department) — on hand-made acts in the small ``country`` world. Written for the eighteenth mutation round of the key
``payment_returns`` (benchmarks/MUTATION.md)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import update

from app import clock
from app.acts.models import Act
from app.acts.operations import decide, verify
from app.extensions import db
from app.payments.operations import register_payment
from app.payments.returns import confirm_repayment_account, record_return, return_reason_label, tell_of_new_account
from app.people.models import Organisation
from tests.registry.conftest import iin
from tests.registry.test_pages import _user, department_official

PINNED = "KZ86125KZT5004100100"
NEW = "KZ75125KZT2069100100"


@pytest.fixture()
def told(monkeypatch):
    """Every notification written: (username, kind, params)."""
    import app.notifications.operations as notifications

    seen = []
    monkeypatch.setattr(notifications, "notify",
                        lambda person, kind, task=None, **extra: seen.append((person.username, kind, extra)))
    return seen


@pytest.fixture()
def world(country):
    school = country.school("Alpha")
    for n in (1, 2):
        country.enrol(iin(n), school.bin, grade=5)
    act = country.act(school, [(iin(1), 5), (iin(2), 5)])
    verify(act)
    official = department_official(country)
    decide(act, "accept", None, official)
    operator = _user("oper", "operator", None)
    # the bank's returns are recorded by another operator: the one who records a return does not pay it again
    recorder = _user("oper_r", "operator", None)
    # beside them: an official and an operator who must not hear (another region's; inactive)
    dept2 = Organisation(kind="department", bin="950440001682", name="Dept 2", region_id=country.region2.id)
    db.session.add(dept2)
    db.session.flush()
    _user("off2", "department_official", dept2)
    _user("oper_off", "operator", None).active = False
    _user("head", "department_head", db.session.get(Organisation, official.organisation_id))
    db.session.commit()
    return SimpleNamespace(country=country, school=school, act=act, official=official, operator=operator,
                           recorder=recorder)


def _returned(w, reason="account_closed", order="PP-1", act=None):
    act = act or w.act
    payment = register_payment(act, order, clock.today(), w.operator)
    record_return(act, payment, clock.today(), reason, "R1", "", w.recorder)
    db.session.commit()
    return payment


def test_the_regions_officials_alone_are_asked_for_the_new_account(world, told):
    _returned(world)
    asked = [(who, extra) for who, kind, extra in told if kind == "account_to_confirm"]
    assert asked == [("off", {"subject": world.act.number, "act_id": world.act.id, "order": "PP-1"})]


def test_the_operators_hear_the_confirmed_account(world, told):
    _returned(world)
    world.school.iban = NEW
    db.session.commit()
    told.clear()
    confirm_repayment_account(world.act, NEW, world.official)
    assert told == [("oper", "account_confirmed", {"subject": world.act.number, "act_id": world.act.id, "iban": NEW})]


def test_an_iban_edit_announces_the_acts_waiting_for_a_new_account(world, told):
    _returned(world, reason="bank_refused")  # the same account could be paid again: no one asked yet
    assert [kind for _who, kind, _extra in told if kind == "account_to_confirm"] == []
    # another act of the school, paid and returned twice: its last return is named
    second = world.country.act(world.school, [(iin(1), 5)], period=world.act.period.replace(month=9))
    verify(second)
    decide(second, "accept", None, world.official)
    _returned(world, reason="bank_refused", order="PP-S1", act=second)
    _returned(world, reason="bank_refused", order="PP-S2", act=second)
    # a third, paid and never returned: not waiting
    third = world.country.act(world.school, [(iin(2), 5)], period=world.act.period.replace(month=11))
    verify(third)
    decide(third, "accept", None, world.official)
    register_payment(third, "PP-T", clock.today(), world.operator)
    db.session.commit()
    told.clear()
    world.school.iban = NEW
    db.session.commit()
    tell_of_new_account(world.school)
    assert [(who, kind, extra["act_id"], extra["order"]) for who, kind, extra in told] == [
        ("off", "account_to_confirm", world.act.id, "PP-1"),
        ("off", "account_to_confirm", second.id, "PP-S2")]


def test_an_iban_edit_back_to_the_pinned_account_announces_nothing(world, told):
    _returned(world, reason="bank_refused")
    told.clear()
    tell_of_new_account(world.school)  # the records still name the pinned account
    assert told == []


@pytest.mark.parametrize("how", ["not accepted", "not pinned", "another school"])
def test_only_the_schools_accepted_pinned_acts_are_announced(world, told, how):
    _returned(world, reason="bank_refused")
    world.school.iban = NEW
    if how == "not accepted":
        db.session.execute(update(Act).where(Act.id == world.act.id).values(status="paid"))
    elif how == "not pinned":
        db.session.execute(update(Act).where(Act.id == world.act.id).values(payee_iban=None))
    db.session.commit()
    db.session.expire_all()
    told.clear()
    school = world.country.school("Other") if how == "another school" else world.school
    tell_of_new_account(school)
    assert told == []


def test_a_return_reasons_label(app_ctx):
    assert return_reason_label("account_closed") == "The account is closed"
    assert return_reason_label("other") == "Other reason (say which in the note)"
    assert return_reason_label("unknown") == "unknown"  # an old code is shown as written
    assert return_reason_label(None) == ""
    assert return_reason_label("") == ""


def test_a_second_return_names_the_day_of_the_first(world):
    from app.engine.errors import DomainConflict
    from app.i18n import format_day

    # the day is read once: read again for the message, it was the next day when the test ran across midnight in
    # Kazakhstan (19:00 UTC), and the message names the day the first return was recorded on
    today = clock.today()
    payment = register_payment(world.act, "PP-1", today, world.operator)
    record_return(world.act, payment, today, "bank_refused", "R1", "", world.operator)
    db.session.commit()
    with pytest.raises(DomainConflict) as conflict:
        record_return(world.act, payment, today, "bank_refused", "R2", "", world.operator)
    assert str(conflict.value) == ("Payment order PP-1 was already recorded as returned on "
                                   f"{format_day(today)}; a payment is returned once.")
