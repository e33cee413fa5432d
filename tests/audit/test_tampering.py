"""Issue 13 §1: someone who can write to the database but holds no audit key is found out by verify-audit.

One test per kind of tampering: an event rewritten and the rest of its chain re-hashed, the last event of a
chain deleted, a whole chain deleted, a payment multiplied by ten, an act's amount or one of its lines changed,
a contract's terms or signature changed.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import delete, select, update

from app.acts.models import Act, ActLine
from app.audit.anchors import create_anchor
from app.audit.models import AuditEvent
from app.audit.operations import _body, verify_all_chains, verify_audit_trail, verify_chain
from app.contracts.models import Contract, ContractSignature
from app.extensions import db
from app.payments.models import Payment
from tests.audit.helpers import chain_of, last_seq, tamper
from tests.helpers import act_of_school


def _reasons(problems) -> list[str]:
    return [str(p) for p in problems]


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def test_the_untouched_trail_verifies_with_keyed_hashes_facts_and_an_anchor(paid_act, anchor_dir):
    create_anchor()
    report = verify_audit_trail()
    assert report.problems == [] and report.warnings == []
    assert report.anchors_checked == [1]
    assert set(report.events_by_key) == {"k1"} and report.events == sum(report.events_by_key.values()) > 20
    covered = db.session.scalars(select(AuditEvent.action).where(AuditEvent.facts.is_not(None))).all()
    assert {"act.accepted", "act.paid", "contract.generated", "contract.signed"} <= set(covered)
    assert "task.completed" not in covered, "an event without facts stores SQL NULL"


def test_an_event_rewritten_and_the_rest_of_its_chain_rehashed_is_found(paid_act):
    """The attack that passed before: rewrite event 2, recompute every later hash with plain SHA-256 (all a
    database writer can do without the key), relink the chain."""
    chain = chain_of(paid_act)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)).all()
    prev = events[0].hash
    for ev in events[1:]:
        details = {"comment": "forged"} if ev.seq == 2 else ev.details
        body = _body(prev, ev.chain, ev.seq, ev.at, ev.actor_id, ev.on_behalf_of_id, ev.action, ev.object_type,
                     ev.object_id, details)
        digest = hashlib.sha256(_canonical([*body, ev.key_id, ev.facts])).hexdigest()
        db.session.execute(update(AuditEvent).where(AuditEvent.id == ev.id)
                           .values(details=details, prev_hash=prev, hash=digest))
        prev = digest
    db.session.commit()
    problems = verify_chain(chain)
    assert {p.seq for p in problems} == {ev.seq for ev in events[1:]}
    assert all("tampered" in p.reason for p in problems)


def test_rehashing_the_rest_as_unkeyed_legacy_events_is_found(paid_act):
    """Downgrade: label the rewritten events 'sha256-legacy' so they need no key."""
    chain = chain_of(paid_act)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)).all()
    prev = events[0].hash
    for ev in events[1:]:
        body = _body(prev, ev.chain, ev.seq, ev.at, ev.actor_id, ev.on_behalf_of_id, ev.action, ev.object_type,
                     ev.object_id, ev.details)
        digest = hashlib.sha256(_canonical(body)).hexdigest()
        db.session.execute(update(AuditEvent).where(AuditEvent.id == ev.id)
                           .values(prev_hash=prev, hash=digest, key_id="sha256-legacy", facts=None))
        prev = digest
    db.session.commit()
    reasons = _reasons(verify_chain(chain))
    assert len(reasons) == len(events) - 1
    assert all("unkeyed (sha256-legacy) event after keyed events" in r for r in reasons)


def test_the_deleted_last_event_of_a_chain_is_found_by_the_anchor(paid_act, anchor_dir):
    chain = chain_of(paid_act)
    create_anchor()
    seq = last_seq(chain)
    tamper(delete(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == seq))
    assert verify_chain(chain) == [], "the chain alone cannot show it: that is what anchors are for"
    assert _reasons(verify_audit_trail().problems) == [
        f"{chain} #{seq}: truncated: anchor 1 vouched for events up to #{seq}, the database ends at #{seq - 1}"]


def test_a_deleted_whole_chain_is_found_by_the_anchor(world, anchor_dir):
    chain = chain_of(act_of_school("Bilim Innovation School"))  # an act not yet decided: no facts to miss
    create_anchor()
    count = db.session.scalar(select(db.func.count()).where(AuditEvent.chain == chain))
    seq = last_seq(chain)
    assert count > 0
    tamper(delete(AuditEvent).where(AuditEvent.chain == chain))
    assert verify_all_chains()[1] == []
    assert _reasons(verify_audit_trail().problems) == [
        f"{chain} #{seq}: chain deleted: anchor 1 vouched for {count} event(s)"]


def test_a_deleted_chain_of_a_paid_act_also_leaves_its_rows_unvouched(paid_act):
    tamper(delete(AuditEvent).where(AuditEvent.chain == chain_of(paid_act)))
    reasons = _reasons(verify_all_chains()[1])
    assert f"act {paid_act.id}: no audit event vouches for its facts" in reasons
    assert any(r.startswith("payment ") and r.endswith("no audit event vouches for its facts") for r in reasons)


def test_an_event_rewritten_before_the_anchor_is_found_even_with_a_valid_hash(paid_act, anchor_dir):
    """A head replaced by a different, validly keyed event (e.g. replayed from another chain) differs from the
    anchor's hash even though each event verifies on its own."""
    chain = chain_of(paid_act)
    create_anchor()
    seq = last_seq(chain)
    tamper(update(AuditEvent).where(AuditEvent.chain == chain, AuditEvent.seq == seq).values(hash="f" * 64))
    reasons = _reasons(verify_audit_trail().problems)
    assert f"{chain} #{seq}: event differs from anchor 1 (rewritten)" in reasons
    assert f"{chain} #{seq}: content does not match its hash (tampered)" in reasons


