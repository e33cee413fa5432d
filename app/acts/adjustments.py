"""Adjustments: registry corrections of months already accepted or paid, settled on the school's next act.

An accepted act is final (DESIGN.md §3, "decided is final"). When NEDB later says that a student paid for in an
earlier month was not (or only partly) a student of the school then, the earlier act is left as it is; the
difference becomes an :class:`ActAdjustment` on the act being verified now — a claw-back (negative) or a top-up
(positive) — carrying the rule, the month it belongs to, the original act and line and the NEDB evidence. The
official sees it in that act's report and accepts it with the act; the payment pays the net. An act settles the
months of its own academic year and, for claw-backs only, those of the ``CLAWBACK_LOOKBACK_YEARS`` years before
(default 1: a correction of August found in September; an older month is not claimed back — a stated limit, shown
with the unsettled corrections); a top-up of a closed year is not paid out of the new year's act — it is *carried*:
listed among the unsettled corrections (the contract's page, the year-end report, the reconciliation) for as long
as the registry says it is owed, never dropped from view (:func:`unsettled_in`). A line the decided act *excluded* on
registry evidence since corrected in the school's favour is topped up the same way (:mod:`app.acts.topups`: which
exclusions a correction may lift, and the month's places a top-up must fit in).

Idempotent: the difference is always computed against what the original line earned *plus everything already
settled for it on other acts* (a returned act's aside: it is not paid, and settles anew when verified again), and
the adjustments of the act being verified are recomputed (never added to), so re-verification never claws back twice.
A claw-back never makes an act's net negative: the part that does not fit stays owed and is settled on a following
act.

Generic over funding instruments: :func:`settle` does all of the above for any instrument given the decided lines
to look at again and the instrument's repricing of them (what each line earns on today's registry, the rule that
says so and the evidence); :func:`settle_adjustments` is the schools' (NEDB, the per-student norms), the
dormitories' lives in ``app.dormitories.adjustments``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, delete, false, func, insert, or_, select, union, update

from app import clock
from app.acts.models import Act, ActAdjustment, ActLine, ActLineReview, OutsideSettlement
from app.acts.review import HOLDS, LAPSED, decided_exclusion
from app.acts.rules import LEVEL_GRADES, grades_for_levels, level_for_grade
from app.acts.topups import (
    ADJUSTED,
    PAID_OUTSIDE,
    REGISTRY_CORRECTED_IN_FAVOUR,
    REVIEWED,
    SETTLED,
    UNDATED_SCHOOL_RULES,
    clawed_back_for_grade,
    excluded_lines_clause,
    keep_within_places,
    settled_for,
    written_off_for,
)
from app.acts.topups import TITLE as TOP_UP_TITLE
from app.acts.verification import (
    academic_year,
    grades_year_start,
    month_bounds,
    prorated,
    registry_year_start,
    school_contexts,
)
from app.database import in_sets
from app.extensions import db
from app.people.models import Organisation
from app.registry.adapter import Enrollment, StudentRegistry, handed_over, student_registry
from app.registry.merges import children_of, surviving_iins
from app.registry.models import BusinessRecord, NedbEnrollment

DECIDED = ("accepted", "paid")
#: Rule code of a correction of the days a student was enrolled (every act is paid by days); the other causes
#: are the contingent rules' codes (withdrawn, other_school, not_registered, not_in_nedb, double_enrolment,
#: grade_mismatch, licence_expired, level_not_covered). Not re-checked on a decided line: the business register's
#: standing (no date), a licence record missing now, the IIN checksum and the act's own duplicates (unchanged),
#: the places over the contract or the building (an order of the act's lines decided with it), the official's
#: review (a line they excluded comes back only once NEDB's values pass every check: app.acts.topups.REVIEWED);
#: the review checks (name, age, days) never exclude.
ENROLLED_DAYS = "enrolled_days"
_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit
#: Rule code of a reversal: the registry, corrected again, confirms a line an earlier adjustment clawed back.
NEDB_CORRECTED = "nedb_corrected"
#: Titles of the causes that are not contingent rules (those take their title from ``RULES``).
CAUSES = {
    ENROLLED_DAYS: _l("Days enrolled corrected"),
    NEDB_CORRECTED: _l("Registry corrected back"),
    REGISTRY_CORRECTED_IN_FAVOUR: TOP_UP_TITLE,
}


@dataclass(frozen=True)
class Correction:
    rule_code: str
    corrected_tiyn: int
    evidence: dict
    #: the most the original act's month may be paid (its contract's monthly cap then; None: no cap): a top-up
    #: never takes that month past it, so an act carrying it stays payable
    month_cap_tiyn: int | None = None


def _year_start(period: date) -> date:
    return date(int(academic_year(period)[:4]), 9, 1)


def clawback_lookback_years() -> int:
    """How many academic years before its own an act claws back (``CLAWBACK_LOOKBACK_YEARS``, at least 1): a stated
    limit, shown where the unsettled corrections are. An older month is not claimed back, however wrong."""
    return max(int(current_app.config.get("CLAWBACK_LOOKBACK_YEARS", 1)), 1)


def _lookback_start(period: date) -> date:
    """The first month an act of ``period`` settles: 1 September of the academic year
    :func:`clawback_lookback_years` before. A correction of August found in September was never clawed back when an
    act looked only at its own academic year; claw-backs reach that far back, top-ups stay within the act's own
    year (:func:`settle`)."""
    start = _year_start(period)
    return start.replace(year=start.year - clawback_lookback_years())


def covered_days(enrolments: Sequence[Enrollment], first: date, last: date,
                 gaps: frozenset[date] = frozenset(), grade: int | None = None) -> int:
    """Days of [first, last] but ``gaps`` on which any of ``enrolments`` runs, each day counted once (as the
    verification's :func:`app.acts.verification._days_here_sql` counts them). ``grade``: only the days of that
    grade — of the enrolments running that day, the one enrolled last (the higher grade on the same date) is in it
    (``_grade_day_sql``)."""
    days: set[int] = set()
    latest: dict[int, tuple[date, int]] = {}
    for e in enrolments:
        lo = max(e.enrolled_on, first).toordinal()
        hi = last.toordinal() if e.withdrawn_on is None else min(last.toordinal(), e.withdrawn_on.toordinal() - 1)
        days.update(range(lo, hi + 1))
        if grade is not None:
            for day in range(lo, hi + 1):
                latest[day] = max(latest.get(day, (e.enrolled_on, e.grade)), (e.enrolled_on, e.grade))
    if grade is not None:
        days = {day for day in days if latest[day][1] == grade}
    return len(days - {d.toordinal() for d in gaps})


def reprice(line: ActLine, original: Act, enrolments: list[Enrollment], school_bin: str,
            norm_tiyn: int, licence_days: tuple[date, date] | None, *, level_covered: bool = True,
            check_grade: bool = True, licence_gaps: frozenset[date] = frozenset(),
            liquidated_on: date | None = None) -> Correction:
    """What ``line`` (accepted on ``original``) earns on today's registry data, and the rule that says so — the
    verification's rules and pay by days, for every act: the days NEDB has the student at the school, each
    counted once, within ``licence_days`` (the days of the month a licence of the school covers the line's level;
    None: none). ``level_covered`` False: the school's licences cover the month, but none the line's level.

    ``grade_mismatch`` as the verification decides it: no enrolment here in the month has the grade the line
    claims (with several rows here, any of them with that grade will do). ``check_grade`` False: NEDB's grade is
    not evidence about the line's month — NEDB keeps one grade per enrolment, the current one, and a month of an
    earlier academic year was in the grade before (see :func:`registry_year_start`). ``liquidated_on``: the school's
    liquidation date within the month (``licence_days`` end the day before): enrolled here only from it on is
    ``liquidated``, as the verification says."""
    start, end = month_bounds(original.period)
    here = [e for e in enrolments if e.school_bin == school_bin and e.active_during(start, end)]
    elsewhere = [e for e in enrolments if e.school_bin != school_bin and e.active_during(start, end)]
    evidence = {"nedb": [{"school_bin": e.school_bin, "grade": e.grade, "enrolled_on": e.enrolled_on.isoformat(),
                          "withdrawn_on": e.withdrawn_on.isoformat() if e.withdrawn_on else None}
                         for e in sorted(enrolments, key=lambda e: (e.enrolled_on, e.school_bin))]}
    if not here:
        # Same precedence as the contingent rules: registered elsewhere, withdrawn from here, or not at all.
        if not enrolments:
            code = "not_in_nedb"
        elif elsewhere:
            code = "other_school"
        elif any(e.school_bin == school_bin and e.withdrawn_on is not None and e.withdrawn_on <= start
                 for e in enrolments):
            code = "withdrawn"
        else:
            code = "not_registered"
        return Correction(code, 0, evidence)
    if any(h.overlaps(o) for h in here for o in elsewhere):
        return Correction("double_enrolment", 0, evidence)  # at two schools on a common day of the month
    # The days of the line's own grade (verification's ``_days_here_sql``, in_grade): a pupil NEDB moved up a grade
    # mid-month is paid each grade's days on that grade's line. Unchecked grades: every enrolment here.
    grade = line.grade if check_grade else None
    if check_grade and not covered_days(here, start, end, grade=grade):
        # NEDB corrected the grade (up or down) after the month was decided: the line claimed a grade the student
        # was not registered in here, as a first verification today would exclude it.
        return Correction("grade_mismatch", 0, evidence | {"claimed_grade": line.grade})
    days = covered_days(here, *licence_days, licence_gaps, grade=grade) if licence_days else 0
    evidence["days"] = days
    if not level_covered:
        return Correction("level_not_covered", 0, evidence)  # no licence of the month covers the line's level
    if not days:
        if liquidated_on is not None and min(e.enrolled_on for e in here) >= liquidated_on:
            # enrolled here only from the school's liquidation day on
            return Correction("liquidated", 0, evidence | {"liquidated_on": liquidated_on.isoformat()})
        return Correction("licence_expired", 0, evidence)  # enrolled here only on days no licence covers the level
    corrected = prorated(norm_tiyn, days, end.day)
    # The same amount as when accepted: an earlier claw-back of the line is reversed (the registry corrected back).
    return Correction(NEDB_CORRECTED if corrected == line.amount_tiyn else ENROLLED_DAYS, corrected, evidence)


def decided_lines_query(acts: Sequence[Act], lines=None, since: date | None = None, until: date | None = None):
    """Accepted lines of these organisations' decided acts of earlier months since the academic year before: the
    lines a registry correction may price differently (an instrument may narrow the query further). ``lines``: the
    instrument's own condition on the lines instead (the schools' also brings back lines excluded on registry
    evidence, :mod:`app.acts.topups`). ``since``: from that month instead (the unsettled list looks at the closed
    years too: their top-ups are carried, :func:`unsettled_in`); ``until``: before that month instead of the latest
    act's (the reconciliation asks for one month's)."""
    return (select(ActLine, Act).join(Act, Act.id == ActLine.act_id)
            .where(*_decided_acts(acts, since, until), ActLine.outcome == "accepted" if lines is None else lines))


def _decided_acts(acts: Sequence[Act], since: date | None, until: date | None) -> list:
    """:func:`decided_lines_query`'s conditions on the decided acts (its ``since`` and ``until``)."""
    latest = until if until is not None else max(a.period for a in acts)
    earliest = since if since is not None else min(_lookback_start(a.period) for a in acts)
    return [Act.school_id.in_(sorted({a.school_id for a in acts})), Act.status.in_(DECIDED), Act.period >= earliest,
            Act.period < latest]


