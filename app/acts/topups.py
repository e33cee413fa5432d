"""Top-ups of lines a decided act excluded on registry evidence that has since been corrected in the school's favour.

A line excluded on an accepted or paid act because NEDB (or the licence registry) said so at the time — the student
not in NEDB, at another school, withdrawn, not registered, enrolled at two schools, in another grade, or the licence
not covering the month or the level — earned nothing. When the registry is later corrected (the withdrawal was
entered by mistake, the enrolment date was wrong), the school taught a real child it was never paid for. The act
stays as it was decided; the line is priced again on today's registries like an accepted one
(:mod:`app.acts.adjustments`) and what it earns now becomes a top-up on the school's next act, with the cause
:data:`REGISTRY_CORRECTED_IN_FAVOUR`, the month it belongs to and the evidence (today's NEDB rows and the rule it was
excluded by then). Only within the settling act's own academic year (a closed year's budget is not paid out of the
new year's act), once (what was already settled for the line is deducted), and a later correction back claws the
top-up back.

Never topped up (:data:`LIFTABLE_RULES` leaves them out):

* ``iin_checksum``, ``duplicate_line`` — facts of the act's own lines, which no registry correction changes;
* ``review_excluded`` — the department official's decision on the line, not a registry's — unless NEDB's values now
  pass every check it was about (:data:`REVIEWED`): then it no longer holds, as a re-verification of an open act
  finds (:func:`app.acts.review.exclusion_holds`), and the line is priced by every other rule like the lines above.
  Its top-up is not a decision made for the official: it is a line of the school's next act, with the old decision
  (checks, fingerprint, comment, when) and today's values in its evidence, that the official accepts with that act
  or returns. A line that would need review again on other values is not topped up (no one can decide it: the
  review is of an act's own lines); one whose values came back to those the decision was made on is excluded again
  (a top-up paid since is clawed back) — :func:`app.acts.review.decided_exclusion`;
* ``no_business_record``, ``non_education_org``, ``no_licence`` — the school's standing in the business register or
  a licence record missing: today's answer carries no date, so it is no evidence about a month already decided
  (neither for a claw-back nor for a top-up);
* ``over_capacity``, ``over_contracted_places`` — the places of the building and the contract were given out with
  the act, to the students there longest; a later act does not hand them out again.

A school whose standing today is one of those school-level rules gets no new top-up either: the month would be paid
on evidence that is missing now.

**Places.** A line that is not paid for its month now — an excluded line never topped up, or an accepted line whose
claw-back the registry has since corrected back — is paid again only into a free place of that month: the month's
paid students of the school (lines whose earnings plus everything settled for them are above zero) stay within the
design capacity and, under a contract, within the places of the line's level — the limits the verification decides
``over_capacity`` and ``over_contracted_places`` by. Here a place is counted per student for the month, where the
verification counts it on the days it is held: the stricter count, so a top-up may wait where a place was free on
the line's days, and never pays a month over its places. A student holds one place and is paid once, however many
of their lines come back: a copy of a student already paid for the month (the verification tells an act's copies
apart only where no school-level rule excluded every line, so a month the licence registry did not cover held both)
gets nothing, as ``duplicate_line``. Free places go first to the lines the act had accepted (they held the place
when it was decided), then as the verification gives them: to the students at the school longest in NEDB, then by
IIN. A place freed by a claw-back counts once that claw-back is settled: until then the month could
be paid for more students than it has places. A line with no free place gets no top-up and nothing is recorded for
it now; it stays excluded on its act, with its rule, and is looked at again with every settlement. The month's
contract cap is kept by :func:`app.acts.adjustments.settle` (``month_cap_tiyn``), as for every top-up. A paid line
NEDB now gives more days than it was accepted for is paid those days only where the month's paid students fit its
places (:func:`keep_within_places`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, exists, false, func, or_, select

from app.acts.models import Act, ActAdjustment, ActLine, ActLineReview, OutsideSettlement
from app.acts.rules import LEVEL_GRADES, level_for_grade
from app.database import in_sets
from app.extensions import db
from app.people.models import Organisation
from app.registry.merges import surviving_iin_of, surviving_iins
from app.registry.models import NedbEnrollment

#: Exclusions a registry correction may lift: each rests on dated registry evidence about the line's month
#: (NEDB's enrolments, the licences' dates and levels). See the module's docstring for those never lifted.
LIFTABLE_RULES = ("not_in_nedb", "other_school", "withdrawn", "not_registered", "double_enrolment", "grade_mismatch",
                  "licence_expired", "level_not_covered", "liquidated")
#: The official's exclusion after review: lifted only where NEDB's values now pass every check it was about
#: (:func:`app.acts.review.decided_exclusion`); only a line with the official's *exclude* on record comes back.
REVIEWED = "review_excluded"
#: School-level exclusions whose evidence carries no date (the business register's standing, a licence record
#: missing): while one stands today, no line of the school is topped up.
UNDATED_SCHOOL_RULES = ("no_business_record", "non_education_org", "no_licence")
#: Cause of a top-up of a line excluded on a decided act, now confirmed by the corrected registry.
REGISTRY_CORRECTED_IN_FAVOUR = "registry_corrected_in_favour"
TITLE = _l("Excluded line confirmed by the corrected registry")

_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit
_LEVEL = case((ActLine.grade <= 4, "primary"), (ActLine.grade <= 9, "basic"), else_="secondary")
CAPACITY = "capacity"  # the pool of every level: the design capacity
#: An adjustment counts as settled unless the act carrying it was returned: a returned act is not paid, and its
#: adjustments are computed anew when it is verified again — meanwhile the school's next act settles them (a top-up
#: held by a returned act the school left uncorrected was never paid, a claw-back never taken back).
SETTLED = ~exists(select(Act.id).where(Act.id == ActAdjustment.act_id, Act.status == "returned")
                  .correlate_except(Act))
#: A carried top-up paid outside the acts (:class:`app.acts.models.OutsideSettlement`) counts as settled for its
#: line as an adjustment does: the line is paid that much more, a correction back claws it back. A write-off does not
#: (no money went): it only stops the top-up being carried (:func:`written_off_for`).
#: One the bank sent back (``returned_on``) is not paid: the top-up is carried again.
PAID_OUTSIDE = (OutsideSettlement.kind == "paid") & OutsideSettlement.returned_on.is_(None)
WRITTEN_OFF = OutsideSettlement.kind == "written_off"
#: A decided line that something was ever settled for — by an act or outside the acts: it is always looked at again
#: (the registry may have been corrected again since).
ADJUSTED = or_(exists(select(ActAdjustment.id).where(ActAdjustment.original_line_id == ActLine.id)),
               exists(select(OutsideSettlement.id).where(OutsideSettlement.original_line_id == ActLine.id)))


def excluded_lines_clause(top_up_from: date, month_ends: dict[date, date] | None, grade_from: date | None = None):
    """Which excluded lines of the decided acts come back: those excluded by a :data:`LIFTABLE_RULES` rule, of
    months from ``top_up_from`` (the settling acts' academic year) — or of any month looked back at once a top-up
    was settled for them (a correction back claws it back, as far back as claw-backs reach).

    ``month_ends`` (the NEDB table is the registry: each month looked back at → its last day): only the lines
    NEDB now has at the school on a day of their month in the grade they claim come back — nothing else can earn
    anything (the repricing's ``grade_mismatch``) — beside those already adjusted. A line of an IIN NEDB retired by a
    merge is the surviving child's (:func:`app.registry.merges.surviving_iin_of`): its rows are under that IIN now.
    A month before ``grade_from``
    (NEDB's academic year: its grades are of a later year) is not held to today's grade: it is topped up with its
    grade unchecked, carried (:func:`app.acts.adjustments._carried`) — unless it was excluded for its grade."""
    adjusted = ADJUSTED
    reviewed = and_(ActLine.rule_code == REVIEWED,
                    exists(select(ActLineReview.id).where(ActLineReview.line_id == ActLine.id,
                                                          ActLineReview.decision == "exclude")))
    clause = and_(ActLine.outcome == "excluded", or_(ActLine.rule_code.in_(LIFTABLE_RULES), reviewed),
                  or_(ActLine.period >= top_up_from, adjusted))
    if month_ends is None:
        return clause
    if not month_ends:
        return and_(clause, adjusted)
    month_end = case(month_ends, value=ActLine.period)
    here_in_month = exists(
        select(NedbEnrollment.id).join(Organisation, Organisation.bin == NedbEnrollment.school_bin)
        .where(Organisation.id == ActLine.school_id, NedbEnrollment.iin == surviving_iin_of(ActLine.iin),
               or_(NedbEnrollment.grade == ActLine.grade,
                   and_(ActLine.period < grade_from, ActLine.rule_code != "grade_mismatch")
                   if grade_from is not None else false()),
               NedbEnrollment.enrolled_on <= month_end,
               or_(NedbEnrollment.withdrawn_on.is_(None),
                   and_(NedbEnrollment.withdrawn_on > ActLine.period,
                        NedbEnrollment.withdrawn_on > NedbEnrollment.enrolled_on))))
    return and_(clause, or_(adjusted, here_in_month))


def settled_for(line_ids: Sequence[int]) -> dict[int, int]:
    """What adjustments have settled for these lines so far (the settling acts' own were just removed; a returned
    act's do not count, :data:`SETTLED`), and what was paid for them outside the acts (:data:`PAID_OUTSIDE`)."""
    found: dict[int, int] = defaultdict(int)
    for adjusted, paid_outside in zip(in_sets(ActAdjustment.original_line_id, line_ids),
                                      in_sets(OutsideSettlement.original_line_id, line_ids), strict=True):
        for query in (select(ActAdjustment.original_line_id, func.sum(ActAdjustment.amount_tiyn))
                      .where(adjusted, SETTLED)
                      .group_by(ActAdjustment.original_line_id),
                      select(OutsideSettlement.original_line_id, func.sum(OutsideSettlement.amount_tiyn))
                      .where(paid_outside, PAID_OUTSIDE)
                      .group_by(OutsideSettlement.original_line_id)):
            for line_id, total in db.session.execute(query):
                found[line_id] += int(total or 0)
    return dict(found)


def clawed_back_for_grade(line_ids: Sequence[int]) -> set[int]:
    """The lines whose latest settled adjustment clawed them back as ``grade_mismatch`` (NEDB corrected the grade
    after the month was paid)."""
    found: set[int] = set()
    for chunk in in_sets(ActAdjustment.original_line_id, line_ids):
        latest = (select(ActAdjustment.original_line_id, func.max(ActAdjustment.id).label("id"))
                  .where(chunk, SETTLED)
                  .group_by(ActAdjustment.original_line_id).subquery())
        found.update(db.session.scalars(select(latest.c.original_line_id).join(
            ActAdjustment, ActAdjustment.id == latest.c.id).where(ActAdjustment.rule_code == "grade_mismatch")))
    return found


def written_off_for(line_ids: Sequence[int]) -> dict[int, int]:
    """What of these lines' carried top-ups was written off as not owed (:class:`app.acts.models.OutsideSettlement`):
    no longer carried, but not paid either — a later claw-back is not made bigger by it."""
    found: dict[int, int] = {}
    for chunk in in_sets(OutsideSettlement.original_line_id, line_ids):
        found.update((line_id, int(total or 0)) for line_id, total in db.session.execute(
            select(OutsideSettlement.original_line_id, func.sum(OutsideSettlement.amount_tiyn))
            .where(chunk, WRITTEN_OFF)
            .group_by(OutsideSettlement.original_line_id)))
    return found


def paid_students(act_ids: Iterable[int]) -> dict[int, dict[str, set[str]]]:
    """Per decided act (a school's month) and level, the students (IINs) paid for now: of lines whose earnings plus
    everything settled for them are above zero (an excluded line topped up takes a place; an accepted line clawed
    back in full gives its place up)."""
    ids = sorted(set(act_ids))
    settled = (select(func.coalesce(func.sum(ActAdjustment.amount_tiyn), 0))
               .where(ActAdjustment.original_line_id == ActLine.id, SETTLED).scalar_subquery()
               + select(func.coalesce(func.sum(OutsideSettlement.amount_tiyn), 0))
               .where(OutsideSettlement.original_line_id == ActLine.id, PAID_OUTSIDE).scalar_subquery())
    rows = [row for chunk in in_sets(ActLine.act_id, ids) for row in db.session.execute(
        select(ActLine.act_id, _LEVEL, ActLine.iin).distinct().where(chunk, ActLine.amount_tiyn + settled > 0))]
    # A child NEDB merged two IINs of is one student (app.registry.merges): counted under the surviving IIN.
    merged = surviving_iins({student for _, _, student in rows}) if rows else {}
    found: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for act_id, level, student in rows:
        found[act_id][level].add(merged.get(student, student))
    return found


def paid_places(act_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """Per decided act (a school's month) and pool — :data:`CAPACITY` and each level — the places its students paid
    for now hold: one per student, however many of their lines are paid."""
    return _held_places(paid_students(act_ids))


def _held_places(paid: dict[int, dict[str, set[str]]]) -> dict[tuple[int, str], int]:
    found: dict[tuple[int, str], int] = defaultdict(int)
    for act_id, levels in paid.items():
        for level, students in levels.items():
            found[(act_id, level)] = len(students)
        found[(act_id, CAPACITY)] = len(set().union(*levels.values()))
    return found


class Places:
    """The free places of the decided months, handed out line by line (see the module's docstring)."""

    def __init__(self, limits: dict[int, dict[str, int]], taken: dict[tuple[int, str], int]):
        #: per original act: pool → places (the design capacity, the contract's places per level)
        self._limits = limits
        self._taken = dict(taken)

    def take(self, act_id: int, level: str) -> str | None:
        """Takes a place of the act's month for a student of ``level``; None when it was free, else the rule that
        has no place left (``over_contracted_places`` decided before ``over_capacity``, as the verification)."""
        limits = self._limits.get(act_id, {})
        for pool, rule in ((level, "over_contracted_places"), (CAPACITY, "over_capacity")):
            if pool in limits and self._taken.get((act_id, pool), 0) >= limits[pool]:
                return rule
        for pool in (level, CAPACITY):
            self._taken[(act_id, pool)] = self._taken.get((act_id, pool), 0) + 1
        return None

    def crowded(self, act_id: int, level: str) -> str | None:
        """For a student of ``level`` who holds a place of the act's month already: None when the month's paid
        students fit its places, else the rule whose places they exceed (the verification counted them on the
        days they were held: a mid-month withdrawal and a newcomer each held the one place for part of it)."""
        limits = self._limits.get(act_id, {})
        for pool, rule in ((level, "over_contracted_places"), (CAPACITY, "over_capacity")):
            if pool in limits and self._taken.get((act_id, pool), 0) > limits[pool]:
                return rule
        return None


def month_limits(design_capacity: int | None, places_by_level) -> dict[str, int]:
    """The place limits of a month under its terms: the design capacity and the contract's places per level — a
    level the contract gives no places has none, as in the verification (so a line excluded as
    ``level_not_covered`` because the contract has no place of its level is never paid, whatever the licence)."""
    limits = {level: 0 for level in LEVEL_GRADES} if places_by_level is not None else {}
    limits.update(dict(places_by_level or ()))
    if design_capacity is not None:
        limits[CAPACITY] = design_capacity
    return limits


def keep_within_places(rows: list, found: dict, settled: dict[int, int], contexts: dict, enrolments: dict) -> None:
    """The schools' repricing (``found``: line id → Correction) kept within the months' places: a line unpaid for
    its month now (its earnings plus ``settled`` ≤ 0) that would be paid again takes a free place of that month, or
    is priced at what it has — nothing owed, with the rule that has no place left. Places go to the lines the act
    accepted first, then to the students at the school longest in NEDB (``enrolments``: today's rows per IIN), then
    by IIN. ``contexts``: the original acts' verification contexts (their terms give the limits).

    A paid line NEDB now gives more days than it was accepted for (its enrolment corrected to an earlier date) is
    paid the days it was accepted for, and the new ones only where the month's paid students fit its places: the
    verification gave a place on the days it was held, so a pupil withdrawn on the 16th and a newcomer from the 16th
    shared one; the newcomer's first fifteen days were the other's place, paid already."""
    paid_now = {line.id: line.amount_tiyn + settled.get(line.id, 0) for line, _ in rows}
    waiting = [(line, original) for line, original in rows
               if paid_now[line.id] <= 0 and found[line.id].corrected_tiyn > 0]
    growing = [(line, original) for line, original in rows
               if 0 < paid_now[line.id] and max(paid_now[line.id], line.amount_tiyn) < found[line.id].corrected_tiyn]
    if not waiting and not growing:
        return
    paid = paid_students({original.id for _, original in waiting + growing})
    # Students are told apart as paid_students counts them: a line of an IIN NEDB retired by a merge is the
    # surviving child's (app.registry.merges), so it is a copy of the child paid under the other IIN.
    merged = surviving_iins({line.iin for line, _ in waiting})
    # A student is paid once a month, in one place: a copy of a student paid for the month (or topped up just now)
    # is the duplicate_line the verification would have found had the month's school-level rules not excluded
    # every line first (the copies of an act are told apart only where its school passes them).
    holders = {act_id: set().union(*levels.values()) for act_id, levels in paid.items()}
    limits = {original.id: month_limits(contexts[original.id].terms.design_capacity,
                                        contexts[original.id].terms.places_by_level)
              for _, original in waiting + growing}
    limits = {act_id: pools for act_id, pools in limits.items() if pools}
    places = Places(limits, _held_places({act_id: paid[act_id] for act_id in limits if act_id in paid}))

    for line, original in growing:
        if full := places.crowded(original.id, level_for_grade(line.grade)):
            corrected = max(paid_now[line.id], min(found[line.id].corrected_tiyn, line.amount_tiyn))
            found[line.id] = replace(found[line.id], corrected_tiyn=corrected,
                                     rule_code=found[line.id].rule_code if corrected > paid_now[line.id] else full)

    def here_since(line, original) -> date:
        ctx = contexts[original.id]
        return min((e.enrolled_on for e in enrolments.get(line.iin, [])
                    if e.school_bin == ctx.school_bin and e.active_during(ctx.start, ctx.end)), default=date.max)

    waiting.sort(key=lambda r: (r[1].id, r[0].outcome != "accepted", here_since(*r), r[0].iin, r[0].line_no))
    for line, original in waiting:
        held = holders.setdefault(original.id, set())
        student = merged.get(line.iin, line.iin)
        full = "duplicate_line" if student in held else places.take(original.id, level_for_grade(line.grade))
        if full:
            found[line.id] = replace(found[line.id], rule_code=full, corrected_tiyn=paid_now[line.id])
        else:
            held.add(student)


__all__ = ["ADJUSTED", "CAPACITY", "LIFTABLE_RULES", "PAID_OUTSIDE", "REGISTRY_CORRECTED_IN_FAVOUR", "REVIEWED",
           "SETTLED", "TITLE",
           "UNDATED_SCHOOL_RULES", "Places", "excluded_lines_clause", "keep_within_places", "month_limits",
           "paid_places", "paid_students", "settled_for", "written_off_for"]
