"""The acts' one door (``app.acts.operations``) on hand-made acts in the small ``country`` world: the guarded write
that keeps a decided act final, the claim a verification pass takes, the decisions and their one audit event each,
the re-submission, the audit check for a chain rewritten after its decision and the cancel guard. Written for the
mutation run of the key ``acts_operations`` (benchmarks/MUTATION.md, fourteenth round); amounts worked out by hand:
a grade-5 line is paid the basic norm, 4,230,000 tiyn a month."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from app.acts import operations
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.operations import (
    VERIFIABLE,
    act_chain,
    claim_for_verification,
    decide,
    decided_then_rewritten,
    guarded_write,
    submit_act,
    verify,
)
from app.audit.models import AuditEvent
from app.audit.operations import record_event
from app.engine.errors import ConflictError, DomainRefused, FormInvalid, LineRefused
from app.extensions import db
from tests.registry.conftest import iin
from tests.registry.test_pages import _user, department_official
from tests.registry.test_review_decision_rules import _instance

BASIC = 4_230_000  # the grade-5 norm a month, in tiyn (tests/registry/conftest.py NORMS["basic"])
STATUSES = ("awaiting_submission", "submitted", "verified", "accepted", "returned", "paid")


def _events(act: Act) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "act",
                                                            AuditEvent.object_id == act.id)
                                   .order_by(AuditEvent.chain, AuditEvent.seq)))


def _row(act_id: int) -> tuple:
    """What the database holds now (not the session's object)."""
    return db.session.execute(select(Act.status, Act.lock_version, Act.return_comment, Act.payee_iban)
                              .where(Act.id == act_id)).one()


@pytest.fixture()
def school(country):
    return country.school("Alpha")


def _enrolled_act(country, school, status="submitted", students=(1, 2)):
    for n in students:
        country.enrol(iin(n), school.bin, grade=5)
    return country.act(school, [(iin(n), 5) for n in students], status=status)


# --- guarded_write ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["accepted", "returned", "paid", "submitted", "awaiting_submission"])
def test_a_write_from_a_status_not_allowed_changes_nothing_and_is_the_conflict(country, school, status):
    act = country.act(school, [(iin(1), 5)], status=status)
    db.session.commit()
    before = _row(act.id)
    with pytest.raises(ConflictError) as conflict:
        guarded_write(act, ("verified",), status="accepted", return_comment="late")
    assert str(conflict.value) == ("The act was changed by someone else (for example re-verified) while you were "
                                   "working on it. Nothing was saved; open it again and review its current state.")
    db.session.expire_all()
    assert _row(act.id) == before
    assert act.status == status  # the object was expired and reads the row again


def test_a_write_at_an_older_version_changes_nothing_and_is_the_conflict(country, school):
    act = country.act(school, [(iin(1), 5)], status="verified")
    db.session.commit()
    read = act.lock_version
    db.session.execute(Act.__table__.update().where(Act.id == act.id).values(lock_version=read + 1))
    with pytest.raises(ConflictError):
        guarded_write(act, ("verified",), status="returned", return_comment="x")
    assert _row(act.id) == ("verified", read + 1, None, None)
    assert act.lock_version == read + 1  # expired: the object now holds what the database holds


def test_a_write_from_an_allowed_status_writes_and_moves_the_version_by_one(country, school):
    act = country.act(school, [(iin(1), 5)], status="submitted")
    db.session.commit()
    read = act.lock_version
    guarded_write(act, ["verified", "submitted"], status="returned", return_comment="see line 1")
    # the object holds what was written without reading it back
    assert (act.status, act.lock_version, act.return_comment) == ("returned", read + 1, "see line 1")
    assert "status" not in db.session.dirty and act not in db.session.dirty
    assert _row(act.id) == ("returned", read + 1, "see line 1", None)
    # the second writer, reading the same version, finds it moved on
    set_committed_value(act, "lock_version", read)  # what a second page read before the write
    with pytest.raises(ConflictError):
        guarded_write(act, ("returned",), return_comment="again")
    assert _row(act.id) == ("returned", read + 1, "see line 1", None)


def test_a_write_touches_only_its_act(country, school):
    one = country.act(school, [(iin(1), 5)], status="verified")
    other = country.act(school, [(iin(2), 5)], period=date(2026, 11, 1), status="verified")
    db.session.commit()
    guarded_write(one, ("verified",), status="accepted")
    assert _row(other.id)[:2] == ("verified", other.lock_version)


# --- claim_for_verification ------------------------------------------------------------------------------------


def test_only_submitted_and_verified_acts_are_claimed_each_once_in_order_whatever_the_chunks(country, school,
                                                                                              monkeypatch):
    monkeypatch.setattr(operations, "_CHUNK", 2)
    assert VERIFIABLE == ("submitted", "verified")
    acts = {}
    for month, status in enumerate(STATUSES * 2, start=1):
        acts[month] = country.act(school, [(iin(month), 5)], period=date(2025 + month // 13, (month - 1) % 12 + 1, 1),
                                  status=status)
    db.session.commit()
    versions = {a.id: a.lock_version for a in acts.values()}
    ids = [a.id for a in acts.values()]
    claimable = sorted(a.id for a in acts.values() if a.status in VERIFIABLE)
    assert len(claimable) == 4

    assert claim_for_verification(list(reversed(ids)) + ids[:3]) == claimable
    for act in acts.values():
        # the objects in the session were expired: they read the moved version
        assert act.lock_version == versions[act.id] + (1 if act.id in claimable else 0)


def test_an_act_not_asked_for_is_not_claimed(country, school):
    asked = country.act(school, [(iin(1), 5)], status="submitted")
    other = country.act(school, [(iin(2), 5)], period=date(2026, 11, 1), status="submitted")
    db.session.commit()
    before = other.lock_version
    assert claim_for_verification([asked.id]) == [asked.id]
    assert claim_for_verification([]) == []
    assert _row(other.id)[1] == before


def test_a_claimed_act_held_by_the_session_reads_its_new_version(country, school):
    act = country.act(school, [(iin(1), 5)], status="verified")
    db.session.commit()
    read = act.lock_version
    claim_for_verification([act.id])
    # a decision reading the object now writes at the version the claim left, not the old one
    guarded_write(act, ("verified",), status="returned")
    assert _row(act.id)[:2] == ("returned", read + 2)


# --- verify ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["accepted", "returned", "paid", "awaiting_submission"])
def test_a_decided_act_is_never_verified_again(country, school, status):
    act = _enrolled_act(country, school, status=status)
    act.amount_tiyn = 123
    db.session.commit()
    before = _row(act.id)
    outcomes = [ln.outcome for ln in act.lines]
    with pytest.raises(DomainRefused, match="already been decided; it is not verified again"):
        verify(act)
    db.session.expire_all()
    assert _row(act.id) == before and act.amount_tiyn == 123
    assert [ln.outcome for ln in act.lines] == outcomes == ["pending", "pending"]
    assert _events(act) == []


@pytest.mark.parametrize("status", ["submitted", "verified"])
def test_verify_checks_the_lines_and_writes_one_event_of_the_system(country, school, status):
    act = _enrolled_act(country, school, status=status)
    country.act(school, [(iin(9), 5)], period=date(2026, 11, 1), status="submitted")  # another: untouched
    db.session.commit()
    requester = department_official(country)
    summary = verify(act, requester)
    assert (summary.accepted, summary.excluded, summary.amount_tiyn) == (2, 0, 2 * BASIC)
    assert act.status == "verified" and act.verified_at is not None
    assert act.amount_tiyn == 2 * BASIC
    [event] = _events(act)
    assert (event.action, event.chain, event.actor_id) == ("act.verified", f"act:{act.id}", None)
    assert event.details == {"accepted": 2, "excluded": 0, "amount_tiyn": 2 * BASIC, "lines_amount_tiyn": 2 * BASIC,
                             "by_rule": summary.by_rule, "adjustments": [], "requested_by": requester.id}


def test_verify_without_a_person_names_no_requester(country, school):
    act = _enrolled_act(country, school)
    country.enrol(iin(3), "000000000000", grade=5)  # a third line of another school: excluded
    act.lines.append(ActLine(period=act.period, school_id=school.id, line_no=3, iin=iin(3), full_name="Other",
                             grade=5, days_attended=20))
    db.session.commit()
    summary = verify(act, SimpleNamespace(id=None))
    [event] = _events(act)
    assert "requested_by" not in event.details
    assert (event.details["accepted"], event.details["excluded"]) == (2, 1) == (summary.accepted, summary.excluded)
    assert event.details["amount_tiyn"] == 2 * BASIC


# --- decide ----------------------------------------------------------------------------------------------------


@pytest.fixture()
def verified(country, school):
    act = _enrolled_act(country, school)
    verify(act)
    db.session.commit()
    return act


@pytest.mark.parametrize("status", ["submitted", "accepted", "returned", "paid", "awaiting_submission"])
@pytest.mark.parametrize("decision", ["accept", "return"])
def test_only_a_verified_act_is_decided(country, school, status, decision):
    act = country.act(school, [(iin(1), 5)], status=status)
    official = department_official(country)
    db.session.commit()
    before = _row(act.id)
    with pytest.raises(DomainRefused, match=r"^Only a verified act can be accepted or returned\.$"):
        decide(act, decision, "no", official)
    assert _row(act.id) == before and _events(act) == []


def test_a_return_writes_one_event_with_the_comment_and_the_amount_and_tells_nobody(verified, country,
                                                                                    monkeypatch):
    told = []
    monkeypatch.setattr(operations, "tell_school", lambda act, kind, **kw: told.append(kind))
    monkeypatch.setattr(operations, "ACCEPTANCE_CHECKS", [lambda act: told.append("checked")])
    official = department_official(country)
    read = verified.lock_version
    decide(verified, "return", "line 2 left in May", official)
    assert _row(verified.id) == ("returned", read + 1, "line 2 left in May", None)
    assert verified.decided_at is not None
    verify_event, event = _events(verified)
    assert (event.action, event.actor_id, event.chain) == ("act.returned", official.id, f"act:{verified.id}")
    assert event.details == {"comment": "line 2 left in May", "amount_tiyn": 2 * BASIC, "adjustment_tiyn": 0,
                             "accepted_lines": 2, "adjustments": []}
    assert told == []  # neither the acceptance checks nor the school's bell (the Submit task tells it)


def test_an_acceptance_pins_the_account_writes_one_event_with_its_facts_and_tells_the_school(verified, country,
                                                                                             monkeypatch):
    told = []
    monkeypatch.setattr(operations, "tell_school", lambda act, kind, **kw: told.append((act.id, kind)))
    official = department_official(country)
    read = verified.lock_version
    decide(verified, "accept", None, official)
    assert _row(verified.id) == ("accepted", read + 1, None, "KZ86125KZT5004100100")
    _verify_event, event = _events(verified)
    assert (event.action, event.actor_id) == ("act.accepted", official.id)
    assert event.details == {"comment": "", "amount_tiyn": 2 * BASIC, "iban": "KZ86125KZT5004100100",
                             "adjustment_tiyn": 0, "accepted_lines": 2, "adjustments": []}
    assert event.hash  # the facts went into the event (compared with the row by verify-audit)
    from app.audit.facts import act_facts
    assert act_facts(verified)["amount_tiyn"] == 2 * BASIC
    assert told == [(verified.id, "act_accepted")]


def test_an_acceptance_lists_what_it_settled(verified, country, school):
    official = department_official(country)
    earlier = country.act(school, [(iin(1), 5)], period=date(2026, 9, 1), status="paid")
    line = earlier.lines[0]
    db.session.add(ActAdjustment(act_id=verified.id, original_act_id=earlier.id, original_line_id=line.id,
                                 period=earlier.period, iin=line.iin, full_name=line.full_name, rule_code="withdrawn",
                                 original_amount_tiyn=BASIC, corrected_amount_tiyn=0, amount_tiyn=-BASIC,
                                 created_at=verified.verified_at))
    verified.adjustment_tiyn = -BASIC
    verified.amount_tiyn = BASIC  # 2 × 4,230,000 − 4,230,000
    db.session.flush()
    adjustment = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == verified.id)).one()
    decide(verified, "return", None, official)
    event = _events(verified)[-1]
    assert event.details["comment"] == ""
    assert (event.details["amount_tiyn"], event.details["adjustment_tiyn"]) == (BASIC, -BASIC)
    assert event.details["adjustments"] == [{"id": adjustment.id, "original_act_id": earlier.id, "month": "2026-09",
                                             "rule": "withdrawn", "amount_tiyn": -BASIC}]


