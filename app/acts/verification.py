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

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import selectinload

from app.acts.models import Act, StudentNorm
from app.acts.rules import SCHOOL_LEVEL_RULES, grades_for_levels, level_for_grade
from app.acts.terms import ActTerms, terms_for
from app.extensions import db
from app.registry.adapter import StudentRegistry, student_registry
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
        ctx = ActContext(act.id, act.school_id, act.school.bin, act.period, start, end, terms,
                         norms=norms_by_period[act.period])
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

_TEMP_TABLES = ("tmp_vline", "tmp_vact", "tmp_vrun", "tmp_vnedb")


def _digits_ok(dialect: str, col: str) -> str:
    if dialect == "postgresql":
        return f"{col} ~ '^[0-9]{{12}}$'"
    return f"(length({col}) = 12 AND {col} NOT GLOB '*[^0-9]*')"


def _iin_invalid_sql(dialect: str, col: str) -> str:
    """The IIN check digit (DESIGN.md §2) as a SQL condition; CASE guards the casts of non-digits."""
    d = [f"CAST(substr({col}, {i}, 1) AS INTEGER)" for i in range(1, 13)]
    s1 = " + ".join(f"{d[i]} * {i + 1}" for i in range(11))
    s2 = " + ".join(f"{d[i]} * {w}" for i, w in enumerate((3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)))
    return (f"CASE WHEN NOT {_digits_ok(dialect, col)} THEN 1 "
            f"WHEN ({s1}) % 11 <> 10 THEN CASE WHEN ({s1}) % 11 = {d[11]} THEN 0 ELSE 1 END "
            f"WHEN ({s2}) % 11 <> 10 AND ({s2}) % 11 = {d[11]} THEN 0 ELSE 1 END = 1")


_ACTIVE = "e.enrolled_on <= v.month_end AND (e.withdrawn_on IS NULL OR e.withdrawn_on > v.month_start)"
_HERE = "e.school_bin = v.school_bin"


def _create_temp_tables(conn: Connection) -> None:
    _drop_temp_tables(conn)
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vact (act_id INTEGER PRIMARY KEY, school_rule VARCHAR(32), "
                      "capacity INTEGER, prorate INTEGER NOT NULL, month_start DATE, month_end DATE, "
                      "grade_mask INTEGER NOT NULL)"))
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vrun (act_id INTEGER PRIMARY KEY)"))
    # One row per line: the facts the rules need, gathered by a few set-based statements.
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vline (id BIGINT PRIMARY KEY, act_id INTEGER NOT NULL, "
                      "school_id INTEGER NOT NULL, school_bin VARCHAR(12) NOT NULL, period DATE NOT NULL, "
                      "month_start DATE NOT NULL, month_end DATE NOT NULL, line_no INTEGER NOT NULL, "
                      "iin VARCHAR(12) NOT NULL, grade INTEGER NOT NULL, norm BIGINT NOT NULL, "
                      "prorate INTEGER NOT NULL, grade_ok INTEGER NOT NULL, amount BIGINT NOT NULL DEFAULT 0, "
                      "n_any INTEGER NOT NULL DEFAULT 0, here_active INTEGER NOT NULL DEFAULT 0, "
                      "here_grade INTEGER NOT NULL DEFAULT 0, else_active INTEGER NOT NULL DEFAULT 0, "
                      "here_withdrawn INTEGER NOT NULL DEFAULT 0, rule VARCHAR(32))"))


def _drop_temp_tables(conn: Connection) -> None:
    for name in _TEMP_TABLES:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


def _d(conn: Connection, value: date | None):
    # SQLite keeps dates as ISO text (as SQLAlchemy's Date type writes them); PostgreSQL takes date objects.
    if value is None or conn.dialect.name == "postgresql":
        return value
    return value.isoformat()


