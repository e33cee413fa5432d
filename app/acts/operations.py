"""Every state change of an act passes through here and writes its audit event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.acts.models import Act, ActAdjustment, ActLine
from app.acts.payee import account_on_record
from app.acts.review import ensure_reviews_resolved, exclusion_events
from app.acts.verification import VerificationSummary
from app.audit.facts import act_facts
from app.audit.operations import record_event, record_events
from app.engine.data_names import reserve_names
from app.engine.errors import ConflictError, DomainRefused, FormInvalid, LineRefused, Spoken
from app.engine.runtime import start_instance
from app.extensions import db
from app.i18n import N_
from app.instruments import SCHOOLS, instrument, instrument_for_kind, instrument_of
from app.people.models import Organisation
from app.processes.operations import register_cancel_guard

#: Statuses a verification pass may (re)write; accepted, returned and paid acts are final for it.
VERIFIABLE = ("submitted", "verified")
_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


def guarded_write(act: Act, from_statuses: Sequence[str], **values) -> None:
    """Write ``values`` to the act only if it is still in one of ``from_statuses`` at the version this request
    read — one ``UPDATE … WHERE id = :id AND status IN (…) AND lock_version = :read`` that also bumps the
    version. The row lock it takes (PostgreSQL) or the write lock (SQLite) makes a concurrent verification pass
    or decision wait, and whoever comes second finds the status or version moved on and writes nothing."""
    read = act.lock_version
    result = db.session.execute(
        update(Act).where(Act.id == act.id, Act.status.in_(tuple(from_statuses)), Act.lock_version == read)
        .values(lock_version=Act.lock_version + 1, **values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.expire(act)
        raise ConflictError(_("The act was changed by someone else (for example re-verified) while you were "
                              "working on it. Nothing was saved; open it again and review its current state."))
    # The row was at the version read, so what the object holds is what the database holds: keep it, plus the
    # values just written (no reload).
    set_committed_value(act, "lock_version", read + 1)
    for key, value in values.items():
        set_committed_value(act, key, value)


def claim_for_verification(act_ids: Sequence[int]) -> list[int]:
    """Claim the acts a verification pass may still write: only those still submitted or verified, each
    version bumped by one guarded UPDATE. Call it first in the pass's transaction and verify only the acts it
    returns; an act accepted or returned before the claim is left alone, and a decision arriving after it waits
    for the pass's commit and then finds the version moved on."""
    claimed: list[int] = []
    ids = sorted(set(act_ids))
    for i in range(0, len(ids), _CHUNK):
        claimed += db.session.execute(
            update(Act).where(Act.id.in_(ids[i : i + _CHUNK]), Act.status.in_(VERIFIABLE))
            .values(lock_version=Act.lock_version + 1).returning(Act.id)
            .execution_options(synchronize_session=False)).scalars().all()
    for act_id in claimed:  # objects already in the session must not keep the old version
        loaded = db.session.identity_map.get(db.session.identity_key(Act, act_id))
        if loaded is not None:
            db.session.expire(loaded)
    return sorted(claimed)


def act_chain(act: Act) -> str:
    """The audit chain of an act's events: its process instance's, or for an act with none (the synthetic country's)
    one of its own."""
    return f"instance:{act.instance_id}" if act.instance_id else f"act:{act.id}"


#: opening_rule(school, period, under) → None (nothing to add), or a function given the new act before its
#: workflow starts; a rule refuses by raising DomainRefused. ``under``: what the caller opens the act under (a
#: contract), or None. Registered by the domains that fund schools under terms of their own (the contracts: an act
#: of a school funded under a contract is that contract's act).
OpeningRule = Callable[[Organisation, date, object], Callable[[Act], None] | None]
_opening_rules: list[OpeningRule] = []


def register_opening_rule(rule: OpeningRule) -> OpeningRule:
    _opening_rules.append(rule)
    return rule