def _candidate_lines(acts: Sequence[Act], registry: StudentRegistry, since: date | None = None,
                     until: date | None = None):
    """The schools' decided lines to look at again. With the NEDB table, a line paid for the whole month of a
    student still enrolled at the school since before that month, with no other NEDB row (the vast majority),
    is left out in SQL: today's NEDB prices it as it was paid. Lines paid for part of the month (a top-up may be
    owed when NEDB's dates were corrected), lines of a student with another row (another school's claim on the
    same days, a second row here) and lines already adjusted (the registry may have been corrected again)
    always come back; so do lines of the current academic year whose grade NEDB now gives differently (a grade
    corrected after payment is ``grade_mismatch``).

    Lines excluded by a rule a registry correction may lift come back too, within the top-up window
    (:func:`app.acts.topups.excluded_lines_clause`: the settling acts' academic year, or once adjusted); with the
    NEDB table only those NEDB now has at the school in their month. Not before NEDB's academic year: its grades are
    today's, so a line never paid of an earlier year cannot be checked (the repricing gives it nothing).
    ``since``, ``until``: from and before those months instead (:func:`decided_lines_query`)."""
    # The unsettled list (``since``) looks at every excluded line from then: a closed year's top-up is carried.
    top_up_from = since if since is not None else max(min(_year_start(a.period) for a in acts),
                                                      registry_year_start())
    accepted = ActLine.outcome == "accepted"
    if getattr(registry, "table_name", None) != NedbEnrollment.__tablename__:
        query = decided_lines_query(acts, or_(accepted, excluded_lines_clause(top_up_from, None)), since, until)
    else:
        # A paid line is not held to a grade NEDB may have moved on for the coming year (grades_year_start): in the
        # summer a pupil moved up for September was listed as a claw-back of every month of the year.
        same_grade = or_(NedbEnrollment.grade == ActLine.grade, ActLine.period < grades_year_start())
        # The lines whose student NEDB has in one row only, at the school, since before the month, not withdrawn, in
        # the grade paid: their ids in one grouped join of the months' accepted lines with NEDB (hash joins at
        # country scale), joined to the lines — not a sub-plan evaluated line by line (a statement of 9-20 s for a
        # country month of 563,000 lines: an NEDB probe, the organisation and a probe for another NEDB row per line).
        # One row, and it fits: "there is a row that fits and no other row of the IIN".
        still_enrolled = (select(ActLine.id.label("line_id"))
                          .join(Act, Act.id == ActLine.act_id)
                          .join(Organisation, Organisation.id == ActLine.school_id)
                          .join(NedbEnrollment, NedbEnrollment.iin == ActLine.iin)
                          .where(*_decided_acts(acts, since, until), accepted)
                          .group_by(ActLine.id)
                          .having(func.count() == 1,
                                  func.max(case((and_(NedbEnrollment.school_bin == Organisation.bin,
                                                      NedbEnrollment.enrolled_on <= ActLine.period,
                                                      NedbEnrollment.withdrawn_on.is_(None), same_grade), 1),
                                                else_=0)) == 1)
                          .subquery("still_enrolled"))
        first = since if since is not None else min(_lookback_start(a.period) for a in acts)
        months = {}
        while first < (until if until is not None else max(a.period for a in acts)):
            months[first] = month_bounds(first)[1].day
            first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        part_month = ActLine.paid_days < case(months, value=ActLine.period, else_=31) if months else false()
        # A school the business register now says was liquidated by a month's end: its lines of that month may earn
        # less (a liquidation dated back into a month already paid), as a licence ending inside it.
        # Each organisation's earliest liquidation date, joined (a liquidation by a month's end: the earliest is by
        # then), not probed line by line.
        liquidations = (select(Organisation.id.label("school_id"),
                               func.min(BusinessRecord.liquidated_on).label("liquidated_on"))
                        .join(BusinessRecord, BusinessRecord.bin == Organisation.bin)
                        .where(BusinessRecord.liquidated_on.is_not(None), BusinessRecord.status == "liquidated")
                        .group_by(Organisation.id)
                        .subquery("liquidations"))
        liquidated = (liquidations.c.liquidated_on <= case({p: month_bounds(p)[1] for p in months},
                                                           value=ActLine.period) if months else false())
        licence_gap = or_(false(), *(
            and_(ActLine.school_id == school_id, ActLine.period.in_(periods),
                 *([ActLine.grade.not_in(sorted(grades_for_levels(whole)))] if whole else []))
            for (school_id, whole), periods in sorted(_licence_gaps({a.school_id for a in acts}, months).items(),
                                                      key=lambda item: (item[0][0], sorted(item[0][1])))))
        month_ends = {period: month_bounds(period)[1] for period in months}
        # The accepted lines adjusted before (:data:`app.acts.topups.ADJUSTED`), joined as well: the decided acts' lines
        # with an adjustment or a settlement outside the acts.
        adjusted = union(*(select(table.original_line_id.label("line_id"))
                           .join(Act, Act.id == table.original_act_id).where(*_decided_acts(acts, since, until))
                           for table in (ActAdjustment, OutsideSettlement))).subquery("adjusted")
        query = (decided_lines_query(acts, or_(
            and_(accepted, or_(still_enrolled.c.line_id.is_(None), adjusted.c.line_id.is_not(None), part_month,
                               licence_gap, liquidated)),
            excluded_lines_clause(top_up_from, month_ends, registry_year_start())), since, until)
            .outerjoin(still_enrolled, still_enrolled.c.line_id == ActLine.id)
            .outerjoin(adjusted, adjusted.c.line_id == ActLine.id)
            .outerjoin(liquidations, liquidations.c.school_id == ActLine.school_id))
    return db.session.execute(query.order_by(Act.period, ActLine.line_no, ActLine.id)).all()