def _as_date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _stage_registry(conn: Connection, registry: StudentRegistry) -> str:
    """Copy the enrolments of the IINs being checked from a non-table adapter into a temporary table."""
    table = getattr(registry, "table_name", None)
    if table:
        return table
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vnedb (iin VARCHAR(12) NOT NULL, school_bin VARCHAR(12) NOT NULL, "
                      "grade INTEGER NOT NULL, enrolled_on DATE NOT NULL, withdrawn_on DATE)"))
    # Only IINs that passed the checksum and duplicate checks are asked of the service.
    iins = [r[0] for r in conn.execute(text("SELECT DISTINCT iin FROM tmp_vline WHERE rule IS NULL"))]
    rows = [{"iin": e.iin, "school_bin": e.school_bin, "grade": e.grade, "enrolled_on": _d(conn, e.enrolled_on),
             "withdrawn_on": _d(conn, e.withdrawn_on)}
            for found in registry.enrollments_for(iins).values() for e in found]
    if rows:
        conn.execute(text("INSERT INTO tmp_vnedb VALUES (:iin, :school_bin, :grade, :enrolled_on, :withdrawn_on)"),
                     rows)
    conn.execute(text("CREATE INDEX ix_tmp_vnedb_iin ON tmp_vnedb (iin)"))
    return "tmp_vnedb"