def test_a_payment_multiplied_by_ten_is_found(paid_act):
    payment = db.session.scalars(select(Payment).where(Payment.act_id == paid_act.id)).one()
    paid = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")).one()
    assert (paid.chain, paid.object_id) == (chain_of(paid_act), payment.id)
    tamper(update(Payment).values(amount_tiyn=Payment.amount_tiyn * 10))
    assert _reasons(verify_all_chains()[1]) == [
        f"{paid.chain} #{paid.seq}: payment {payment.id}: amount_tiyn differs from event {paid.chain}#{paid.seq}"]


def test_a_payment_order_number_changed_is_found(paid_act):
    payment = db.session.scalars(select(Payment).where(Payment.act_id == paid_act.id)).one()
    tamper(update(Payment).values(order_number="PP-2026-9999"))
    reasons = [p.reason for p in verify_all_chains()[1]]
    assert len(reasons) == 1 and reasons[0].startswith(f"payment {payment.id}: order_number differs from event")


def test_a_payment_no_event_vouches_for_is_found(paid_act):
    payment = db.session.scalars(select(Payment).where(Payment.act_id == paid_act.id)).one()
    tamper(update(AuditEvent).where(AuditEvent.action == "act.paid").values(facts=None))
    reasons = _reasons(verify_all_chains()[1])
    assert f"payment {payment.id}: no audit event vouches for its facts" in reasons
    assert any("content does not match its hash (tampered)" in r for r in reasons)


def test_a_deleted_payment_is_found(paid_act):
    payment = db.session.scalars(select(Payment).where(Payment.act_id == paid_act.id)).one()
    paid = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "act.paid")).one()
    tamper(delete(Payment))
    assert f"{paid.chain} #{paid.seq}: payment {payment.id}: vouched for by the event but missing" in _reasons(
        verify_all_chains()[1])