def open_monthly_act(school: Organisation, period: date, actor=None, under=None) -> Act:
    """Create the act for a school and month and start its workflow (one act per school and month). Every act
    opens through here, whoever asks (the contract's timer, ``flask open-acts``), so the opening rules hold for
    all: an act of a school funded under a contract is linked to the contract that covers its month, and refused
    for a month no contract of the school covers (``open-acts`` had opened one, paid with no contract's terms)."""
    period = period.replace(day=1)
    instrument = instrument_for_kind(school.kind)
    existing = db.session.scalars(select(Act).where(Act.school_id == school.id, Act.period == period)).first()
    if existing is not None:
        raise DomainRefused.said(N_("An act for %(month)s already exists for this school."), month=Spoken.month(period))
    then = [after for rule in _opening_rules if (after := rule(school, period, under)) is not None]
    act = Act(
        number=f"ACT-{school.bin}-{period:%Y%m}", instrument=instrument.code, school_id=school.id,
        region_id=school.region_id,
        period=period, status="awaiting_submission", created_at=clock.now(),
    )
    db.session.add(act)
    db.session.flush()
    for after in then:
        after(act)
    instance = start_instance(
        instrument.monthly_process, title=f"{act.number} · {school.name}", actor=actor, region_id=school.region_id,
        organisation_id=school.id, subject_type="act", subject_id=act.id,
        data={"act_id": act.id, "period": period.isoformat()},
    )
    act.instance_id = instance.id
    record_event(act_chain(act), "act.opened", "act", act.id, actor_id=getattr(actor, "id", None),
                 details={"number": act.number, "period": f"{period:%Y-%m}"})
    return act


def prefill_lines(act: Act) -> list[dict]:
    """The act form's lines: the last submitted ones when correcting, else what the instrument's registry says."""
    return instrument_of(act).prefill(act)


def shape_act_form(act: Act, fields: list) -> None:
    """The act form for this act: days attended bounded by the month's days (the schema's 31 let 31 days of a
    30-day month through), and on a returned act each line the last verification excluded marked with its rule
    (the report listed them by number only; the rows are matched by IIN, as lines are renumbered when edited).

    A student listed twice has one paid line and one excluded as a duplicate: the IIN's rows are matched to its lines
    in their order, so only the excluded one is marked — both were, and a person removing the marked rows removed
    the student's paid line too."""
    from app.acts.verification import month_bounds

    _start, end = month_bounds(act.period)
    outcomes: dict[str, list[str | None]] = {}  # IIN → each of its lines' mark in line order (None: not excluded)
    if act.status == "returned":
        rules = instrument_of(act).rules
        for ln in act.lines:
            mark = None
            if ln.outcome == "excluded":
                mark = str(rules[ln.rule_code].title) if ln.rule_code in rules else _("Other reason")
            outcomes.setdefault(ln.iin, []).append(mark)
    for table in (f for f in fields if f.kind == "table" and f.name == "lines"):
        for cell in [*table.columns, *(c for row in table.rows for c in row)]:
            if cell.name.endswith("days_attended") or cell.name == "days_attended":
                cell.attrs["minimum"] = 1
                cell.attrs["maximum"] = end.day
        seen: dict[str, int] = {}
        for index, row in enumerate(table.rows):
            iin = next((str(c.value).strip() for c in row if c.name.endswith(".iin") and c.value), None)
            if iin not in outcomes:
                continue
            marks = outcomes[iin]
            nth = seen[iin] = seen.get(iin, -1) + 1
            # a row beyond the IIN's lines (added since) takes the mark of its last line
            mark = marks[min(nth, len(marks) - 1)]
            if mark is not None:
                table.row_marks[index] = mark


