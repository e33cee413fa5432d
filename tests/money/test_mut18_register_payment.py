"""Paying an accepted act — ``app.payments.operations.register_payment`` and its checks (the payment date, the order
number used elsewhere, the pinned account vouched for by the audit trail, the races it loses) and the pay page's
``account_change``/``payee_problem`` — on hand-made acts in the small ``country`` world (milliseconds a test).
Written for the eighteenth mutation round of the key ``payment_returns`` (benchmarks/MUTATION.md): each test pins
what a planted bug changed — the amount and account paid, the refusal's words with nothing written, the event's
details, who is told."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, select, update

from app import clock
from app.acts.models import Act, ActLine, OutsideSettlement
from app.acts.operations import decide, verify
from app.audit.facts import payment_facts
from app.audit.models import AuditEvent
from app.audit.operations import record_event
from app.engine.errors import ConflictError, DomainConflict, DomainRefused
from app.extensions import db
from app.i18n import format_day
from app.payments import operations as payops
from app.payments.models import Payment
from app.payments.operations import (
    AccountChange,
    account_change,
    payee_problem,
    register_payment,
)
from app.payments.returns import record_return
from app.people.models import Organisation
from tests.registry.conftest import iin
from tests.registry.test_pages import _user, department_official

PINNED = "KZ86125KZT5004100100"  # every country school's account (tests/registry/conftest.py)
NEW = "KZ75125KZT2069100100"
OTHER = "KZ0312345KZT000000001"
BASIC = 4_230_000
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the October act is accepted on 20 November


@pytest.fixture()
def told(monkeypatch):
    import app.acts.operations as acts

    heard = []
    monkeypatch.setattr(acts, "tell_school", lambda act, kind, **params: heard.append((act.id, kind, params)))
    return heard


@pytest.fixture()
def world(country):
    with clock.FrozenClock(NOW) as frozen:
        school = country.school("Alpha")
        for n in (1, 2):
            country.enrol(iin(n), school.bin, grade=5)
        act = country.act(school, [(iin(1), 5), (iin(2), 5)])
        verify(act)
        official = department_official(country)
        decide(act, "accept", None, official)
        operator = _user("oper", "operator", None)
        db.session.commit()
        yield SimpleNamespace(country=country, school=school, act=act, official=official, operator=operator,
                              clock=frozen)


def _events(action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _act_row(act_id):
    return db.session.execute(select(Act.status, Act.lock_version, Act.payee_iban).where(Act.id == act_id)).one()


def _payments():
    return db.session.execute(select(Payment.act_id, Payment.order_number, Payment.returned_on)
                              .order_by(Payment.id)).all()


def _nothing_written(w, version):
    assert [p for p in _payments() if p.act_id == w.act.id] == []
    assert _act_row(w.act.id)[:2] == ("accepted", version)
    assert [e for e in _events("act.paid") if e.details["act"] == w.act.number] == []


def _refused(w, order="PP-1", paid_on=None, actor=None, kind=DomainRefused):
    version = w.act.lock_version
    with pytest.raises(kind) as refused:
        register_payment(w.act, order, paid_on or clock.today(), actor or w.operator)
    db.session.rollback()
    _nothing_written(w, version)
    return str(refused.value)


def _second_act(w, school=None, student=1):
    """Another accepted act (September) of the same school, or of ``school``."""
    school = school or w.school
    act = w.country.act(school, [(iin(student), 5)], period=w.act.period.replace(month=9))
    verify(act)
    official = w.official if school.region_id == w.act.region_id else _official_of_region2(w)
    decide(act, "accept", None, official)
    db.session.commit()
    return act


def _official_of_region2(w):
    dept = db.session.scalars(select(Organisation).where(Organisation.bin == "950440001682")).first()
    if dept is None:
        dept = Organisation(kind="department", bin="950440001682", name="Dept 2", region_id=w.country.region2.id)
        db.session.add(dept)
        db.session.flush()
        return _user("off2", "department_official", dept)
    from app.people.models import User

    return db.session.scalars(select(User).where(User.username == "off2")).one()


# --- the payment, its row, its event, the school told --------------------------------------------------------------


def test_a_payment_pays_the_accepted_amount_to_the_pinned_account_and_says_so(world, told):
    version = world.act.lock_version
    world.clock.advance(hours=2)
    payment = register_payment(world.act, "pp-0042", date(2026, 11, 21), world.operator)
    db.session.commit()
    row = db.session.get(Payment, payment.id)
    assert (row.act_id, row.order_number, row.paid_on, row.amount_tiyn, row.payee_iban, row.registered_by_id) == (
        world.act.id, "PP-0042", date(2026, 11, 21), 2 * BASIC, PINNED, world.operator.id)
    assert row.returned_on is None
    registered = row.registered_at if row.registered_at.tzinfo else row.registered_at.replace(tzinfo=UTC)
    assert registered == NOW + timedelta(hours=2)
    assert _act_row(world.act.id) == ("paid", version + 1, PINNED)
    (event,) = _events("act.paid")
    assert (event.object_type, event.object_id, event.actor_id, event.chain) == (
        "payment", payment.id, world.operator.id, f"act:{world.act.id}")
    assert event.details == {"act": world.act.number, "order_number": "PP-0042", "paid_on": "2026-11-21",
                             "amount_tiyn": 2 * BASIC, "iban": PINNED}
    assert event.facts == payment_facts(row)
    assert told == [(world.act.id, "act_paid", {"order": "PP-0042", "paid_on": "2026-11-21"})]


def test_an_account_changed_after_acceptance_is_named_beside_the_one_paid(world, told):
    world.school.iban = NEW
    db.session.commit()
    payment = register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert payment.payee_iban == PINNED
    (event,) = _events("act.paid")
    assert event.details["iban"] == PINNED and event.details["account_on_record"] == NEW


def test_an_act_accepted_before_payees_were_pinned_is_paid_to_the_account_on_record(world, told):
    db.session.execute(update(Act).where(Act.id == world.act.id).values(payee_iban=None))
    world.school.iban = NEW
    db.session.commit()
    db.session.expire(world.act)
    payment = register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert payment.payee_iban == NEW
    (event,) = _events("act.paid")
    assert event.details["iban"] == NEW and "account_on_record" not in event.details


def test_the_payment_checks_are_asked_about_this_act_and_a_refusal_pays_nothing(world, monkeypatch):
    asked = []
    monkeypatch.setattr(payops, "PAYMENT_CHECKS", [lambda act: asked.append(act.id)])
    register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert asked == [world.act.id]
    db.session.rollback()

    def cap(act):
        raise DomainRefused("over the cap")

    monkeypatch.setattr(payops, "PAYMENT_CHECKS", [lambda act: None, cap])
    assert _refused(world) == "over the cap"


# --- paid already, not accepted --------------------------------------------------------------------------------------


def test_a_second_payment_is_the_conflict_naming_the_act(world, told):
    register_payment(world.act, "PP-1", clock.today(), world.operator)
    db.session.commit()
    with pytest.raises(DomainConflict) as conflict:
        register_payment(world.act, "PP-2", clock.today(), world.operator)
    assert str(conflict.value) == f"Act {world.act.number} has already been paid; a second payment is refused."
    assert [p.order_number for p in _payments()] == ["PP-1"]


@pytest.mark.parametrize("how", ["row deleted", "row marked returned"])
def test_a_payment_the_audit_trail_holds_is_not_paid_again(world, told, how):
    payment = register_payment(world.act, "PP-1", clock.today(), world.operator)
    db.session.commit()
    # a database writer undoes the payment without the return's door: the act accepted again
    if how == "row deleted":
        db.session.execute(delete(Payment).where(Payment.id == payment.id))
    else:
        db.session.execute(update(Payment).where(Payment.id == payment.id).values(
            returned_on=clock.today(), return_reason="other", return_reference="X"))
    db.session.execute(update(Act).where(Act.id == world.act.id).values(status="accepted"))
    db.session.commit()
    db.session.expire_all()
    version = world.act.lock_version
    with pytest.raises(DomainConflict) as conflict:
        register_payment(world.act, "PP-2", clock.today(), world.operator)
    assert str(conflict.value) == f"Act {world.act.number} has already been paid; a second payment is refused."
    db.session.rollback()
    assert _act_row(world.act.id)[:2] == ("accepted", version) and len(_events("act.paid")) == 1


def test_a_payment_returned_through_its_door_is_paid_again(world, told):
    first = register_payment(world.act, "PP-1", clock.today(), world.operator)
    record_return(world.act, first, clock.today(), "bank_refused", "R1", "", _user("oper_r", "operator", None))
    second = register_payment(world.act, "PP-2", clock.today(), world.operator)
    assert second.amount_tiyn == 2 * BASIC and _act_row(world.act.id)[0] == "paid"


def test_another_acts_closing_and_payment_do_not_count_as_this_acts(world, told):
    other = _second_act(world)
    register_payment(other, "PP-9", clock.today(), world.operator)
    db.session.commit()
    payment = register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert payment.act_id == world.act.id


@pytest.mark.parametrize("status", ["verified", "submitted", "returned"])
def test_only_an_accepted_act_is_paid(world, status):
    db.session.execute(update(Act).where(Act.id == world.act.id).values(status=status))
    db.session.commit()
    db.session.expire(world.act)
    version = world.act.lock_version
    with pytest.raises(DomainRefused) as refused:
        register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert type(refused.value) is DomainRefused
    assert str(refused.value) == "Only an accepted act can be paid."
    db.session.rollback()
    assert _payments() == [] and _act_row(world.act.id)[:2] == (status, version)


def test_a_paid_act_without_a_payment_row_is_the_conflict(world):
    # status paid, no payment and no event (a database writer): the second request lost a race, not a refusal
    db.session.execute(update(Act).where(Act.id == world.act.id).values(status="paid"))
    db.session.commit()
    db.session.expire(world.act)
    with pytest.raises(DomainConflict) as conflict:
        register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert str(conflict.value) == "Only an accepted act can be paid."


# --- the payment date ----------------------------------------------------------------------------------------------


def test_the_payment_date_is_at_most_31_days_ahead(world, told, app_ctx, monkeypatch):
    monkeypatch.delitem(app_ctx.config, "PAYMENT_DATE_MAX_DAYS_AHEAD", raising=False)  # the default
    latest = clock.today() + timedelta(days=31)
    message = _refused(world, paid_on=latest + timedelta(days=1))
    assert message == (f"The payment date {format_day(latest + timedelta(days=1))} is too far ahead: enter the day the "
                       f"payment order was executed, at most 31 days from today (until {format_day(latest)}).")
    assert register_payment(world.act, "PP-1", latest, world.operator).paid_on == latest


def test_the_configured_limit_is_read(world, told, app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "PAYMENT_DATE_MAX_DAYS_AHEAD", 3)
    latest = clock.today() + timedelta(days=3)
    assert "at most 3 days from today" in _refused(world, paid_on=latest + timedelta(days=1))
    assert register_payment(world.act, "PP-1", latest, world.operator).paid_on == latest


def test_the_payment_date_is_not_before_the_acts_month(world):
    # an act decided before payees had a time kept: only the month bounds the date
    db.session.execute(update(Act).where(Act.id == world.act.id).values(decided_at=None))
    db.session.commit()
    db.session.expire(world.act)
    message = _refused(world, paid_on=date(2026, 9, 30))
    assert message == (f"The payment date {format_day(date(2026, 9, 30))} is before the act's month, which began on "
                       f"{format_day(date(2026, 10, 1))}: enter the day the payment order was executed.")
    assert register_payment(world.act, "PP-1", date(2026, 10, 1), world.operator).paid_on == date(2026, 10, 1)


def test_the_payment_date_is_not_before_the_acceptance(world):
    message = _refused(world, paid_on=date(2026, 11, 19))
    assert message == (f"The payment date {format_day(date(2026, 11, 19))} is before the act was accepted on "
                       f"{format_day(date(2026, 11, 20))}: enter the day the payment order was executed.")
    assert register_payment(world.act, "PP-1", date(2026, 11, 20), world.operator).paid_on == date(2026, 11, 20)


@pytest.mark.parametrize(("decided_at", "accepted_on"), [
    # 22:00 UTC is 03:00 the next day in Kazakhstan: the earlier day (UTC's) counts
    (datetime(2026, 11, 20, 22, 0, tzinfo=UTC), date(2026, 11, 20)),
    (datetime(2026, 11, 20, 22, 0), date(2026, 11, 20)),  # naive: UTC, as SQLite gives it back
    # 02:00 in Kazakhstan is still the previous day in UTC: again the earlier one
    (datetime(2026, 11, 20, 2, 0, tzinfo=payops.ZoneInfo("Asia/Almaty")), date(2026, 11, 19)),
    (datetime(2026, 11, 20, 10, 0, tzinfo=UTC), date(2026, 11, 20)),
])
def test_the_acceptance_day_is_the_earlier_of_utc_and_kazakhstan(app_ctx, decided_at, accepted_on):
    act = SimpleNamespace(number="A-1", period=date(2026, 10, 1), decided_at=decided_at)
    assert payops._accepted_on(act) == accepted_on
    with clock.FrozenClock(NOW):
        payops._check_paid_on(act, accepted_on)  # the day itself passes
        with pytest.raises(DomainRefused, match="before the act was accepted on"):
            payops._check_paid_on(act, accepted_on - timedelta(days=1))


def test_the_business_time_zone_is_the_configured_one(app_ctx, monkeypatch):
    act = SimpleNamespace(number="A-1", period=date(2026, 10, 1), decided_at=datetime(2026, 11, 20, 20, 0, tzinfo=UTC))
    monkeypatch.setitem(app_ctx.config, "BABEL_DEFAULT_TIMEZONE", "America/New_York")  # 15:00 the same day there
    assert payops._accepted_on(act) == date(2026, 11, 20)
    act.decided_at = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 21:00 on the 20th in New York
    assert payops._accepted_on(act) == date(2026, 11, 20)
    monkeypatch.delitem(app_ctx.config, "BABEL_DEFAULT_TIMEZONE")  # not configured: Kazakhstan's
    act.decided_at = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    assert payops._accepted_on(act) == date(2026, 11, 20)
    act.decided_at = datetime(2026, 11, 20, 18, 0, tzinfo=payops.ZoneInfo("Asia/Almaty"))  # 13:00 UTC
    assert payops._accepted_on(act) == date(2026, 11, 20)
    act.decided_at = None
    assert payops._accepted_on(act) is None


# --- the order number used elsewhere ---------------------------------------------------------------------------------


def test_an_order_that_paid_a_top_up_outside_the_acts_is_refused(world):
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == world.act.id)).first()
    db.session.add(OutsideSettlement(original_act_id=world.act.id, original_line_id=line.id, seq=0,
                                     period=world.act.period, kind="paid", amount_tiyn=100, rule_code="enrolled_days",
                                     corrected_amount_tiyn=200, order_number="PP-7", paid_on=date(2026, 11, 1),
                                     recorded_by_id=world.operator.id, recorded_at=NOW))
    db.session.commit()
    message = _refused(world, order="pp-7")
    assert message == ("Payment order PP-7 is already registered for a top-up paid outside the acts; enter the "
                       "number of this act's own payment order.")


def test_an_order_of_another_act_is_refused_naming_it_to_who_may_see_it(world, told):
    other = _second_act(world)
    register_payment(other, "PP-5", clock.today(), world.operator)
    db.session.commit()
    message = _refused(world, order="pp-5")
    assert message == (f"Payment order PP-5 is already registered for act {other.number}; enter the number of this "
                       "act's own payment order.")


def test_an_order_of_an_act_the_user_may_not_see_is_refused_without_naming_it(world, told):
    beta = world.country.school("Beta", region=world.country.region2)
    world.country.enrol(iin(3), beta.bin, grade=5)
    other = _second_act(world, school=beta, student=3)
    register_payment(other, "PP-5", clock.today(), world.operator)
    db.session.commit()
    # the region's official pays nothing, but is who the look-up is asked for
    message = _refused(world, order="PP-5", actor=world.official)
    assert message == ("Payment order PP-5 is already registered for another act; enter the number of this act's "
                       "own payment order.")
    assert other.number not in message


def test_an_order_stored_in_lower_case_is_found(world, told):
    other = _second_act(world)
    db.session.add(Payment(act_id=other.id, order_number="pp-5", paid_on=clock.today(), amount_tiyn=1,
                           registered_by_id=world.operator.id, registered_at=clock.now()))
    db.session.commit()
    assert "already registered for act" in _refused(world, order="PP-5")


def test_the_acts_own_order_is_the_conflict(world, told):
    register_payment(world.act, "PP-1", clock.today(), world.operator)
    with pytest.raises(DomainConflict) as conflict:
        payops._check_order_number_unused(world.act, "PP-1", world.operator)
    assert str(conflict.value) == f"Act {world.act.number} has already been paid; a second payment is refused."
    payops._check_order_number_unused(world.act, "PP-2", world.operator)  # an unused number passes


def test_an_order_written_for_another_act_while_this_one_waited_is_refused(world, told, monkeypatch):
    other = _second_act(world)
    held = []

    def meanwhile(order):  # the other request committed just before this one took the number's lock
        held.append(order)
        db.session.add(Payment(act_id=other.id, order_number=order, paid_on=clock.today(), amount_tiyn=1,
                               registered_by_id=world.operator.id, registered_at=clock.now()))
        db.session.flush()

    monkeypatch.setattr(payops, "hold_payment_order", meanwhile)
    version = world.act.lock_version
    with pytest.raises(DomainRefused) as refused:
        register_payment(world.act, "pp-6", clock.today(), world.operator)
    assert held == ["PP-6"]
    assert str(refused.value).startswith(f"Payment order PP-6 is already registered for act {other.number};")
    assert _act_row(world.act.id)[:2] == ("accepted", version) and _events("act.paid") == []


# --- the races lost after the checks ---------------------------------------------------------------------------------


def test_a_payment_that_won_the_race_is_named(world, told, monkeypatch):
    clerk = _user("clerk", "operator", None)
    clerk.full_name = "Clerk Person"

    def won(order):  # the other payment of this act committed first
        db.session.add(Payment(act_id=world.act.id, order_number="PP-W", paid_on=clock.today(),
                               amount_tiyn=2 * BASIC, registered_by_id=clerk.id, registered_at=clock.now()))
        db.session.execute(update(Act).where(Act.id == world.act.id).values(
            status="paid", lock_version=Act.lock_version + 1).execution_options(synchronize_session=False))

    monkeypatch.setattr(payops, "hold_payment_order", won)
    with pytest.raises(DomainConflict) as conflict:
        register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert str(conflict.value) == (f"Act {world.act.number} was paid meanwhile: payment order PP-W, registered by "
                                   "Clerk Person.")
    assert [p.order_number for p in _payments()] == ["PP-W"] and _events("act.paid") == [] and told == []


def test_an_act_changed_otherwise_meanwhile_is_the_acts_conflict(world, told, monkeypatch):
    monkeypatch.setattr(payops, "hold_payment_order", lambda order: db.session.execute(
        update(Act).where(Act.id == world.act.id).values(lock_version=Act.lock_version + 1)
        .execution_options(synchronize_session=False)))
    with pytest.raises(ConflictError) as conflict:
        register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert type(conflict.value) is ConflictError
    assert _payments() == [] and _events("act.paid") == [] and told == []


def test_a_standing_payment_written_meanwhile_is_the_conflict_and_nothing_is_paid(world, told, monkeypatch):
    # a writer that added a payment of this act without touching the act: the unique index refuses the second
    monkeypatch.setattr(payops, "hold_payment_order", lambda order: (db.session.add(Payment(
        act_id=world.act.id, order_number="PP-X", paid_on=clock.today(), amount_tiyn=1,
        registered_by_id=world.operator.id, registered_at=clock.now())), db.session.flush()))
    with pytest.raises(DomainConflict) as conflict:
        register_payment(world.act, "PP-1", clock.today(), world.operator)
    assert str(conflict.value) == (f"Act {world.act.number} has already been paid, or payment order PP-1 is already "
                                   "registered.")
    assert [p.order_number for p in _payments()] == ["PP-X"] and _events("act.paid") == [] and told == []


# --- the pinned account, vouched for by the audit trail ---------------------------------------------------------------


def _tampered(w, iban=OTHER):
    db.session.execute(update(Act).where(Act.id == w.act.id).values(payee_iban=iban))  # a database writer
    db.session.commit()
    db.session.expire(w.act)


def test_a_pinned_account_the_acceptance_does_not_vouch_for_is_not_paid(world):
    assert payee_problem(world.act) is None
    _tampered(world)
    message = (f"The account recorded on act {world.act.number}, {OTHER}, is not the one the education department "
               "accepted it with: nothing was paid. Tell the system's administrators; the audit trail's check "
               "(verify-audit) shows the change.")
    assert payee_problem(world.act) == message
    assert _refused(world) == message


def test_an_act_without_a_pinned_account_has_no_payee_problem(world):
    _tampered(world, iban=None)
    assert payee_problem(world.act) is None


def test_a_confirmed_new_account_is_vouched_for_by_its_event_not_the_acceptance(world, told):
    from app.payments.returns import confirm_repayment_account

    first = register_payment(world.act, "PP-1", clock.today(), world.operator)
    record_return(world.act, first, clock.today(), "bank_refused", "R1", "", _user("oper_r", "operator", None))
    world.school.iban = NEW
    db.session.commit()
    confirm_repayment_account(world.act, NEW, world.official)
    db.session.commit()
    assert payee_problem(world.act) is None
    world.school.iban = PINNED
    _tampered(world, iban=PINNED)  # back to the accepted account, which the later confirmation no longer vouches for
    assert "is not the one the education department accepted it with" in payee_problem(world.act)
    with pytest.raises(DomainRefused, match="is not the one the education department accepted it with"):
        register_payment(world.act, "PP-2", clock.today(), world.operator)


def test_an_acceptance_without_its_event_vouches_for_nothing(world):
    db.session.execute(delete(AuditEvent).where(AuditEvent.action == "act.accepted"))
    db.session.commit()
    assert "is not the one the education department accepted it with" in payee_problem(world.act)


# --- account_change (the pay page) -----------------------------------------------------------------------------------


def _iban_edited(w, actor_id, changes=None, org=None):
    org = org or w.school
    record_event(f"organisation:{org.id}", "organisation.updated", "organisation", org.id, actor_id=actor_id,
                 details={"changes": changes if changes is not None else {"iban": [PINNED, NEW]}})
    db.session.commit()


def test_no_change_while_the_records_name_the_pinned_account(world):
    assert account_change(world.act) is None
    _tampered(world, iban=None)
    world.school.iban = NEW
    db.session.commit()
    assert account_change(world.act) is None  # accepted before payees were pinned


def test_a_change_names_both_accounts_and_whoever_changed_the_iban_last(world):
    world.school.iban = NEW
    db.session.commit()
    assert account_change(world.act) == AccountChange(PINNED, NEW, None, None)  # no event: a database writer
    clerk = _user("clerk", "operator", None)
    clerk.full_name = "Clerk Person"
    world.clock.advance(hours=1)
    _iban_edited(world, world.operator.id)
    world.clock.advance(hours=1)
    _iban_edited(world, clerk.id)
    world.clock.advance(hours=1)
    _iban_edited(world, world.operator.id, changes={"name": ["Alpha", "Alpha 2"]})  # not the IBAN
    other = world.country.school("Gamma")
    for _ in range(5):  # another organisation's IBAN, its chain further on (``seq`` counts per chain)
        _iban_edited(world, world.operator.id, org=other)
    record_event(f"organisation:{world.school.id}", "organisation.created", "organisation", world.school.id,
                 actor_id=world.operator.id, details={"changes": {"iban": [None, NEW]}})
    db.session.commit()
    change = account_change(world.act)
    assert (change.accepted, change.now, change.changed_by) == (PINNED, NEW, "Clerk Person")
    at = change.changed_at if change.changed_at.tzinfo else change.changed_at.replace(tzinfo=UTC)
    assert at == NOW + timedelta(hours=2)


def test_a_change_from_the_command_line_has_its_time_only(world):
    world.school.iban = NEW
    world.clock.advance(minutes=5)
    _iban_edited(world, None)
    change = account_change(world.act)
    assert change.changed_by is None
    at = change.changed_at if change.changed_at.tzinfo else change.changed_at.replace(tzinfo=UTC)
    assert at == NOW + timedelta(minutes=5)


def test_an_edit_before_the_acceptance_is_not_the_change(world):
    world.school.iban = NEW
    _iban_edited(world, world.operator.id)  # at NOW, the acceptance's moment: counts
    assert account_change(world.act).changed_by == "oper"
    # the acceptance an hour after the edit: the edit was what the department accepted
    db.session.execute(update(Act).where(Act.id == world.act.id).values(decided_at=NOW + timedelta(hours=1)))
    db.session.commit()
    db.session.expire(world.act)
    assert account_change(world.act) == AccountChange(PINNED, NEW, None, None)
    # no decision time kept: every edit counts
    db.session.execute(update(Act).where(Act.id == world.act.id).values(decided_at=None))
    db.session.commit()
    db.session.expire(world.act)
    assert account_change(world.act).changed_by == "oper"


def test_an_edit_without_details_is_passed_over(world):
    world.school.iban = NEW
    _iban_edited(world, world.operator.id)
    world.clock.advance(minutes=1)
    record_event(f"organisation:{world.school.id}", "organisation.updated", "organisation", world.school.id,
                 actor_id=world.official.id, details=None)
    world.clock.advance(minutes=1)
    record_event(f"organisation:{world.school.id}", "organisation.updated", "organisation", world.school.id,
                 actor_id=world.official.id, details={"changes": None})
    db.session.commit()
    assert account_change(world.act).changed_by == "oper"


def test_the_utc_helper_reads_naive_times_as_utc():
    assert payops._utc(datetime(2026, 11, 20, 9, 0)) == NOW
    assert payops._utc(datetime(2026, 11, 20, 14, 0, tzinfo=payops.ZoneInfo("Asia/Almaty"))) == NOW
    assert payops._utc(datetime(2026, 11, 20, 14, 0, tzinfo=payops.ZoneInfo("Asia/Almaty"))).tzinfo is UTC


def test_a_naive_time_is_utc_whatever_the_servers_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Almaty")
    time.tzset()
    try:
        assert payops._utc(datetime(2026, 11, 20, 9, 0)) == NOW
    finally:
        monkeypatch.undo()
        time.tzset()