def test_every_row_is_compared_even_after_one_that_no_event_vouches_for(paid_act):
    """The first payment's event lost its facts, and a second payment was slipped in by hand: both are named."""
    payment = db.session.scalars(select(Payment).where(Payment.act_id == paid_act.id)).one()
    tamper(update(AuditEvent).where(AuditEvent.action == "act.paid").values(facts=None))
    other_act = db.session.scalar(select(Act.id).where(Act.id != paid_act.id))
    tamper(Payment.__table__.insert().values(act_id=other_act, order_number="PP-FORGED", paid_on=payment.paid_on,
                                             amount_tiyn=1, registered_by_id=payment.registered_by_id,
                                             registered_at=payment.registered_at))
    forged = db.session.scalar(select(Payment.id).where(Payment.order_number == "PP-FORGED"))
    assert forged > payment.id
    reasons = [p.reason for p in verify_all_chains()[1]]
    assert f"payment {payment.id}: no audit event vouches for its facts" in reasons
    assert f"payment {forged}: no audit event vouches for its facts" in reasons


def test_an_accepted_acts_amount_changed_is_found(paid_act):
    assert verify_all_chains()[1] == []
    tamper(update(Act).where(Act.id == paid_act.id).values(amount_tiyn=Act.amount_tiyn + 100_000))
    reasons = _reasons(verify_all_chains()[1])
    assert len(reasons) == 1 and f"act {paid_act.id}: amount_tiyn differs from event" in reasons[0]
    tamper(update(Act).where(Act.id == paid_act.id).values(amount_tiyn=Act.amount_tiyn - 100_000,
                                                           withheld_tiyn=0))
    reasons = _reasons(verify_all_chains()[1])
    assert len(reasons) == 1 and f"act {paid_act.id}: withheld_tiyn differs from event" in reasons[0]


def test_a_paid_act_put_back_before_its_decision_is_found(paid_act):
    """Only decided acts (accepted, paid) are compared, and nothing moves an act back from there: one a database
    writer set back to "submitted" — its amount and lines free to change unseen — was compared with nothing."""
    accepted = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "act",
                                                           AuditEvent.facts.is_not(None))).one()
    tamper(update(Act).where(Act.id == paid_act.id).values(status="submitted", amount_tiyn=Act.amount_tiyn * 10))
    assert f"{accepted.chain} #{accepted.seq}: act {paid_act.id}: vouched for by the event as accepted, but no " \
           "longer accepted or paid" in _reasons(verify_all_chains()[1])


def test_a_paid_act_set_back_to_accepted_is_found(paid_act):
    """The act's facts leave its status out (accepted and paid carry the same money): a database writer who set a
    paid act back to "accepted" was unseen. Its payment says it is paid."""
    tamper(update(Act).where(Act.id == paid_act.id).values(status="accepted"))
    assert _reasons(verify_all_chains()[1]) == [
        f"act {paid_act.id}: a payment pays it, but its status is 'accepted', not paid"]


def test_an_accepted_acts_line_changed_is_found(paid_act):
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == paid_act.id, ActLine.outcome == "excluded")
                              ).first()
    tamper(update(ActLine).where(ActLine.id == line.id).values(outcome="accepted"))
    reasons = _reasons(verify_all_chains()[1])
    assert len(reasons) == 1 and f"act {paid_act.id}: lines_sha256 differs from event" in reasons[0]


def test_the_capacity_pinned_on_a_paid_act_raised_or_unpinned_is_found(paid_act):
    """The capacity a decided month is repriced with (app.acts.terms.design_capacity_of): raised on the row, a later
    NEDB correction would top up places the month did not have; unpinned, the school's capacity as an administrator
    edited it since would count. The acceptance event vouches for both."""
    assert paid_act.capacity_pinned, "verified before it was accepted: the capacity is pinned"
    pinned = paid_act.verified_capacity
    tamper(update(Act).where(Act.id == paid_act.id).values(verified_capacity=(pinned or 0) + 500))
    assert any(f"act {paid_act.id}: verified_capacity differs from event" in r
               for r in _reasons(verify_all_chains()[1]))
    tamper(update(Act).where(Act.id == paid_act.id).values(verified_capacity=pinned, capacity_pinned=False))
    reasons = _reasons(verify_all_chains()[1])
    assert len(reasons) == 1 and f"act {paid_act.id}: capacity_pinned differs from event" in reasons[0]


