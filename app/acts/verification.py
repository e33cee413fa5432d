"""Verify contingent: every line of one act — or of every act of a month — against the registries.

Set-based: the lines to check are copied into a temporary table and each rule is ONE ``UPDATE`` over
all of them, joining the indexed registry tables (``nedb_enrollment``, other acts' lines). The number of
statements is the same for one act of 30 lines and for 850 acts with 555,000 lines. Rules run in the
precedence order of :data:`app.acts.rules.RULES`; a line keeps the first rule that excludes it.

Registries behind an adapter that is not a table (the HTTP adapter) are first staged into a temporary
table with the enrolments of exactly the IINs in question, then the same SQL runs against it.

Order-independence: a line's outcome depends only on its own act, the registries and the act's terms —
never on other acts' lines or statuses. A student claimed by two schools in one month is decided by NEDB:
each school is paid the days NEDB has the student there (a transfer pays both, each its own days); days
at both schools at once are ``double_enrolment`` on both. So the same act gets the same result whichever
act is verified first, and per act or month-wide; a re-verification clears an exclusion only when the
registry facts behind it changed, and an official's ``exclude`` review decision is re-applied every time.

Pay by days, every act: a line earns norm × paid days / days in the month, paid days being the days NEDB
has the student at this school, within the days the school's licence covers (a licence starting or ending
inside the month pays the covered days only).

``days_attended`` stays on the act as the school's statement and is reconciled, not trusted: payment never
reads it (NEDB's dates decide), but a claim of more days than NEDB's enrolment makes the line *needs
review* (``days``) — the school states attendance the registry contradicts, which an official should see.
Removing the field would hide that contradiction and change the act form other processes use.
"""

from __future__ import annotations

from calendar import monthrange
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import selectinload

from app.acts.models import Act, StudentNorm
from app.acts.rules import (
    AGE_OVER_GRADE_MAX,
    AGE_OVER_GRADE_MIN,
    SCHOOL_LEVEL_RULES,
    grades_for_levels,
    level_for_grade,
    normalise_name,
)
from app.acts.terms import ActTerms, terms_for
from app.extensions import db
from app.registry.adapter import StudentRegistry, student_registry
from app.registry.identifiers import is_valid_iin
from app.registry.models import BusinessRecord, Licence

ALL_GRADES = frozenset(range(1, 12))
_CHUNK = 900  # bound parameters per IN (…) stay under SQLite's limit


def month_bounds(period: date) -> tuple[date, date]:
    return period.replace(day=1), period.replace(day=monthrange(period.year, period.month)[1])


def academic_year(period: date) -> str:
    start = period.year if period.month >= 9 else period.year - 1
    return f"{start}/{start + 1}"


@dataclass
class VerificationSummary:
    total: int
    accepted: int
    excluded: int
    amount_tiyn: int
    withheld_tiyn: int
    by_rule: dict[str, int]
    capped_tiyn: int = 0  # part of the accepted lines' sum above the contract's amount cap


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
    school_id: int
    school_bin: str
    period: date
    start: date
    end: date
    terms: ActTerms
    school_rule: str | None = None
    grades: frozenset[int] = ALL_GRADES
    norms: dict[str, int] = field(default_factory=dict)
    pay_from: date | None = None  # the licence's days within the month (defaults: the whole month)
    pay_to: date | None = None


