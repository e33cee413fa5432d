"""Verify contingent: every line of one act — or of every act of a month — against the registries.

Set-based, and in the same few statements for one act of 30 lines as for 850 acts with 559,000 lines: the
acts' context goes into a working table, then ONE statement reads every line with its IIN's NEDB rows (one
probe of a covering index per line, as the reference scan of the core lookup does) and writes each line's
rule, amount and review into a second working table keyed by (act, line); the few lines that need more than
one NEDB row, the copies of a student listed twice and the places over capacity are decided there by
statements over those lines only; the per-act sums are read from it, and ``act_line`` is written once, only
where a result changed. Rules run in the precedence order of :data:`app.acts.rules.RULES`; a line keeps the
first rule that excludes it.

Registries behind an adapter that is not a table (the HTTP adapter) are first staged into a temporary
table with the enrolments of exactly the IINs in question, then the same SQL runs against it.

Order-independence: a line's outcome depends only on its own act, the registries and the act's terms —
never on other acts' lines or statuses. A student claimed by two schools in one month is decided by NEDB:
each school is paid the days NEDB has the student there (a transfer pays both, each its own days); days
at both schools at once are ``double_enrolment`` on both. So the same act gets the same result whichever
act is verified first, and per act or month-wide; a re-verification clears an exclusion only when the
registry facts behind it changed, and an official's ``exclude`` review decision is re-applied only while the values
it was made on hold (:func:`app.acts.review.exclusion_holds`: NEDB corrected the name to match — the line is paid).

Pay by days, every act: a line earns norm × paid days / days in the month, paid days being the days NEDB
has the student at this school *in the line's grade* (a pupil moved from grade 4 to grade 5 on the 16th is two lines,
each paid its own grade's days at its own level's norm — see ``_days_here_sql``), within the days a licence of the
school covers *the line's level* (a licence
starting or ending inside the month pays the covered days only; when the levels change mid-month — a licence
for primary until the 15th, one for primary and basic from the 16th — a grade-5 pupil is paid from the 16th).
The licences are the registry's as it is now, for every month: a contract's copy of its licence's end date is
what was checked at signing (history), never a cap — a licence renewed after signing pays on.

``days_attended`` stays on the act as the school's statement and is reconciled, not trusted: payment never
reads it (NEDB's dates decide), but a claim of more days than NEDB's enrolment makes the line *needs
review* (``days``) — the school states attendance the registry contradicts, which an official should see.
Removing the field would hide that contradiction and change the act form other processes use.
"""

from __future__ import annotations

from calendar import monthrange
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import selectinload

from app import clock
from app.acts.models import Act, StudentNorm
from app.acts.rules import (
    AGE_OVER_GRADE_MAX,
    AGE_OVER_GRADE_MIN,
    FUNDED_GRADES,
    LEVEL_GRADES,
    SCHOOL_LEVEL_RULES,
    grades_for_levels,
    level_for_grade,
    normalise_name,
)
from app.acts.terms import ActTerms, terms_for_acts
from app.extensions import db
from app.registry.adapter import StudentRegistry, student_registry
from app.registry.business import Standing, business_records, liquidation_day, standing
from app.registry.identifiers import is_valid_iin
from app.registry.models import Licence

ALL_GRADES = FUNDED_GRADES
#: what the business register's standing of a school means for its acts (no_business_record: no record, no payment)
SCHOOL_BUSINESS_RULES = {Standing.MISSING: "no_business_record", Standing.INACTIVE: "non_education_org",
                         Standing.OTHER_ACTIVITY: "non_education_org", Standing.LIQUIDATED: "liquidated"}
_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


def month_bounds(period: date) -> tuple[date, date]:
    return period.replace(day=1), period.replace(day=monthrange(period.year, period.month)[1])


def academic_year(period: date) -> str:
    start = period.year if period.month >= 9 else period.year - 1
    return f"{start}/{start + 1}"


def registry_year_start() -> date:
    """1 September of the academic year NEDB's grades are of: the current one (today's, in Kazakhstan: see
    :func:`app.clock.today`). NEDB keeps one grade per enrolment and moves it on with the year, so a month of an
    earlier academic year is not held to it (a pupil in grade 9 last year is in grade 10 now, and last year's months
    were right): the repricing of decided months does not check it (app.acts.adjustments), the first verification
    of such a month takes the grade the row had then (:func:`_in_grade_sql`)."""
    return date(int(academic_year(clock.today())[:4]), 9, 1)


def grades_moved_on_from(year: int) -> date:
    """The first day of the summer before the academic year starting in ``year`` on which schools may move their
    pupils up in NEDB (``NEDB_PROMOTION_MONTH``, June: the school year ends in May; 9 = on 1 September itself)."""
    return date(year, min(current_app.config.get("NEDB_PROMOTION_MONTH", 6), 9), 1)


def grades_year_start() -> date:
    """1 September of the latest academic year NEDB's grades may be of. Schools move their pupils up in NEDB over
    the summer, one school after another, before the year begins: from :func:`grades_moved_on_from` until 1
    September a pupil's row has May's grade or the coming year's, and NEDB's grades are evidence for neither year
    alone — a May act verified in July excluded every promoted pupil as ``grade_mismatch``, and the repricing
    listed each paid line of the year as a claw-back. Outside that window: :func:`registry_year_start`."""
    start = registry_year_start()
    coming = start.replace(year=start.year + 1)
    return coming if clock.today() >= grades_moved_on_from(coming.year) else start


def _in_grade_sql(row_grade: str, row_off: str, line_grade: str, year_start: str, line_id: str) -> str:
    """A NEDB row of ``row_grade`` (withdrawn on ``row_off``) was in ``line_grade`` in a month of the academic year
    starting in ``year_start`` (an integer expression). In NEDB's own year: that grade. In an earlier year, a row still
    running when NEDB's year began has been moved on since: its grade then is NEDB's, or up to one grade below for
    each year passed (promoted every year; one who repeated a year keeps the grade) — an act of May verified in
    September excluded every pupil still at the school as ``grade_mismatch``. NEDB's year is the latest its grades
    may be of (:func:`grades_year_start`: in the summer the coming one, the row moved up or not yet). A row that
    ended before pupils were moved up for NEDB's year (:func:`grades_moved_on_from`) kept the grade of its time.

    A row whose grade another line of the pupil in the same act (the line ``line_id``'s) claims is that line's, not
    one below: a pupil listed in grades 9 and 8 whom NEDB has in grade 9 (not moved up yet, or repeating) was paid
    the whole month on both lines, and a pupil moved up from 8 to 9 mid-May was paid the 9-row's days on both. Nor is
    it a line's whose grade is below another line's of the pupil that the row may be in: two years on, NEDB's grade 6
    may be May's 4, 5 or 6, and a pupil listed in grades 4 and 5 was paid the whole month on both — the row is the
    higher line's (a pupil moves up), one grade per row and month, as a row of NEDB's own year."""
    year = grades_year_start().year
    claimed = ("EXISTS (SELECT 1 FROM act_line al_same JOIN act_line al_other ON al_other.act_id = al_same.act_id "  # noqa: S608
               f"AND al_other.iin = al_same.iin WHERE al_same.id = {line_id} AND al_other.grade > al_same.grade "
               f"AND al_other.grade <= {row_grade})")
    return (f"({line_grade} = {row_grade} OR ({year_start} < {year} "
            f"AND ({row_off} IS NULL OR {row_off} > '{grades_moved_on_from(year).isoformat()}') "
            f"AND {line_grade} BETWEEN {row_grade} - ({year} - {year_start}) AND {row_grade} AND NOT {claimed}))")


@dataclass
class VerificationSummary:
    total: int
    accepted: int
    excluded: int
    amount_tiyn: int
    withheld_tiyn: int
    by_rule: dict[str, int]
    capped_tiyn: int = 0  # part of the accepted lines' sum above the contract's amount cap
    students: int = 0  # distinct IINs of the lines (a student on two lines is one)
    accepted_students: int = 0  # distinct IINs of the accepted lines
    #: exclusions after review that lapsed or hold again in this pass (app.acts.review.exclusion_changes)
    review_changes: list[dict] = field(default_factory=list)


def norms_for(period: date) -> dict[str, int]:
    rows = db.session.scalars(select(StudentNorm).where(StudentNorm.academic_year == academic_year(period)))
    return {n.level: n.monthly_tiyn for n in rows}


def enrolled_days(enrolled_on: date, withdrawn_on: date | None, start: date, end: date) -> int:
    """Days of [start, end] on which the student is enrolled: from ``enrolled_on`` to the day before
    ``withdrawn_on`` (enrolled on the last day = 1 day; withdrawn on the first day = 0 days)."""
    first = max(enrolled_on, start)
    last = end if withdrawn_on is None else min(end, date.fromordinal(withdrawn_on.toordinal() - 1))
    return max(0, (last - first).days + 1)


def prorated(norm_tiyn: int, days: int, days_in_month: int) -> int:
    """Norm × days / days in month, rounded down to a whole tiyn (never a float)."""
    return norm_tiyn * min(days, days_in_month) // days_in_month


# --- school-level context -------------------------------------------------------------------------