def test_a_decision_lists_adjustments_whose_sum_is_zero(verified, country, school):
    """A claw-back of September (−4,230,000) and a top-up of August (+4,230,000) settled on one act net to 0: the
    decision's event listed them as none (``adjustments: []``, found by the fourteenth mutation round), and the act's
    page showed no adjustment — the money was right, its explanation missing."""
    official = department_official(country)
    for month, amount in ((date(2026, 9, 1), -BASIC), (date(2026, 8, 1), BASIC)):
        earlier = country.act(school, [(iin(1), 5)], period=month, status="paid")
        line = earlier.lines[0]
        db.session.add(ActAdjustment(act_id=verified.id, original_act_id=earlier.id, original_line_id=line.id,
                                     period=month, iin=line.iin, full_name=line.full_name, rule_code="withdrawn",
                                     original_amount_tiyn=BASIC, corrected_amount_tiyn=BASIC + amount,
                                     amount_tiyn=amount, created_at=verified.verified_at))
    verified.adjustment_tiyn = 0
    db.session.flush()
    from app.acts.views import act_report

    assert sorted(a.amount_tiyn for a in act_report(verified)["adjustments"]) == [-BASIC, BASIC]
    decide(verified, "return", None, official)
    listed = _events(verified)[-1].details["adjustments"]
    assert sorted((a["month"], a["amount_tiyn"]) for a in listed) == [("2026-08", BASIC), ("2026-09", -BASIC)]