def _school_contexts(acts: Sequence[Act]) -> list[ActContext]:
    """What the school-level rules decide, from the business register, licences and the act's terms."""
    bins = sorted({a.school.bin for a in acts})
    business: dict[str, BusinessRecord] = {}
    licences: dict[str, list[Licence]] = defaultdict(list)
    for i in range(0, len(bins), _CHUNK):
        chunk = bins[i : i + _CHUNK]
        found = db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin.in_(chunk)))
        business.update({b.bin: b for b in found})
        for lic in db.session.scalars(select(Licence).where(Licence.bin.in_(chunk))):
            licences[lic.bin].append(lic)
    norms_by_period: dict[date, dict[str, int]] = {}
    contexts = []
    for act in acts:
        start, end = month_bounds(act.period)
        if act.period not in norms_by_period:
            norms_by_period[act.period] = norms_for(act.period)
        terms = terms_for(act)
        # A contract carries its own region's urban/rural norms; other acts use the year's norm table.
        norms = dict(terms.norms_tiyn) if terms.norms_tiyn else norms_by_period[act.period]
        ctx = ActContext(act.id, act.school_id, act.school.bin, act.period, start, end, terms, norms=norms)
        record = business.get(act.school.bin)
        own = licences.get(act.school.bin, [])
        # No record, no payment: the school-level rules decide on the registries' evidence, and missing
        # evidence excludes as failing evidence does (no_business_record, no_licence).
        if record is None:
            ctx.school_rule = "no_business_record"
        elif record.status != "active" or not record.is_education:
            ctx.school_rule = "non_education_org"
        elif not own:
            ctx.school_rule = "no_licence"
        covering = [lic for lic in own
                    if lic.valid_from <= end and (lic.valid_until is None or lic.valid_until >= start)]
        ctx.pay_from, ctx.pay_to = _covered_days(covering, start, end, terms.licence_valid_until)
        if ctx.school_rule is None and ctx.pay_from is None:
            ctx.school_rule = "licence_expired"
        grades = terms.allowed_grades if terms.allowed_grades is not None else ALL_GRADES
        if covering:
            grades = grades & grades_for_levels({lvl for lic in covering for lvl in lic.level_set})
        ctx.grades = frozenset(grades)
        contexts.append(ctx)
    return contexts


def _covered_days(licences: list[Licence], start: date, end: date,
                  terms_until: date | None) -> tuple[date | None, date | None]:
    """The days of [start, end] the licences cover, as one run of days (None, None: no day).

    Licences rarely leave a gap inside a month; if they do, only the longest run of covered days is paid —
    never a day without a licence."""
    if terms_until is not None:
        end = min(end, terms_until)
    covered = set()
    for lic in licences:
        first = max(lic.valid_from, start)
        last = end if lic.valid_until is None else min(end, lic.valid_until)
        covered.update(range(first.toordinal(), last.toordinal() + 1))
    best: tuple[int, int] | None = None
    for day in sorted(covered):
        if day - 1 not in covered:
            run_end = day
            while run_end + 1 in covered:
                run_end += 1
            if best is None or run_end - day > best[1] - best[0]:
                best = (day, run_end)
    if best is None:
        return None, None
    return date.fromordinal(best[0]), date.fromordinal(best[1])


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


_ACTIVE = "e.enrolled_on <= v.month_end AND (e.withdrawn_on IS NULL OR e.withdrawn_on > v.month_start)"
_HERE = "e.school_bin = v.school_bin"


def _days_sql(dialect: str, lo: str, hi: str, whole: str) -> str:
    """Days of [lo, hi] on which enrolment ``e`` runs (enrolled_on … the day before withdrawn_on), ≥ 0.

    Nearly every enrolment spans the whole range (``whole`` days): a comparison settles it before any date
    arithmetic."""
    if dialect == "postgresql":
        part = f"GREATEST(0, LEAST({hi}, COALESCE(e.withdrawn_on - 1, {hi})) - GREATEST({lo}, e.enrolled_on) + 1)"
    else:  # SQLite keeps ISO date text: min()/max() compare it in date order; julianday() counts the days.
        part = (f"max(0, CAST(julianday(min({hi}, COALESCE(date(e.withdrawn_on, '-1 day'), {hi}))) "
                f"- julianday(max({lo}, e.enrolled_on)) AS INTEGER) + 1)")
    return (f"CASE WHEN e.enrolled_on <= {lo} AND (e.withdrawn_on IS NULL OR e.withdrawn_on > {hi}) "
            f"THEN {whole} ELSE {part} END")