@dataclass
class ActContext:
    act_id: int
    school_bin: str
    period: date
    start: date
    end: date
    terms: ActTerms
    school_rule: str | None = None
    grades: frozenset[int] = ALL_GRADES
    norms: dict[str, int] = field(default_factory=dict)
    #: per level, the days of the month a licence covering that level covers, as (first, last); a level
    #: missing: no licence covers it on any day of the month
    level_days: dict[str, tuple[date, date]] = field(default_factory=dict)
    #: per level, the days between its first and last covered day that no licence covering it covers (licences
    #: leaving a gap: one ending on the 10th, the next starting on the 16th); a level missing: no gap
    level_gaps: dict[str, frozenset[date]] = field(default_factory=dict)
    #: the business register's liquidation date of the school, when it falls on or before the month's last day: from
    #: that day on no day is paid (within the month, the licence days end the day before; on or before its first day,
    #: the school-level rule ``liquidated``)
    liquidated_on: date | None = None


def school_contexts(acts: Sequence[Act]) -> list[ActContext]:
    """What the school-level rules decide, from the business register, licences and the act's terms (its levels
    and norms; the licence days come from the licence registry alone)."""
    bins = sorted({a.school.bin for a in acts})
    # No record, no payment: the school-level rules decide on the registries' evidence, and missing evidence
    # excludes as failing evidence does (no_business_record, no_licence).
    records = business_records(bins)
    licences: dict[str, list[Licence]] = defaultdict(list)
    for i in range(0, len(bins), _CHUNK):
        for lic in db.session.scalars(select(Licence).where(Licence.bin.in_(bins[i : i + _CHUNK]))):
            licences[lic.bin].append(lic)
    norms_by_period: dict[date, dict[str, int]] = {}
    contexts = []
    all_terms = terms_for_acts(acts)
    for act in acts:
        start, end = month_bounds(act.period)
        if act.period not in norms_by_period:
            norms_by_period[act.period] = norms_for(act.period)
        terms = all_terms[act.id]
        # A contract carries its own region's urban/rural norms; other acts use the year's norm table.
        norms = dict(terms.norms_tiyn) if terms.norms_tiyn else norms_by_period[act.period]
        ctx = ActContext(act.id, act.school.bin, act.period, start, end, terms, norms=norms)
        own = licences.get(act.school.bin, [])
        record = records.get(act.school.bin)
        found = standing(record, activity="85", month_start=start)
        ctx.school_rule = (SCHOOL_BUSINESS_RULES[found] if found is not None else None) or (None if own
                                                                                             else "no_licence")
        # Liquidated within the month: its days before the liquidation are paid, as the days a licence ending inside
        # the month covers are (the licence days end the day before; ``liquidated``: on or before the 1st, no day).
        # (The register's date while it says the school is liquidated: app.registry.business.liquidation_day.)
        last_day, liquidated = end, liquidation_day(record)
        if liquidated is not None and liquidated <= end:
            ctx.liquidated_on = liquidated
            last_day = max(start, liquidated - timedelta(days=1))
        covering = [lic for lic in own
                    if lic.valid_from <= last_day and (lic.valid_until is None or lic.valid_until >= start)]
        # A day pays a line only if a licence valid that day covers the line's level (level_not_covered: no
        # licence covers it on any day of the month; licence_expired: not on the student's days).
        for level in LEVEL_GRADES:
            first, last, gaps = _covered_days([lic for lic in covering if level in lic.level_set], start, last_day)
            if first is not None:
                ctx.level_days[level] = (first, last)
            if gaps:
                ctx.level_gaps[level] = gaps
        if ctx.school_rule is None and not ctx.level_days:
            ctx.school_rule = "licence_expired"
        grades = terms.allowed_grades if terms.allowed_grades is not None else ALL_GRADES
        if covering:
            grades = grades & grades_for_levels(ctx.level_days)
        ctx.grades = frozenset(grades)
        contexts.append(ctx)
    return contexts


def _covered_days(licences: list[Licence], start: date, end: date
                  ) -> tuple[date | None, date | None, frozenset[date]]:
    """The days of [start, end] the licences cover: the first and the last (None, None: no day) and the days between
    them none covers (a gap between two licences).

    Every covered day pays, never a day without a licence: licences leaving a gap (one ending on the 10th, the next
    starting on the 16th) paid only their longest run of days — the 1st to the 10th of a school licensed on them
    were never paid."""
    covered: set[int] = set()
    for lic in licences:
        first = max(lic.valid_from, start)
        last = end if lic.valid_until is None else min(end, lic.valid_until)
        covered.update(range(first.toordinal(), last.toordinal() + 1))
    if not covered:
        return None, None, frozenset()
    lo, hi = min(covered), max(covered)
    return (date.fromordinal(lo), date.fromordinal(hi),
            frozenset(date.fromordinal(d) for d in range(lo, hi + 1) if d not in covered))


# --- SQL --------------------------------------------------------------------------------------------

def _digits_ok(dialect: str, col: str) -> str:
    if dialect == "postgresql":
        return f"{col} ~ '^[0-9]{{12}}$'"
    return f"(length({col}) = 12 AND {col} NOT GLOB '*[^0-9]*')"


def _iin_invalid_sql(dialect: str, col: str) -> str:
    """The IIN check digit (DESIGN.md §2) as a SQL condition, in integer arithmetic on the number; the
    CASE guards the cast of anything that is not 12 digits."""
    n = f"CAST({col} AS BIGINT)"
    d = [f"(({n} / {10 ** (11 - i)}) % 10)" for i in range(12)]
    s1 = " + ".join(f"{d[i]} * {i + 1}" for i in range(11))
    s2 = " + ".join(f"{d[i]} * {w}" for i, w in enumerate((3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)))
    return (f"(CASE WHEN NOT {_digits_ok(dialect, col)} THEN 1 "
            f"WHEN ({s1}) % 11 <> 10 THEN CASE WHEN ({s1}) % 11 = {d[11]} THEN 0 ELSE 1 END "
            f"WHEN ({s2}) % 11 <> 10 AND ({s2}) % 11 = {d[11]} THEN 0 ELSE 1 END) = 1")


#: An enrolment runs in the month: at least one day of it (withdrawn on the day of enrolment: no day at all —
#: NEDB keeps such rows; they count nowhere, neither here nor as another school's claim).
_ACTIVE = ("e.enrolled_on <= v.month_end AND (e.withdrawn_on IS NULL OR (e.withdrawn_on > v.month_start "
           "AND e.withdrawn_on > e.enrolled_on))")
_HERE = "e.school_bin = v.school_bin"
_LEVEL_SUFFIX = {"primary": "p", "basic": "b", "secondary": "s"}  # tmp_vact's per-level columns


def _gap_days_sql(act: str, grade: str, on: str, off: str) -> str:
    """Days of ``tmp_vgap`` (no licence covering the level of ``grade``) on which the enrolment ``on`` … the day
    before ``off`` runs: taken off the days counted over the licence days' first to last."""
    level = f"CASE WHEN {grade} <= 4 THEN 'p' WHEN {grade} <= 9 THEN 'b' ELSE 's' END"
    # An INTEGER, as the days it is taken from: PostgreSQL's COUNT is a BIGINT, whose SUM is a NUMERIC — and the
    # amount, norm × days ÷ days of the month, was then rounded to the nearest tiyn, not down.
    return (f"CAST((SELECT COUNT(*) FROM tmp_vgap q WHERE q.act_id = {act} AND q.lvl = {level} "  # noqa: S608
            f"AND q.day >= {on} AND ({off} IS NULL OR q.day < {off})) AS INTEGER)")


def _of_level(column: str) -> str:
    """The act's ``column`` for the level of the line's grade (``tmp_vact`` keeps one per level)."""
    return f"CASE WHEN f.grade <= 4 THEN v.{column}_p WHEN f.grade <= 9 THEN v.{column}_b ELSE v.{column}_s END"


def _days_sql(dialect: str, lo: str, hi: str, whole: str, on: str = "e.enrolled_on",
              off: str = "e.withdrawn_on") -> str:
    """Days of [lo, hi] on which the enrolment ``on`` … the day before ``off`` runs, ≥ 0.

    Nearly every enrolment spans the whole range (``whole`` days): a comparison settles it before any date
    arithmetic."""
    if dialect == "postgresql":
        part = f"GREATEST(0, LEAST({hi}, COALESCE({off} - 1, {hi})) - GREATEST({lo}, {on}) + 1)"
    else:  # SQLite keeps ISO date text: min()/max() compare it in date order; julianday() counts the days.
        part = (f"max(0, CAST(julianday(min({hi}, COALESCE(date({off}, '-1 day'), {hi}))) "
                f"- julianday(max({lo}, {on})) AS INTEGER) + 1)")
    return f"CASE WHEN {on} <= {lo} AND ({off} IS NULL OR {off} > {hi}) THEN {whole} ELSE {part} END"


def _age_bounds(year_start: int) -> tuple[int, int]:
    """rules.age_plausible as a range of one integer per line (see :func:`_age_implausible_sql`)."""
    return (year_start - AGE_OVER_GRADE_MAX - 1) * 10000 + 902, (year_start - AGE_OVER_GRADE_MIN) * 10000 + 901