def _licence_gaps(school_ids: set[int], months) -> dict[tuple[int, frozenset[str]], list[date]]:
    """The months in which a school's licence records, known today, do not cover every level for the whole month:
    there a line paid for the whole month of a student still enrolled may now earn less (a corrected licence dated
    from the 16th was never clawed back — unless the student happened to have a second NEDB row; a level dropped
    from the 16th neither). Keyed by (school, the levels one licence does cover for the whole month — their lines
    are left out), the months of each. A school with no licence record is left alone: a record missing now is not
    evidence about a month already paid."""
    from app.registry.models import Licence

    if not months:
        return {}
    bins = dict(db.session.execute(select(Organisation.bin, Organisation.id).where(Organisation.id.in_(school_ids)))
                .all())
    licences: dict[int, list] = defaultdict(list)
    for licence in db.session.scalars(select(Licence).where(Licence.bin.in_(list(bins)))):
        licences[bins[licence.bin]].append(licence)
    gaps: dict[tuple[int, frozenset[str]], list[date]] = defaultdict(list)
    for school_id, held in licences.items():
        for period in months:
            last = month_bounds(period)[1]
            whole = frozenset(level for lic in held for level in lic.level_set
                              if lic.valid_from <= period and (lic.valid_until is None or lic.valid_until >= last))
            if not whole >= LEVEL_GRADES.keys():
                gaps[(school_id, whole)].append(period)
    return gaps