def _age_implausible_sql(iin: str, grade: str, year_start: str) -> str:
    """rules.age_plausible in SQL: the birth date the IIN carries (YYMMDD, century digit) against the grade."""
    born = (f"(CASE substr({iin}, 7, 1) WHEN '1' THEN 1800 WHEN '2' THEN 1800 WHEN '3' THEN 1900 "
            f"WHEN '4' THEN 1900 WHEN '5' THEN 2000 WHEN '6' THEN 2000 END + CAST(substr({iin}, 1, 2) AS INTEGER))")
    age = f"({year_start} - {born} - CASE WHEN CAST(substr({iin}, 3, 4) AS INTEGER) > 901 THEN 1 ELSE 0 END)"
    return (f"(CASE WHEN {born} IS NULL THEN 1 WHEN {age} < {grade} + {AGE_OVER_GRADE_MIN} THEN 1 "
            f"WHEN {age} > {grade} + {AGE_OVER_GRADE_MAX} THEN 1 ELSE 0 END) = 1")


def _create_temp_tables(conn: Connection) -> None:
    """The pass's act table, kept by the connection between passes and emptied after each: creating and
    dropping it every time (a single act's Verify contingent is one pass) cost DDL statements per act, and
    on SQLite every change of the schema makes the connection prepare its statements anew."""
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vact (act_id INTEGER PRIMARY KEY, "
                      "school_rule VARCHAR(32), capacity INTEGER, month_start DATE, month_end DATE, "
                      "grade_mask INTEGER NOT NULL, pay_from DATE, pay_to DATE, month_days INTEGER NOT NULL, "
                      "year_start INTEGER NOT NULL, pay_days INTEGER)"))


def _empty_temp_tables(conn: Connection) -> None:
    """At the end of every pass (a rolled-back pass leaves it empty too: the rows were in its transaction)."""
    conn.execute(text("DELETE FROM tmp_vact"))


def _d(conn: Connection, value: date | None):
    # SQLite keeps dates as ISO text (as SQLAlchemy's Date type writes them); PostgreSQL takes date objects.
    if value is None or conn.dialect.name == "postgresql":
        return value
    return value.isoformat()


def _stage_registry(conn: Connection, registry: StudentRegistry) -> str:
    """Copy the enrolments of the IINs being checked from a non-table adapter into a temporary table (dropped
    at the end of the pass).

    Only well-formed IINs of acts without a school-level exclusion are asked of the service, and only
    enrolments with a valid IIN are kept (as the importer keeps only those in the table)."""
    table = getattr(registry, "table_name", None)
    if table:
        return table
    conn.execute(text("DROP TABLE IF EXISTS tmp_vnedb"))
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vnedb (iin VARCHAR(12) NOT NULL, full_name VARCHAR(200) NOT NULL, "
                      "school_bin VARCHAR(12) NOT NULL, grade INTEGER NOT NULL, enrolled_on DATE NOT NULL, "
                      "withdrawn_on DATE)"))
    iins = [r[0] for r in conn.execute(text(
        "SELECT DISTINCT l.iin FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id WHERE a.school_rule IS NULL"))
        if is_valid_iin(r[0])]
    rows = [{"iin": e.iin, "full_name": e.full_name, "school_bin": e.school_bin, "grade": e.grade,
             "enrolled_on": _d(conn, e.enrolled_on), "withdrawn_on": _d(conn, e.withdrawn_on)}
            for found in registry.enrollments_for(iins).values() for e in found if is_valid_iin(e.iin)]
    if rows:
        conn.execute(text("INSERT INTO tmp_vnedb VALUES (:iin, :full_name, :school_bin, :grade, :enrolled_on, "
                          ":withdrawn_on)"), rows)
    conn.execute(text("CREATE INDEX ix_tmp_vnedb_iin ON tmp_vnedb (iin)"))
    return "tmp_vnedb"