def _age_implausible_sql(iin: str, grade: str, lo: str, hi: str) -> str:
    """rules.age_plausible in SQL: the birth date the IIN carries (YYMMDD, century digit) against the grade.

    Age on 1 September of year Y is Y − birth year − (1 if born after 1 September); with the birth date as the
    number YYYYMMDD, grade + MIN ≤ age ≤ grade + MAX is YYYYMMDD + grade·10⁴ within
    [(Y − MAX − 1)·10⁴ + 902, (Y − MIN)·10⁴ + 901] (:func:`_age_bounds`, per act). An unknown century digit is
    out of range, and so is a date no calendar has (month 13, 30 February, 29 February 2015): the IIN carries no
    birth date, and without one the age is never plausible (``rules.age_plausible``) — as a number, 20150230 sat
    between the bounds and such an IIN went unreviewed."""
    century = (f"CASE substr({iin}, 7, 1) WHEN '1' THEN 18000000 WHEN '2' THEN 18000000 WHEN '3' THEN 19000000 "
               f"WHEN '4' THEN 19000000 WHEN '5' THEN 20000000 WHEN '6' THEN 20000000 ELSE -1000000000 END")
    return (f"(({century} + CAST(substr({iin}, 1, 6) AS INTEGER) + {grade} * 10000) NOT BETWEEN {lo} AND {hi} "
            f"OR NOT {_calendar_date_sql(iin)})")


def _calendar_date_sql(iin: str) -> str:
    """The IIN's YYMMDD is a day of the calendar (its century from the 7th digit; an unknown one is caught by the
    age bounds): month 1–12, day 1 to the month's last — 30 + (m + m div 8) mod 2 days outside February, 28 or 29 in
    February by the Gregorian leap rule."""
    year = (f"(CASE WHEN substr({iin}, 7, 1) IN ('1', '2') THEN 1800 WHEN substr({iin}, 7, 1) IN ('3', '4') "
            f"THEN 1900 ELSE 2000 END + CAST(substr({iin}, 1, 2) AS INTEGER))")
    month, day = f"CAST(substr({iin}, 3, 2) AS INTEGER)", f"CAST(substr({iin}, 5, 2) AS INTEGER)"
    leap = f"CASE WHEN {year} % 4 = 0 AND ({year} % 100 <> 0 OR {year} % 400 = 0) THEN 1 ELSE 0 END"
    last = f"CASE WHEN {month} = 2 THEN 28 + {leap} ELSE 30 + ({month} + {month} / 8) % 2 END"
    return f"({month} BETWEEN 1 AND 12 AND {day} BETWEEN 1 AND {last})"


_SCHOOL_AND_CHECKSUM = (*SCHOOL_LEVEL_RULES, "iin_checksum")  # rules that outrank duplicate_line


def _tune_for_pass(conn: Connection) -> None:
    """Settings of the pass's transaction (every instrument's set-based pass)."""
    megabytes = int(current_app.config.get("VERIFY_WORK_MEM_MB", 256))
    if conn.dialect.name == "postgresql":
        # Sorts and hashes of a whole month fit in memory; JIT compilation costs more than it saves here.
        conn.execute(text(f"SET LOCAL work_mem = '{megabytes}MB'"))
        conn.execute(text("SET LOCAL jit = off"))
    else:
        # The working tables live in SQLite's temp schema, whose page cache is 2 MB by default: a month's
        # lines (≈40 MB at country scale) would go through a temporary file. The main schema's cache is left
        # as it is. A negative cache_size is in KiB.
        conn.execute(text(f"PRAGMA temp.cache_size = -{megabytes * 1024}"))


def _create_temp_tables(conn: Connection) -> None:
    """The pass's working tables, kept by the connection between passes and emptied after each: creating and
    dropping them every time (a single act's Verify contingent is one pass) cost DDL statements per act, and
    on SQLite every change of the schema makes the connection prepare its statements anew.

    ``tmp_vact``: one row per act (its school-level verdict, month, licence days and norms per level — ``_p``
    primary, ``_b`` basic, ``_s`` secondary). ``tmp_vline``: one
    row per line with its result, keyed by (act, line) so per-act sums and ranks read it in order; SQLite keeps
    it without a rowid (the key is the table). The dormitories' pass
    (app.dormitories.verification) shares ``tmp_vline`` and what reads and writes it."""
    _tune_for_pass(conn)
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vact (act_id INTEGER PRIMARY KEY, "
                      "school_rule VARCHAR(32), capacity INTEGER, month_start DATE, month_end DATE, "
                      "grade_mask INTEGER NOT NULL, pay_from_p DATE, pay_to_p DATE, pay_days_p INTEGER, "
                      "pay_from_b DATE, pay_to_b DATE, pay_days_b INTEGER, pay_from_s DATE, pay_to_s DATE, "
                      "pay_days_s INTEGER, month_days INTEGER NOT NULL, "
                      "year_start INTEGER NOT NULL, school_bin VARCHAR(12) NOT NULL, "
                      "norm_p BIGINT NOT NULL, norm_b BIGINT NOT NULL, norm_s BIGINT NOT NULL, "
                      "has_excl INTEGER NOT NULL, age_lo INTEGER NOT NULL, age_hi INTEGER NOT NULL, "
                      "gaps INTEGER NOT NULL, liquidated_on DATE)"))
    rowid = " WITHOUT ROWID" if conn.dialect.name == "sqlite" else ""
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vline (act_id INTEGER NOT NULL, id INTEGER NOT NULL, "
                      "iin VARCHAR(12) NOT NULL, rule VARCHAR(32), norm BIGINT NOT NULL, amount BIGINT NOT NULL, "
                      "paid_days INTEGER, review VARCHAR(32), registry_name VARCHAR(200), here_since DATE, "
                      f"PRIMARY KEY (act_id, id)){rowid}"))
    # ``tmp_vday``: every day of the pass's months, for the few lines whose days are counted one by one.
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vday (day DATE PRIMARY KEY)"))
    # ``tmp_vmerge``: the retired IINs the pass's lines claim and the surviving IIN of each (:func:`_stage_merges`).
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vmerge (iin VARCHAR(12) PRIMARY KEY, "
                      "person VARCHAR(12) NOT NULL)"))
    # ``tmp_vgap``: the days of an act's licence days per level (``tmp_vact``'s ``pay_from``…``pay_to``) that no
    # licence covering the level covers (licences leaving a gap; ``tmp_vact.gaps`` = 1 when the act has any).
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vgap (act_id INTEGER NOT NULL, "
                      f"lvl VARCHAR(1) NOT NULL, day DATE NOT NULL, PRIMARY KEY (act_id, lvl, day)){rowid}"))


def _empty_temp_tables(conn: Connection) -> None:
    """At the end of every pass (a rolled-back pass leaves them empty too: the rows were in its transaction)."""
    conn.execute(text("DELETE FROM tmp_vday"))
    conn.execute(text("DELETE FROM tmp_vmerge"))
    conn.execute(text("DELETE FROM tmp_vgap"))
    conn.execute(text("DELETE FROM tmp_vline"))
    conn.execute(text("DELETE FROM tmp_vact"))


def _d(conn: Connection, value: date | None):
    # SQLite keeps dates as ISO text (as SQLAlchemy's Date type writes them); PostgreSQL takes date objects.
    if value is None or conn.dialect.name == "postgresql":
        return value
    return value.isoformat()


def _stage_enrolments(conn: Connection, registry, name: str, columns: str, index: str,
                      iins: Callable[[], list[str]], row: Callable[[object], dict | None]) -> str:
    """The registry as a table the pass joins: a table adapter's own table, or — for an adapter that is not a
    table (a web service) — the enrolments of exactly ``iins()`` copied into the temporary table ``name``
    (``columns``: its definition; ``row``: an enrolment as a row with those columns, None to leave it out),
    indexed on ``index``; the caller drops it at the end of the pass. Shared by every instrument's pass."""
    table = getattr(registry, "table_name", None)
    if table:
        return table
    conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    conn.execute(text(f"CREATE TEMPORARY TABLE {name} ({columns})"))
    rows = [values for found in registry.enrollments_for(iins()).values() for e in found
            if (values := row(e)) is not None]
    if rows:
        conn.execute(text(f"INSERT INTO {name} ({', '.join(rows[0])}) "  # noqa: S608 - the caller's fixed names
                          f"VALUES ({', '.join(':' + key for key in rows[0])})"), rows)
    conn.execute(text(f"CREATE INDEX ix_{name}_iin ON {name} ({index})"))
    return name


def _stage_registry(conn: Connection, registry: StudentRegistry) -> str:
    """Copy the enrolments of the IINs being checked from a non-table adapter into a temporary table (dropped
    at the end of the pass).

    Only well-formed IINs of acts without a school-level exclusion are asked of the service, and only
    enrolments with a valid IIN are kept (as the importer keeps only those in the table)."""
    def iins() -> list[str]:
        return [r[0] for r in conn.execute(text(
            "SELECT DISTINCT l.iin FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id WHERE a.school_rule IS NULL "
            "UNION SELECT person FROM tmp_vmerge"))
            if is_valid_iin(r[0])]

    def row(e) -> dict | None:
        if not is_valid_iin(e.iin):
            return None
        return {"iin": e.iin, "full_name": e.full_name, "school_bin": e.school_bin, "grade": e.grade,
                "enrolled_on": _d(conn, e.enrolled_on), "withdrawn_on": _d(conn, e.withdrawn_on)}

    return _stage_enrolments(
        conn, registry, "tmp_vnedb", "iin VARCHAR(12) NOT NULL, full_name VARCHAR(200) NOT NULL, "
        "school_bin VARCHAR(12) NOT NULL, grade INTEGER NOT NULL, enrolled_on DATE NOT NULL, withdrawn_on DATE",
        "iin, school_bin, enrolled_on, withdrawn_on, grade, full_name", iins, row)


def _same(iin: str) -> str:
    return iin