def test_an_added_line_is_found(paid_act):
    line = db.session.scalars(select(ActLine).where(ActLine.act_id == paid_act.id)).first()
    tamper(ActLine.__table__.insert().values(act_id=line.act_id, period=line.period, school_id=line.school_id,
                                             line_no=999, iin=line.iin, full_name="Added Later", grade=1,
                                             days_attended=20, outcome="accepted", amount_tiyn=1))
    assert any("lines_sha256 differs" in r for r in _reasons(verify_all_chains()[1]))


def _contract() -> Contract:
    return db.session.scalars(select(Contract).where(Contract.status == "active")).first()


def test_contract_terms_changed_are_found(world):
    contract = _contract()
    assert contract is not None and verify_all_chains()[1] == []
    tamper(update(Contract).where(Contract.id == contract.id).values(places_primary=Contract.places_primary + 50))
    reasons = _reasons(verify_all_chains()[1])
    assert len(reasons) == 1 and f"contract {contract.id}: terms_sha256 differs from event" in reasons[0]
    assert "contract.signed" in db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.chain == reasons[0].split(" #")[0], AuditEvent.seq == int(reasons[0].split(" #")[1].split(":")[0])
    )).one()


def test_contract_caps_changed_are_named_in_the_report(world):
    contract = _contract()
    tamper(update(Contract).where(Contract.id == contract.id).values(amount_cap_tiyn=Contract.amount_cap_tiyn * 10))
    reasons = " ".join(_reasons(verify_all_chains()[1]))
    assert f"contract {contract.id}: amount_cap_tiyn differs" in reasons and "terms_sha256 differs" in reasons


def test_a_signature_hash_changed_is_found(world):
    contract = _contract()
    tamper(update(ContractSignature).where(ContractSignature.contract_id == contract.id,
                                           ContractSignature.capacity == "department_head")
           .values(document_sha256="0" * 64))
    reasons = _reasons(verify_all_chains()[1])
    assert len(reasons) == 2 and f"contract {contract.id}: signatures_sha256 differs" in reasons[0]
    # and the stored signed document is no longer what the signatures record
    assert f"contract {contract.id}: its stored signed document's SHA-256" in reasons[1] and "0" * 64 in reasons[1]


def test_a_deleted_signature_is_found(world):
    contract = _contract()
    tamper(delete(ContractSignature).where(ContractSignature.contract_id == contract.id))
    assert any(f"contract {contract.id}: signatures_sha256 differs" in r for r in _reasons(verify_all_chains()[1]))


def test_renumbered_events_cannot_make_an_earlier_event_vouch_for_a_row(world):
    """An event's id is not in its hash: a database writer who deleted the head's signature and gave the director's
    signing event the highest id had the contract compared with that earlier event — equal, 0 problems. The event
    that vouches is the last one of its chain (its order is in the hashes), not the one with the highest id."""
    contract = _contract()
    signed = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "contract",
                                                         AuditEvent.object_id == contract.id,
                                                         AuditEvent.facts.is_not(None))
                                .order_by(AuditEvent.chain, AuditEvent.seq)).all()
    by_director, by_head = signed[-2], signed[-1]
    assert (by_director.chain, by_director.action, by_head.action) == (by_head.chain, "contract.signed",
                                                                       "contract.signed")
    director_id, head_id, chain, seq = by_director.id, by_head.id, by_head.chain, by_head.seq
    tamper(delete(ContractSignature).where(ContractSignature.contract_id == contract.id,
                                           ContractSignature.capacity == "department_head"))
    tamper(update(AuditEvent).where(AuditEvent.id == head_id).values(id=-1))
    tamper(update(AuditEvent).where(AuditEvent.id == director_id).values(id=head_id))
    tamper(update(AuditEvent).where(AuditEvent.id == -1).values(id=director_id))
    reasons = _reasons(verify_all_chains()[1])
    assert f"{chain} #{seq}: contract {contract.id}: signatures_sha256 differs from event {chain}#{seq}" in reasons