def _school_repricing(registry: StudentRegistry) -> Callable[[list], dict[int, Correction]]:
    """The schools' repricing: today's NEDB enrolments at the school, the norms of the act's terms, the days the
    school's licences cover the line's level in that month — the verification's window (a school with no licence
    record today keeps its month whole: a record missing now is not evidence about a month already paid; a dated
    licence is; nor is today's business-register standing, which carries no date). A line the act excluded and
    that earns something today is a top-up (:data:`app.acts.topups.REGISTRY_CORRECTED_IN_FAVOUR`, the rule it was
    excluded by in the evidence) if its month has a free place."""

    def reprice_all(rows: list) -> dict[int, Correction]:
        # A line claiming an IIN NEDB retired by a merge is priced as the surviving child (app.registry.merges): the
        # retired IIN has no rows of its own any more, and the survivor's enrolments at two schools on common days are
        # a double_enrolment on both schools' paid months, not a not_in_nedb on one of them.
        merged = surviving_iins({ln.iin for ln, _ in rows}) if rows else {}
        enrolments = dict(registry.enrollments_for({merged.get(ln.iin, ln.iin) for ln, _ in rows})) if rows else {}
        # a transfer recorded on one day at both schools pays that day once, to the new school, as verification does
        enrolments = {key: handed_over(found) for key, found in enrolments.items()}
        enrolments.update({old: enrolments.get(new, []) for old, new in merged.items()})
        originals = list({original.id: original for _, original in rows}.values())
        # The schools of the acts, in one look-up: each act's ``school`` is then read from the session, not loaded
        # one act at a time (825 statements for the country's month, in school_contexts and below). Held here: the
        # session keeps only weak references to what it loaded.
        schools = [school for chunk in in_sets(Organisation.id, sorted({original.school_id for original in originals}))
                   for school in db.session.scalars(select(Organisation).where(chunk))]
        contexts = {c.act_id: c for c in school_contexts(originals)}
        found: dict[int, Correction] = {}
        grade_year = registry_year_start()
        paid_grade_year = grades_year_start()  # a paid line's month is not held to a grade moved on in the summer
        # What was settled for each line so far: a line unpaid now (excluded, or an accepted one a claw-back emptied)
        # is paid again only into a free place of its month.
        settled = settled_for([ln.id for ln, _ in rows])
        grade_clawed = clawed_back_for_grade([ln.id for ln, original in rows
                                              if ln.outcome == "accepted" and original.period < paid_grade_year])
        reviewed = [ln.id for ln, _ in rows if ln.outcome == "excluded" and ln.rule_code == REVIEWED]
        reviews = {r.line_id: r for i in range(0, len(reviewed), _CHUNK) for r in db.session.scalars(
            select(ActLineReview).where(ActLineReview.line_id.in_(reviewed[i : i + _CHUNK]),
                                        ActLineReview.decision == "exclude"))}
        for line, original in rows:
            ctx = contexts[original.id]
            level = level_for_grade(line.grade)
            never_paid = line.outcome == "excluded" and line.amount_tiyn + settled.get(line.id, 0) <= 0
            if never_paid and (ctx.school_rule in UNDATED_SCHOOL_RULES
                               or (line.rule_code == "grade_mismatch" and original.period < grade_year)):
                # Never paid, and no top-up now: the school's standing today carries no date (the month would be
                # paid on missing evidence), or the line was excluded for its grade and NEDB's grades are of a later
                # year (that it cannot be checked now is no evidence it was right). Priced at what it has: nothing.
                found[line.id] = Correction(line.rule_code or "", 0, {"nedb": []})
                continue
            if line.id in grade_clawed:
                # Clawed back for its grade, and NEDB's grades may be of a later year by now: that the claimed grade
                # cannot be checked any more is no evidence it was right — the claw-back holds (it was paid back in
                # full as a top-up once the grade could not be checked, the claw-back undone by the calendar).
                found[line.id] = Correction("grade_mismatch", 0, {"nedb": [], "claimed_grade": line.grade})
                continue
            if ctx.school_rule == "liquidated":
                # Liquidated (the business register's date) on or before the month's first day: a dated fact about
                # the month, as the verification's school-level rule decides it — no day of it is paid.
                evidence = {"nedb": [], "liquidated_on": ctx.liquidated_on.isoformat()}
                found[line.id] = Correction("liquidated", 0, evidence, month_cap_tiyn=ctx.terms.amount_cap_tiyn)
                continue
            # No covered day is a claw-back only when the school's own licences are known not to cover the month
            # ("licence_expired") or to cover it for other levels only ("level_not_covered"); with no record, or a
            # business-register standing that hides which it is, the month stays whole.
            window = (ctx.level_days.get(level) if ctx.level_days
                      else None if ctx.school_rule == "licence_expired" else (ctx.start, ctx.end))
            found[line.id] = replace(
                reprice(line, original, enrolments.get(line.iin, []), original.school.bin,
                        ctx.norms.get(level, 0), window,
                        level_covered=not ctx.level_days or level in ctx.level_days,
                        check_grade=original.period >= (paid_grade_year if line.outcome == "accepted" else grade_year),
                        licence_gaps=ctx.level_gaps.get(level, frozenset()) if ctx.level_days else frozenset(),
                        liquidated_on=ctx.liquidated_on),
                month_cap_tiyn=ctx.terms.amount_cap_tiyn)
            if line.rule_code == REVIEWED and line.outcome == "excluded" and found[line.id].corrected_tiyn > 0:
                # The official's exclusion: lifted only where NEDB's values now pass every check it was about.
                here = [e for e in enrolments.get(line.iin, [])
                        if e.school_bin == original.school.bin and e.active_during(ctx.start, ctx.end)]
                decision = reviews.get(line.id)
                verdict, said = (decided_exclusion(line, decision, here, covered_days(here, ctx.start, ctx.end),
                                                   found[line.id].evidence.get("days"),
                                                   _year_start(original.period).year)
                                 if decision is not None else (HOLDS, {}))
                if verdict != LAPSED:
                    # Holds: excluded (a top-up paid since is clawed back). Needs review again on other values: as it
                    # is (no top-up; one accepted since stays) — no one can decide it on a decided act.
                    kept = 0 if verdict == HOLDS else max(line.amount_tiyn + settled.get(line.id, 0), 0)
                    found[line.id] = replace(found[line.id], rule_code=REVIEWED, corrected_tiyn=kept,
                                             evidence=found[line.id].evidence | said)
                    continue
                found[line.id] = replace(found[line.id], evidence=found[line.id].evidence | said)
            if line.outcome == "excluded" and found[line.id].corrected_tiyn > 0:
                # NEDB's grades are of a later year than a never-paid line's month: the grade it claimed cannot be
                # checked any more. The top-up is owed on every other rule, so it is listed (carried, with that
                # reason) for a person to check the grade — never paid by an act, never dropped (:func:`_owed`).
                unchecked = {"grade_unchecked": True} if never_paid and original.period < grade_year else {}
                found[line.id] = replace(found[line.id], rule_code=REGISTRY_CORRECTED_IN_FAVOUR,
                                         evidence=found[line.id].evidence | {"excluded_as": line.rule_code}
                                         | unchecked)
        _merged_copies(rows, found, merged)
        _share_unchecked_grade_days(rows, found, contexts, paid_grade_year)
        keep_within_places(rows, found, settled, contexts, enrolments)
        del schools  # held until here
        return found

    return reprice_all