def _merged(iin: str) -> str:
    """The child a line's IIN names: the surviving IIN of a merge NEDB made (``tmp_vmerge``), else the IIN itself."""
    return f"COALESCE((SELECT mm.person FROM tmp_vmerge mm WHERE mm.iin = {iin}), {iin})"  # noqa: S608


def _stage_merges(conn: Connection) -> Callable[[str], str]:
    """The IINs NEDB merged into another (app.registry.merges) that lines of the pass claim, into ``tmp_vmerge``: a
    line claiming a retired IIN is judged as the surviving child — the statements join NEDB, find a student's copies in
    one act and count students on the survivor. Returns how the statements name a line's child (the IIN itself when
    no line of the pass claims a retired IIN, the statements then exactly as without merges)."""
    conn.execute(text("INSERT INTO tmp_vmerge (iin, person) SELECT DISTINCT m.retired_iin, m.surviving_iin "
                      "FROM nedb_iin_merge m JOIN act_line l ON l.iin = m.retired_iin "
                      "WHERE l.act_id IN (SELECT act_id FROM tmp_vact)"))
    return _merged if conn.execute(text("SELECT 1 FROM tmp_vmerge LIMIT 1")).first() else _same


_AGE = _age_implausible_sql("iin", "grade", "age_lo", "age_hi")
_RESULT = ("SELECT act_id, id, iin, rule, norm, "  # from a row of line facts with its rule (alias-free columns)
           "CASE WHEN rule IS NOT NULL THEN 0 WHEN paid_days >= month_days THEN norm "
           "ELSE norm * paid_days / month_days END AS amount, "
           "CASE WHEN rule IS NULL THEN paid_days END AS paid_days, "
           "CASE WHEN rule IS NOT NULL THEN NULL "
           f"WHEN full_name = here_name AND NOT {_AGE} AND days_attended <= month_days_here THEN NULL "
           "ELSE substr(NULLIF("
           "CASE WHEN full_name <> here_name THEN ',name' ELSE '' END || "
           f"CASE WHEN {_AGE} THEN ',age' ELSE '' END || "
           "CASE WHEN days_attended > month_days_here THEN ',days' ELSE '' END, ''), 2) END AS review, "
           # NEDB's name stays on a line the official excluded after review (decided after this statement, on these
           # values: _apply_review_exclusions): the evidence of the decision.
           "CASE WHEN rule IS NULL AND full_name <> here_name THEN here_name END "
           "AS registry_name, here_since ")
_COLUMNS = "act_id, id, iin, rule, norm, amount, paid_days, review, registry_name, here_since"
_MANY = "*"  # rule placeholder of a line with several NEDB rows, decided by the general statement


def _fence(dialect: str) -> str:
    """Keeps a subquery a subquery: merged into the outer query, its rule would be computed anew for every
    column that reads it."""
    return " LIMIT -1 OFFSET 0" if dialect == "sqlite" else " OFFSET 0"


def _lines_sql(dialect: str, nedb: str, person: Callable[[str], str] = _same) -> str:
    """One statement: every line of the acts in ``tmp_vact`` with its rule, amount, paid days and review, into
    ``tmp_vline`` — one pass over the lines, each joined to its IIN's NEDB rows through the covering index
    (the same probe per line as the reference scan of the core lookup).

    Nearly every student has one NEDB row: the statement decides the line from that row alone, in the
    precedence of ``RULES`` (the common case — enrolled here over the days a licence covers the line's level,
    grade as claimed, level covered — tested first). A line whose IIN has several NEDB rows gets a placeholder
    rule and is decided by :func:`_general_sql`, which weighs all of them; this keeps the general case's per-row
    work (a dozen conditional sums) off the other 99 % of lines. SQLite inserts one row per NEDB row and a second
    row of the same line turns it into the placeholder (no grouping: SQLite would copy every column of every row
    into its aggregate); PostgreSQL groups per line (a hash aggregate) and counts the rows."""
    line_cols = (f"f.id, f.act_id, {person('f.iin')} AS iin, f.grade, f.full_name, f.days_attended, v.school_rule, "
                 "v.school_bin, "
                 "v.month_start, v.month_end, v.month_days, v.grade_mask, "
                 # The days a licence covers the line's level (NULL: no day; level_not_covered by the mask).
                 f"{_of_level('pay_from')} AS pay_from, {_of_level('pay_to')} AS pay_to, "
                 f"{_of_level('pay_days')} AS pay_days, "
                 "v.age_lo, v.age_hi, v.gaps, v.liquidated_on AS liq, v.year_start AS ys, "
                 "CASE WHEN f.grade <= 4 THEN v.norm_p WHEN f.grade <= 9 THEN v.norm_b ELSE v.norm_s END AS norm")
    joined = (f"FROM act_line f JOIN tmp_vact v ON v.act_id = f.act_id LEFT JOIN {nedb} e ON e.iin = {person('f.iin')} "  # noqa: S608
              "AND v.school_rule IS NULL WHERE f.act_id IN (SELECT act_id FROM tmp_vact)")
    if dialect == "sqlite":
        source = (f"SELECT {line_cols}, e.iin AS e_iin, e.school_bin AS e_bin, e.enrolled_on AS e_on, "  # noqa: S608
                  f"e.withdrawn_on AS e_off, e.grade AS e_grade, e.full_name AS e_name {joined}")
        found, none, many = "e_iin IS NOT NULL", "e_iin IS NULL", ""
    else:
        source = (f"SELECT {line_cols}, COUNT(e.iin) AS n, MAX(e.school_bin) AS e_bin, MAX(e.enrolled_on) AS e_on, "  # noqa: S608
                  "MAX(e.withdrawn_on) AS e_off, MAX(e.grade) AS e_grade, MAX(e.full_name) AS e_name "
                  f"{joined} GROUP BY f.id, v.act_id{_fence(dialect)}")
        found, none, many = "n = 1", "n = 0", f"WHEN n > 1 THEN '{_MANY}' "
    runs = "(e_off IS NULL OR e_off > e_on)"  # an enrolment of no day runs nowhere (see _ACTIVE)
    in_grade = _in_grade_sql("e_grade", "e_off", "grade", "ys", "g.id")
    here = (f"{found} AND e_bin = school_bin AND e_on <= month_end AND (e_off IS NULL OR e_off > month_start) "
            f"AND {runs}")
    pay_days = (f"({_days_sql(dialect, 'pay_from', 'pay_to', 'pay_days', 'e_on', 'e_off')} - CASE WHEN g.gaps = 0 "
                f"THEN 0 ELSE {_gap_days_sql('g.act_id', 'g.grade', 'g.e_on', 'g.e_off')} END)")
    ruled = (
        "SELECT act_id, id, iin, grade, full_name, days_attended, norm, month_days, age_lo, age_hi, "  # noqa: S608
        "e_name AS here_name, e_on AS here_since, "
        f"CASE WHEN {here} THEN {_days_sql(dialect, 'month_start', 'month_end', 'month_days', 'e_on', 'e_off')} "
        "ELSE 0 END AS month_days_here, "
        f"CASE WHEN {here} THEN {pay_days} ELSE 0 END AS paid_days, "
        # The common case first: enrolled here over all the days a licence covers the level, grade as claimed,
        # level covered.
        f"CASE WHEN {found} AND e_bin = school_bin AND e_on <= pay_from AND (e_off IS NULL OR e_off > pay_to) "
        f"AND {in_grade} AND (grade_mask >> grade) & 1 = 1 THEN NULL "
        "WHEN school_rule IS NOT NULL THEN school_rule "
        f"WHEN {none} THEN CASE WHEN {_iin_invalid_sql(dialect, 'iin')} THEN 'iin_checksum' ELSE 'not_in_nedb' END "
        + many +
        "WHEN e_bin <> school_bin THEN CASE WHEN e_on <= month_end AND (e_off IS NULL OR e_off > month_start) "
        f"AND {runs} THEN 'other_school' ELSE 'not_registered' END "
        "WHEN e_off <= month_start THEN 'withdrawn' "
        f"WHEN e_on > month_end OR NOT {runs} THEN 'not_registered' "
        f"WHEN NOT {in_grade} THEN 'grade_mismatch' "
        "WHEN (grade_mask >> grade) & 1 = 0 THEN 'level_not_covered' "
        # Enrolled here only on days no licence covers the level (it starts after or ends before them) — or only
        # from the school's liquidation day on (liquidated: the licence days end the day before it).
        f"WHEN {pay_days} = 0 THEN CASE WHEN liq IS NOT NULL AND e_on >= liq THEN 'liquidated' "
        "ELSE 'licence_expired' END "
        f"END AS rule FROM ({source}) g" + _fence(dialect))
    insert = f"INSERT INTO tmp_vline ({_COLUMNS}) {_RESULT} FROM ({ruled}) r"  # noqa: S608
    if dialect == "sqlite":  # a second NEDB row of a line: the general case decides it
        return f"{insert} WHERE true ON CONFLICT (act_id, id) DO UPDATE SET rule = '{_MANY}'"
    return insert