def _verification_sql(dialect: str, nedb: str, norm_sql: str) -> str:
    """One statement: every rule for every line of the acts in ``tmp_vact``, written to ``act_line``.

    Each CTE is a set: the lines, the NEDB facts of each line from ONE join over the iin index (with the
    days enrolled here in the month and within the licence's days), the copies of a student listed twice,
    the few lines enrolled here and elsewhere on a common day, then the rule of each line in precedence
    order (``RULES``), over_capacity by NEDB enrolment date, the amount by days, and the identity checks
    that need review. Only rows whose result changes are written.
    """
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    here_active = f"{_HERE} AND {_ACTIVE}"
    # Composed from code constants and int() values only.
    return (
        "WITH lines AS (SELECT l.id, l.act_id, l.line_no, l.iin, l.grade, l.full_name, l.days_attended, "  # noqa: S608
        "o.bin AS school_bin, a.month_start, a.month_end, a.school_rule, a.grade_mask, a.capacity, a.month_days, "
        f"a.year_start, {norm_sql} AS norm "
        "FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id JOIN organisation o ON o.id = l.school_id "
        "WHERE l.act_id IN (SELECT act_id FROM tmp_vact)), "  # lets SQLite use the act_line (act_id, …) index
        # NEDB facts per line: enrolled anywhere; active here (with this grade); active elsewhere; withdrawn
        # from here before the month; since when here; NEDB's name; days here in the month and within the
        # licence's days. (Joined from the base tables, not the CTE, so the planner knows the sizes.)
        "facts AS (SELECT f.id, "
        f"MAX(CASE WHEN {here_active} THEN 1 ELSE 0 END) AS here_active, "
        f"MAX(CASE WHEN {here_active} AND e.grade = f.grade THEN 1 ELSE 0 END) AS here_grade, "
        f"MAX(CASE WHEN e.school_bin <> v.school_bin AND {_ACTIVE} THEN 1 ELSE 0 END) AS else_active, "
        f"MAX(CASE WHEN {_HERE} AND e.withdrawn_on <= v.month_start THEN 1 ELSE 0 END) AS here_withdrawn, "
        f"MIN(CASE WHEN {here_active} THEN e.enrolled_on END) AS here_since, "
        f"MAX(CASE WHEN {here_active} THEN e.full_name END) AS here_name, "
        f"SUM(CASE WHEN {here_active} THEN {_days_sql(dialect, 'v.month_start', 'v.month_end', 'v.month_days')} "
        "ELSE 0 END) "
        "AS month_days_here, "
        f"SUM(CASE WHEN {here_active} THEN {_days_sql(dialect, 'v.pay_from', 'v.pay_to', 'v.pay_days')} ELSE 0 END) "
        "AS paid_days "
        "FROM act_line f JOIN (SELECT t.act_id, t.month_start, t.month_end, t.pay_from, t.pay_to, t.month_days, "
        "t.pay_days, "
        "so.bin AS school_bin FROM tmp_vact t JOIN act sa ON sa.id = t.act_id "
        "JOIN organisation so ON so.id = sa.school_id "
        f"WHERE t.school_rule IS NULL) v ON v.act_id = f.act_id JOIN {nedb} e ON e.iin = f.iin "
        "WHERE f.act_id IN (SELECT act_id FROM tmp_vact WHERE school_rule IS NULL) GROUP BY f.id), "
        # duplicate_line: of the copies of a student in one act, the one to keep is the valid one — grade as
        # in NEDB, level covered, name as in NEDB — and only then the lower line number (the copies are then
        # alike). The school's order of lines cannot make a wrong copy win. (A hash aggregate finds the few
        # IINs listed twice; only their lines are ranked.)
        "dupsets AS (SELECT act_id, iin FROM act_line WHERE act_id IN (SELECT act_id FROM tmp_vact) "
        "GROUP BY act_id, iin HAVING COUNT(*) > 1), "
        "dupranked AS (SELECT v.id, ROW_NUMBER() OVER (PARTITION BY v.act_id, v.iin ORDER BY "
        "COALESCE(f.here_grade, 0) DESC, (v.grade_mask >> v.grade) & 1 DESC, "
        "CASE WHEN v.full_name = f.here_name THEN 0 ELSE 1 END, v.line_no) AS copy_no "
        "FROM lines v JOIN dupsets s ON s.act_id = v.act_id AND s.iin = v.iin LEFT JOIN facts f ON f.id = v.id), "
        # double_enrolment: an enrolment here and one elsewhere share a day of the month (both active in
        # the month and overlapping each other ⇒ a common day). A transfer — withdrawn there on the day
        # enrolled here — shares none, and each school is paid its own days. Decided by NEDB alone, so the
        # same on both schools' acts whichever is verified first.
        "doubled AS (SELECT DISTINCT v.id FROM lines v JOIN facts f ON f.id = v.id AND f.here_active = 1 "
        f"AND f.else_active = 1 JOIN {nedb} e ON e.iin = v.iin AND {_HERE} AND {_ACTIVE} "
        f"JOIN {nedb} o ON o.iin = v.iin AND o.school_bin <> v.school_bin "
        "AND o.enrolled_on <= v.month_end AND (o.withdrawn_on IS NULL OR o.withdrawn_on > v.month_start) "
        "AND (o.withdrawn_on IS NULL OR e.enrolled_on < o.withdrawn_on) "
        "AND (e.withdrawn_on IS NULL OR o.enrolled_on < e.withdrawn_on)), "
        "reviewed AS (SELECT line_id, decision FROM act_line_review "
        "WHERE act_id IN (SELECT act_id FROM tmp_vact)), "
        # Precedence as in RULES. NEDB holds valid IINs only (the importer rejects others), so a line found
        # there has a valid IIN: the check digit is computed only for lines NEDB does not know.
        "ruled AS (SELECT v.id, v.act_id, v.iin, v.grade, v.full_name, v.days_attended, v.capacity, v.norm, "
        "v.month_days, v.year_start, f.here_since, f.here_name, f.month_days_here, f.paid_days, CASE "
        "WHEN v.school_rule IS NOT NULL THEN v.school_rule "
        f"WHEN f.id IS NULL AND {_iin_invalid_sql(dialect, 'v.iin')} THEN 'iin_checksum' "
        "WHEN dr.copy_no > 1 THEN 'duplicate_line' "
        "WHEN f.id IS NULL THEN 'not_in_nedb' "
        "WHEN f.here_active = 0 THEN CASE WHEN f.else_active = 1 THEN 'other_school' "
        "WHEN f.here_withdrawn = 1 THEN 'withdrawn' ELSE 'not_registered' END "
        "WHEN d.id IS NOT NULL THEN 'double_enrolment' "
        "WHEN f.here_grade = 0 THEN 'grade_mismatch' "
        "WHEN (v.grade_mask >> v.grade) & 1 = 0 THEN 'level_not_covered' "
        # Enrolled here only on days no licence covers (the licence starts after or ends before them).
        "WHEN f.paid_days = 0 THEN 'licence_expired' "
        # The official's exclusion stands until the line itself is submitted anew.
        "WHEN rv.decision = 'exclude' THEN 'review_excluded' END AS rule "
        "FROM lines v LEFT JOIN facts f ON f.id = v.id LEFT JOIN dupranked dr ON dr.id = v.id "
        "LEFT JOIN doubled d ON d.id = v.id LEFT JOIN reviewed rv ON rv.line_id = v.id), "
        # over_capacity: in the acts with more accepted lines than places, the places go to the students
        # enrolled here longest according to NEDB; the most recent enrolments are not paid (ties by IIN).
        # Registry data only — the school's own order of lines plays no part.
        "crowded AS (SELECT act_id FROM ruled WHERE rule IS NULL AND capacity IS NOT NULL "
        "GROUP BY act_id, capacity HAVING COUNT(*) > capacity), "
        "ranked AS (SELECT r.id, r.capacity, ROW_NUMBER() OVER (PARTITION BY r.act_id "
        "ORDER BY r.here_since, r.iin) AS place "
        "FROM ruled r JOIN crowded c ON c.act_id = r.act_id WHERE r.rule IS NULL), "
        "decided AS (SELECT r.*, CASE WHEN k.place > k.capacity THEN 'over_capacity' ELSE r.rule END AS final "
        "FROM ruled r LEFT JOIN ranked k ON k.id = r.id), "
        # Amount by days: norm × paid days / days in the month (integer tiyn, rounded down). Identity checks
        # on paid lines only: they mark the line for review and withhold nothing by themselves.
        "result AS (SELECT id, final AS rule, "
        "CASE WHEN final IS NOT NULL THEN 0 WHEN paid_days >= month_days THEN norm "
        "ELSE norm * paid_days / month_days END AS amount, "
        "CASE WHEN final IS NULL THEN paid_days END AS paid_days, "
        "CASE WHEN final IS NULL THEN substr(NULLIF("
        "CASE WHEN full_name <> here_name THEN ',name' ELSE '' END || "
        f"CASE WHEN {_age_implausible_sql('iin', 'grade', 'year_start')} THEN ',age' ELSE '' END || "
        "CASE WHEN days_attended > month_days_here THEN ',days' ELSE '' END, ''), 2) END AS review, "
        "CASE WHEN final IS NULL AND full_name <> here_name THEN here_name END AS registry_name "
        "FROM decided) "
        "UPDATE act_line SET outcome = CASE WHEN x.rule IS NULL THEN 'accepted' ELSE 'excluded' END, "
        "rule_code = x.rule, amount_tiyn = x.amount, paid_days = x.paid_days, review_codes = x.review, "
        "registry_name = x.registry_name "
        "FROM result x WHERE act_line.id = x.id AND (act_line.outcome <> CASE WHEN x.rule IS NULL THEN 'accepted' "
        f"ELSE 'excluded' END OR act_line.rule_code {distinct} x.rule OR act_line.amount_tiyn <> x.amount "
        f"OR act_line.paid_days {distinct} x.paid_days OR act_line.review_codes {distinct} x.review "
        f"OR act_line.registry_name {distinct} x.registry_name)"
    )