def _lines_values(values, act: Act, lines: list[dict]) -> list[dict]:
    """The instrument's values of each line; a refusal of one of a line's fields is marked on that field of that row —
    every line's at once: the first alone was said, and an act with 31 days on ten lines of a 30-day month was sent
    ten times to learn them all."""
    found, refused = [], {}
    for index, line in enumerate(lines):
        try:
            found.append(values(act, line))
        except LineRefused as err:
            refused[f"lines.{index}.{err.field}"] = str(err)
            refused.setdefault("_form", str(err))
    if refused:
        raise FormInvalid(refused)
    return found


def submit_act(act: Act, lines: list[dict], note: str | None, actor) -> None:
    if act.status not in ("awaiting_submission", "returned"):
        raise DomainRefused(_("This act has already been submitted."))
    db.session.execute(delete(ActLine).where(ActLine.act_id == act.id))
    db.session.expire(act, ["lines"])
    instrument = instrument_of(act)
    values = instrument.line_values or (lambda act, ln: {"grade": ln["grade"], "days_attended": ln["days_attended"]})
    if lines:  # one executemany for the whole act (the ORM would insert line by line)
        db.session.execute(insert(ActLine), [
            {"act_id": act.id, "period": act.period, "school_id": act.school_id, "line_no": i, "iin": ln["iin"],
             "full_name": ln["full_name"], **own}
            for i, (ln, own) in enumerate(zip(lines, _lines_values(values, act, lines), strict=True), start=1)
        ])
        if instrument.store_lines is not None:  # the instrument's part of each line (its line schema)
            instrument.store_lines(act, lines)
    # What the verification before a return found is not this submission's: its amount, withholding and the
    # adjustments it settled are known again only once the new lines are verified. Kept, an act waiting for its
    # verification (an incident, a slow registry) was counted twice in the reconciliation — its new lines' claim and
    # the old amount — and its old adjustments counted as settled for their lines (a later act's claw-back).
    db.session.execute(delete(ActAdjustment).where(ActAdjustment.act_id == act.id))
    db.session.expire(act, ["adjustments"])
    act.amount_tiyn = act.withheld_tiyn = act.adjustment_tiyn = 0
    act.accepted_lines = act.accepted_students = 0
    act.total_lines, act.total_students = len(lines), len({str(ln["iin"]) for ln in lines})
    # Not a guarded write: only the open *Submit* task leads here, and the engine's instance version already
    # lets exactly one of two concurrent submissions win (no verification pass or decision touches such an act).
    act.status = "submitted"
    act.revision += 1
    act.note = note
    act.submitted_at = clock.now()
    record_event(act_chain(act), "act.submitted", "act", act.id, actor_id=actor.id,
                 details={"revision": act.revision, "lines": len(lines)})
    db.session.flush()


def verify(act: Act, actor=None) -> VerificationSummary:
    """Verify contingent for one act: claim it, check its lines, settle corrections of earlier months."""
    if not claim_for_verification([act.id]):
        raise DomainRefused.said(N_("The act has already been decided; it is not verified again."))
    chosen = instrument_of(act)
    summary = chosen.verify([act])[act.id]
    db.session.expire(act)
    settled = chosen.settle([act]).get(act.id, []) if chosen.settle is not None else []
    act.status = "verified"
    act.verified_at = clock.now()
    # The registries' check is the system's, whoever's step set it off: with the accountant as its actor, the
    # act's history read "Contingent verified · <the school's accountant>". Who set it off stays in the details.
    requested = {"requested_by": actor.id} if getattr(actor, "id", None) is not None else {}
    record_event(act_chain(act), "act.verified", "act", act.id, actor_id=None,
                 details={"accepted": summary.accepted, "excluded": summary.excluded,
                          "amount_tiyn": act.amount_tiyn, "lines_amount_tiyn": summary.amount_tiyn,
                          "by_rule": summary.by_rule, "adjustments": settled, **requested})
    # An exclusion after review that no longer holds (NEDB's values changed) or holds again: the system's, audited.
    record_events(exclusion_events(act_chain(act), act.id, summary.review_changes))
    return summary