def _grade_day_sql(nedb: str, day: str, iin: str = "f.iin", grade: str = "f.grade",
                   school: str = "v.school_bin", year_start: str = "v.year_start", line_id: str = "f.id") -> str:
    """``day`` is a day of ``grade`` at ``school`` for the student ``iin``: of NEDB's enrolments there running that
    day, the one enrolled last (the higher grade on the same date) is in ``grade``. Two rows of one pupil in two grades
    running on one day (a move up a grade entered without closing the old row) are one day of the newer grade — never
    a day paid on both grades' lines."""
    runs = "{t}.enrolled_on <= {d} AND ({t}.withdrawn_on IS NULL OR {t}.withdrawn_on > {d})"
    return (f"EXISTS (SELECT 1 FROM {nedb} d WHERE d.iin = {iin} AND d.school_bin = {school} "  # noqa: S608
            f"AND {_in_grade_sql('d.grade', 'd.withdrawn_on', grade, year_start, line_id)} "
            f"AND {runs.format(t='d', d=day)} "
            f"AND NOT EXISTS (SELECT 1 FROM {nedb} d2 WHERE d2.iin = d.iin "
            f"AND d2.school_bin = d.school_bin AND d2.grade <> d.grade AND {runs.format(t='d2', d=day)} "
            "AND (d2.enrolled_on > d.enrolled_on OR (d2.enrolled_on = d.enrolled_on AND d2.grade > d.grade))))")


def _line_grade_sql() -> str:
    """The NEDB row ``e`` was in the grade of the line ``f`` in the month of its act ``v`` (:func:`_in_grade_sql`)."""
    return _in_grade_sql("e.grade", "e.withdrawn_on", "f.grade", "v.year_start", "f.id")


def _days_here_sql(dialect: str, nedb: str, lo: str, hi: str, whole: str, gaps: bool = False,
                   in_grade: bool = False, person: Callable[[str], str] = _same) -> str:
    """Days of [lo, hi] (expressions over the act's row ``v`` and the line ``f``) NEDB has the line's student at
    the act's school, each day counted once (an aggregate over the line's NEDB rows ``e``). One enrolment here: its
    days. Several (a re-enrolment, or a corrected enrolment date imported as a new row beside the old one): the
    days of ``tmp_vday`` on which any of them runs — overlapping rows never pay a day twice, and a month never
    holds more days than it has.

    ``in_grade``: only the days here in the line's grade count (the days a line is *paid*; :func:`_grade_day_sql`). A
    pupil NEDB moves from grade 4 to grade 5 on the 16th (two rows) was paid every day of the month at the grade the
    line claimed: the 1st–15th at basic's norm though NEDB had a fourth-grader then — and paid even when no licence or
    contract covered primary. A line is paid the days of its own grade; the other grade's days are the school's
    second line of the student (not a ``duplicate_line``: see :func:`_duplicates_sql`)."""
    here_active = f"{_HERE} AND {_ACTIVE}"
    days = _days_sql(dialect, lo, hi, whole)
    skip = ""
    if gaps:  # the licence days' gaps (``tmp_vgap``) are not paid
        days += (" - CASE WHEN v.gaps = 0 THEN 0 ELSE "
                 f"{_gap_days_sql('v.act_id', 'f.grade', 'e.enrolled_on', 'e.withdrawn_on')} END")
        skip = (" AND (v.gaps = 0 OR NOT EXISTS (SELECT 1 FROM tmp_vgap q WHERE q.act_id = v.act_id AND q.lvl = "
                "CASE WHEN f.grade <= 4 THEN 'p' WHEN f.grade <= 9 THEN 'b' ELSE 's' END AND q.day = t.day))")
    # One enrolment here in the month: its days (in the line's grade: only if it is in that grade).
    of_grade = f" AND {_line_grade_sql()}" if in_grade else ""
    one = f"SUM(CASE WHEN {here_active}{of_grade} THEN {days} ELSE 0 END)"
    any_row = (f"SELECT 1 FROM {nedb} d WHERE d.iin = {person('f.iin')} AND d.school_bin = v.school_bin "  # noqa: S608
               "AND d.enrolled_on <= t.day "
               "AND (d.withdrawn_on IS NULL OR d.withdrawn_on > t.day)")
    on_day = _grade_day_sql(nedb, "t.day", person("f.iin")) if in_grade else f"EXISTS ({any_row})"
    union = f"(SELECT COUNT(*) FROM tmp_vday t WHERE t.day >= {lo} AND t.day <= {hi}{skip} AND {on_day})"  # noqa: S608
    return f"(CASE WHEN SUM(CASE WHEN {here_active} THEN 1 ELSE 0 END) > 1 THEN {union} ELSE {one} END)"


def _here_name_sql(dialect: str, here_active: str) -> str:
    """NEDB's name of the line's student here (an aggregate over the line's NEDB rows ``e``): the line's own name when
    one of the enrolments here in the month has it, else the name of the latest of them — NEDB's current word.

    A student with two rows here (a re-enrolment; a name corrected on the new row, "Ахметов" → "Ахмедов") was
    compared with the greatest of the names in collation order: the act's name, NEDB's current one, was marked as
    differing from the old row's and the act could not be accepted until an official cleared a false alarm."""
    on = "to_char(e.enrolled_on, 'YYYY-MM-DD')" if dialect == "postgresql" else "CAST(e.enrolled_on AS TEXT)"
    return (f"CASE WHEN MAX(CASE WHEN {here_active} AND e.full_name = f.full_name THEN 1 ELSE 0 END) = 1 "
            f"THEN f.full_name ELSE substr(MAX(CASE WHEN {here_active} THEN {on} || e.full_name END), 11) END")


def _handed_over_sql(dialect: str, nedb: str) -> str:
    """NEDB's enrolments (``nedb``: the table or the staged copy) as the pass reads them: a row whose last day is the
    first day of the same student's row at another school ends the day before — that day is the new school's.

    Registries often record a transfer on one day at both schools: left A on the 15th (A's row runs through the 15th:
    ``withdrawn_on`` the 16th) and entered B on the 15th. Read as written, the two rows share the 15th, and both
    schools' lines were ``double_enrolment`` — the child's whole month lost to both for one day of paperwork. A
    transfer pays the day of the move once, to the school the child entered (as a transfer recorded on one day —
    withdrawn from A on the 16th, enrolled at B on the 16th — already pays the 16th to B: the school where the child
    is from that day on is the one teaching it). Only that exact shape: the other row starts on this row's last day
    and after this row's first (a row of that one day at both schools is still a double enrolment), and runs on a day
    of its own. Two rows sharing two days or more are ``double_enrolment`` as before. The repricing of decided months
    reads NEDB the same way (:func:`app.registry.adapter.handed_over`). Columns: those every statement of the pass
    reads (the staged copy has no others)."""
    if dialect == "postgresql":
        last = "(n.withdrawn_on - 1)"
    else:
        last = "date(n.withdrawn_on, '-1 day')"
    return (f"(SELECT n.iin, n.full_name, n.school_bin, n.grade, n.enrolled_on, CASE WHEN n.withdrawn_on IS NOT NULL "  # noqa: S608
            f"AND EXISTS (SELECT 1 FROM {nedb} o WHERE o.iin = n.iin AND o.school_bin <> n.school_bin "
            f"AND o.enrolled_on = {last} AND o.enrolled_on > n.enrolled_on "
            f"AND (o.withdrawn_on IS NULL OR o.withdrawn_on > o.enrolled_on)) THEN {last} ELSE n.withdrawn_on END "
            f"AS withdrawn_on FROM {nedb} n)")