def verify_acts(acts: Sequence[Act], registry: StudentRegistry | None = None, *,
                conn: Connection | None = None, run_act_ids: Sequence[int] | None = None,
                on_step: Callable[[str], None] | None = None) -> dict[int, VerificationSummary]:
    """Verify the lines of ``acts`` in place (outcome, rule_code, amount, paid days, review) and the acts' totals.

    Runs in the caller's transaction. ``run_act_ids`` (every act of a month-wide pass) no longer changes
    anything: no outcome depends on other acts (see the module's docstring); it is accepted for callers.
    """
    del run_act_ids
    registry = registry or student_registry()
    if not acts:
        return {}
    db.session.flush()
    conn = conn or db.session.connection()
    dialect = conn.dialect.name
    contexts = _school_contexts(acts)
    step = on_step or (lambda label: None)
    if dialect == "postgresql":
        # Sorts and hashes of a whole month fit in memory; JIT compilation costs more than it saves here.
        conn.execute(text(f"SET LOCAL work_mem = '{int(current_app.config.get('VERIFY_WORK_MEM_MB', 256))}MB'"))
        conn.execute(text("SET LOCAL jit = off"))
    _create_temp_tables(conn)
    nedb = None
    try:
        act_rows = [{"act_id": c.act_id, "school_rule": c.school_rule, "capacity": c.terms.design_capacity,
                     "ms": _d(conn, c.start), "me": _d(conn, c.end), "mask": sum(1 << g for g in c.grades),
                     "pf": _d(conn, c.pay_from), "pt": _d(conn, c.pay_to), "days": c.end.day,
                     "ys": c.period.year if c.period.month >= 9 else c.period.year - 1,
                     "pd": (c.pay_to - c.pay_from).days + 1 if c.pay_from else None} for c in contexts]
        conn.execute(text("INSERT INTO tmp_vact VALUES (:act_id, :school_rule, :capacity, :ms, :me, :mask, :pf, :pt, "
                          ":days, :ys, :pd)"), act_rows)
        if dialect == "postgresql":
            conn.execute(text("ANALYZE tmp_vact"))
        nedb = _stage_registry(conn, registry)
        step("staged")
        conn.execute(text(_verification_sql(dialect, nedb, _norm_by_period_sql(contexts))))
        step("rules")
        _clear_name_variants(conn)
        step("amounts")
        summaries = _summaries(conn, contexts)
        conn.execute(text("UPDATE act SET total_lines = :total, accepted_lines = :accepted, amount_tiyn = :amount, "
                          "withheld_tiyn = :withheld WHERE id = :id"),
                     [{"id": act_id, "total": s.total, "accepted": s.accepted, "amount": s.amount_tiyn,
                       "withheld": s.withheld_tiyn} for act_id, s in summaries.items()])
        step("written")
    finally:
        _empty_temp_tables(conn)
        if nedb == "tmp_vnedb":
            conn.execute(text("DROP TABLE tmp_vnedb"))
    return summaries