def test_an_act_with_a_line_to_review_is_not_accepted_but_may_be_returned(verified, country, monkeypatch):
    monkeypatch.setattr(operations, "tell_school", lambda *a, **k: None)
    official = department_official(country)
    monkeypatch.setattr(operations, "ensure_reviews_resolved",
                        lambda act: (_ for _ in ()).throw(DomainRefused("Lines that need review: 1.")))
    before = _row(verified.id)
    with pytest.raises(DomainRefused, match="need review"):
        decide(verified, "accept", None, official)
    assert _row(verified.id) == before and len(_events(verified)) == 1
    decide(verified, "return", "review", official)
    assert _row(verified.id)[0] == "returned"


def test_every_acceptance_check_is_asked_and_a_refusal_changes_nothing(verified, country, monkeypatch):
    official = department_official(country)
    asked = []

    def passes(act):
        asked.append(("passes", act.id))

    def refuses(act):
        asked.append(("refuses", act.id))
        raise DomainRefused("The contract's amount left cannot pay it.")

    monkeypatch.setattr(operations, "ACCEPTANCE_CHECKS", [passes, refuses])
    before = _row(verified.id)
    with pytest.raises(DomainRefused, match="amount left"):
        decide(verified, "accept", None, official)
    assert asked == [("passes", verified.id), ("refuses", verified.id)]
    assert _row(verified.id) == before and len(_events(verified)) == 1