def _general_sql(dialect: str, nedb: str, person: Callable[[str], str] = _same) -> str:
    """The lines :func:`_lines_sql` left to the general case (several NEDB rows), decided over all their rows:
    enrolled here (with this grade), elsewhere, withdrawn from here before the month, since when, NEDB's name,
    days here in the month and within the days a licence covers the line's level — then the rule in precedence
    order (``RULES``).

    double_enrolment: an enrolment here and one elsewhere share a day of the month (both active in the month
    and overlapping each other ⇒ a common day). A transfer — withdrawn there on the day enrolled here — shares
    none, and each school is paid its own days. Decided by NEDB alone, so the same on both schools' acts
    whichever is verified first. (The self-join of NEDB runs only for a line active here *and* elsewhere: a
    ``CASE`` evaluates lazily.)"""
    here_active = f"{_HERE} AND {_ACTIVE}"
    line_grade = _line_grade_sql()
    paid_days = _days_here_sql(dialect, nedb, _of_level("pay_from"), _of_level("pay_to"), _of_level("pay_days"),
                               gaps=True, in_grade=True, person=person)
    grade_days = _days_here_sql(dialect, nedb, "v.month_start", "v.month_end", "v.month_days", in_grade=True,
                                person=person)
    facts = (
        f"SELECT f.id, f.act_id, {person('f.iin')} AS iin, f.grade, f.full_name, f.days_attended, v.month_days, "  # noqa: S608
        "v.age_lo, v.age_hi, "
        "CASE WHEN f.grade <= 4 THEN v.norm_p WHEN f.grade <= 9 THEN v.norm_b ELSE v.norm_s END AS norm, "
        f"{_here_name_sql(dialect, here_active)} AS here_name, "
        f"MIN(CASE WHEN {here_active} THEN e.enrolled_on END) AS here_since, "
        f"{_days_here_sql(dialect, nedb, 'v.month_start', 'v.month_end', 'v.month_days', person=person)} "
        "AS month_days_here, "
        f"{paid_days} AS paid_days, "
        "CASE "
        f"WHEN MAX(CASE WHEN {here_active} THEN 1 ELSE 0 END) = 0 THEN "
        f"CASE WHEN MAX(CASE WHEN e.school_bin <> v.school_bin AND {_ACTIVE} THEN 1 ELSE 0 END) = 1 "
        "THEN 'other_school' "
        f"WHEN MAX(CASE WHEN {_HERE} AND e.withdrawn_on <= v.month_start THEN 1 ELSE 0 END) = 1 THEN 'withdrawn' "
        "ELSE 'not_registered' END "
        f"WHEN MAX(CASE WHEN e.school_bin <> v.school_bin AND {_ACTIVE} THEN 1 ELSE 0 END) = 1 AND EXISTS ("
        f"SELECT 1 FROM {nedb} h JOIN {nedb} o ON o.iin = h.iin AND o.school_bin <> h.school_bin "
        f"AND {_ACTIVE.replace('e.', 'o.')} "
        "AND (o.withdrawn_on IS NULL OR h.enrolled_on < o.withdrawn_on) "
        "AND (h.withdrawn_on IS NULL OR o.enrolled_on < h.withdrawn_on) "
        f"WHERE h.iin = {person('f.iin')} AND h.school_bin = v.school_bin AND {_ACTIVE.replace('e.', 'h.')}) "
        "THEN 'double_enrolment' "
        f"WHEN MAX(CASE WHEN {here_active} AND {line_grade} THEN 1 ELSE 0 END) = 0 THEN 'grade_mismatch' "
        # Its grade's row runs in the month only on days NEDB has the pupil in a newer row of another grade (counted
        # only for a pupil NEDB has here in two grades this month).
        f"WHEN CASE WHEN MAX(CASE WHEN {here_active} AND NOT {line_grade} THEN 1 ELSE 0 END) = 0 THEN 1 "
        f"ELSE {grade_days} END = 0 THEN 'grade_mismatch' "
        "WHEN (v.grade_mask >> f.grade) & 1 = 0 THEN 'level_not_covered' "
        f"WHEN {paid_days} = 0 THEN CASE WHEN v.liquidated_on IS NOT NULL AND MIN(CASE WHEN {here_active} "
        "THEN e.enrolled_on END) >= v.liquidated_on THEN 'liquidated' ELSE 'licence_expired' END "
        "END AS rule "
        f"FROM tmp_vline m JOIN act_line f ON f.id = m.id JOIN tmp_vact v ON v.act_id = m.act_id "
        f"JOIN {nedb} e ON e.iin = {person('f.iin')} WHERE m.rule = '{_MANY}' GROUP BY f.id, v.act_id"
        + _fence(dialect))
    sets = ", ".join(f"{c} = x.{c}" for c in _COLUMNS.split(", ")[3:])
    return (f"UPDATE tmp_vline SET {sets} FROM ({_RESULT} FROM ({facts}) r) x "  # noqa: S608
            "WHERE tmp_vline.act_id = x.act_id AND tmp_vline.id = x.id")


def _duplicates_sql(nedb: str, person: Callable[[str], str] = _same) -> str:
    """duplicate_line: of the copies of a student in one act, the one to keep is the valid one — grade as in
    NEDB, level covered, name as in NEDB — and only then the lower line number (the copies are then alike).
    The school's order of lines cannot make a wrong copy win. The IINs an act lists twice come from one
    ordered scan of the (act_id, iin) index; only their lines are ranked.

    Copies in *different* grades that NEDB each has here in the month (moved from grade 4 to grade 5 on the 16th)
    are not copies: each line is paid the days of its own grade (:func:`_days_here_sql`), so the first of each such
    grade is kept — one line could not carry both grades' days at their own norms."""
    here_active = f"{_HERE} AND {_ACTIVE}"
    ranking = "ORDER BY here_grade DESC, grade_covered DESC, name_differs, line_no"
    return (
        f"WITH dupsets AS (SELECT a.act_id, {person('a.iin')} AS iin FROM act_line a "  # noqa: S608
        "WHERE a.act_id IN (SELECT act_id FROM tmp_vact "
        f"WHERE school_rule IS NULL) GROUP BY a.act_id, {person('a.iin')} HAVING COUNT(*) > 1) "
        f"SELECT act_id, id FROM (SELECT x.act_id, x.id, x.here_grade, "
        f"ROW_NUMBER() OVER (PARTITION BY x.act_id, x.iin {ranking}) AS copy_no, "
        f"ROW_NUMBER() OVER (PARTITION BY x.act_id, x.iin, x.grade {ranking}) AS grade_copy_no FROM ("
        f"SELECT l.act_id, l.id, {person('l.iin')} AS iin, l.grade, l.line_no, "
        f"MAX(CASE WHEN {here_active} "
        f"AND {_in_grade_sql('e.grade', 'e.withdrawn_on', 'l.grade', 'v.year_start', 'l.id')} "
        "THEN 1 ELSE 0 END) AS here_grade, "
        "(v.grade_mask >> l.grade) & 1 AS grade_covered, "
        f"CASE WHEN MAX(CASE WHEN {here_active} AND e.full_name = l.full_name THEN 1 ELSE 0 END) = 1 THEN 0 ELSE 1 END "
        "AS name_differs "
        f"FROM dupsets s JOIN act_line l ON l.act_id = s.act_id AND {person('l.iin')} = s.iin "
        "JOIN tmp_vact v ON v.act_id = l.act_id "
        f"LEFT JOIN {nedb} e ON e.iin = {person('l.iin')} GROUP BY l.id, v.act_id) x) ranked "
        "WHERE copy_no > 1 AND NOT (here_grade = 1 AND grade_copy_no = 1)"
    )


def verify_acts(acts: Sequence[Act], registry: StudentRegistry | None = None, *,
                conn: Connection | None = None, run_act_ids: Sequence[int] | None = None,
                on_step: Callable[[str], None] | None = None) -> dict[int, VerificationSummary]:
    """Verify the lines of ``acts`` in place (outcome, rule_code, amount, paid days, review) and the acts' totals.

    Runs in the caller's transaction. ``run_act_ids`` (every act of a month-wide pass) no longer changes
    anything: no outcome depends on other acts (see the module's docstring); it is accepted for callers.

    The statements do not grow with the acts or lines: the acts' context in, every line's result computed
    into ``tmp_vline`` by one statement, the few duplicate copies and over-capacity places decided there, the
    per-act sums read from it, and ``act_line`` written once, only where a result changed.
    """
    del run_act_ids
    registry = registry or student_registry()
    if not acts:
        return {}
    db.session.flush()
    conn = conn or db.session.connection()
    dialect = conn.dialect.name
    contexts = school_contexts(acts)
    step = on_step or (lambda label: None)
    _create_temp_tables(conn)
    nedb = None
    try:
        excl = _acts_with_exclusions([c.act_id for c in contexts])
        act_rows = [{"act_id": c.act_id, "school_rule": c.school_rule, "capacity": c.terms.design_capacity,
                     "ms": _d(conn, c.start), "me": _d(conn, c.end), "mask": sum(1 << g for g in c.grades),
                     **_level_days_row(conn, c), "days": c.end.day, "ys": _year_start(c), "bin": c.school_bin,
                     "np": int(c.norms.get("primary", 0)), "nb": int(c.norms.get("basic", 0)),
                     "ns": int(c.norms.get("secondary", 0)), "excl": int(c.act_id in excl),
                     "lo": _age_bounds(_year_start(c))[0], "hi": _age_bounds(_year_start(c))[1],
                     "gaps": int(bool(c.level_gaps)), "liq": _d(conn, c.liquidated_on)} for c in contexts]
        conn.execute(text("INSERT INTO tmp_vact VALUES (:act_id, :school_rule, :capacity, :ms, :me, :mask, "
                          ":pf_p, :pt_p, :pd_p, :pf_b, :pt_b, :pd_b, :pf_s, :pt_s, :pd_s, "
                          ":days, :ys, :bin, :np, :nb, :ns, :excl, :lo, :hi, :gaps, :liq)"), act_rows)
        gap_rows = [{"act_id": c.act_id, "lvl": _LEVEL_SUFFIX[level], "day": _d(conn, day)}
                    for c in contexts for level, days in c.level_gaps.items() for day in sorted(days)]
        if gap_rows:
            conn.execute(text("INSERT INTO tmp_vgap VALUES (:act_id, :lvl, :day)"), gap_rows)
        days = sorted({c.start.toordinal() + i for c in contexts for i in range(c.end.day)})
        conn.execute(text("INSERT INTO tmp_vday VALUES (:day)"), [{"day": _d(conn, date.fromordinal(d))} for d in days])
        if dialect == "postgresql":
            conn.execute(text("ANALYZE tmp_vact"))
        person = _stage_merges(conn)
        nedb = _stage_registry(conn, registry)
        step("staged")
        conn.execute(text(_lines_sql(dialect, nedb, person)))
        # NEDB with a transfer recorded on one day at both schools handed over: a line of such a student has several
        # rows, so the general statement, the copies and the places read it; the first statement's lines never need it
        handed = _handed_over_sql(dialect, nedb)
        conn.execute(text(_general_sql(dialect, handed, person)))
        if dialect == "postgresql":
            conn.execute(text("ANALYZE tmp_vline"))
        _clear_name_variants(conn)
        _decide_duplicates(conn, handed, person)
        changes = _apply_review_exclusions(conn) if excl else {}
        spans = _school_spans(conn, handed)
        _decide_level_places(conn, {c.act_id: c.terms.places_by_level for c in contexts}, spans)
        step("rules")
        summaries = _sum_and_write(conn, step, {c.act_id: c.terms.amount_cap_tiyn for c in contexts},
                                   {c.act_id: c.terms.design_capacity for c in contexts},
                                   spans=spans)
        for act_id, changed in changes.items():
            summaries[act_id].review_changes = changed
    finally:
        _empty_temp_tables(conn)
        if nedb == "tmp_vnedb":
            conn.execute(text("DROP TABLE tmp_vnedb"))
    return summaries


