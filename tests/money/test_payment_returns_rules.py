"""A payment the bank sent back, the act paid again, and an act of 0 ₸ closed without a payment order — on hand-made
acts in the small ``country`` world (no demo world, milliseconds a test): ``app.payments.returns`` (record_return,
check_repayment, confirm_repayment_account) and the new parts of ``app.payments.operations`` (standing_payment,
returned_payments, nothing_to_pay, close_without_payment, register_payment's refusal of 0 ₸ and its repayment path).
Written for the mutation run of the key ``payment_returns`` (benchmarks/MUTATION.md, seventeenth round); the slow
tests of the same rules are tests/money/test_payment_returns.py, test_repayment_account_confirmed.py and
test_nothing_to_pay.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import clock
from app.acts.models import Act
from app.acts.operations import decide, verify
from app.audit.models import AuditEvent
from app.audit.operations import record_event
from app.engine.errors import DomainConflict, DomainRefused
from app.extensions import db
from app.payments import operations as payops
from app.payments.models import Payment
from app.payments.operations import (
    close_without_payment,
    nothing_to_pay,
    register_payment,
    returned_payments,
    standing_payment,
)
from app.payments.returns import check_repayment, confirm_repayment_account, record_return
from app.people.models import Organisation
from tests.registry.conftest import iin
from tests.registry.test_pages import _user, department_official

#: the day is read more than once in a test (what is sent, what is expected): the clock stands still
pytestmark = pytest.mark.usefixtures("one_day")

PINNED = "KZ86125KZT5004100100"  # every country school's account (tests/registry/conftest.py)
NEW = "KZ75125KZT2069100100"
BASIC = 4_230_000


@pytest.fixture()
def told(monkeypatch):
    """Every notification written (the school's bell, the department's): (username, kind, params)."""
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
    operator2 = _user("oper2", "operator", None)  # pays an act again after oper recorded its return (four eyes)
    db.session.commit()
    return type("World", (), {"country": country, "school": school, "act": act, "official": official,
                              "operator": operator, "operator2": operator2})


def _pay(w, order="PP-1", paid_on=None):
    payment = register_payment(w.act, order, paid_on or clock.today(), w.operator)
    db.session.commit()
    return payment


def _returned(w, reason="account_closed", order="PP-1", note=""):
    payment = _pay(w, order)
    record_return(w.act, payment, clock.today(), reason, "REF-1", note, w.operator)
    db.session.commit()
    return payment


def _row(payment_id):
    return db.session.execute(select(Payment.returned_on, Payment.return_reason, Payment.return_reference,
                                     Payment.return_note, Payment.returned_by_id)
                              .where(Payment.id == payment_id)).one()


def _events(action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _act_row(act_id):
    return db.session.execute(select(Act.status, Act.lock_version, Act.payee_iban).where(Act.id == act_id)).one()


# --- record_return -----------------------------------------------------------------------------------------------


def test_a_return_marks_the_payment_accepts_the_act_again_and_writes_its_event(world, told):
    payment = _pay(world)
    version = world.act.lock_version
    told.clear()
    today = clock.today()
    got = record_return(world.act, payment, today, "account_closed", "  BANK/REF-7.a  ", "  closed in May ",
                        world.operator)
    assert got is payment
    db.session.commit()
    assert _row(payment.id) == (today, "account_closed", "BANK/REF-7.a", "closed in May", world.operator.id)
    assert payment.returned_at is not None and payment.returned_on == today  # the object reads the row again
    assert _act_row(world.act.id) == ("accepted", version + 1, PINNED)
    (event,) = _events("payment.returned")
    assert (event.object_type, event.object_id, event.actor_id, event.chain) == (
        "payment", payment.id, world.operator.id, f"act:{world.act.id}")
    assert event.details == {"act": world.act.number, "order_number": "PP-1", "paid_on": today.isoformat(),
                             "amount_tiyn": 2 * BASIC, "iban": PINNED, "returned_on": today.isoformat(),
                             "reason": "account_closed", "reference": "BANK/REF-7.a", "note": "closed in May"}
    assert event.facts["returned_on"] == today.isoformat() and event.facts["return_reason"] == "account_closed"
    assert event.facts["return_reference"] == "BANK/REF-7.a"
    # the school hears, and the department is asked for a new account (the bank said this one cannot be paid)
    kinds = [(who, kind) for who, kind, _extra in told]
    assert ("off", "account_to_confirm") in kinds
    assert [extra for who, kind, extra in told if kind == "account_to_confirm"] == [
        {"subject": world.act.number, "act_id": world.act.id, "order": "PP-1"}]
    assert returned_payments(world.act) == [payment] and standing_payment(world.act) is None


def test_a_return_without_a_note_keeps_none_and_the_event_names_no_note(world, told):
    payment = _pay(world)
    record_return(world.act, payment, clock.today(), "bank_refused", "R1", "   ", world.operator)
    assert _row(payment.id)[3] is None
    (event,) = _events("payment.returned")
    assert "note" not in event.details and event.details["reason"] == "bank_refused"
    # the bank refused it, the records still name the pinned account: the department has nothing to confirm
    assert [kind for _who, kind, _e in told if kind == "account_to_confirm"] == []


@pytest.mark.parametrize("reason", ["account_closed", "wrong_details"])
def test_the_department_is_asked_when_the_bank_says_the_account_cannot_be_paid(world, told, reason):
    payment = _pay(world)
    told.clear()
    record_return(world.act, payment, clock.today(), reason, "R1", "", world.operator)
    assert [who for who, kind, _e in told if kind == "account_to_confirm"] == ["off"]


def test_the_department_is_asked_when_the_records_name_another_account_whatever_the_reason(world, told):
    payment = _pay(world)
    world.school.iban = NEW
    db.session.commit()
    told.clear()
    record_return(world.act, payment, clock.today(), "bank_refused", "R1", "", world.operator)
    assert [who for who, kind, _e in told if kind == "account_to_confirm"] == ["off"]


def test_an_act_paid_before_payees_were_pinned_asks_no_department(world, told):
    payment = _pay(world)
    db.session.execute(update(Act).where(Act.id == world.act.id).values(payee_iban=None))
    db.session.expire(world.act)
    told.clear()
    record_return(world.act, payment, clock.today(), "account_closed", "R1", "", world.operator)
    assert [kind for _who, kind, _e in told] == [kind for _who, kind, _e in told if kind != "account_to_confirm"]
    assert "account_to_confirm" not in [kind for _who, kind, _e in told]


def _refused(world, payment, exc, message, **kw):
    args = {"returned_on": clock.today(), "reason": "account_closed", "reference": "R1", "note": ""} | kw
    version = world.act.lock_version
    with pytest.raises(exc) as refused:
        record_return(world.act, payment, args["returned_on"], args["reason"], args["reference"], args["note"],
                      world.operator)
    assert str(refused.value) == message
    db.session.rollback()
    assert _act_row(world.act.id)[:2] == ("paid", version)
    assert _events("payment.returned") == []


def test_a_payment_of_another_act_is_refused(world):
    payment = _pay(world)
    other = world.country.act(world.school, [(iin(1), 5)], period=payment.paid_on.replace(day=1) - timedelta(days=1))
    db.session.commit()
    with pytest.raises(DomainRefused) as refused:
        record_return(other, payment, clock.today(), "account_closed", "R1", "", world.operator)
    assert str(refused.value) == (f"Payment order PP-1 does not pay act {other.number}: record its return on the act "
                                  "it pays.")
    assert _row(payment.id)[0] is None


def test_a_payment_returned_twice_is_the_conflict(world):
    payment = _returned(world)
    with pytest.raises(DomainConflict) as conflict:
        record_return(world.act, payment, clock.today(), "account_closed", "R2", "", world.operator)
    assert str(conflict.value).startswith("Payment order PP-1 was already recorded as returned on ")
    assert str(conflict.value).endswith("; a payment is returned once.")
    assert len(_events("payment.returned")) == 1


@pytest.mark.parametrize("reason", ["", None, "ACCOUNT_CLOSED", "closed", "XXaccount_closedXX"])
def test_a_reason_not_on_the_list_is_refused(world, reason):
    _refused(world, _pay(world), DomainRefused, "Choose why the bank returned the payment from the list.",
             reason=reason)


@pytest.mark.parametrize("note", ["", "   ", None])
def test_other_without_a_note_is_refused(world, note):
    _refused(world, _pay(world), DomainRefused, "Say in the note why the bank returned the payment.", reason="other",
             note=note)


def test_other_with_a_note_is_recorded(world):
    payment = _pay(world)
    record_return(world.act, payment, clock.today(), "other", "R1", "the bank's letter 5", world.operator)
    assert _row(payment.id)[1:4] == ("other", "R1", "the bank's letter 5")


REFERENCE_REFUSED = ("Enter the bank's reference of the return as its notice gives it: up to 64 Latin letters, "
                     "digits, \"/\", \".\" and \"-\".")


@pytest.mark.parametrize("reference", ["", "   ", None, "A" * 65, "REF 1", "РЕФ1", "REF_1", "RE\nF1", "REF+1"])
def test_a_reference_not_as_the_bank_writes_it_is_refused(world, reference):
    _refused(world, _pay(world), DomainRefused, REFERENCE_REFUSED, reference=reference)


@pytest.mark.parametrize("reference", ["A" * 64, "a/b.c-9", "1"])
def test_a_reference_as_the_bank_writes_it_is_recorded(world, reference):
    payment = _pay(world)
    record_return(world.act, payment, clock.today(), "account_closed", reference, "", world.operator)
    assert _row(payment.id)[2] == reference


def test_a_note_of_500_characters_is_recorded_and_501_refused(world):
    payment = _pay(world)
    _refused(world, payment, DomainRefused, "The note is too long: at most 500 characters.", note="n" * 501)
    payment = db.session.get(Payment, payment.id)
    act = db.session.get(Act, world.act.id)
    record_return(act, payment, clock.today(), "account_closed", "R1", "n" * 500 + "  ", world.operator)
    assert _row(payment.id)[3] == "n" * 500


def test_a_return_before_the_payment_is_refused_and_on_its_day_recorded(world):
    paid_on = clock.today()
    payment = _pay(world, paid_on=paid_on)
    day_before = paid_on - timedelta(days=1)
    from app.i18n import format_day

    _refused(world, payment, DomainRefused,
             f"The return date {format_day(day_before)} is before the payment on {format_day(paid_on)}: enter the "
             "day the bank returned the money.", returned_on=day_before)
    payment = db.session.get(Payment, payment.id)
    record_return(db.session.get(Act, world.act.id), payment, paid_on, "account_closed", "R1", "", world.operator)
    assert _row(payment.id)[0] == paid_on


@pytest.mark.parametrize("days", [None, 5])
def test_a_return_far_ahead_is_refused_with_the_limit(world, app_ctx, monkeypatch, days):
    from app.i18n import format_day

    if days is None:
        monkeypatch.delitem(app_ctx.config, "PAYMENT_DATE_MAX_DAYS_AHEAD", raising=False)
    else:
        monkeypatch.setitem(app_ctx.config, "PAYMENT_DATE_MAX_DAYS_AHEAD", days)
    limit = 31 if days is None else days
    latest = clock.today() + timedelta(days=limit)
    payment = _pay(world)
    ahead = latest + timedelta(days=1)
    _refused(world, payment, DomainRefused,
             f"The return date {format_day(ahead)} is too far ahead: enter the day the bank returned the money, at "
             f"most {limit} days from today (until {format_day(latest)}).", returned_on=ahead)
    payment = db.session.get(Payment, payment.id)
    record_return(db.session.get(Act, world.act.id), payment, latest, "account_closed", "R1", "", world.operator)
    assert _row(payment.id)[0] == latest


def test_a_return_recorded_meanwhile_is_the_conflict_and_nothing_else_is_written(world):
    payment = _pay(world)
    db.session.execute(update(Payment).where(Payment.id == payment.id)
                       .values(returned_on=clock.today(), return_reason="bank_refused", return_reference="FIRST")
                       .execution_options(synchronize_session=False))
    assert payment.returned_on is None  # what the page read
    with pytest.raises(DomainConflict) as conflict:
        record_return(world.act, payment, clock.today(), "account_closed", "R2", "", world.operator)
    assert str(conflict.value) == "Payment order PP-1 was recorded as returned meanwhile; a payment is returned once."
    assert payment.returned_on == clock.today()  # expired: it reads the row
    assert _row(payment.id)[1:3] == ("bank_refused", "FIRST")
    assert _act_row(world.act.id)[0] == "paid" and _events("payment.returned") == []


def test_a_return_on_an_act_changed_meanwhile_is_the_conflict(world):
    payment = _pay(world)
    db.session.execute(update(Act).where(Act.id == world.act.id).values(lock_version=Act.lock_version + 1)
                       .execution_options(synchronize_session=False))
    with pytest.raises(DomainConflict) as conflict:
        record_return(world.act, payment, clock.today(), "account_closed", "R2", "", world.operator)
    assert str(conflict.value) == f"Act {world.act.number} changed meanwhile: nothing was recorded; open it again."
    assert _events("payment.returned") == []


# --- check_repayment ---------------------------------------------------------------------------------------------


def test_a_new_order_older_than_the_return_is_refused_and_one_of_its_day_passes(world):
    from app.i18n import format_day

    payment = _returned(world, reason="bank_refused")
    day_before = payment.returned_on - timedelta(days=1)
    with pytest.raises(DomainRefused) as refused:
        check_repayment(world.act, payment, day_before)
    assert str(refused.value) == (
        f"The payment date {format_day(day_before)} is before the bank returned payment order PP-1 on "
        f"{format_day(payment.returned_on)}: enter the day the new payment order was executed.")
    check_repayment(world.act, payment, payment.returned_on)


@pytest.mark.parametrize("reason", ["account_closed", "wrong_details"])
def test_the_account_the_bank_refused_is_not_paid_again(world, reason):
    payment = _returned(world, reason=reason)
    with pytest.raises(DomainRefused) as refused:
        check_repayment(world.act, payment, clock.today())
    label = {"account_closed": "The account is closed",
             "wrong_details": "Wrong payee details (IBAN, BIN or name)"}[reason]
    assert str(refused.value) == (
        f"The bank returned payment order PP-1 from account {PINNED} ({label}), and the records still name that "
        "account: the organisation's bank account (or its contract's, by an amendment) is corrected first, then the "
        "act is paid again.")


@pytest.mark.parametrize("reason", ["bank_refused", "other"])
def test_the_same_account_is_paid_again_when_the_bank_refused_for_another_reason(world, reason):
    payment = _returned(world, reason=reason, note="x")
    check_repayment(world.act, payment, clock.today())
    again = register_payment(world.act, "PP-2", clock.today(), world.operator2)
    assert (again.payee_iban, again.amount_tiyn) == (PINNED, 2 * BASIC)
    (event,) = [e for e in _events("act.paid") if e.object_id == again.id]
    assert event.details["after_return_of"] == "PP-1" and "account_on_record" not in event.details


def test_a_new_account_not_confirmed_is_refused_and_no_account_at_all_says_so(world):
    payment = _returned(world)
    world.school.iban = NEW
    db.session.flush()
    message = (f"The account on record for act {world.act.number}, {{new}}, is not the one it is to be paid to, "
               f"{PINNED}: nothing was paid. A department official of the act's region confirms the new account on "
               "the act's page first, then the act is paid again.")
    with pytest.raises(DomainRefused) as refused:
        check_repayment(world.act, payment, clock.today())
    assert str(refused.value) == message.format(new=NEW)
    world.school.iban = None
    db.session.flush()
    with pytest.raises(DomainRefused) as refused:
        check_repayment(world.act, payment, clock.today())
    assert str(refused.value) == message.format(new="—")


def test_an_act_accepted_before_payees_were_pinned_is_paid_to_the_account_on_record(world):
    payment = _returned(world)
    world.school.iban = NEW
    world.act.payee_iban = None
    db.session.flush()
    check_repayment(world.act, payment, clock.today())  # the closed account is no longer on record


# --- confirm_repayment_account -----------------------------------------------------------------------------------


def _waiting(world, reason="account_closed"):
    payment = _returned(world, reason=reason)
    world.school.iban = NEW
    db.session.commit()
    return payment


def test_the_official_confirms_the_new_account_and_the_act_is_paid_to_it(world):
    payment = _waiting(world)
    version = world.act.lock_version
    assert confirm_repayment_account(world.act, f"  {NEW.lower()} ", world.official) == NEW
    db.session.commit()
    assert _act_row(world.act.id) == ("accepted", version + 1, NEW)
    (event,) = _events("act.payee_changed")
    assert (event.object_type, event.object_id, event.actor_id) == ("act", world.act.id, world.official.id)
    assert event.details == {"act": world.act.number, "from": PINNED, "to": NEW, "after_return_of": "PP-1",
                             "reason": "account_closed"}
    assert event.facts["payee_iban"] == NEW
    again = register_payment(world.act, "PP-2", clock.today(), world.operator2)
    assert again.payee_iban == NEW and payment.payee_iban == PINNED


def test_the_confirmation_names_who_changed_the_account(world):
    _waiting(world)
    record_event(f"organisation:{world.school.id}", "organisation.updated", "organisation", world.school.id,
                 actor_id=world.operator.id, details={"changes": {"iban": [PINNED, NEW]}})
    db.session.commit()
    confirm_repayment_account(world.act, NEW, world.official)
    (event,) = _events("act.payee_changed")
    assert event.details["account_changed_by"] == "oper"


def test_the_last_return_is_named(world):
    _waiting(world, reason="wrong_details")
    confirm_repayment_account(world.act, NEW, world.official)
    db.session.commit()
    register_payment(world.act, "PP-2", clock.today(), world.operator2)
    db.session.commit()
    second = db.session.scalars(select(Payment).where(Payment.order_number == "PP-2")).one()
    record_return(world.act, second, clock.today(), "bank_refused", "R9", "", world.operator)
    world.school.iban = "KZ0312345KZT000000001"
    db.session.commit()
    confirm_repayment_account(world.act, "KZ0312345KZT000000001", world.official)
    last = _events("act.payee_changed")[-1]
    assert (last.details["after_return_of"], last.details["reason"], last.details["from"]) == (
        "PP-2", "bank_refused", NEW)


ONLY_OFFICIALS = "Only a department official of the act's region confirms the account it is paid to."


@pytest.mark.parametrize("who", ["operator", "other_region", "inactive", "anonymous"])
def test_only_an_active_official_of_the_acts_region_confirms(world, who):
    _waiting(world)
    if who == "operator":
        actor = world.operator
    elif who == "other_region":
        dept = Organisation(kind="department", bin="950440001682", name="Dept 2",
                            region_id=world.country.region2.id)
        db.session.add(dept)
        db.session.flush()
        actor = _user("off2", "department_official", dept)
    elif who == "inactive":
        actor = world.official
        actor.active = False
    else:
        from flask_login import AnonymousUserMixin

        actor = AnonymousUserMixin()
    with pytest.raises(DomainRefused) as refused:
        confirm_repayment_account(world.act, NEW, actor)
    assert str(refused.value) == ONLY_OFFICIALS
    assert _act_row(world.act.id)[2] == PINNED and _events("act.payee_changed") == []


def test_nothing_to_confirm_is_refused(world):
    message = (f"Act {world.act.number} has no new account to confirm: it is paid again to the account it was "
               "accepted with.")
    world.school.iban = NEW  # accepted, never paid: not waiting to be paid again
    db.session.commit()
    with pytest.raises(DomainRefused, match="no new account") as refused:
        confirm_repayment_account(world.act, NEW, world.official)
    assert str(refused.value) == message
    world.school.iban = PINNED
    db.session.commit()
    _returned(world)  # returned, the records still name the pinned account
    with pytest.raises(DomainRefused) as refused:
        confirm_repayment_account(world.act, PINNED, world.official)
    assert str(refused.value) == message
    world.school.iban = NEW
    db.session.commit()
    # paid again (a standing payment): nothing to confirm either
    db.session.add(Payment(act_id=world.act.id, order_number="PP-X", paid_on=clock.today(), amount_tiyn=1,
                           payee_iban=PINNED, registered_by_id=world.operator.id, registered_at=clock.now()))
    db.session.flush()
    with pytest.raises(DomainRefused) as refused:
        confirm_repayment_account(world.act, NEW, world.official)
    assert str(refused.value) == message
    assert _events("act.payee_changed") == []


def test_an_account_changed_since_the_page_was_read_is_the_conflict(world):
    _waiting(world)
    with pytest.raises(DomainConflict) as conflict:
        confirm_repayment_account(world.act, PINNED, world.official)
    assert str(conflict.value) == (f"The account on record for act {world.act.number} changed since you opened the "
                                   f"page: it is now {NEW}. Nothing was confirmed; open the act again.")
    for shown in ("", None):
        with pytest.raises(DomainConflict):
            confirm_repayment_account(world.act, shown, world.official)
    assert _act_row(world.act.id)[2] == PINNED and _events("act.payee_changed") == []


def test_a_confirmation_on_an_act_changed_meanwhile_is_the_conflict(world):
    _waiting(world)
    db.session.execute(update(Act).where(Act.id == world.act.id).values(lock_version=Act.lock_version + 1)
                       .execution_options(synchronize_session=False))
    with pytest.raises(DomainConflict) as conflict:
        confirm_repayment_account(world.act, NEW, world.official)
    assert str(conflict.value) == f"Act {world.act.number} changed meanwhile: nothing was recorded; open it again."
    assert _events("act.payee_changed") == []


# --- standing_payment, returned_payments, nothing_to_pay ----------------------------------------------------------


def test_the_standing_payment_and_the_returned_ones_are_the_acts_own(world):
    assert standing_payment(world.act) is None and returned_payments(world.act) == []
    other = world.country.act(world.school, [(iin(1), 5)], period=world.act.period.replace(month=9))
    db.session.flush()
    db.session.add(Payment(act_id=other.id, order_number="PP-O", paid_on=clock.today(), amount_tiyn=1,
                           registered_by_id=world.operator.id, registered_at=clock.now()))
    db.session.add(Payment(act_id=other.id, order_number="PP-OR", paid_on=clock.today(), amount_tiyn=1,
                           registered_by_id=world.operator.id, registered_at=clock.now(), returned_on=clock.today(),
                           return_reason="other", return_reference="R"))
    first = _returned(world, reason="bank_refused")
    second = register_payment(world.act, "PP-2", clock.today(), world.operator2)
    db.session.commit()
    assert standing_payment(world.act) == second and returned_payments(world.act) == [first]
    record_return(world.act, second, clock.today(), "bank_refused", "R2", "", world.operator)
    third = register_payment(world.act, "PP-3", clock.today(), world.operator2)
    assert returned_payments(world.act) == [first, second]
    assert standing_payment(world.act) == third


def test_nothing_to_pay_is_a_paid_act_of_zero_without_a_payment(world):
    act = world.act
    assert not nothing_to_pay(act)  # accepted, with money
    act.amount_tiyn = 0
    assert not nothing_to_pay(act)  # accepted at 0: not closed yet
    act.status = "paid"
    assert nothing_to_pay(act)
    act.amount_tiyn = 1
    assert not nothing_to_pay(act)
    act.amount_tiyn = 0
    db.session.add(Payment(act_id=act.id, order_number="PP-Z", paid_on=clock.today(), amount_tiyn=0,
                           registered_by_id=world.operator.id, registered_at=clock.now()))
    db.session.flush()
    assert not nothing_to_pay(act)


# --- close_without_payment and register_payment's refusal of 0 ₸ ------------------------------------------------


def _zero(world):
    db.session.execute(update(Act).where(Act.id == world.act.id).values(amount_tiyn=0))
    db.session.expire(world.act)
    return world.act


def test_an_act_of_zero_is_closed_with_its_event(world):
    act = _zero(world)
    version = act.lock_version
    close_without_payment(act, world.official)
    db.session.commit()
    assert _act_row(act.id)[:2] == ("paid", version + 1)
    (event,) = _events("act.closed_nothing_to_pay")
    assert (event.object_type, event.object_id, event.actor_id) == ("act", act.id, world.official.id)
    assert event.details == {"act": act.number, "amount_tiyn": 0, "adjustment_tiyn": 0}
    assert event.facts["amount_tiyn"] == 0
    assert nothing_to_pay(act)
    # closed: neither closed again nor paid
    with pytest.raises(DomainConflict, match=r"^Act .* has already been paid; a second payment is refused\.$"):
        close_without_payment(act, world.official)
    db.session.execute(update(Act).where(Act.id == act.id).values(status="accepted"))  # a database writer
    db.session.expire(act)
    with pytest.raises(DomainConflict, match="already been paid"):
        close_without_payment(act, world.official)
    with pytest.raises(DomainConflict, match="already been paid"):
        register_payment(act, "PP-9", clock.today(), world.operator)


def test_the_system_closes_an_act_and_its_adjustment_is_named(world):
    db.session.execute(update(Act).where(Act.id == world.act.id).values(amount_tiyn=0, adjustment_tiyn=-5))
    db.session.expire(world.act)
    close_without_payment(world.act, None, alongside=True)
    (event,) = _events("act.closed_nothing_to_pay")
    assert event.actor_id is None and event.details["adjustment_tiyn"] == -5


def test_only_an_accepted_act_of_zero_is_closed(world):
    with pytest.raises(DomainRefused) as refused:
        close_without_payment(world.act, world.official)
    assert str(refused.value) == f"Act {world.act.number} has money to pay: it is paid by a payment order."
    act = _zero(world)
    for status in ("verified", "submitted", "returned"):
        db.session.execute(update(Act).where(Act.id == act.id).values(status=status))
        db.session.expire(act)
        with pytest.raises(DomainRefused) as refused:
            close_without_payment(act, world.official)
        assert str(refused.value) == "Only an accepted act can be paid."
    db.session.execute(update(Act).where(Act.id == act.id).values(status="paid"))
    db.session.expire(act)
    with pytest.raises(DomainRefused, match="^Only an accepted act can be paid.$"):
        close_without_payment(act, world.official)
    assert _events("act.closed_nothing_to_pay") == []


def test_a_paid_act_is_not_closed(world):
    _pay(world)
    with pytest.raises(DomainConflict, match="already been paid"):
        close_without_payment(world.act, world.official)


def test_a_payment_order_of_zero_is_refused(world):
    act = _zero(world)
    with pytest.raises(DomainRefused) as refused:
        register_payment(act, "PP-1", clock.today(), world.operator)
    assert str(refused.value) == f"Act {act.number} has nothing to pay (0 ₸): it is closed without a payment order."
    assert db.session.scalars(select(Payment)).all() == [] and _act_row(act.id)[0] == "accepted"


# --- register_payment after a return -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["PP-1", "pp-1"])
def test_the_returned_orders_number_is_not_used_again(world, typed):
    from app.i18n import format_day

    payment = _returned(world, reason="bank_refused")
    with pytest.raises(DomainRefused) as refused:
        register_payment(world.act, typed, clock.today(), world.operator2)
    assert str(refused.value) == (f"Payment order PP-1 was returned by the bank on {format_day(payment.returned_on)}: "
                                  "the act is paid again by a new payment order, with its own number.")


def test_the_repayment_is_checked_against_the_last_return(world, monkeypatch):
    first = _returned(world, reason="bank_refused")
    second = register_payment(world.act, "PP-2", clock.today(), world.operator2)
    record_return(world.act, second, clock.today(), "bank_refused", "R2", "", world.operator)
    db.session.commit()
    seen = []
    monkeypatch.setattr(payops, "check_repayment", lambda act, returned, paid_on: seen.append(
        (act.id, returned.order_number, paid_on)))
    third = register_payment(world.act, "PP-3", clock.today(), world.operator2)
    assert seen == [(world.act.id, "PP-2", clock.today())]
    (event,) = [e for e in _events("act.paid") if e.object_id == third.id]
    assert event.details["after_return_of"] == "PP-2" and first.order_number == "PP-1"


def test_a_first_payment_names_no_return_and_is_not_checked_as_a_repayment(world, monkeypatch):
    monkeypatch.setattr(payops, "check_repayment", lambda *a: pytest.fail("not a repayment"))
    payment = _pay(world)
    (event,) = _events("act.paid")
    assert event.object_id == payment.id and "after_return_of" not in event.details


def test_a_repayment_refused_by_its_check_pays_nothing(world):
    _returned(world)  # the account is closed and still on record
    with pytest.raises(DomainRefused, match="records still name that account"):
        register_payment(world.act, "PP-2", clock.today(), world.operator2)
    db.session.rollback()
    assert standing_payment(world.act) is None and _act_row(world.act.id)[0] == "accepted"


# --- the writers' place beside the process: record_event's ``alongside`` -----------------------------------------


@pytest.fixture()
def alongside(monkeypatch):
    """(action, alongside) of every event the payments' doors write (on PostgreSQL ``alongside`` locks an instance's
    chain for a writer that does not hold the instance's lock version)."""
    import app.payments.returns as returns

    seen = []
    for module in (payops, returns):
        real = module.record_event

        def spy(chain, action, *args, _real=real, **kw):
            seen.append((action, bool(kw.get("alongside", False))))
            return _real(chain, action, *args, **kw)

        monkeypatch.setattr(module, "record_event", spy)
    return seen