def test_an_acceptance_check_registers_in_order(monkeypatch):
    registered: list = []
    monkeypatch.setattr(operations, "ACCEPTANCE_CHECKS", registered)

    def first(act):
        return None

    assert operations.register_acceptance_check(first) is first
    assert registered == [first]


def test_an_act_whose_organisation_has_no_account_is_not_accepted(verified, school, country):
    official = department_official(country)
    school.iban = None
    db.session.flush()
    before = _row(verified.id)
    with pytest.raises(DomainRefused) as refused:
        decide(verified, "accept", None, official)
    assert str(refused.value) == (
        f"{school.name} has no bank account (IBAN) on record: an act is accepted with the account it is paid to. "
        "Have the administrator enter the organisation's IBAN, then accept the act.")
    assert _row(verified.id) == before and len(_events(verified)) == 1


def test_a_decision_on_an_act_re_verified_meanwhile_is_the_conflict(verified, country):
    official = department_official(country)
    claim_for_verification([verified.id])  # a pass claimed it after the page was read...
    stale = db.session.get(Act, verified.id)
    set_committed_value(stale, "lock_version", stale.lock_version - 1)
    with pytest.raises(ConflictError):
        decide(stale, "accept", None, official)
    assert _row(verified.id)[0] == "verified" and len(_events(verified)) == 1


# --- submit_act ------------------------------------------------------------------------------------------------


def _actor(country):
    return _user("acc", "school_accountant", None)


@pytest.mark.parametrize("status", ["submitted", "verified", "accepted", "paid"])
def test_an_act_already_submitted_is_not_submitted_again(country, school, status):
    act = country.act(school, [(iin(1), 5)], status=status)
    db.session.commit()
    with pytest.raises(DomainRefused, match="already been submitted"):
        submit_act(act, [{"iin": iin(2), "full_name": "B", "grade": 5, "days_attended": 20}], None, _actor(country))
    assert [ln.iin for ln in act.lines] == [iin(1)] and _events(act) == []


@pytest.mark.parametrize("status", ["awaiting_submission", "returned"])
def test_a_submission_replaces_the_lines_and_forgets_the_last_verification(country, school, status):
    act = country.act(school, [(iin(1), 5), (iin(2), 5)], status=status)
    earlier = country.act(school, [(iin(3), 5)], period=date(2026, 9, 1), status="paid")
    db.session.add(ActAdjustment(act_id=act.id, original_act_id=earlier.id, original_line_id=earlier.lines[0].id,
                                 period=earlier.period, iin=iin(3), full_name="C", rule_code="withdrawn",
                                 original_amount_tiyn=BASIC, corrected_amount_tiyn=0, amount_tiyn=-BASIC,
                                 created_at=act.created_at))
    act.amount_tiyn, act.withheld_tiyn, act.adjustment_tiyn = BASIC, BASIC, -BASIC
    act.accepted_lines = act.accepted_students = 1
    act.revision = 2
    db.session.commit()
    actor = _actor(country)
    lines = [{"iin": iin(4), "full_name": "D", "grade": 5, "days_attended": 18},
             {"iin": iin(5), "full_name": "E", "grade": 7, "days_attended": 20},
             {"iin": iin(4), "full_name": "D", "grade": 5, "days_attended": 18}]
    submit_act(act, lines, "corrected", actor)
    db.session.expire_all()
    stored = sorted((ln.line_no, ln.iin, ln.full_name, ln.grade, ln.days_attended, ln.period, ln.school_id)
                    for ln in act.lines)
    assert stored == [(1, iin(4), "D", 5, 18, act.period, school.id), (2, iin(5), "E", 7, 20, act.period, school.id),
                      (3, iin(4), "D", 5, 18, act.period, school.id)]
    assert act.adjustments == []
    assert (act.amount_tiyn, act.withheld_tiyn, act.adjustment_tiyn, act.accepted_lines, act.accepted_students) == \
        (0, 0, 0, 0, 0)
    assert (act.total_lines, act.total_students, act.status, act.revision, act.note) == (3, 2, "submitted", 3,
                                                                                       "corrected")
    assert act.submitted_at is not None
    [event] = _events(act)
    assert (event.action, event.actor_id, event.details) == ("act.submitted", actor.id, {"revision": 3, "lines": 3})
    assert db.session.scalars(select(ActAdjustment)).all() == []  # the earlier act's own are not touched: it had none