def _level_days_row(conn: Connection, c: ActContext) -> dict:
    """``tmp_vact``'s per-level licence days of the act: first, last and how many (None: no day)."""
    row = {}
    for level, suffix in _LEVEL_SUFFIX.items():
        first, last = c.level_days.get(level, (None, None))
        row |= {f"pf_{suffix}": _d(conn, first), f"pt_{suffix}": _d(conn, last),
                f"pd_{suffix}": (last - first).days + 1 if first else None}
    return row


def _year_start(c: ActContext) -> int:
    return c.period.year if c.period.month >= 9 else c.period.year - 1


def _acts_with_exclusions(act_ids: list[int]) -> set[int]:
    """Acts in which the official excluded a line after review (their lines look the decision up)."""
    from app.acts.models import ActLineReview

    found: set[int] = set()
    for i in range(0, len(act_ids), _CHUNK):
        found.update(db.session.scalars(select(ActLineReview.act_id).distinct().where(
            ActLineReview.act_id.in_(act_ids[i : i + _CHUNK]), ActLineReview.decision == "exclude")))
    return found


def _apply_review_exclusions(conn: Connection) -> dict[int, list[dict]]:
    """``review_excluded``: the lines an official excluded after review, while the exclusion holds for the values the
    line has now (:func:`app.acts.review.exclusion_changes` decides, in Python — the fingerprint of the values is
    the same on every database). Runs on the lines the rules before it left paid, with NEDB's name and days and the
    review codes as they would be shown (after :func:`_clear_name_variants`), before the places are given out: an
    excluded line holds none. Few rows (the excluded lines of the acts with such a decision). Returns per act what
    changed, for the audit trail."""
    from app.acts.review import exclusion_changes

    rows = conn.execute(text(
        "SELECT x.id, x.act_id, l.line_no, l.iin, l.grade, l.full_name, l.days_attended, x.registry_name, "
        "x.paid_days, x.review AS review_codes, r.codes AS decided_codes, r.basis, l.rule_code AS was_rule, "
        "l.review_codes AS was_review_codes, l.registry_name AS was_registry_name, l.paid_days AS was_paid_days "
        "FROM act_line_review r JOIN tmp_vact v ON v.act_id = r.act_id "
        "JOIN tmp_vline x ON x.act_id = r.act_id AND x.id = r.line_id JOIN act_line l ON l.id = r.line_id "
        "WHERE v.has_excl = 1 AND r.decision = 'exclude' AND x.rule IS NULL ORDER BY x.act_id, l.line_no")).all()
    holding, changes = exclusion_changes(rows)
    act_of = {row.id: row.act_id for row in rows}
    if holding:
        # NEDB's name stays on the line (the evidence of the decision); the days and codes are the paid line's.
        conn.execute(text("UPDATE tmp_vline SET rule = 'review_excluded', amount = 0, paid_days = NULL, review = NULL "
                          "WHERE act_id = :act_id AND id = :id"),
                     [{"act_id": act_of[i], "id": i} for i in holding])
    return changes


_EXCLUDE = ("UPDATE tmp_vline SET rule = :rule, amount = 0, paid_days = NULL, review = NULL, registry_name = NULL "
            "WHERE act_id = :act_id AND id = :id")


def _decide_duplicates(conn: Connection, nedb: str, person: Callable[[str], str] = _same) -> None:
    """Every copy but the one kept becomes ``duplicate_line`` — unless a rule of higher precedence (the school's,
    an invalid IIN) already excludes it."""
    later = [{"act_id": a, "id": i, "rule": "duplicate_line"}
             for a, i in conn.execute(text(_duplicates_sql(nedb, person)))]
    if later:
        conn.execute(text(_EXCLUDE + " AND (rule IS NULL OR rule NOT IN ("
                          + ", ".join(f"'{code}'" for code in _SCHOOL_AND_CHECKSUM) + "))"), later)


def _decide_over_capacity(conn: Connection, places: Mapping[int, int | None],
                          summaries: dict[int, VerificationSummary], rule: str, spans: str | None = None) -> bool:
    """over_capacity: in the acts with more accepted lines than ``places`` (act → places), the places go to the
    students here longest (``tmp_vline.here_since``: since when NEDB has them here; for a dormitory, the move-in
    date); the most recent are not paid (ties by IIN). Registry and act dates only — the order of the act's
    lines plays no part. ``rule``: the code the instrument gives it.

    ``spans``: a query of ``(id, first_day, last_day)`` rows per line of the act ``:a`` — the days of the month
    the line holds a place (a school's: NEDB's enrolment here; a dormitory's: the bed's dates); a line with
    several rows holds the days of each. A place is then counted on the days it is held, not once per line (see
    :func:`_without_a_place`). Without it each line holds a place for the whole month."""
    crowded = [(act_id, limit) for act_id, limit in places.items()
               if limit is not None and summaries[act_id].accepted > limit]
    out = []
    for act_id, limit in crowded:
        ids = conn.execute(text("SELECT id FROM tmp_vline WHERE act_id = :a AND rule IS NULL "
                                "ORDER BY here_since, iin, id"), {"a": act_id}).scalars().all()
        out += [{"act_id": act_id, "id": i, "rule": rule}
                for i in _without_a_place(ids, limit, _held_days(conn, spans, act_id, ids))]
    if out:
        conn.execute(text(_EXCLUDE), out)
    return bool(out)


def _held_days(conn: Connection, spans: str | None, act_id: int, ids: Sequence[int]) -> dict[int, set[date]] | None:
    """The days each of ``ids`` holds a place (``spans``, see :func:`_decide_over_capacity`); None: no spans."""
    if spans is None:
        return None
    held: dict[int, set[date]] = defaultdict(set)
    for line_id, first, last in conn.execute(text(spans), {"a": act_id}):
        first, last = _as_date(first), _as_date(last)
        held[line_id].update(first + timedelta(days=n) for n in range((last - first).days + 1))
    every_day = set().union(*held.values()) if held else set()
    return {i: held.get(i) or every_day for i in ids}  # a line with no span row holds every day (never fewer)


def _without_a_place(ids: Sequence[int], limit: int, held: Mapping[int, set[date]] | None) -> list[int]:
    """The lines of ``ids`` (in the order places are given) that get no place of ``limit``. Counted by lines
    when ``held`` is None; otherwise a line gets a place when, on each of its days, fewer than ``limit`` lines
    given a place before it hold one. A place given up on the 10th and taken on the 11th is one place: counting
    lines, the student who came on the 11th was refused a free place (a school or a dormitory at its limit with
    a mid-month withdrawal and a mid-month arrival)."""
    if held is None:
        return list(ids[limit:])
    taken: dict[date, int] = {}  # day → places held by the lines given one so far
    refused = []
    for line_id in ids:
        days = held[line_id]
        if any(taken.get(day, 0) >= limit for day in days):
            refused.append(line_id)
            continue
        for day in days:
            taken[day] = taken.get(day, 0) + 1
    return refused


def _school_spans(conn: Connection, nedb: str) -> str:
    """The days of the month a school's line holds a place: the days NEDB has its student here in its grade (``nedb``:
    the table or the staged copy) — the spans query of :func:`_decide_over_capacity`. In its grade: a pupil moved up
    a grade mid-month has a line per grade, each holding its own grade's days (the days it is paid), never the same
    day twice. A line whose student NEDB has here in its grade only: its enrolments' spans; one with rows here in
    another grade too: day by day (:func:`_grade_day_sql`)."""
    day_before = ("date(n.withdrawn_on, '-1 day')" if conn.dialect.name == "sqlite"
                  else "(n.withdrawn_on - 1)")
    lines = "FROM tmp_vline x JOIN tmp_vact v ON v.act_id = x.act_id JOIN act_line l ON l.id = x.id "
    other_grade = (f"EXISTS (SELECT 1 FROM {nedb} o WHERE o.iin = x.iin AND o.school_bin = v.school_bin "  # noqa: S608
                   f"AND NOT {_in_grade_sql('o.grade', 'o.withdrawn_on', 'l.grade', 'v.year_start', 'l.id')})")
    return ("SELECT x.id, CASE WHEN n.enrolled_on > v.month_start THEN n.enrolled_on ELSE v.month_start END, "  # noqa: S608
            f"CASE WHEN n.withdrawn_on IS NULL OR n.withdrawn_on > v.month_end THEN v.month_end ELSE {day_before} END "
            f"{lines}JOIN {nedb} n ON n.iin = x.iin AND n.school_bin = v.school_bin "
            "WHERE x.act_id = :a AND x.rule IS NULL AND n.enrolled_on <= v.month_end "
            f"AND (n.withdrawn_on IS NULL OR n.withdrawn_on > v.month_start) AND NOT {other_grade} "
            f"UNION ALL SELECT x.id, t.day, t.day {lines}JOIN tmp_vday t ON t.day >= v.month_start "
            f"AND t.day <= v.month_end WHERE x.act_id = :a AND x.rule IS NULL AND {other_grade} "
            f"AND {_grade_day_sql(nedb, 't.day', 'x.iin', 'l.grade', line_id='l.id')}")


