"""Verify contingent: every line of one act — or of every act of a month — against the registries.

Set-based: the lines to check are copied into a temporary table and each rule is ONE ``UPDATE`` over
all of them, joining the indexed registry tables (``nedb_enrollment``, other acts' lines). The number of
statements is the same for one act of 30 lines and for 850 acts with 555,000 lines. Rules run in the
precedence order of :data:`app.acts.rules.RULES`; a line keeps the first rule that excludes it.

Registries behind an adapter that is not a table (the HTTP adapter) are first staged into a temporary
table with the enrolments of exactly the IINs in question, then the same SQL runs against it.
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
from app.acts.rules import SCHOOL_LEVEL_RULES, grades_for_levels, level_for_grade
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
        # non_education_org: decided only on evidence — a school missing from an unimported register is not
        # accused; a liquidated BIN or a non-education main activity is.
        if record is not None and (record.status != "active" or not record.is_education):
            ctx.school_rule = "non_education_org"
        own = licences.get(act.school.bin, [])
        valid = [lic for lic in own if lic.valid_from <= start and (lic.valid_until is None or lic.valid_until >= end)]
        if ctx.school_rule is None and ((own and not valid) or
                                        (terms.licence_valid_until is not None and terms.licence_valid_until < end)):
            ctx.school_rule = "licence_expired"
        grades = terms.allowed_grades if terms.allowed_grades is not None else ALL_GRADES
        if valid:
            grades = grades & grades_for_levels({lvl for lic in valid for lvl in lic.level_set})
        ctx.grades = frozenset(grades)
        contexts.append(ctx)
    return contexts


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


def _create_temp_tables(conn: Connection) -> None:
    """The pass's act tables, kept by the connection between passes and emptied after each: creating and
    dropping them every time (a single act's Verify contingent is one pass) cost eight DDL statements per
    act, and on SQLite every change of the schema makes the connection prepare its statements anew."""
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vact (act_id INTEGER PRIMARY KEY, "
                      "school_rule VARCHAR(32), capacity INTEGER, prorate INTEGER NOT NULL, month_start DATE, "
                      "month_end DATE, grade_mask INTEGER NOT NULL)"))
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_vrun (act_id INTEGER PRIMARY KEY)"))


def _empty_temp_tables(conn: Connection) -> None:
    """At the end of every pass (a rolled-back pass leaves them empty too: the rows were in its transaction)."""
    conn.execute(text("DELETE FROM tmp_vact"))
    conn.execute(text("DELETE FROM tmp_vrun"))


def _d(conn: Connection, value: date | None):
    # SQLite keeps dates as ISO text (as SQLAlchemy's Date type writes them); PostgreSQL takes date objects.
    if value is None or conn.dialect.name == "postgresql":
        return value
    return value.isoformat()


def _as_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _stage_registry(conn: Connection, registry: StudentRegistry) -> str:
    """Copy the enrolments of the IINs being checked from a non-table adapter into a temporary table (dropped
    at the end of the pass).

    Only well-formed IINs of acts without a school-level exclusion are asked of the service, and only
    enrolments with a valid IIN are kept (as the importer keeps only those in the table)."""
    table = getattr(registry, "table_name", None)
    if table:
        return table
    conn.execute(text("DROP TABLE IF EXISTS tmp_vnedb"))
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vnedb (iin VARCHAR(12) NOT NULL, school_bin VARCHAR(12) NOT NULL, "
                      "grade INTEGER NOT NULL, enrolled_on DATE NOT NULL, withdrawn_on DATE)"))
    iins = [r[0] for r in conn.execute(text(
        "SELECT DISTINCT l.iin FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id WHERE a.school_rule IS NULL"))
        if is_valid_iin(r[0])]
    rows = [{"iin": e.iin, "school_bin": e.school_bin, "grade": e.grade, "enrolled_on": _d(conn, e.enrolled_on),
             "withdrawn_on": _d(conn, e.withdrawn_on)}
            for found in registry.enrollments_for(iins).values() for e in found if is_valid_iin(e.iin)]
    if rows:
        conn.execute(text("INSERT INTO tmp_vnedb VALUES (:iin, :school_bin, :grade, :enrolled_on, :withdrawn_on)"),
                     rows)
    conn.execute(text("CREATE INDEX ix_tmp_vnedb_iin ON tmp_vnedb (iin)"))
    return "tmp_vnedb"


def _verification_sql(dialect: str, nedb: str, norm_sql: str, with_claims: bool) -> str:
    """One statement: every rule for every line of the acts in ``tmp_vact``, written to ``act_line``.

    Each CTE is a set: the lines (with their rank among equal IINs of the act), the NEDB facts of each
    line from ONE join over the iin index, the few lines enrolled here and elsewhere on a common day,
    competing claims, then the rule of each line in precedence order (``RULES``), and over_capacity by
    rank. Only rows whose outcome changes are written.
    """
    claims = ("claimed AS (SELECT DISTINCT v.id FROM lines v JOIN act_line o ON o.iin = v.iin AND o.period = v.period "
              "AND o.school_id <> v.school_id AND o.outcome = 'accepted' "
              "JOIN act oa ON oa.id = o.act_id AND oa.status IN ('verified', 'accepted', 'paid') "
              "WHERE v.school_rule IS NULL AND NOT EXISTS (SELECT 1 FROM tmp_vrun r WHERE r.act_id = o.act_id))"
              if with_claims else "claimed AS (SELECT v.id FROM lines v WHERE 1 = 0)")
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    # Composed from code constants and int() values only.
    return (
        # duplicate_line: lines after the first of an IIN within an act (a hash aggregate finds the few IINs
        # listed twice; no sort of the whole month).
        "WITH dups AS (SELECT l.id FROM (SELECT act_id, iin, MIN(line_no) AS first_no FROM act_line "  # noqa: S608
        "WHERE act_id IN (SELECT act_id FROM tmp_vact) GROUP BY act_id, iin HAVING COUNT(*) > 1) d "
        "JOIN act_line l ON l.iin = d.iin AND l.act_id = d.act_id AND l.line_no > d.first_no), "
        "lines AS (SELECT l.id, l.act_id, l.school_id, l.period, l.line_no, l.iin, l.grade, o.bin AS school_bin, "
        "a.month_start, a.month_end, a.school_rule, a.prorate, a.grade_mask, a.capacity, "
        f"{norm_sql} AS norm, CASE WHEN dl.id IS NULL THEN 0 ELSE 1 END AS is_dup "
        "FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id JOIN organisation o ON o.id = l.school_id "
        "LEFT JOIN dups dl ON dl.id = l.id "
        "WHERE l.act_id IN (SELECT act_id FROM tmp_vact)), "  # lets SQLite use the act_line (act_id, …) index
        # NEDB facts per line: enrolled anywhere; active here (with this grade); active elsewhere; withdrawn
        # from here before the month.
        # (Joined from the base tables, not the CTE, so the planner knows the sizes and picks a hash join.)
        "facts AS (SELECT f.id, "
        f"MAX(CASE WHEN {_HERE} AND {_ACTIVE} THEN 1 ELSE 0 END) AS here_active, "
        f"MAX(CASE WHEN {_HERE} AND {_ACTIVE} AND e.grade = f.grade THEN 1 ELSE 0 END) AS here_grade, "
        f"MAX(CASE WHEN e.school_bin <> v.bin AND {_ACTIVE} THEN 1 ELSE 0 END) AS else_active, "
        f"MAX(CASE WHEN {_HERE} AND e.withdrawn_on <= v.month_start THEN 1 ELSE 0 END) AS here_withdrawn "
        "FROM act_line f JOIN (SELECT t.act_id, t.month_start, t.month_end, so.bin, so.bin AS school_bin "
        "FROM tmp_vact t JOIN act sa ON sa.id = t.act_id JOIN organisation so ON so.id = sa.school_id "
        f"WHERE t.school_rule IS NULL) v ON v.act_id = f.act_id JOIN {nedb} e ON e.iin = f.iin "
        "WHERE f.act_id IN (SELECT act_id FROM tmp_vact WHERE school_rule IS NULL) GROUP BY f.id), "
        # double_enrolment: an enrolment here and one elsewhere share a day of the month (both active in
        # the month and overlapping each other ⇒ a common day). A transfer — withdrawn there on the day
        # enrolled here — shares none. Only lines active both here and elsewhere are paired.
        "doubled AS (SELECT DISTINCT v.id FROM lines v JOIN facts f ON f.id = v.id AND f.here_active = 1 "
        f"AND f.else_active = 1 JOIN {nedb} e ON e.iin = v.iin AND {_HERE} AND {_ACTIVE} "
        f"JOIN {nedb} o ON o.iin = v.iin AND o.school_bin <> v.school_bin "
        "AND o.enrolled_on <= v.month_end AND (o.withdrawn_on IS NULL OR o.withdrawn_on > v.month_start) "
        "AND (o.withdrawn_on IS NULL OR e.enrolled_on < o.withdrawn_on) "
        "AND (e.withdrawn_on IS NULL OR o.enrolled_on < e.withdrawn_on)), "
        f"{claims}, "
        # Precedence as in RULES. NEDB holds valid IINs only (the importer rejects others), so a line found
        # there has a valid IIN: the check digit is computed only for lines NEDB does not know.
        "ruled AS (SELECT v.id, v.act_id, v.line_no, v.capacity, v.norm, v.prorate, CASE "
        "WHEN v.school_rule IS NOT NULL THEN v.school_rule "
        f"WHEN f.id IS NULL AND {_iin_invalid_sql(dialect, 'v.iin')} THEN 'iin_checksum' "
        "WHEN v.is_dup = 1 THEN 'duplicate_line' "
        "WHEN f.id IS NULL THEN 'not_in_nedb' "
        "WHEN f.here_active = 0 THEN CASE WHEN f.else_active = 1 THEN 'other_school' "
        "WHEN f.here_withdrawn = 1 THEN 'withdrawn' ELSE 'not_registered' END "
        "WHEN d.id IS NOT NULL THEN 'double_enrolment' "
        "WHEN c.id IS NOT NULL THEN 'double_claim' "
        "WHEN f.here_grade = 0 THEN 'grade_mismatch' "
        "WHEN (v.grade_mask >> v.grade) & 1 = 0 THEN 'level_not_covered' END AS rule "
        "FROM lines v LEFT JOIN facts f ON f.id = v.id LEFT JOIN doubled d ON d.id = v.id "
        "LEFT JOIN claimed c ON c.id = v.id), "
        # over_capacity: lines still accepted, in line order, beyond the design capacity — ranked only in
        # the acts that have more accepted lines than places.
        "crowded AS (SELECT act_id FROM ruled WHERE rule IS NULL AND capacity IS NOT NULL "
        "GROUP BY act_id, capacity HAVING COUNT(*) > capacity), "
        "ranked AS (SELECT r.id, r.capacity, ROW_NUMBER() OVER (PARTITION BY r.act_id ORDER BY r.line_no) AS place "
        "FROM ruled r JOIN crowded c ON c.act_id = r.act_id WHERE r.rule IS NULL), "
        "result AS (SELECT r.id, CASE WHEN k.place > k.capacity THEN 'over_capacity' ELSE r.rule END AS rule, "
        "r.norm, r.prorate FROM ruled r LEFT JOIN ranked k ON k.id = r.id) "
        "UPDATE act_line SET outcome = CASE WHEN x.rule IS NULL THEN 'accepted' ELSE 'excluded' END, "
        "rule_code = x.rule, amount_tiyn = CASE WHEN x.rule IS NULL THEN x.norm ELSE 0 END "
        "FROM result x WHERE act_line.id = x.id AND (act_line.outcome <> CASE WHEN x.rule IS NULL THEN 'accepted' "
        f"ELSE 'excluded' END OR act_line.rule_code {distinct} x.rule OR act_line.amount_tiyn <> "
        "CASE WHEN x.rule IS NULL THEN x.norm ELSE 0 END)"
    )


def verify_acts(acts: Sequence[Act], registry: StudentRegistry | None = None, *,
                conn: Connection | None = None, run_act_ids: Sequence[int] | None = None,
                on_step: Callable[[str], None] | None = None) -> dict[int, VerificationSummary]:
    """Verify the lines of ``acts`` in place (outcome, rule_code, amount) and the acts' totals.

    Runs in the caller's transaction. ``run_act_ids``: every act of the current pass (defaults to
    ``acts``) — their lines are not counted as competing claims (double_claim) against each other.
    """
    registry = registry or student_registry()
    if not acts:
        return {}
    db.session.flush()
    conn = conn or db.session.connection()
    dialect = conn.dialect.name
    contexts = _school_contexts(acts)
    step = on_step or (lambda label: None)
    run_ids = sorted(set(run_act_ids or ()) | {c.act_id for c in contexts})
    if dialect == "postgresql":
        # Sorts and hashes of a whole month fit in memory; JIT compilation costs more than it saves here.
        conn.execute(text(f"SET LOCAL work_mem = '{int(current_app.config.get('VERIFY_WORK_MEM_MB', 256))}MB'"))
        conn.execute(text("SET LOCAL jit = off"))
    _create_temp_tables(conn)
    nedb = None
    try:
        act_rows = [{"act_id": c.act_id, "school_rule": c.school_rule, "capacity": c.terms.design_capacity,
                     "prorate": int(c.terms.prorate_by_days), "ms": _d(conn, c.start), "me": _d(conn, c.end),
                     "mask": sum(1 << g for g in c.grades)} for c in contexts]
        conn.execute(text("INSERT INTO tmp_vact VALUES (:act_id, :school_rule, :capacity, :prorate, :ms, :me, :mask)"),
                     act_rows)
        conn.execute(text("INSERT INTO tmp_vrun VALUES (:a)"), [{"a": a} for a in run_ids])
        if dialect == "postgresql":
            conn.execute(text("ANALYZE tmp_vact"))
        nedb = _stage_registry(conn, registry)
        step("staged")
        with_claims = _competing_claims_exist(conn, {c.period for c in contexts})
        conn.execute(text(_verification_sql(dialect, nedb, _norm_by_period_sql(contexts), with_claims)))
        step("rules")
        _apply_prorating(conn, contexts, nedb)
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


def _competing_claims_exist(conn: Connection, periods: set[date]) -> bool:
    """Whether any act of these months outside this pass could hold a competing claim (double_claim)."""
    params = {f"p{i}": _d(conn, p) for i, p in enumerate(sorted(periods))}
    return conn.execute(text(
        f"SELECT 1 FROM act a WHERE a.period IN ({', '.join(':' + k for k in params)}) "  # noqa: S608
        "AND a.status IN ('verified', 'accepted', 'paid') "
        "AND NOT EXISTS (SELECT 1 FROM tmp_vrun r WHERE r.act_id = a.id) LIMIT 1"), params).first() is not None


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


def _apply_prorating(conn: Connection, contexts: list[ActContext], nedb: str) -> None:
    """With ``prorate_by_days``: norm × days enrolled here in the month / days in the month (days summed
    over this school's enrolments, at most the whole month). Other acts earn the whole norm."""
    if not any(c.terms.prorate_by_days for c in contexts):
        return
    days: dict[int, int] = defaultdict(int)
    norm_of: dict[int, int] = {}
    month_days: dict[int, int] = {}
    rows = conn.execute(text(
        f"SELECT l.id, l.amount_tiyn, v.month_start, v.month_end, e.enrolled_on, e.withdrawn_on FROM act_line l "  # noqa: S608
        "JOIN tmp_vact v ON v.act_id = l.act_id AND v.prorate = 1 JOIN organisation o ON o.id = l.school_id "
        f"JOIN {nedb} e ON e.iin = l.iin AND e.school_bin = o.bin AND {_ACTIVE} WHERE l.outcome = 'accepted'"))
    for line_id, norm, ms, me, enrolled, withdrawn in rows:
        start, end = _as_date(ms), _as_date(me)
        days[line_id] += enrolled_days(_as_date(enrolled), _as_date(withdrawn), start, end)
        norm_of[line_id] = norm
        month_days[line_id] = end.day
    if days:
        conn.execute(text("UPDATE act_line SET amount_tiyn = :amount WHERE id = :id"),
                     [{"id": i, "amount": prorated(norm_of[i], d, month_days[i])} for i, d in days.items()])


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