def _statements(dialect: str, nedb: str, norm_sql: str) -> list[tuple[str, str]]:
    """(label, SQL) — the whole verification; the number of statements does not depend on the lines."""
    return [
        # Stage the lines. School-level rules, iin_checksum and duplicate_line are decided right here, in
        # precedence order: the first line of an IIN counts, later ones are duplicates.
        ("staged", "INSERT INTO tmp_vline (id, act_id, school_id, school_bin, period, month_start, month_end, line_no, "  # noqa: S608
                   "iin, grade, norm, prorate, grade_ok, rule) "
                   "SELECT l.id, l.act_id, l.school_id, o.bin, l.period, a.month_start, a.month_end, l.line_no, l.iin, "
                   f"l.grade, {norm_sql}, a.prorate, (a.grade_mask >> l.grade) & 1, "
                   f"COALESCE(a.school_rule, CASE WHEN {_iin_invalid_sql(dialect, 'l.iin')} THEN 'iin_checksum' "
                   "WHEN ROW_NUMBER() OVER (PARTITION BY l.act_id, l.iin ORDER BY l.line_no) > 1 "
                   "THEN 'duplicate_line' END) "
                   "FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id JOIN organisation o ON o.id = l.school_id"),
        # NEDB facts per line in ONE join over the iin index: enrolled anywhere, active here (with this
        # grade), active elsewhere, withdrawn from here before the month.
        ("registry", "UPDATE tmp_vline SET n_any = f.n_any, here_active = f.here_active, here_grade = f.here_grade, "  # noqa: S608
                     "else_active = f.else_active, here_withdrawn = f.here_withdrawn FROM ("
                     "SELECT v.id AS id, COUNT(*) AS n_any, "
                     f"MAX(CASE WHEN {_HERE} AND {_ACTIVE} THEN 1 ELSE 0 END) AS here_active, "
                     f"MAX(CASE WHEN {_HERE} AND {_ACTIVE} AND e.grade = v.grade THEN 1 ELSE 0 END) AS here_grade, "
                     f"MAX(CASE WHEN e.school_bin <> v.school_bin AND {_ACTIVE} THEN 1 ELSE 0 END) AS else_active, "
                     f"MAX(CASE WHEN {_HERE} AND e.withdrawn_on <= v.month_start THEN 1 ELSE 0 END) AS here_withdrawn "
                     f"FROM tmp_vline v JOIN {nedb} e ON e.iin = v.iin WHERE v.rule IS NULL GROUP BY v.id) f "
                     "WHERE tmp_vline.id = f.id"),
        ("not_in_nedb", "UPDATE tmp_vline SET rule = 'not_in_nedb' WHERE rule IS NULL AND n_any = 0"),
        # Not registered here for any day of the month: say why.
        ("registration", "UPDATE tmp_vline SET rule = CASE WHEN else_active = 1 THEN 'other_school' "
                         "WHEN here_withdrawn = 1 THEN 'withdrawn' ELSE 'not_registered' END "
                         "WHERE rule IS NULL AND here_active = 0"),
        # double_enrolment: an enrolment here and one elsewhere share at least one day of the month (both
        # active in the month and overlapping each other ⇒ a common day). A transfer — withdrawn there on
        # the day enrolled here — shares none. Only lines active both here and elsewhere are paired.
        ("double_enrolment", "UPDATE tmp_vline SET rule = 'double_enrolment' WHERE id IN ("  # noqa: S608
                             f"SELECT v.id FROM tmp_vline v JOIN {nedb} e ON e.iin = v.iin AND {_HERE} AND {_ACTIVE} "
                             f"JOIN {nedb} o ON o.iin = v.iin AND o.school_bin <> v.school_bin "
                             "AND o.enrolled_on <= v.month_end "
                             "AND (o.withdrawn_on IS NULL OR o.withdrawn_on > v.month_start) "
                             "AND (o.withdrawn_on IS NULL OR e.enrolled_on < o.withdrawn_on) "
                             "AND (e.withdrawn_on IS NULL OR o.enrolled_on < e.withdrawn_on) "
                             "WHERE v.rule IS NULL AND v.else_active = 1)"),
        # double_claim: another school's act for the month already counts the student, and that act is
        # not part of this verification pass.
        ("double_claim", "UPDATE tmp_vline SET rule = 'double_claim' WHERE id IN ("
                         "SELECT v.id FROM tmp_vline v JOIN act_line o ON o.iin = v.iin AND o.period = v.period "
                         "AND o.school_id <> v.school_id AND o.outcome = 'accepted' "
                         "JOIN act oa ON oa.id = o.act_id AND oa.status IN ('verified', 'accepted', 'paid') "
                         "WHERE v.rule IS NULL AND NOT EXISTS (SELECT 1 FROM tmp_vrun r WHERE r.act_id = o.act_id))"),
        ("grade", "UPDATE tmp_vline SET rule = CASE WHEN here_grade = 0 THEN 'grade_mismatch' "
                  "ELSE 'level_not_covered' END WHERE rule IS NULL AND (here_grade = 0 OR grade_ok = 0)"),
        # over_capacity: lines still accepted, in line order, beyond the design capacity — only in acts
        # that have more accepted lines than places.
        ("over_capacity", "UPDATE tmp_vline SET rule = 'over_capacity' WHERE id IN (SELECT x.id FROM ("
                          "SELECT v.id, a.capacity, ROW_NUMBER() OVER (PARTITION BY v.act_id ORDER BY v.line_no) AS rn "
                          "FROM tmp_vline v JOIN tmp_vact a ON a.act_id = v.act_id "
                          "WHERE v.rule IS NULL AND v.act_id IN (SELECT w.act_id FROM tmp_vline w "
                          "JOIN tmp_vact c ON c.act_id = w.act_id WHERE w.rule IS NULL AND c.capacity IS NOT NULL "
                          "GROUP BY w.act_id, c.capacity HAVING COUNT(*) > c.capacity)) x WHERE x.rn > x.capacity)"),
    ]