def test_an_empty_submission_keeps_no_line(country, school):
    act = country.act(school, [(iin(1), 5)], status="returned")
    db.session.commit()
    submit_act(act, [], None, _actor(country))
    db.session.expire_all()
    assert act.lines == [] and (act.total_lines, act.total_students, act.note) == (0, 0, None)


def test_a_refused_field_of_a_line_is_marked_on_that_row_and_nothing_is_submitted(country, school):
    act = country.act(school, [(iin(1), 5)], status="returned")
    db.session.commit()

    def values(act, line):
        if line["iin"] == iin(3):
            raise LineRefused("No such room.", "room")
        return {"grade": line["grade"], "days_attended": line["days_attended"]}

    fine = {"iin": iin(2), "grade": 5, "days_attended": 3}
    with pytest.raises(FormInvalid) as refused:
        operations._lines_values(values, act, [fine, {"iin": iin(3)}])
    assert refused.value.errors == {"lines.1.room": "No such room.", "_form": "No such room."}
    assert operations._lines_values(values, act, [fine]) == [{"grade": 5, "days_attended": 3}]


# --- decided_then_rewritten ------------------------------------------------------------------------------------


def _chain(act_id: int, *actions: str, chain: str | None = None) -> None:
    for action in actions:
        record_event(chain or f"act:{act_id}", action, "act", act_id, actor_id=None)


def test_a_verification_after_a_decision_without_a_new_submission_is_found(app_ctx):
    _chain(1, "act.opened", "act.submitted", "act.verified", "act.accepted", "act.verified")
    _chain(2, "act.submitted", "act.verified", "act.returned", "act.submitted", "act.verified", "act.accepted")
    _chain(3, "act.submitted", "act.verified", "act.returned", "act.paid", "act.verified")
    _chain(4, "act.verified", "act.accepted")
    [first, third] = decided_then_rewritten()
    assert (first.chain, first.seq, str(first)) == \
        ("act:1", 5, "act:1 #5: act 1 verified after act.accepted (decided is final)")
    assert (third.chain, third.seq, third.reason) == \
        ("act:3", 5, "act 3 verified after act.returned (decided is final)")


def test_each_act_of_a_chain_is_judged_on_its_own_events(app_ctx):
    # two acts' events in one instance's chain: the second's verification follows the first's acceptance
    _chain(10, "act.submitted", "act.verified", "act.accepted", chain="instance:7")
    _chain(11, "act.submitted", "act.verified", chain="instance:7")
    record_event("instance:7", "act.verified", "other", 10, actor_id=None)  # not an act's event
    record_event("instance:8", "act.verified", "act", 10, actor_id=None)  # the same id in another chain
    assert decided_then_rewritten() == []


# --- the chain and the cancel guard ----------------------------------------------------------------------------


def _another_instance(beside: int) -> int:
    """A second process instance row of the same model version as ``beside``."""
    from app.engine.models import ProcessInstance

    first = db.session.get(ProcessInstance, beside)
    instance = ProcessInstance(model_version_id=first.model_version_id, process_id="act", title="Act",
                               status="running", state="{}", started_at=first.started_at, updated_at=first.started_at)
    db.session.add(instance)
    db.session.flush()
    return instance.id


def test_an_act_is_audited_on_its_instances_chain_or_its_own(app_ctx):
    assert act_chain(SimpleNamespace(id=5, instance_id=9)) == "instance:9"
    assert act_chain(SimpleNamespace(id=5, instance_id=None)) == "act:5"