def test_an_unvouched_row_is_reported_apart_from_any_chain(paid_act):
    tamper(update(AuditEvent).where(AuditEvent.action == "act.paid").values(object_id=None))
    payment = db.session.scalars(select(Payment)).one()
    unvouched = [p for p in verify_all_chains()[1] if p.reason.endswith("no audit event vouches for its facts")]
    assert [(p.chain, p.seq, p.reason) for p in unvouched] == [
        ("", 0, f"payment {payment.id}: no audit event vouches for its facts")]


def test_a_fact_the_event_does_not_know_is_reported(paid_act, monkeypatch):
    """Facts gained a field since the event was written: a difference to show, not to ignore."""
    from app.audit import facts

    original = facts.load_payment_facts
    monkeypatch.setattr(facts, "load_payment_facts",
                        lambda: {i: {**f, "currency": "KZT"} for i, f in original().items()})
    payment = db.session.scalars(select(Payment)).one()
    assert [p.reason.split(" from ")[0] for p in verify_all_chains()[1]] == [
        f"payment {payment.id}: currency differs"]


def test_a_contract_row_gone_is_reported(world, monkeypatch):
    from app.audit import facts

    contract = _contract()
    monkeypatch.setattr(facts, "load_contract_facts", lambda: {})
    problems = verify_all_chains()[1]
    assert [(p.chain, p.reason) for p in problems] == [
        (f"instance:{contract.instance_id}", f"contract {contract.id}: vouched for by the event but missing")]


def test_an_adjustment_slipped_onto_a_paid_act_is_found(paid_act):
    """A claw-back row added to a paid act (its amount untouched) says a line was clawed back already: the
    settlement deducts what was settled for a line, so a pupil later found withdrawn would never be clawed back.
    The adjustments an act was accepted with are among the facts its event vouches for."""
    from app.acts.models import ActAdjustment

    line = db.session.scalars(select(ActLine).where(ActLine.act_id == paid_act.id, ActLine.outcome == "accepted")
                              ).first()
    assert verify_all_chains()[1] == []
    tamper(ActAdjustment.__table__.insert().values(
        act_id=paid_act.id, original_act_id=paid_act.id, original_line_id=line.id, period=line.period, iin=line.iin,
        full_name=line.full_name, rule_code="withdrawn", original_amount_tiyn=line.amount_tiyn,
        corrected_amount_tiyn=0, amount_tiyn=-line.amount_tiyn, evidence={}, created_at=paid_act.created_at))
    reasons = _reasons(verify_all_chains()[1])
    assert len(reasons) == 1 and f"act {paid_act.id}: adjustments_sha256 differs from event" in reasons[0]


def test_an_act_accepted_before_its_adjustments_were_vouched_for_still_verifies(world, monkeypatch):
    """Events written before the adjustments were among an act's facts vouch for the rest: not a problem."""
    from app import clock
    from app.acts import operations as act_operations
    from app.audit.facts import act_facts
    from app.engine.runtime import complete_task
    from tests.audit.conftest import LYCEUM
    from tests.helpers import open_task, user

    monkeypatch.setattr(act_operations, "act_facts", lambda act: {
        k: v for k, v in act_facts(act).items() if k not in ("adjustment_tiyn", "adjustments_sha256")})
    act = act_of_school(LYCEUM)
    complete_task(open_task(act, "accept_act").id, user("official_almaty"), form={"decision": "accept"})
    db.session.commit()
    complete_task(open_task(act, "pay_act").id, user("operator"),
                  form={"order_number": "PP-2026-0008", "paid_on": clock.today().isoformat()})
    db.session.commit()
    assert verify_all_chains()[1] == []
    tamper(update(Act).where(Act.id == act.id).values(amount_tiyn=Act.amount_tiyn + 1))
    assert any("amount_tiyn differs" in r for r in _reasons(verify_all_chains()[1]))