def verify_acts_of_instruments(acts: Sequence[Act], on_step=None) -> tuple[dict[int, VerificationSummary],
                                                                           dict[int, list]]:
    """Run each act's instrument's rule set over its lines (one set-based pass per instrument) and settle the
    corrections of decided months the instrument knows of: ({act_id: summary}, {act_id: settled adjustments})."""
    summaries: dict[int, VerificationSummary] = {}
    settled: dict[int, list] = {}
    groups: dict[str, list[Act]] = {}
    for act in acts:
        groups.setdefault(act.instrument or SCHOOLS, []).append(act)
    for code, group in groups.items():
        chosen = instrument(code)
        summaries.update(chosen.verify(group, on_step=on_step))
        if chosen.settle is not None:
            settled.update(chosen.settle(group))
    return summaries, settled


#: Checks an act must pass to be accepted (a funding instrument's: the contract's amount left), each raising
#: DomainRefused with the reason; registered by the packages that know them.
ACCEPTANCE_CHECKS: list[Callable[[Act], None]] = []


def register_acceptance_check(check: Callable[[Act], None]) -> Callable[[Act], None]:
    ACCEPTANCE_CHECKS.append(check)
    return check


def decide(act: Act, decision: str, comment: str | None, actor) -> None:
    """Accept or return a verified act — exactly the lines, adjustments and amount its report shows now."""
    if act.status != "verified":
        raise DomainRefused(_("Only a verified act can be accepted or returned."))
    if decision not in ("accept", "return"):
        # The process pays only "accept" and sends any other word back to the school: taken as an acceptance here,
        # another word (a form offering "reject") left an accepted act waiting for a submission it refuses.
        raise DomainRefused(_("“%(decision)s” is not a decision on an act: an act is accepted or returned.",
                              decision=decision))
    if decision != "return":
        ensure_reviews_resolved(act)  # rules piece: no acceptance while a line needs review (app/acts/review.py)
        for check in ACCEPTANCE_CHECKS:
            check(act)
    if decision == "return":
        values = {"status": "returned", "return_comment": comment}
    else:
        # The department accepts the act with the account it will be paid to (app.acts.payee): pinned here and in
        # the event's facts, paid as accepted whatever the organisation's record says by the time of payment.
        payee = account_on_record(act)
        if not payee:
            raise DomainRefused(_("%(organisation)s has no bank account (IBAN) on record: an act is accepted with "
                                  "the account it is paid to. Have the administrator enter the organisation's IBAN, "
                                  "then accept the act.", organisation=act.school.name))
        values = {"status": "accepted", "payee_iban": payee}
    try:
        guarded_write(act, ("verified",), decided_at=clock.now(), **values)
    except ConflictError:
        _say_who_decided(act)
        raise
    record_event(act_chain(act), f"act.{'returned' if decision == 'return' else 'accepted'}", "act", act.id,
                 actor_id=actor.id, details={
                     "comment": comment or "", "amount_tiyn": act.amount_tiyn,
                     **({} if decision == "return" else {"iban": act.payee_iban}),
                     "adjustment_tiyn": act.adjustment_tiyn, "accepted_lines": act.accepted_lines,
                     # What was settled with it, whatever its sum: a claw-back and a top-up of equal amounts net to
                     # 0 and were listed as none (one indexed look-up; the acceptance's facts read them anyway).
                     "adjustments": [{"id": a.id, "original_act_id": a.original_act_id, "month": f"{a.period:%Y-%m}",
                                      "rule": a.rule_code, "amount_tiyn": a.amount_tiyn}
                                     for a in act.adjustments]},
                 facts=None if decision == "return" else act_facts(act))
    if decision != "return":  # a return reaches the school with its Submit task (the announcement says why)
        tell_school(act, "act_accepted")