@pytest.mark.parametrize("status", ["awaiting_submission", "submitted", "verified", "accepted", "returned"])
def test_a_process_carrying_an_unpaid_act_is_not_cancelled(country, school, status):
    act = country.act(school, [(iin(1), 5)], status=status)
    act.instance_id = _instance()
    other = country.act(school, [(iin(1), 5)], period=date(2026, 11, 1), status="paid")
    other.instance_id = _another_instance(act.instance_id)
    db.session.flush()
    reason = operations._act_still_open(SimpleNamespace(id=act.instance_id))
    assert reason.startswith(f"This process carries act {act.number} (")
    assert "cancelling would strand the act" in reason
    assert operations._act_still_open(SimpleNamespace(id=other.instance_id)) is None  # paid: nothing to strand
    assert operations._act_still_open(SimpleNamespace(id=other.instance_id + 1)) is None  # no act


def test_the_cancel_guard_names_the_status_in_words(country, school):
    from app.ui import ACT_STATUS

    act = country.act(school, [(iin(1), 5)], status="verified")
    act.instance_id = _instance()
    db.session.flush()
    assert f"({ACT_STATUS['verified']})" in operations._act_still_open(SimpleNamespace(id=act.instance_id))


# --- opening an act --------------------------------------------------------------------------------------------


@pytest.fixture()
def started(monkeypatch):
    """``start_instance`` recorded (the country world deploys no process model): its arguments, and an instance row."""
    calls: list = []

    def recorded(process, **kwargs):
        instance_id = _instance() if not calls else _another_instance(calls[0][2])
        calls.append((process, kwargs, instance_id))
        return SimpleNamespace(id=instance_id)

    monkeypatch.setattr(operations, "start_instance", recorded)
    monkeypatch.setattr(operations, "_opening_rules", [])
    return calls


def test_an_act_opens_for_the_month_with_its_process_and_one_event(country, school, started):
    opener = _user("op", "operator", None)
    act = operations.open_monthly_act(school, date(2026, 11, 17), actor=opener)
    assert (act.number, act.instrument, act.school_id, act.region_id, act.period, act.status) == \
        (f"ACT-{school.bin}-202611", "schools", school.id, school.region_id, date(2026, 11, 1), "awaiting_submission")
    assert act.created_at is not None
    [(process, kwargs, instance_id)] = started
    assert process == operations.instrument_of(act).monthly_process
    assert kwargs == {"title": f"ACT-{school.bin}-202611 · {school.name}", "actor": opener,
                      "region_id": school.region_id, "organisation_id": school.id, "subject_type": "act",
                      "subject_id": act.id, "data": {"act_id": act.id, "period": "2026-11-01"}}
    assert act.instance_id == instance_id
    [event] = _events(act)
    assert (event.chain, event.action, event.actor_id, event.details) == \
        (f"instance:{instance_id}", "act.opened", opener.id, {"number": act.number, "period": "2026-11"})


def test_an_act_opened_by_the_system_names_no_actor(country, school, started):
    act = operations.open_monthly_act(school, date(2026, 11, 1))
    assert started[0][1]["actor"] is None
    assert _events(act)[0].actor_id is None


def test_a_second_act_of_the_month_is_refused_and_nothing_starts(country, school, started):
    other = country.school("Beta")
    country.act(other, [(iin(1), 5)], period=date(2026, 11, 1))  # another school's month: no matter
    country.act(school, [(iin(1), 5)], period=date(2026, 10, 1))  # another month: no matter
    operations.open_monthly_act(school, date(2026, 11, 1))
    with pytest.raises(DomainRefused, match="^An act for November 2026 already exists for this school.$"):
        operations.open_monthly_act(school, date(2026, 11, 30))
    assert len(started) == 1
    assert len(db.session.scalars(select(Act.id).where(Act.school_id == school.id)).all()) == 2


def test_the_opening_rules_are_asked_and_theirs_run_on_the_new_act_before_its_process(country, school, started):
    seen = []
    under = object()

    def silent(org, period, asked_under):
        seen.append(("silent", org.id, period, asked_under))
        return None

    def linking(org, period, asked_under):
        seen.append(("linking", org.id, period, asked_under))
        return lambda act: seen.append(("after", act.id, act.period, len(started)))

    assert operations.register_opening_rule(silent) is silent
    operations.register_opening_rule(linking)
    act = operations.open_monthly_act(school, date(2026, 11, 9), under=under)
    assert seen == [("silent", school.id, date(2026, 11, 1), under), ("linking", school.id, date(2026, 11, 1), under),
                    ("after", act.id, date(2026, 11, 1), 0)]


def test_an_opening_rule_that_refuses_opens_nothing(country, school, started):
    def refuses(org, period, under):
        raise DomainRefused("No contract covers this month.")

    operations.register_opening_rule(refuses)
    with pytest.raises(DomainRefused, match="No contract"):
        operations.open_monthly_act(school, date(2026, 11, 1))
    assert started == [] and db.session.scalars(select(Act)).all() == []


# --- telling the school ----------------------------------------------------------------------------------------