def test_the_process_step_closes_an_act_in_its_own_lock_and_the_page_beside_it(world, alongside):
    act = _zero(world)
    db.session.commit()
    close_without_payment(act, world.official)
    assert alongside == [("act.closed_nothing_to_pay", False)]
    db.session.rollback()
    close_without_payment(db.session.get(Act, act.id), None, alongside=True)
    assert alongside[-1] == ("act.closed_nothing_to_pay", True)


def test_a_return_and_a_confirmation_are_written_beside_the_process_and_a_payment_as_asked(world, alongside):
    payment = register_payment(world.act, "PP-1", clock.today(), world.operator)
    record_return(world.act, payment, clock.today(), "account_closed", "R1", "", world.operator)
    world.school.iban = NEW
    db.session.flush()
    confirm_repayment_account(world.act, NEW, world.official)
    register_payment(world.act, "PP-2", clock.today(), world.operator2, alongside=True)
    assert alongside == [("act.paid", False), ("payment.returned", True), ("act.payee_changed", True),
                         ("act.paid", True)]


def test_a_closed_act_says_which_act_was_closed(world):
    act = _zero(world)
    close_without_payment(act, world.official)
    with pytest.raises(DomainConflict) as conflict:
        close_without_payment(act, world.official)
    assert str(conflict.value) == f"Act {act.number} has already been paid; a second payment is refused."