def _say_who_decided(act: Act) -> None:
    """Lost the race to another decision on the act (a second tab, a colleague of the department): raise the
    conflict saying what the act became and whose decision it was. The loser of accept against return read "changed
    by someone else (for example re-verified)", and went looking for a verification that never happened."""
    from app.audit.models import AuditEvent
    from app.people.models import User
    from app.ui import act_status_label

    status, amount = db.session.execute(select(Act.status, Act.amount_tiyn).where(Act.id == act.id)).one()
    if status not in ("accepted", "returned", "paid"):
        return  # re-verified, or anything else: the general words hold
    actor_id = db.session.scalar(
        select(AuditEvent.actor_id).where(AuditEvent.chain == act_chain(act), AuditEvent.object_type == "act",
                                          AuditEvent.object_id == act.id,
                                          AuditEvent.action.in_(("act.accepted", "act.returned")))
        .order_by(AuditEvent.seq.desc()).limit(1))
    who = db.session.get(User, actor_id) if actor_id is not None else None
    # an act accepted at 0 ₸ closes at once: it is "closed with nothing to pay", not "paid"
    word = act_status_label({"status": status, "amount_tiyn": amount, "act_id": act.id})
    raise ConflictError(_("Act %(number)s was decided meanwhile by %(name)s: it is now %(status)s. Your decision "
                          "was not saved.", number=act.number, name=who.full_name if who else "?",
                          status=word)) from None


def tell_school(act: Act, kind: str, **params) -> None:
    """The school's (or dormitory's) director and accountants find what became of their act in their bell and
    e-mail: accepted (the amount to be paid), paid (the payment order). They had heard only of a return."""
    from app.notifications.operations import notify, recipients_for

    made = instrument_of(act)
    for person in recipients_for((made.director_role, made.accountant_role), act.region_id, act.school_id):
        # the amount in tiyn: each reader sees it written in their own language (app.notifications.render_text)
        notify(person, kind, subject=act.number, act_id=act.id, amount_tiyn=act.amount_tiyn, **params)


def decided_then_rewritten() -> list:
    """Audit check (``flask verify-audit``): an act's chain in which a verification follows its acceptance or
    return without a new submission in between — the act was rewritten after it was decided. A correct chain
    never shows it (the guarded writes above); a chain that does was written around them."""
    from app.audit.models import AuditEvent
    from app.audit.operations import ChainProblem

    problems = []
    decided: dict[tuple[str, int], str] = {}
    rows = db.session.execute(
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.action, AuditEvent.object_id)
        .where(AuditEvent.object_type == "act",
               AuditEvent.action.in_(("act.submitted", "act.verified", "act.accepted", "act.returned")))
        .order_by(AuditEvent.chain, AuditEvent.seq).execution_options(yield_per=5000))
    for chain, seq, action, act_id in rows:
        key = (chain, act_id)
        if action in ("act.accepted", "act.returned"):
            decided[key] = action
        elif action == "act.submitted":
            decided.pop(key, None)
        elif key in decided:
            problems.append(ChainProblem(chain, seq, f"act {act_id} verified after {decided[key]} (decided is final)"))
    return problems


@register_cancel_guard
def _act_still_open(instance) -> str | None:
    """An act moves on only through its process (submitted, verified, accepted, paid): with the process cancelled,
    an act not yet paid would wait for ever, and the school could not submit that month again (one act per
    organisation and month). The operator returns the act or lets it finish instead."""
    from app.ui import ACT_STATUS

    act = db.session.scalars(select(Act).where(Act.instance_id == instance.id)).first()
    if act is None or act.status == "paid":
        return None
    return _("This process carries act %(number)s (%(status)s), which only it can take to payment: cancelling "
             "would strand the act. Suspend the process, or have the act returned or paid.", number=act.number,
             status=ACT_STATUS.get(act.status, act.status))


#: the subject id this module starts its process with (a form field of this name is refused)
reserve_names("act_id")