def _merged_copies(rows: list, found: dict[int, Correction], merged: dict[str, str]) -> None:
    """Two accepted lines of one decided act that NEDB's merge (app.registry.merges) made one child — the child listed
    under the IIN NEDB retired and under the surviving one, in the same grade — are a ``duplicate_line``, as the
    verification decides it for an open act: one of them is paid, the other is priced at nothing (clawed back).

    Each line was priced on its own, as the surviving child's, and each earned the child's days: the act paid for two
    children kept both for good (42,300.00 ₸ a month for a child paid twice) — and a copy the act had excluded
    (not_in_nedb under the retired IIN) was topped up beside the paid one. The copy kept is the one the repricing
    does not look at again (the surviving IIN's line of a child enrolled for the whole month), else a line the act
    paid, else the first in the act. Copies in different grades are left to their grades' days (a pupil moved up a
    grade mid-month)."""
    if not merged:
        return
    originals = sorted({original.id for line, original in rows if line.iin in merged})
    if not originals:
        return
    person = children_of(line.iin for line, _ in rows if line.iin in merged)  # every IIN of these children
    names, half = sorted(person), _CHUNK // 2
    copies: dict[tuple[int, str, int], list[tuple[bool, bool, int, int]]] = defaultdict(list)
    for i in range(0, len(originals), half):
        for j in range(0, len(names), half):
            for line_id, act_id, iin, grade, line_no, outcome in db.session.execute(
                    select(ActLine.id, ActLine.act_id, ActLine.iin, ActLine.grade, ActLine.line_no, ActLine.outcome)
                    .where(ActLine.act_id.in_(originals[i : i + half]), ActLine.iin.in_(names[j : j + half]))):
                # a line the act paid, or one it excluded that is priced above nothing now (a top-up: the retired
                # IIN was not_in_nedb)
                if outcome == "accepted" or (line_id in found and found[line_id].corrected_tiyn > 0):
                    copies[(act_id, person[iin], grade)].append((line_id in found, outcome != "accepted", line_no,
                                                                 line_id))
    for group in copies.values():
        if len(group) < 2:
            continue
        for *_, line_id in sorted(group)[1:]:
            if line_id in found and found[line_id].corrected_tiyn > 0:
                found[line_id] = Correction("duplicate_line", 0, found[line_id].evidence,
                                            month_cap_tiyn=found[line_id].month_cap_tiyn)


def _share_unchecked_grade_days(rows: list, found: dict[int, Correction], contexts: dict, grade_year: date) -> None:
    """A month of an earlier academic year paid grade by grade (a pupil moved from grade 4 to grade 5 mid-month: a
    line per grade, each paid its grade's days) is priced again on the student's days, shared out between its lines.

    NEDB's grades are of a later year, so every line of the pupil was priced at all the days here — each at the whole
    month: a top-up of the other grade's days was listed as owed on both lines, and a claw-back settled on one of them
    (a withdrawal found in its year) was paid back the next year. Instead the days NEDB now has the pupil here go to
    the lines in the order of their grades (a pupil moves up), each at most the days it was paid for: a withdrawal
    found later is clawed back from the later grade's line, and no line gains the other's days."""
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for line, original in rows:
        if original.period < grade_year and line.outcome == "accepted":
            groups[(original.id, line.iin)].append((line, original))
    for group in groups.values():
        if len({line.grade for line, _ in group}) < 2 or any(line.paid_days is None for line, _ in group):
            continue  # one grade; or lines verified before their paid days were kept (never split by grade)
        used = 0
        for line, original in sorted(group, key=lambda pair: (pair[0].grade, pair[0].line_no)):
            correction = found[line.id]
            if correction.rule_code not in (ENROLLED_DAYS, NEDB_CORRECTED):
                continue  # not a student here that month, or at another school on the same days: nothing is owed
            days = min(line.paid_days, max(correction.evidence.get("days", 0) - used, 0))
            used += days
            ctx = contexts[original.id]
            corrected = prorated(ctx.norms.get(level_for_grade(line.grade), 0), days, ctx.end.day)
            found[line.id] = replace(correction, corrected_tiyn=corrected,
                                     evidence=correction.evidence | {"days": days},
                                     rule_code=NEDB_CORRECTED if corrected == line.amount_tiyn else ENROLLED_DAYS)


def settle_adjustments(acts: Sequence[Act], registry: StudentRegistry | None = None) -> dict[int, list[dict]]:
    """The schools' settlement: decided lines priced again on today's NEDB (see :func:`settle`)."""
    if not acts:
        return {}
    registry = registry or student_registry()
    return settle(acts, _candidate_lines(acts, registry), _school_repricing(registry))