# --- account_to_confirm ------------------------------------------------------------------------------------------


def test_an_act_not_accepted_has_no_account_to_confirm_whatever_its_returns(world):
    from app.payments.returns import account_to_confirm

    _waiting(world)
    assert account_to_confirm(world.act).now == NEW
    for status in ("paid", "verified", "returned"):
        db.session.execute(update(Act).where(Act.id == world.act.id).values(status=status))  # a database writer
        db.session.expire(world.act)
        assert account_to_confirm(world.act) is None
        with pytest.raises(DomainRefused, match="has no new account to confirm"):
            confirm_repayment_account(world.act, NEW, world.official)


def test_no_account_on_record_is_nothing_to_confirm(world):
    from app.payments.returns import account_to_confirm

    _waiting(world)
    world.school.iban = None
    db.session.commit()
    assert account_to_confirm(world.act) is None
    for shown in ("", None):
        with pytest.raises(DomainRefused, match="has no new account to confirm"):
            confirm_repayment_account(world.act, shown, world.official)


def test_who_is_not_a_signed_in_person_confirms_nothing(world):
    from types import SimpleNamespace

    from app.payments.returns import may_confirm_account

    assert may_confirm_account(world.official, world.act) is True
    # no session user at all, or an object that is not one (a job's actor): asked, not crashed
    from app.people.roles import Scope

    for actor in (None, SimpleNamespace(active=True, role="department_official", region_id=world.act.region_id),
                  SimpleNamespace(is_authenticated=True, role="department_official", scope=Scope.REGION,
                                  region_id=world.act.region_id, organisation_id=None)):
        assert not may_confirm_account(actor, world.act)
    with pytest.raises(DomainRefused, match="^Only a department official"):
        confirm_repayment_account(world.act, NEW, None)


def test_the_school_hears_its_money_came_back_with_the_order_and_the_reason(world, monkeypatch):
    import app.acts.operations as acts

    heard = []
    monkeypatch.setattr(acts, "tell_school", lambda act, kind, **params: heard.append((act.id, kind, params)))
    payment = register_payment(world.act, "PP-1", clock.today(), world.operator)
    record_return(world.act, payment, clock.today(), "bank_refused", "R1", "", world.operator)
    assert heard[-1] == (world.act.id, "payment_returned", {"order": "PP-1", "reason": "bank_refused"})