def test_the_schools_director_and_accountants_are_told_with_the_amount(country, school, monkeypatch):
    from app.notifications import operations as notifications

    director = _user("dir", "school_director", school)
    accountant = _user("acc", "school_accountant", school)
    _user("off", "department_official", school)  # not of the school's roles
    _user("acc2", "school_accountant", country.school("Beta"))  # another school's
    act = country.act(school, [(iin(1), 5)], status="accepted")
    act.amount_tiyn = 2 * BASIC
    told = []
    monkeypatch.setattr(notifications, "notify", lambda person, kind, **params: told.append((person.id, kind, params)))
    operations.tell_school(act, "act_paid", order="PO-7")
    assert sorted(told) == sorted(
        (person.id, "act_paid", {"subject": act.number, "act_id": act.id, "amount_tiyn": 2 * BASIC, "order": "PO-7"})
        for person in (director, accountant))


# --- the act form ----------------------------------------------------------------------------------------------


def _form(rows_iins: list[str | None]):
    from app.engine.form_view import Field

    def cells(index, value):  # the days before the IIN: the row's IIN is its IIN cell's, not its first value
        return [Field(name=f"lines.{index}.days_attended", label="Days", kind="number", value=20),
                Field(name=f"lines.{index}.iin", label="IIN", kind="text", value=value)]

    table = Field(name="lines", label="Lines", kind="table",
                  columns=[Field(name="iin", label="IIN", kind="text"),
                           Field(name="days_attended", label="Days", kind="number")],
                  rows=[cells(i, v) for i, v in enumerate(rows_iins)])
    other = Field(name="rooms", label="Rooms", kind="table", columns=[Field(name="days_attended", label="D",
                                                                            kind="number")])
    note = Field(name="note", label="Note", kind="textarea")
    return [note, other, table]


def _marked_act(country, school, status):
    act = country.act(school, [(iin(1), 5), (iin(2), 5), (iin(2), 5), (iin(3), 5)], period=date(2026, 11, 1),
                      status=status)
    outcomes = [("accepted", None), ("accepted", None), ("excluded", "duplicate_line"), ("excluded", "zzz")]
    for line, (outcome, rule) in zip(act.lines, outcomes, strict=True):
        line.outcome, line.rule_code = outcome, rule
    db.session.flush()
    return act


def test_a_returned_acts_excluded_lines_are_marked_on_their_rows_only(country, school):
    act = _marked_act(country, school, "returned")
    fields = _form([iin(4), iin(1), iin(2), f" {iin(2)} ", iin(2), iin(3), None])
    operations.shape_act_form(act, fields)
    note, other, table = fields
    # a row added since (first here) is not marked, and the rows after it are looked at; the student listed twice:
    # the first row is the paid line, the second the duplicate, a third (added) the same
    assert table.row_marks == {3: "Duplicate line", 4: "Duplicate line", 5: "Other reason"}
    assert other.row_marks == {}
    days = [c for c in [*table.columns, *(c for row in table.rows for c in row)] if c.name.endswith("days_attended")]
    assert len(days) == 8 and all(c.attrs == {"minimum": 1, "maximum": 30} for c in days)  # November: 30 days
    assert all(c.attrs == {} for row in table.rows for c in row if c.name.endswith(".iin"))
    assert other.columns[0].attrs == {} and note.attrs == {}


@pytest.mark.parametrize("status", ["awaiting_submission", "submitted", "verified", "accepted"])
def test_only_a_returned_act_is_marked(country, school, status):
    act = _marked_act(country, school, status)
    fields = _form([iin(1), iin(2), iin(2), iin(3)])
    operations.shape_act_form(act, fields)
    assert fields[2].row_marks == {}
    assert fields[2].rows[0][0].attrs == {"minimum": 1, "maximum": 30}


def test_the_problems_come_chain_by_chain_whatever_their_positions(app_ctx):
    _chain(1, "act.opened", "act.submitted", "act.verified", "act.accepted", "act.verified", "act.verified")
    _chain(3, "act.submitted", "act.verified", "act.returned", "act.verified")
    assert [(p.chain, p.seq) for p in decided_then_rewritten()] == [("act:1", 5), ("act:1", 6), ("act:3", 4)]


def test_a_chain_is_read_in_its_sequence_not_as_stored(app_ctx):
    """The rows stored in another order than their sequence (a restored table): read by ``seq``, the acceptance
    comes first and the verification after it is found; read as stored, the submission would hide it."""
    _chain(1, "act.submitted", "act.verified", "act.accepted")
    table = AuditEvent.__table__
    for old, new in ((1, 10), (3, 1), (10, 3)):  # swap the submission (1) and the acceptance (3)
        db.session.execute(table.update().where(table.c.chain == "act:1", table.c.seq == old).values(seq=new))
    [problem] = decided_then_rewritten()
    assert (problem.chain, problem.seq) == ("act:1", 2)