def settle(acts: Sequence[Act], rows: list, reprice_all: Callable[[list], dict[int, Correction]]
           ) -> dict[int, list[dict]]:
    """Recompute the adjustments settled on ``acts`` (each claimed for verification by the caller, whose lines
    and totals were just verified) and add them to each act's amount. ``rows`` are the decided (line, act) pairs
    to look at again, ``reprice_all(rows)`` the instrument's correction of each ({line id: Correction}). Returns,
    per act, what was settled (for the audit event)."""
    if not acts:
        return {}
    ids = [a.id for a in acts]
    # One settlement per school at a time: two acts of a school verified at once (a resubmitted October beside
    # November's month-wide pass) each read what the other had not yet committed and clawed the same line back
    # twice. PostgreSQL: the schools' rows are locked in id order until commit; SQLite has one writer anyway.
    # FOR NO KEY UPDATE: the transaction's own act lines hold KEY SHARE on their school's row (their foreign key),
    # with which FOR UPDATE conflicts — two submissions of one school deadlocked every time.
    db.session.execute(select(Organisation.id).where(Organisation.id.in_(sorted({a.school_id for a in acts})))
                       .order_by(Organisation.id).with_for_update(key_share=True))
    db.session.execute(delete(ActAdjustment).where(ActAdjustment.act_id.in_(ids)))
    # what other acts already settled for these lines (returned ones aside), and what was paid outside the acts
    settled_elsewhere = settled_for([ln.id for ln, _ in rows])
    corrections = reprice_all(rows)
    headroom, floor = _month_bounds(rows, corrections, settled_elsewhere)
    rows_by_school: dict[int, list] = defaultdict(list)
    for line, original in rows:
        rows_by_school[original.school_id].append((line, original))
    # Just verified: ``amount_tiyn`` is what the act's own lines earn.
    line_amounts = dict(db.session.execute(select(Act.id, Act.amount_tiyn).where(Act.id.in_(ids))).all())
    # Under a contract, the act with its adjustments stays within what the contract's amount has left: a top-up
    # added after the lines were capped there made an act that was accepted and could never be paid.
    from app.acts.terms import terms_for_acts

    left = {act_id: t.total_left_tiyn for act_id, t in terms_for_acts(acts).items() if t.total_left_tiyn is not None}
    by_act: dict[int, list[dict]] = defaultdict(list)
    inserts: list[dict] = []
    now = clock.now()
    # Two open acts of one school may be settled together (a registry import re-verifies every open act listing a
    # changed student: October resubmitted after a return beside November): the earlier month settles a correction
    # first, and what it settled counts as settled for the next — each had clawed the same line back.
    for act in sorted(acts, key=lambda a: (a.period, a.id)):
        available = int(line_amounts.get(act.id) or 0)
        room = left[act.id] - available if act.id in left else None  # for top-ups, under the contract's amount
        candidates = []
        for line, original in rows_by_school.get(act.school_id, []):
            found = corrections[line.id]
            if owed := _owed(line, original, found, settled_elsewhere, act.period):
                candidates.append((line, original, found, owed))
        # Top-ups first, then claw-backs as far as the act's net stays non-negative (the rest stays owed).
        candidates.sort(key=lambda c: (c[3] < 0, c[1].period, c[0].line_no))
        for line, original, found, owed in candidates:
            amount = _within_month(owed if owed > 0 else max(owed, -available), original.id, headroom, floor)
            if amount > 0 and room is not None:
                amount = min(amount, max(room, 0))  # the rest stays owed, as above
            _take_from_month(amount, original.id, headroom, floor)
            if room is not None:
                room -= amount
            if not amount:
                continue
            available += amount
            settled_elsewhere[line.id] = int(settled_elsewhere.get(line.id) or 0) + amount
            row = {"act_id": act.id, "original_act_id": original.id, "original_line_id": line.id,
                   "period": original.period, "iin": line.iin, "full_name": line.full_name,
                   "rule_code": found.rule_code, "original_amount_tiyn": line.amount_tiyn,
                   "corrected_amount_tiyn": found.corrected_tiyn, "amount_tiyn": amount, "evidence": found.evidence,
                   "created_at": now}
            inserts.append(row)
            by_act[act.id].append({"original_act": original.number, "line": line.line_no,
                                   "month": f"{original.period:%Y-%m}", "rule": found.rule_code, "amount_tiyn": amount,
                                   # a lifted exclusion names its rule; one after review, the decision it lifts
                                   # (its checks and fingerprint — no name, as the decision's own event)
                                   **({"excluded_as": found.evidence["excluded_as"]}
                                      if "excluded_as" in found.evidence else {}),
                                   **({"review": {k: v for k, v in found.evidence["review"].items()
                                                  if k in ("codes", "basis", "decided_at", "decided_by_id")}}
                                      if "review" in found.evidence else {})})
    if inserts:
        db.session.execute(insert(ActAdjustment), inserts)
    totals = {a.id: sum(x["amount_tiyn"] for x in by_act.get(a.id, [])) for a in acts}
    table = Act.__table__
    db.session.connection().execute(
        update(table).where(table.c.id == bindparam("b_id"))
        .values(adjustment_tiyn=bindparam("b_adj"), amount_tiyn=table.c.amount_tiyn + bindparam("b_adj")),
        [{"b_id": a, "b_adj": t} for a, t in totals.items()])
    for act in acts:
        db.session.expire(act, ["amount_tiyn", "adjustment_tiyn", "adjustments"])
    return dict(by_act)


def _owed(line: ActLine, original: Act, found: Correction, settled: dict[int, int], period: date) -> int:
    """What an act of ``period`` settles for ``line`` (of the decided act ``original``) before its own limits: the
    difference between what the line earns now and what it earned plus ``settled`` elsewhere for it; 0 outside the
    months the act looks back at."""
    if not (_lookback_start(period) <= original.period < period):
        return 0
    if found.evidence.get("grade_unchecked"):
        return 0  # the line's grade cannot be checked: carried (:func:`_carried`), a person decides
    owed = found.corrected_tiyn - line.amount_tiyn - int(settled.get(line.id, 0) or 0)
    if owed > 0 and original.period < _year_start(period):
        # A top-up of a month of the academic year before is not paid out of this year's act (its contract and
        # budget are that year's); a claw-back is: money paid for no child comes back — and so is a claw-back the
        # registry has since corrected back, up to what was clawed back.
        owed = min(owed, max(-int(settled.get(line.id, 0) or 0), 0))
    return owed


def _within_month(amount: int, original_id: int, headroom: dict[int, int], floor: dict[int, int]) -> int:
    """``amount`` kept within its original month's cap (:func:`_month_bounds`): a top-up within the month's headroom
    (the part above it stays owed until a claw-back makes room), a claw-back no more than the capped month was paid
    over its due."""
    if amount > 0 and original_id in headroom:
        return min(amount, max(headroom[original_id], 0))
    if amount < 0 and original_id in floor:
        return max(amount, floor[original_id])
    return amount


