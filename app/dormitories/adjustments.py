"""Adjustments of decided months for the dormitory-places instrument: the generic settlement
(:func:`app.acts.adjustments.settle`) with the dormitories' repricing.

A place accepted on an act that is already accepted or paid is priced again on today's registries with the first
verification's count of days (:func:`app.dormitories.verification.place_days`): the days the place was occupied on
which the student was enrolled full-time at the named institution and both of the dormitory's documents were valid,
at the contract's rate per place, pro rata by days. A student found withdrawn (or never enrolled there, or not
full-time) for a month already paid becomes a claw-back on the dormitory's next act with that rule, the month and
the registry's evidence; a correction back reverses it. The student's registered address is not looked at again, nor
a study form changed in place (the row's form has no date; a change entered as a new dated row is evidence): the
registry keeps today's address, with no date, so an address in the dormitory's region now is no evidence about a
month already paid (a student who registered at the dormitory's address in December had September to November clawed
back as ``local_resident``); the month being verified is excluded by the rule pass itself. A dormitory with no
document of a kind on record today keeps its month's days as paid (a record missing now is not evidence about a
month already paid, as for the schools' licences). A decided line is never priced above the days it was paid: a
claw-back is for days no longer covered, not a second look at the beds or the contract. A place another dormitory's
act of the month also gives the student on a common day (submitted after this month was paid) is ``two_dormitories``
here too — neither place is paid until corrected, whichever act was decided first — and is paid again once the other
claim is dropped. A month excluded whole as ``dorm_liquidated`` is topped up once the business register corrects the
liquidation date forward; its places are first checked for what that dormitory-level rule kept the rule pass from
checking — today's address (``local_resident``) and list of beds (``bed_unknown``), as a place never paid is not paid
on evidence against it (:class:`Lifted`) — and nothing is topped up while today's standing carries no date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, or_, select

from app.acts.adjustments import (
    ENROLLED_DAYS,
    NEDB_CORRECTED,
    Correction,
    Unsettled,
    _year_start,
    decided_lines_query,
    first_decided,
    next_act_probe,
    settle,
    unsettled_in,
    unsettled_of,
)
from app.acts.models import Act, ActLine
from app.acts.topups import ADJUSTED, REGISTRY_CORRECTED_IN_FAVOUR, settled_for
from app.acts.verification import month_bounds
from app.dormitories.models import DormPlaceLine
from app.dormitories.registry import StudentRegistry, beds_of, enrolments_of_children, student_registry
from app.dormitories.verification import DORMITORY, DormContext, dormitory_contexts, occupied_days, place_days
from app.extensions import db
from app.people.models import Organisation
from app.registry.business import business_records, liquidation_day
from app.registry.merges import children_of

_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


def _evidence(records) -> dict:
    return {"registry": [{"institution_bin": r.institution_bin, "study_form": r.study_form,
                          "enrolled_on": r.enrolled_on.isoformat(),
                          "withdrawn_on": r.withdrawn_on.isoformat() if r.withdrawn_on else None}
                         for r in sorted(records, key=lambda r: (r.enrolled_on, r.institution_bin))]}


def reprice_place(line: ActLine, original: Act, place: DormPlaceLine, records: list, rate_tiyn: int,
                  document_days: set[int], other_claims: Sequence[tuple[str, date, date]] = (),
                  liquidated_on: date | None = None, lifted: Lifted | None = None) -> Correction:
    """What an accepted place earns on today's registry, and the rule (in the rules' precedence) that says so: the
    days the first verification pays (``document_days``: the month's days both documents are valid, ordinals).

    ``other_claims``: (act number, first, last occupied day) of the places other dormitories' acts of the month give
    the student (any status, as the rule pass counts them). One on a common day is ``two_dormitories``: "neither
    place is paid until corrected" — the act decided first had kept its payment while the second's line was
    excluded, so which dormitory was paid depended on which act was verified first. Its paid place is clawed back
    on its next act; once the other act drops the claim (or its dates no longer meet) the claw-back is reversed.

    ``liquidated_on``: the business register's liquidation date of the dormitory when it falls within or before the
    month (``document_days`` then end the day before): a place occupied only from it on is ``dorm_liquidated``.

    ``lifted``: for a line the act excluded (a :data:`LIFTABLE_RULES` rule), what the rule pass would check today
    that its exclusion may have kept it from checking — a dormitory-level rule comes first and excludes every line,
    so a place excluded as ``dorm_liquidated`` was never checked for the student's address or the bed. A top-up pays
    only a place a first verification today would pay (see :class:`Lifted`)."""
    start, end = month_bounds(original.period)
    first, last = occupied_days(place.moved_in, place.moved_out, start, end)
    evidence = _evidence(records)
    at_institution = [r for r in records if r.institution_bin == place.institution_bin and r.active_during(first, last)]
    full_time = [r for r in at_institution if r.study_form == "full_time"
                 or (line.outcome == "accepted" and not _dated_form(r, records))]
    if not records:
        return Correction("student_not_found", 0, evidence)
    if not at_institution:
        return Correction("not_enrolled", 0, evidence)
    if not full_time:
        return Correction("not_full_time", 0, evidence)
    if line.outcome == "excluded" and lifted is not None:
        if lifted.dormitory_rule is not None:
            # Never paid, and the register or the documents registry today say nothing dated about the month (no
            # record, inactive with no date, a document missing): no top-up on evidence that is missing now.
            return Correction(line.rule_code or lifted.dormitory_rule, 0,
                              evidence | {"dormitory_rule": lifted.dormitory_rule})
        if lifted.local_region is not None and any(r.home_region == lifted.local_region for r in full_time):
            # as the rule pass: a full-time enrolment there gives an address in the dormitory's region
            return Correction("local_resident", 0, evidence)
        if (place.room, place.bed) not in lifted.beds:
            return Correction("bed_unknown", 0, evidence | {"room": place.room, "bed": place.bed})
    twins = sorted({number for number, lo, hi in other_claims if lo <= last and first <= hi})
    if twins:
        evidence["other_dormitory_acts"] = twins
        return Correction("two_dormitories", 0, evidence)
    enrolled, covered = place_days(first, last, full_time, document_days)
    was_paid = line.paid_days if line.paid_days is not None else line.days_attended
    paid = min(covered, was_paid)
    evidence["days"] = paid
    if liquidated_on is not None:
        evidence["liquidated_on"] = liquidated_on.isoformat()
    if not paid:
        # as the rule pass: occupied and enrolled, but on no day the documents cover (or only from the liquidation)
        return Correction("not_enrolled" if not enrolled
                          else "dorm_liquidated" if liquidated_on is not None and first >= liquidated_on
                          else "dorm_documents_expired", 0, evidence)
    if line.outcome == "excluded":  # a lifted exclusion (LIFTABLE_RULES): the days it claimed that are covered now
        if line.rule_code == "dorm_liquidated" and lifted is not None:
            evidence["liquidated_on"] = lifted.liquidated_on  # the register's date now (None: not liquidated)
        return Correction(REGISTRY_CORRECTED_IN_FAVOUR, rate_tiyn * paid // end.day,
                          evidence | {"excluded_as": line.rule_code})
    if paid < was_paid:
        return Correction(ENROLLED_DAYS, rate_tiyn * paid // end.day, evidence)
    return Correction(NEDB_CORRECTED, line.amount_tiyn, evidence)


@dataclass(frozen=True)
class Lifted:
    """What the repricing checks of a line never paid before topping it up, beside the rules it prices every line by
    — the rule pass's checks that a dormitory-level exclusion (``dorm_liquidated``) comes before, on today's
    registries, as a first verification today would:

    * ``dormitory_rule``: the dormitory-level rule today that carries no date (``dorm_no_business_record``,
      ``dorm_business_inactive`` — liquidated with no date —, ``dorm_no_documents``): the month would be paid on
      evidence missing now, so nothing is topped up (the schools' ``UNDATED_SCHOOL_RULES``);
    * ``local_region``: the dormitory's region when its contract excludes local residents (None: it does not):
      ``local_resident``. Today's address has no date: a paid place is never clawed back on it, but a place never
      paid is not paid on it either (as a study form changed in place, :func:`_dated_form`);
    * ``beds``: the dormitory's list of beds today: a place on a bed not in it is ``bed_unknown``.

    Places, the same bed and the same student twice are kept by :func:`_keep_within_places`."""

    dormitory_rule: str | None
    local_region: str | None
    beds: frozenset[tuple[str, str]]
    #: the business register's liquidation date today (ISO; None: none) — the evidence of a place excluded as
    #: ``dorm_liquidated`` that is topped up
    liquidated_on: str | None = None


#: Dormitory-level rules whose evidence carries no date: while one stands today, no place is topped up.
UNDATED_DORMITORY_RULES = ("dorm_no_business_record", "dorm_business_inactive", "dorm_no_documents")


def _dated_form(record, records: list) -> bool:
    """Whether the registry dates ``record``'s study form: it began the day a full-time enrolment of the same student
    at the same institution ended (a change of form entered as a new row from its day; a re-enrolment after a gap
    is not one — its form may have been changed in place since). Otherwise the form is a column of the row, changed
    in place with no date: no evidence about a month already paid (a place paid as full-time is not clawed back as
    ``not_full_time`` for it, as the address is not looked at again); the month being verified is still excluded
    by the rule pass, and a line never paid is not topped up on it."""
    return any(r.institution_bin == record.institution_bin and r.study_form == "full_time"
               and r.withdrawn_on == record.enrolled_on for r in records)


def _document_window(ctx: DormContext) -> set[int]:
    """The days of the original month both documents are valid on today's registry, before the dormitory's
    liquidation (the business register's date: none from it on); with no document of a kind on record (or a
    business-register standing with no date, that hides which it is), the whole month before the liquidation."""
    if ctx.paid_days or ctx.dormitory_rule in ("dorm_documents_expired", "dorm_liquidated"):
        return ctx.paid_days
    end = ctx.end if ctx.liquidated_on is None else min(ctx.end, ctx.liquidated_on - timedelta(days=1))
    return set(range(ctx.start.toordinal(), end.toordinal() + 1))


def _other_claims(rows: list) -> tuple[dict[tuple[str, date], list[tuple[int, str, date, date]]], dict[str, str]]:
    """Per (student, month) of the decided lines: the places dormitories' acts of that month give the student —
    (dormitory, act number, first and last occupied day), whatever the act's status, as the first verification's
    :func:`app.dormitories.rule_sql.twins_sql` counts them; one statement per chunk of students. Keyed by the child
    (the surviving IIN of NEDB's merges, else the IIN), with {IIN: child} of the lines' IINs to look them up by."""
    found: dict[tuple[str, date], list] = defaultdict(list)
    # A child under IINs NEDB merged (app.registry.merges) is one student: keyed by the child, looked up by it.
    child = children_of(ln.iin for ln, _ in rows)
    iins = sorted(child)
    periods = sorted({ln.period for ln, _ in rows})
    for i in range(0, len(iins), _CHUNK):
        for iin, period, school_id, number, moved_in, moved_out in db.session.execute(
                select(ActLine.iin, ActLine.period, ActLine.school_id, Act.number, DormPlaceLine.moved_in,
                       DormPlaceLine.moved_out)
                .join(Act, Act.id == ActLine.act_id).join(DormPlaceLine, DormPlaceLine.line_id == ActLine.id)
                .where(ActLine.iin.in_(iins[i : i + _CHUNK]), ActLine.period.in_(periods),
                       Act.instrument == DORMITORY)):
            start, end = month_bounds(period)
            found[(child[iin], period)].append((school_id, number, *occupied_days(moved_in, moved_out, start, end)))
    return found, child


#: Exclusions of a decided act a later correction may lift: the other dormitory's claim on the student dropped (its
#: act returned and resubmitted without them, or with dates that no longer meet). "Neither place is paid until
#: corrected" — the excluded place of an act decided before the correction was never looked at again. And the
#: dormitory's liquidation (the business register's date) corrected forward: the month it excluded was lived in.
#: A lifted place is checked for what its exclusion kept the rule pass from checking (:class:`Lifted`).
LIFTABLE_RULES = ("two_dormitories", "dorm_liquidated")


def _lines_to_reprice(acts: Sequence[Act], since: date | None = None, until: date | None = None):
    """The decided lines an act settles: the accepted ones, and those excluded by a :data:`LIFTABLE_RULES` rule in
    the settling acts' academic year (a top-up is not paid out of another year's budget) or adjusted before (a
    claim coming back claws the top-up back as far as claw-backs reach). ``since``, ``until``: from and before those
    months (:func:`app.acts.adjustments.decided_lines_query`)."""
    adjusted = ADJUSTED  # by an act or outside the acts
    lifted = and_(ActLine.outcome == "excluded", ActLine.rule_code.in_(LIFTABLE_RULES),
                  or_(ActLine.period >= min(_year_start(a.period) for a in acts), adjusted))
    return decided_lines_query(acts, or_(ActLine.outcome == "accepted", lifted), since, until)


def _keep_within_places(rows: list, found: dict[int, Correction], contexts: dict[int, DormContext]) -> None:
    """A place unpaid now that would be paid again — a lifted exclusion not topped up yet, or an accepted place
    clawed back in full whose claw-back the registry has since corrected back — takes it only where its month
    leaves it free on each of its days: no place paid now of the same bed or of the same student meets its days,
    and the month's paid places stay within the contract's places on every day — the limits the rule pass decides
    ``bed_shared``, ``dorm_duplicate_line`` and ``dorm_over_capacity`` by, which a line excluded before them never
    met. Otherwise it is priced at what it has (nothing owed) with that rule, and looked at again with every
    settlement. The places paid now are the decided lines paid for above nothing and priced above nothing (an
    accepted line clawed back in full gives its place up: a lifted exclusion may have been paid that bed since,
    and the bed was paid twice once the claw-back was reversed); the waiting places go to the accepted lines first
    (they held the place when their act was decided), then to the earliest move-in (then IIN), as the rule pass
    gives them."""
    candidates = [(line, original) for line, original in rows if found[line.id].corrected_tiyn > 0]
    if not candidates:
        return
    settled = settled_for([ln.id for ln, _ in candidates])
    waiting = [(line, original) for line, original in candidates if line.amount_tiyn + settled.get(line.id, 0) <= 0]
    if not waiting:
        return
    act_ids = {original.id for _, original in waiting}
    waiting_ids = {line.id for line, _ in waiting}
    in_act = [line.id for line, original in rows if original.id in act_ids]
    places = {p.line_id: p for i in range(0, len(in_act), _CHUNK) for p in db.session.scalars(
        select(DormPlaceLine).where(DormPlaceLine.line_id.in_(in_act[i : i + _CHUNK])))}
    held: dict[int, list[tuple[str, str, str, date, date]]] = defaultdict(list)
    for line, original in rows:
        if original.id in act_ids and line.id not in waiting_ids and found[line.id].corrected_tiyn > 0:
            ctx, place = contexts[original.id], places[line.id]
            held[original.id].append((line.iin, place.room, place.bed,
                                      *occupied_days(place.moved_in, place.moved_out, ctx.start, ctx.end)))
    waiting.sort(key=lambda r: (r[1].id, r[0].outcome != "accepted", places[r[0].id].moved_in, r[0].iin,
                                r[0].line_no))
    for line, original in waiting:
        ctx, place = contexts[original.id], places[line.id]
        first, last = occupied_days(place.moved_in, place.moved_out, ctx.start, ctx.end)
        meets = [h for h in held[original.id] if h[3] <= last and first <= h[4]]
        full = ("dorm_duplicate_line" if any(h[0] == line.iin for h in meets)
                else "bed_shared" if any((h[1], h[2]) == (place.room, place.bed) for h in meets)
                else "dorm_over_capacity" if ctx.places is not None and any(
                    sum(1 for h in meets if h[3] <= day <= h[4]) >= ctx.places
                    for day in (first + timedelta(days=n) for n in range((last - first).days + 1)))
                else None)
        if full:
            found[line.id] = Correction(full, line.amount_tiyn + settled.get(line.id, 0), found[line.id].evidence)
        else:
            held[original.id].append((line.iin, place.room, place.bed, first, last))


def _repricing(registry: StudentRegistry):
    def reprice_all(rows: list) -> dict[int, Correction]:
        if not rows:
            return {}
        line_ids = [ln.id for ln, _ in rows]
        places = {p.line_id: p for p in db.session.scalars(select(DormPlaceLine)
                                                           .where(DormPlaceLine.line_id.in_(line_ids)))}
        contexts = dormitory_contexts(list({original.id: original for _, original in rows}.values()))
        windows = {act_id: _document_window(ctx) for act_id, ctx in contexts.items()}
        records = enrolments_of_children(registry, {ln.iin for ln, _ in rows})
        claims, children = _other_claims(rows)
        excluded = {original.id for line, original in rows if line.outcome == "excluded"}
        bins = {contexts[act_id].dormitory_bin for act_id in excluded}
        beds = beds_of(bins) if bins else {}
        register = business_records(bins) if bins else {}

        def liquidated(bin_: str) -> str | None:
            day = liquidation_day(register.get(bin_))  # while the register says so
            return day.isoformat() if day is not None else None

        lifted = {act_id: Lifted(ctx.dormitory_rule if ctx.dormitory_rule in UNDATED_DORMITORY_RULES else None,
                                 ctx.region_code if ctx.excludes_local_residents else None,
                                 frozenset(beds.get(ctx.dormitory_bin, ())), liquidated(ctx.dormitory_bin))
                  for act_id, ctx in contexts.items() if act_id in excluded}
        found = {line.id: reprice_place(line, original, places[line.id], records.get(line.iin, []),
                                        int(contexts[original.id].rate_tiyn or 0), windows[original.id],
                                        [(number, lo, hi) for school_id, number, lo, hi
                                         in claims.get((children.get(line.iin, line.iin), line.period), ())
                                         if school_id != original.school_id],
                                        contexts[original.id].liquidated_on, lifted.get(original.id))
                 for line, original in rows}
        _keep_within_places(rows, found, contexts)
        return found

    return reprice_all


def settle_dormitory_adjustments(acts: Sequence[Act], registry: StudentRegistry | None = None) -> dict:
    """Recompute the adjustments of decided months settled on ``acts`` (just verified) and add them to their
    amounts; returns, per act, what was settled (for the audit event)."""
    if not acts:
        return {}
    rows = db.session.execute(_lines_to_reprice(acts).order_by(Act.period, ActLine.line_no)).all()
    return settle(acts, rows, _repricing(registry or student_registry()))


def unsettled_dormitory_corrections(dormitory: Organisation, registry: StudentRegistry | None = None
                                    ) -> list[Unsettled]:
    """The corrections of the dormitory's decided months its next act would settle now (read only), as the schools'
    :func:`app.acts.adjustments.unsettled_corrections`: with no act to come (the contract's last month decided) the
    contract's page and year-end report are where a place paid for a student withdrawn is seen at all — it had
    been lost without a trace, the contract's page asked the schools' repricing only. A closed year's top-up is
    listed as carried, whatever its year."""
    probe = next_act_probe(dormitory)
    if probe is None:
        return []
    rows = db.session.execute(_lines_to_reprice([probe], first_decided(dormitory))
                              .order_by(Act.period, ActLine.line_no)).all()
    return unsettled_in(probe, rows, _repricing(registry or student_registry()))


def unsettled_dormitory_corrections_in_month(probes: Sequence[Act], period: date, top_ups_only: Collection[int] = (),
                                             registry: StudentRegistry | None = None) -> list[Unsettled]:
    """:func:`unsettled_dormitory_corrections` of the month ``period``, for every dormitory a ``probes`` act is of
    (its next act) at once — the reconciliation's. ``top_ups_only``: asked for the top-ups only (all priced: few)."""
    if not probes:
        return []
    following = date(period.year + period.month // 12, period.month % 12 + 1, 1)
    rows = db.session.execute(_lines_to_reprice(probes, period, following).order_by(Act.period, ActLine.line_no)).all()
    return unsettled_of(probes, rows, _repricing(registry or student_registry()))