def _clear_name_variants(conn: Connection) -> None:
    """The SQL marks every name that differs from NEDB's byte for byte; names equal after normalising case,
    spaces and Cyrillic/Kazakh letter variants (rules.normalise_name) are the same name. Few rows: the
    comparison runs here, where Unicode case folding is the same on every database."""
    rows = conn.execute(text("SELECT l.id, l.full_name, l.registry_name, l.review_codes FROM act_line l "
                             "JOIN tmp_vact a ON a.act_id = l.act_id WHERE l.registry_name IS NOT NULL")).all()
    fixes = []
    for line_id, claimed, registered, codes in rows:
        if normalise_name(claimed) == normalise_name(registered):
            rest = ",".join(c for c in (codes or "").split(",") if c and c != "name")
            fixes.append({"id": line_id, "codes": rest or None})
    if fixes:
        conn.execute(text("UPDATE act_line SET review_codes = :codes, registry_name = NULL WHERE id = :id"), fixes)


def _norm_by_period_sql(contexts: list[ActContext]) -> str:
    """The claimed grade's monthly norm per line (alias ``l``); norms depend only on the academic year."""
    by_year: dict[tuple, list[int]] = defaultdict(list)
    for c in contexts:
        by_year[(c.norms.get("primary", 0), c.norms.get("basic", 0), c.norms.get("secondary", 0))].append(c.act_id)
    if len(by_year) == 1:
        p, b, s = next(iter(by_year))
        return f"CASE WHEN l.grade <= 4 THEN {int(p)} WHEN l.grade <= 9 THEN {int(b)} ELSE {int(s)} END"
    parts = []
    for (p, b, s), ids in by_year.items():
        parts.append(f"WHEN l.act_id IN ({', '.join(str(int(i)) for i in ids)}) THEN "
                     f"CASE WHEN l.grade <= 4 THEN {int(p)} WHEN l.grade <= 9 THEN {int(b)} ELSE {int(s)} END")
    return f"CASE {' '.join(parts)} ELSE 0 END"


def _summaries(conn: Connection, contexts: list[ActContext]) -> dict[int, VerificationSummary]:
    summaries = {c.act_id: VerificationSummary(0, 0, 0, 0, 0, {}) for c in contexts}
    for act_id, rule, count, norm_sum, amount_sum in conn.execute(text(
            f"SELECT l.act_id, l.rule_code, COUNT(*), COALESCE(SUM({_norm_by_period_sql(contexts)}), 0), "  # noqa: S608
            "COALESCE(SUM(l.amount_tiyn), 0) FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id "
            "GROUP BY l.act_id, l.rule_code")):
        s = summaries[act_id]
        s.total += count
        if rule is None:
            s.accepted += count
            s.amount_tiyn += int(amount_sum)
            s.withheld_tiyn += int(norm_sum) - int(amount_sum)  # pro-rated days not enrolled
        else:
            s.excluded += count
            s.withheld_tiyn += int(norm_sum)
            s.by_rule[rule] = count
    for c in contexts:
        s = summaries[c.act_id]
        cap = c.terms.amount_cap_tiyn
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