def _take_from_month(amount: int, original_id: int, headroom: dict[int, int], floor: dict[int, int]) -> None:
    """What ``amount``, once settled, leaves of its original month's headroom or floor."""
    if amount > 0 and original_id in headroom:
        headroom[original_id] -= amount
    if amount < 0 and original_id in floor:
        floor[original_id] -= amount


@dataclass(frozen=True)
class Unsettled:
    """A registry correction of a decided month that no act has settled yet (see :func:`unsettled_corrections`)."""

    line: ActLine
    original: Act
    correction: Correction
    amount_tiyn: int  # negative: a claw-back the school owes back; positive: a top-up owed to the school
    #: a top-up of a closed academic year: no act settles it (the new year's act does not pay the closed year's
    #: budget), it is carried — listed for as long as the registry says it is owed, never dropped, until it is
    #: settled outside the acts (:mod:`app.acts.outside`)
    carried: bool = False
    #: a claw-back of a month before the ``CLAWBACK_LOOKBACK_YEARS`` look-back: no act claims it back — not owed by
    #: the rule, but listed (and counted by the reconciliation) as money that will not come back; never part of what
    #: is owed (:func:`owed`)
    time_barred: bool = False

    @property
    def grade_unchecked(self) -> bool:
        """A top-up of a line never paid whose month is of an earlier academic year than NEDB's grades: the grade
        it claimed cannot be checked against NEDB any more (carried, for a person to check)."""
        return bool(self.correction.evidence.get("grade_unchecked"))


def owed(found: Sequence[Unsettled]) -> list[Unsettled]:
    """What of ``found`` is owed — settled on the next act, or carried; not the time-barred claw-backs."""
    return [u for u in found if not u.time_barred]


def unsettled_corrections(school: Organisation, registry: StudentRegistry | None = None) -> list[Unsettled]:
    """The corrections of the school's decided months that an act of the month after its latest decided one would
    settle now — each month's cap kept, as :func:`settle` keeps it. Read only. They are settled on the school's next
    act; when none is to come (its contract has ended) they are what the school owes back or is owed, and were seen
    nowhere: a withdrawal found after the last month's payment was lost without a trace. With them, the top-ups of
    closed academic years, carried (no act settles them): they left the list once the new year's first act was
    decided, and money owed to the school was seen nowhere; and the claw-backs of months before the look-back,
    ``time_barred`` (not owed: :func:`owed` leaves them out)."""
    probe = next_act_probe(school)
    if probe is None:
        return []
    registry = registry or student_registry()
    return unsettled_in(probe, _candidate_lines([probe], registry, first_decided(school)),
                        _school_repricing(registry))


def unsettled_in_month(probes: Sequence[Act], period: date, top_ups_only: Collection[int] = (),
                       registry: StudentRegistry | None = None) -> list[Unsettled]:
    """What :func:`unsettled_corrections` lists of the month ``period`` for each school a ``probes`` act is of (its
    :func:`next_act_probe`) — the month's lines only, every school at once (the reconciliation's). Of the schools in
    ``top_ups_only`` only the top-ups are asked for (a closed year's, carried): only a line paid for part of the
    month, adjusted before, or excluded on registry evidence NEDB now contradicts can earn more now (one paid the
    whole month earns no more), so only those are priced — a month of a closed year had every school's lines of
    pupils since withdrawn priced again."""
    if not probes:
        return []
    registry = registry or student_registry()
    following = next_month(period)
    # A month before a school's look-back: its claw-backs are time-barred, and listed — every line is priced.
    narrowed = set(top_ups_only) - {p.school_id for p in probes if period < _lookback_start(p.period)}
    rows = _candidate_lines([p for p in probes if p.school_id not in narrowed], registry, period, following) \
        if any(p.school_id not in narrowed for p in probes) else []
    if narrowed:
        part_month = ActLine.paid_days < month_bounds(period)[1].day
        rows += db.session.execute(decided_lines_query(
            [p for p in probes if p.school_id in narrowed],
            or_(and_(ActLine.outcome == "accepted", part_month), ADJUSTED,
                excluded_lines_clause(period, {period: month_bounds(period)[1]}, registry_year_start())),
            period, following)
            .order_by(Act.period, ActLine.line_no, ActLine.id)).all()
    return unsettled_of(probes, rows, _school_repricing(registry))


def next_month(period: date) -> date:
    """1st of the month after ``period``'s."""
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def first_decided(organisation: Organisation) -> date | None:
    """The organisation's first decided month: the unsettled list looks back to it (a closed year's top-up is
    carried, whatever its year)."""
    return db.session.scalar(select(func.min(Act.period)).where(Act.school_id == organisation.id,
                                                                Act.status.in_(DECIDED)))


def next_act_probe(organisation: Organisation) -> Act | None:
    """What the queries read of the organisation's next act — its first act still open after its latest decided
    month, or else the month after that one — never added to the session; None: no month of it is decided. An act
    of September open after May's was decided is the next act: a top-up of May is carried from now (June, which
    would have paid it, will not come)."""
    latest = db.session.scalar(select(func.max(Act.period)).where(Act.school_id == organisation.id,
                                                                  Act.status.in_(DECIDED)))
    if latest is None:
        return None
    following = next_month(latest)
    upcoming = db.session.scalar(select(func.min(Act.period)).where(
        Act.school_id == organisation.id, Act.status.not_in(DECIDED), Act.period >= following))
    return Act(school_id=organisation.id, period=upcoming or following)


def unsettled_in(probe: Act, rows: list, reprice_all: Callable[[list], dict[int, Correction]]) -> list[Unsettled]:
    """Generic over instruments: what an act ``probe`` would settle for the decided (line, act) pairs ``rows``,
    priced by the instrument's ``reprice_all`` (as :func:`settle` is given them), without writing anything — and the
    top-ups of closed academic years no act settles, *carried* (:func:`_carried`; ``rows`` may reach back further
    than an act looks)."""
    return unsettled_of([probe], rows, reprice_all)


#: What a correction listed as unsettled is, in the order :func:`unsettled_of` takes them from a month's cap.
_SETTLES, _CARRIED, _TIME_BARRED = range(3)