def _as_date(value) -> date:
    """A date as the database gives it (SQLite keeps dates as ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


_LEVEL_SQL = "CASE WHEN l.grade <= 4 THEN 'primary' WHEN l.grade <= 9 THEN 'basic' ELSE 'secondary' END"


def _decide_level_places(conn: Connection, level_places: Mapping[int, tuple[tuple[str, int], ...] | None],
                         spans: str | None = None) -> None:
    """over_contracted_places: a contract gives places per level (primary, basic, secondary), and an act pays
    at most that many students of each level on any day. In a level with more accepted lines than its places,
    the places go to the students here longest (NEDB's ``here_since``), then by IIN, as for the design capacity —
    registry dates only, never the order of the act's lines — and a place is counted on the days it is held
    (``spans``: see :func:`_decide_over_capacity`), so a place freed by a withdrawal on the 10th pays the pupil who
    came on the 11th. Decided before the design capacity: the contract's places are the narrower bound, and the
    building's capacity then counts what the contract pays. Acts without a contract (``None``) have no places
    per level."""
    bounded = {act_id: dict(places) for act_id, places in level_places.items() if places is not None}
    acts = sorted(bounded)
    crowded: list[tuple[int, str, int]] = []
    for i in range(0, len(acts), _CHUNK):
        chunk = acts[i : i + _CHUNK]
        for act_id, level, count in conn.execute(text(
                f"SELECT x.act_id, {_LEVEL_SQL} AS lvl, COUNT(*) FROM tmp_vline x JOIN act_line l ON l.id = x.id "  # noqa: S608
                f"WHERE x.rule IS NULL AND x.act_id IN ({', '.join(str(int(a)) for a in chunk)}) "
                f"GROUP BY x.act_id, {_LEVEL_SQL}")):
            if count > bounded[act_id].get(level, 0):
                crowded.append((act_id, level, bounded[act_id].get(level, 0)))
    out = []
    for act_id, level, limit in crowded:
        ids = conn.execute(text(f"SELECT x.id FROM tmp_vline x JOIN act_line l ON l.id = x.id "  # noqa: S608
                                f"WHERE x.act_id = :a AND x.rule IS NULL AND {_LEVEL_SQL} = :level "
                                "ORDER BY x.here_since, x.iin, x.id"), {"a": act_id, "level": level}).scalars().all()
        out += [{"act_id": act_id, "id": i, "rule": "over_contracted_places"}
                for i in _without_a_place(ids, limit, _held_days(conn, spans, act_id, ids))]
    if out:
        conn.execute(text(_EXCLUDE), out)


def _clear_name_variants(conn: Connection) -> None:
    """The SQL marks every name that differs from NEDB's byte for byte; names equal after normalising case,
    spaces and Cyrillic/Kazakh letter variants (rules.normalise_name) are the same name. Few rows: the
    comparison runs here, where Unicode case folding is the same on every database."""
    rows = conn.execute(text("SELECT x.act_id, x.id, l.full_name, x.registry_name, x.review FROM tmp_vline x "
                             "JOIN act_line l ON l.id = x.id WHERE x.registry_name IS NOT NULL")).all()
    fixes = []
    for act_id, line_id, claimed, registered, codes in rows:
        if normalise_name(claimed) == normalise_name(registered):
            rest = ",".join(c for c in (codes or "").split(",") if c and c != "name")
            fixes.append({"act_id": act_id, "id": line_id, "codes": rest or None})
    if fixes:
        conn.execute(text("UPDATE tmp_vline SET review = :codes, registry_name = NULL "
                          "WHERE act_id = :act_id AND id = :id"), fixes)


def _write_lines(conn: Connection) -> None:
    """``act_line`` written once from the results, only the rows whose result changes."""
    postgres = conn.dialect.name == "postgresql"
    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"
    # PostgreSQL joins the results to act_line by hashing act_line and reading tmp_vline in its own order (the
    # lines statement's hash order): fed in line id order, the updates walk act_line's pages in the order they
    # lie on disk instead of at random — 3.0–3.4 s → 2.1–2.5 s for 563,000 lines (benchmarks/README.md).
    results = "(SELECT * FROM tmp_vline ORDER BY id OFFSET 0)" if postgres else "tmp_vline"
    conn.execute(text(
        "UPDATE act_line SET outcome = CASE WHEN x.rule IS NULL THEN 'accepted' ELSE 'excluded' END, "  # noqa: S608
        "rule_code = x.rule, amount_tiyn = x.amount, paid_days = x.paid_days, review_codes = x.review, "
        "registry_name = x.registry_name "
        f"FROM {results} x WHERE act_line.id = x.id AND (act_line.outcome <> CASE WHEN x.rule IS NULL THEN 'accepted' "
        f"ELSE 'excluded' END OR act_line.rule_code {distinct} x.rule OR act_line.amount_tiyn <> x.amount "
        f"OR act_line.paid_days {distinct} x.paid_days OR act_line.review_codes {distinct} x.review "
        f"OR act_line.registry_name {distinct} x.registry_name)"))


def _sum_and_write(conn: Connection, step: Callable[[str], None], caps: Mapping[int, int | None],
                   places: Mapping[int, int | None], over_capacity: str = "over_capacity",
                   spans: str | None = None) -> dict[int, VerificationSummary]:
    """The end of every instrument's pass over ``tmp_vline``: the per-act sums (``caps``: act → amount cap), the
    places over capacity (``places``: act → places; ``over_capacity``: the instrument's code; ``spans``: see
    :func:`_decide_over_capacity`) with the sums read again if any, ``act_line`` written once where a result
    changed, and the acts' totals."""
    summaries = _summaries(conn, caps)
    if _decide_over_capacity(conn, places, summaries, over_capacity, spans):
        summaries = _summaries(conn, caps)
    step("amounts")
    _write_lines(conn)
    _write_totals(conn, summaries, places)
    step("written")
    return summaries


def _write_totals(conn: Connection, summaries: Mapping[int, VerificationSummary],
                  places: Mapping[int, int | None]) -> None:
    """The acts' totals, one executemany — with the capacity (``places``) the lines were verified against, pinned on
    the act: once the act is decided, its month is repriced with it (:mod:`app.acts.terms`), never with the school's
    capacity as edited since."""
    conn.execute(text("UPDATE act SET total_lines = :total, accepted_lines = :accepted, amount_tiyn = :amount, "
                      "withheld_tiyn = :withheld, total_students = :students, accepted_students = :accepted_students, "
                      "verified_capacity = :capacity, capacity_pinned = TRUE WHERE id = :id"),
                 [{"id": act_id, "total": s.total, "accepted": s.accepted, "amount": s.amount_tiyn,
                   "withheld": s.withheld_tiyn, "students": s.students, "accepted_students": s.accepted_students,
                   "capacity": places.get(act_id)}
                  for act_id, s in summaries.items()])


def _summaries(conn: Connection, caps: Mapping[int, int | None]) -> dict[int, VerificationSummary]:
    """Per-act sums of ``tmp_vline`` for the acts in ``caps`` (act → the contract's amount cap, None: none).
    ``norm`` is what a line would earn if paid in full for what it claims, so withheld = Σ norm − Σ amount. The
    distinct students (IINs) of the lines and of the accepted lines are counted in the same pass over the act's rows
    (the analytics flags read them; counting them there from every line of a year cost seconds per page view)."""
    summaries = {act_id: VerificationSummary(0, 0, 0, 0, 0, {}) for act_id in caps}
    for act_id, count, accepted, amount_sum, norm_sum, students, accepted_students in conn.execute(text(
            "SELECT act_id, COUNT(*), SUM(CASE WHEN rule IS NULL THEN 1 ELSE 0 END), COALESCE(SUM(amount), 0), "
            "COALESCE(SUM(norm), 0), COUNT(DISTINCT iin), COUNT(DISTINCT CASE WHEN rule IS NULL THEN iin END) "
            "FROM tmp_vline GROUP BY act_id")):
        s = summaries[act_id]
        s.total, s.accepted, s.excluded = int(count), int(accepted), int(count) - int(accepted)
        s.students, s.accepted_students = int(students), int(accepted_students)
        s.amount_tiyn = int(amount_sum)  # excluded lines earn 0
        # Withheld: the claimed grade's norm of every excluded line, and the pro-rated days not enrolled.
        s.withheld_tiyn = int(norm_sum) - int(amount_sum)
    for act_id, rule, count in conn.execute(text(
            "SELECT act_id, rule, COUNT(*) FROM tmp_vline WHERE rule IS NOT NULL GROUP BY act_id, rule "
            "ORDER BY act_id, rule")):
        summaries[act_id].by_rule[rule] = int(count)
    for act_id, cap in caps.items():
        s = summaries[act_id]
        if cap is not None and s.amount_tiyn > cap:
            # The contract's cap: the act is paid at most the cap; the rest is withheld.
            s.capped_tiyn = s.amount_tiyn - cap
            s.amount_tiyn = cap
            s.withheld_tiyn += s.capped_tiyn
    return summaries


def verify_act(act: Act, registry: StudentRegistry | None = None) -> VerificationSummary:
    """Verify one act in the current transaction (the Verify contingent service task)."""
    summary = verify_acts([act], registry)[act.id]
    db.session.expire(act)
    return summary


def load_acts(act_ids: Sequence[int]) -> list[Act]:
    return list(db.session.scalars(select(Act).options(selectinload(Act.school)).where(Act.id.in_(act_ids))
                                   .order_by(Act.id)))


__all__ = ["SCHOOL_LEVEL_RULES", "VerificationSummary", "academic_year", "enrolled_days", "level_for_grade",
           "load_acts", "month_bounds", "norms_for", "prorated", "verify_act", "verify_acts"]