# --- many acts of several instruments, and the form's lines ----------------------------------------------------


def test_each_instrument_verifies_and_settles_its_own_acts_in_one_pass(monkeypatch):
    calls: list = []

    def made(code, settles):
        def verify(acts, on_step=None):
            calls.append((code, "verify", [a.id for a in acts], on_step))
            return {a.id: f"{code}:{a.id}" for a in acts}

        def settle(acts):
            calls.append((code, "settle", [a.id for a in acts]))
            return {a.id: [code] for a in acts}

        return SimpleNamespace(verify=verify, settle=settle if settles else None)

    made_by_code = {"schools": made("schools", True), "dormitories": made("dormitories", False)}
    monkeypatch.setattr(operations, "instrument", made_by_code.__getitem__)
    acts = [SimpleNamespace(id=1, instrument="dormitories"), SimpleNamespace(id=2, instrument=None),
            SimpleNamespace(id=3, instrument="schools"), SimpleNamespace(id=4, instrument="dormitories")]
    step = object()
    summaries, settled = operations.verify_acts_of_instruments(acts, on_step=step)
    assert summaries == {1: "dormitories:1", 4: "dormitories:4", 2: "schools:2", 3: "schools:3"}
    assert settled == {2: ["schools"], 3: ["schools"]}
    assert calls == [("dormitories", "verify", [1, 4], step), ("schools", "verify", [2, 3], step),
                     ("schools", "settle", [2, 3])]
    assert operations.verify_acts_of_instruments([]) == ({}, {})


def test_the_form_is_prefilled_by_the_acts_instrument(monkeypatch):
    act = SimpleNamespace(id=8)
    monkeypatch.setattr(operations, "instrument_of",
                        lambda a: SimpleNamespace(prefill=lambda asked: [{"act": asked.id}]))
    assert operations.prefill_lines(act) == [{"act": 8}]


@pytest.mark.parametrize("decision", ["reject", "approve", "", "Accept"])
def test_a_decision_other_than_accept_or_return_is_refused_and_changes_nothing(verified, country, decision,
                                                                             monkeypatch):
    """The process routes only ``accept`` to payment and any other word back to the school (``monthly_act.bpmn``'s
    gateway); ``decide`` took any word but ``return`` as an acceptance. A version whose form offered "reject" left
    the act accepted, its payee pinned and the school told, while its process waited for a new submission that the
    accepted act refused: stranded, and announced as accepted."""
    told = []
    monkeypatch.setattr(operations, "tell_school", lambda act, kind, **kw: told.append(kind))
    official = department_official(country)
    before = _row(verified.id)
    with pytest.raises(DomainRefused) as refused:
        decide(verified, decision, "no", official)
    assert str(refused.value) == f"“{decision}” is not a decision on an act: an act is accepted or returned."
    assert _row(verified.id) == before and len(_events(verified)) == 1 and told == []


def test_a_returned_acts_lines_are_marked_with_its_own_instruments_rules(country, school):
    act = _marked_act(country, school, "returned")
    act.instrument = "dormitory"
    act.lines[3].rule_code = "local_resident"  # a dormitory's rule; the schools have none of that code
    act.lines[2].rule_code = "duplicate_line"  # a school's rule; the dormitories name theirs dorm_duplicate_line
    fields = _form([iin(1), iin(2), iin(2), iin(3)])
    operations.shape_act_form(act, fields)
    assert fields[2].row_marks == {2: "Other reason", 3: "Local resident"}


def test_a_dormitorys_director_and_accountants_are_told(country, monkeypatch):
    from app.notifications import operations as notifications

    dormitory = country.school("Dorm")
    dormitory.kind = "dormitory"
    people = [_user("ddir", "dormitory_director", dormitory), _user("dacc", "dormitory_accountant", dormitory)]
    _user("sacc", "school_accountant", dormitory)  # a school's role: not told of a dormitory's act
    act = country.act(dormitory, [(iin(1), 5)], status="paid")
    act.instrument = "dormitory"
    told = []
    monkeypatch.setattr(notifications, "notify", lambda person, kind, **params: told.append(person.id))
    operations.tell_school(act, "act_paid")
    assert sorted(told) == sorted(p.id for p in people)


def test_a_dormitorys_act_opens_as_a_dormitory_act_with_its_process(country, started):
    dormitory = country.school("Dorm")
    dormitory.kind = "dormitory"
    act = operations.open_monthly_act(dormitory, date(2026, 11, 1))
    db.session.expire(act)
    assert act.instrument == "dormitory"
    assert started[0][0] == operations.instrument("dormitory").monthly_process != \
        operations.instrument("schools").monthly_process