_PAID = "CASE WHEN v.rule IS NOT NULL THEN 0 WHEN v.prorate = 1 THEN v.amount ELSE v.norm END"


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
    _create_temp_tables(conn)
    try:
        act_rows = [{"act_id": c.act_id, "school_rule": c.school_rule, "capacity": c.terms.design_capacity,
                     "prorate": int(c.terms.prorate_by_days), "ms": _d(conn, c.start), "me": _d(conn, c.end),
                     "mask": sum(1 << g for g in c.grades)} for c in contexts]
        conn.execute(text("INSERT INTO tmp_vact VALUES (:act_id, :school_rule, :capacity, :prorate, :ms, :me, :mask)"),
                     act_rows)
        conn.execute(text("INSERT INTO tmp_vrun VALUES (:a)"), [{"a": a} for a in run_ids])
        nedb = getattr(registry, "table_name", None) or "tmp_vnedb"
        competing = _competing_claims_exist(conn, {c.period for c in contexts})
        for label, sql in _statements(dialect, nedb, _norm_by_period_sql(contexts)):
            if label == "registry" and nedb == "tmp_vnedb":
                _stage_registry(conn, registry)
            if label == "double_claim" and not competing:
                continue  # no other act of the month is verified outside this pass: nothing to claim against
            conn.execute(text(sql))
            if label == "staged":
                conn.execute(text("CREATE INDEX ix_tmp_vline_iin ON tmp_vline (iin)"))
                if dialect == "postgresql":
                    conn.execute(text("ANALYZE tmp_vline"))
            step(label)
        _apply_prorating(conn, contexts, nedb)
        step("amounts")
        conn.execute(text(
            "UPDATE act_line SET outcome = CASE WHEN v.rule IS NULL THEN 'accepted' ELSE 'excluded' END, "  # noqa: S608
            f"rule_code = v.rule, amount_tiyn = {_PAID} FROM tmp_vline v WHERE act_line.id = v.id"))
        summaries = _summaries(conn, contexts)
        conn.execute(text("UPDATE act SET total_lines = :total, accepted_lines = :accepted, amount_tiyn = :amount, "
                          "withheld_tiyn = :withheld WHERE id = :id"),
                     [{"id": act_id, "total": s.total, "accepted": s.accepted, "amount": s.amount_tiyn,
                       "withheld": s.withheld_tiyn} for act_id, s in summaries.items()])
        step("written")
    finally:
        _drop_temp_tables(conn)
    return summaries


def _competing_claims_exist(conn: Connection, periods: set[date]) -> bool:
    params = {f"p{i}": _d(conn, p) for i, p in enumerate(sorted(periods))}
    return conn.execute(text(
        f"SELECT 1 FROM act a WHERE a.period IN ({', '.join(':' + k for k in params)}) "  # noqa: S608
        "AND a.status IN ('verified', 'accepted', 'paid') "
        "AND NOT EXISTS (SELECT 1 FROM tmp_vrun r WHERE r.act_id = a.id) LIMIT 1"), params).first() is not None


def _norm_by_period_sql(contexts: list[ActContext]) -> str:
    """The claimed grade's monthly norm per line; norms depend only on the act's academic year."""
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
        f"SELECT v.id, v.norm, v.month_start, v.month_end, e.enrolled_on, e.withdrawn_on FROM tmp_vline v "  # noqa: S608
        f"JOIN {nedb} e ON e.iin = v.iin AND {_HERE} AND {_ACTIVE} WHERE v.rule IS NULL AND v.prorate = 1"))
    for line_id, norm, ms, me, enrolled, withdrawn in rows:
        start, end = _as_date(ms), _as_date(me)
        days[line_id] += enrolled_days(_as_date(enrolled), _as_date(withdrawn), start, end)
        norm_of[line_id] = norm
        month_days[line_id] = end.day
    if days:
        conn.execute(text("UPDATE tmp_vline SET amount = :amount WHERE id = :id"),
                     [{"id": i, "amount": prorated(norm_of[i], d, month_days[i])} for i, d in days.items()])


def _summaries(conn: Connection, contexts: list[ActContext]) -> dict[int, VerificationSummary]:
    summaries = {c.act_id: VerificationSummary(0, 0, 0, 0, 0, {}) for c in contexts}
    for act_id, rule, count, norm_sum, amount_sum in conn.execute(text(
            f"SELECT v.act_id, v.rule, COUNT(*), COALESCE(SUM(v.norm), 0), COALESCE(SUM({_PAID}), 0) "  # noqa: S608
            "FROM tmp_vline v GROUP BY v.act_id, v.rule")):
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