def unsettled_of(probes: Sequence[Act], rows: list, reprice_all: Callable[[list], dict[int, Correction]]
                 ) -> list[Unsettled]:
    """:func:`unsettled_in` for several organisations at once: each row looked at with its organisation's probe."""
    if not rows:
        return []
    periods = {p.school_id: p.period for p in probes}
    settled = settled_for([ln.id for ln, _ in rows])
    written_off = written_off_for([ln.id for ln, _ in rows])
    corrections = reprice_all(rows)
    headroom, floor = _month_bounds(rows, corrections, settled)
    due = []
    for line, original in rows:
        period, found = periods[original.school_id], corrections[line.id]
        if amount := _owed(line, original, found, settled, period):
            due.append((line, original, amount, _SETTLES))
        if amount := _carried(line, original, found, settled, period, written_off.get(line.id, 0)):
            due.append((line, original, amount, _CARRIED))
        if amount := _time_barred(line, original, found, settled, period):
            due.append((line, original, amount, _TIME_BARRED))
    listed = []
    # as settle: top-ups first, then claw-backs; what an act settles before what is carried
    for line, original, amount, kind in sorted(due, key=lambda c: (c[2] < 0, c[3], c[1].period, c[0].line_no)):
        amount = _within_month(amount, original.id, headroom, floor)
        _take_from_month(amount, original.id, headroom, floor)
        if amount:
            listed.append(Unsettled(line, original, corrections[line.id], amount, kind == _CARRIED,
                                    kind == _TIME_BARRED))
    return listed


def _carried(line: ActLine, original: Act, found: Correction, settled: dict[int, int], period: date,
             written_off: int = 0) -> int:
    """The part of a top-up of a closed academic year (a month before ``period``'s) that no act of ``period`` or
    later settles (:func:`_owed` pays a closed year's month back only what was clawed back of it): carried, owed to
    the organisation out of that year's budget; 0 for a month of ``period``'s year and for a claw-back. A top-up
    whose grade can no longer be checked (``grade_unchecked`` in its evidence) is carried whatever its year: no act
    pays it. ``written_off``: what of the line's carried top-ups was written off as not owed (paid outside the acts
    is in ``settled``): carried is only what the registry says is owed beyond it."""
    if original.period >= _year_start(period) and not found.evidence.get("grade_unchecked"):
        return 0
    owed = found.corrected_tiyn - line.amount_tiyn - int(settled.get(line.id, 0) or 0)
    return max(owed - max(_owed(line, original, found, settled, period), 0) - written_off, 0)


def _time_barred(line: ActLine, original: Act, found: Correction, settled: dict[int, int], period: date) -> int:
    """A claw-back of a month before the look-back of an act of ``period`` (:func:`_lookback_start`): not claimed
    back by the rule, listed as money that will not come back (≤ 0; 0 for a month within the look-back)."""
    if original.period >= _lookback_start(period):
        return 0
    return min(found.corrected_tiyn - line.amount_tiyn - int(settled.get(line.id, 0) or 0), 0)


def _month_bounds(rows: list, corrections: dict[int, Correction], settled_lines: dict[int, int]
                  ) -> tuple[dict[int, int], dict[int, int]]:
    """Per original act under a monthly cap: (headroom, floor).

    *Headroom*: how much more its month may still be paid — the cap, less what its own lines earned (``amount −
    adjustment`` of that act: already capped) and what was settled for its lines on other acts since.

    *Floor*: the most its month may be clawed back now (≤ 0) — what the month is due after the corrections,
    ``min(cap, Σ corrected lines)``, less what it was paid and settled. A month paid at its cap, below what its
    lines earned, gives back only what it was paid over what it is now due: a withdrawal found later had been
    clawed back in full from a month that had been paid far less than its lines anyway. An excluded line counts
    in what the month is due once it was topped up (``settled_lines``: what was settled for each line): a top-up
    not yet paid does not make a claw-back of another line smaller (each line's money stays its own)."""
    caps = {original.id: (original, corrections[line.id].month_cap_tiyn) for line, original in rows
            if corrections[line.id].month_cap_tiyn is not None}
    if not caps:
        return {}, {}
    from app.acts.models import ActLine

    ids = list(caps)
    settled: dict[int, int] = {}
    lines_sum: dict[int, int] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        for query in (select(ActAdjustment.original_act_id, func.sum(ActAdjustment.amount_tiyn))
                      .where(ActAdjustment.original_act_id.in_(chunk), SETTLED).group_by(ActAdjustment.original_act_id),
                      select(OutsideSettlement.original_act_id, func.sum(OutsideSettlement.amount_tiyn))
                      .where(OutsideSettlement.original_act_id.in_(chunk), PAID_OUTSIDE)
                      .group_by(OutsideSettlement.original_act_id)):
            for act_id, total in db.session.execute(query):
                settled[act_id] = settled.get(act_id, 0) + int(total or 0)
        lines_sum.update(db.session.execute(
            select(ActLine.act_id, func.sum(ActLine.amount_tiyn))
            .where(ActLine.act_id.in_(chunk), ActLine.outcome == "accepted").group_by(ActLine.act_id)).all())
    delta: dict[int, int] = defaultdict(int)
    for line, original in rows:
        if original.id in caps and (line.outcome == "accepted" or int(settled_lines.get(line.id) or 0) > 0):
            delta[original.id] += corrections[line.id].corrected_tiyn - line.amount_tiyn
    headroom, floor = {}, {}
    for act_id, (original, cap) in caps.items():
        paid = original.amount_tiyn - (original.adjustment_tiyn or 0) + int(settled.get(act_id) or 0)
        headroom[act_id] = cap - paid
        floor[act_id] = min(0, min(cap, int(lines_sum.get(act_id) or 0) + delta[act_id]) - paid)
    return headroom, floor


def cause_title(code: str):
    """The title of an adjustment's cause: a rule of any instrument, or a correction that is not a rule."""
    from app.instruments import all_rules

    rules = all_rules()
    return rules[code].title if code in rules else CAUSES.get(code, code)


def adjustments_of(act: Act) -> list[ActAdjustment]:
    return list(db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == act.id)
                                   .order_by(ActAdjustment.period, ActAdjustment.id)))


__all__ = ["CAUSES", "ENROLLED_DAYS", "NEDB_CORRECTED", "Correction", "Unsettled", "adjustments_of", "cause_title",
           "clawback_lookback_years", "next_month", "registry_year_start",
           "decided_lines_query", "first_decided", "next_act_probe", "owed", "reprice", "settle", "settle_adjustments",
           "unsettled_corrections", "unsettled_in", "unsettled_in_month", "unsettled_of"]
