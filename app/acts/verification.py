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
        business.update({b.bin: b for b in db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin.in_(chunk)))})
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

_TEMP_TABLES = ("tmp_vline", "tmp_vact", "tmp_vgrade", "tmp_vrun", "tmp_vnedb")


def _digits_ok(dialect: str) -> str:
    if dialect == "postgresql":
        return "v.iin ~ '^[0-9]{12}$'"
    return "(length(v.iin) = 12 AND v.iin NOT GLOB '*[^0-9]*')"


def _iin_invalid_sql(dialect: str) -> str:
    """The IIN check digit (DESIGN.md §2) as a SQL expression; CASE guards the casts of non-digits."""
    d = [f"CAST(substr(v.iin, {i}, 1) AS INTEGER)" for i in range(1, 13)]
    s1 = " + ".join(f"{d[i]} * {i + 1}" for i in range(11))
    s2 = " + ".join(f"{d[i]} * {w}" for i, w in enumerate((3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)))
    return (f"CASE WHEN NOT {_digits_ok(dialect)} THEN 1 "
            f"WHEN ({s1}) % 11 <> 10 THEN CASE WHEN ({s1}) % 11 = {d[11]} THEN 0 ELSE 1 END "
            f"WHEN ({s2}) % 11 <> 10 AND ({s2}) % 11 = {d[11]} THEN 0 ELSE 1 END = 1")


_ACTIVE = "e.enrolled_on <= v.month_end AND (e.withdrawn_on IS NULL OR e.withdrawn_on > v.month_start)"


def _rule_statements(dialect: str, nedb: str) -> list[tuple[str, str]]:
    """(label, SQL) in precedence order; each UPDATE only touches lines no earlier rule excluded."""
    here = f"SELECT 1 FROM {nedb} e WHERE e.iin = v.iin AND e.school_bin = v.school_bin AND {_ACTIVE}"
    return [
        ("iin_checksum", f"UPDATE tmp_vline SET rule = 'iin_checksum' WHERE rule IS NULL AND id IN "
                         f"(SELECT v.id FROM tmp_vline v WHERE v.rule IS NULL AND {_iin_invalid_sql(dialect)})"),
        ("duplicate_line", "UPDATE tmp_vline SET rule = 'duplicate_line' WHERE rule IS NULL AND EXISTS ("
                           "SELECT 1 FROM tmp_vline d WHERE d.act_id = tmp_vline.act_id AND d.iin = tmp_vline.iin "
                           "AND d.line_no < tmp_vline.line_no)"),
        ("not_in_nedb", f"UPDATE tmp_vline SET rule = 'not_in_nedb' WHERE rule IS NULL AND id IN ("
                        f"SELECT v.id FROM tmp_vline v WHERE v.rule IS NULL AND NOT EXISTS "
                        f"(SELECT 1 FROM {nedb} e WHERE e.iin = v.iin))"),
        # Not registered here for any day of the month: say why (other_school, withdrawn, not_registered).
        ("registration", f"UPDATE tmp_vline SET rule = (SELECT CASE "
                         f"WHEN EXISTS (SELECT 1 FROM {nedb} e WHERE e.iin = v.iin AND e.school_bin <> v.school_bin "
                         f"AND {_ACTIVE}) THEN 'other_school' "
                         f"WHEN EXISTS (SELECT 1 FROM {nedb} e WHERE e.iin = v.iin AND e.school_bin = v.school_bin "
                         f"AND e.withdrawn_on <= v.month_start) THEN 'withdrawn' ELSE 'not_registered' END "
                         f"FROM tmp_vline v WHERE v.id = tmp_vline.id) "
                         f"WHERE rule IS NULL AND id IN (SELECT v.id FROM tmp_vline v WHERE v.rule IS NULL "
                         f"AND NOT EXISTS ({here}))"),
        # double_enrolment: an enrolment here and one elsewhere share at least one day of the month (both
        # active in the month and overlapping each other ⇒ a common day). A transfer — withdrawn here on
        # the day enrolled there — shares none.
        ("double_enrolment", f"UPDATE tmp_vline SET rule = 'double_enrolment' WHERE rule IS NULL AND id IN ("
                             f"SELECT v.id FROM tmp_vline v JOIN {nedb} e ON e.iin = v.iin "
                             f"AND e.school_bin = v.school_bin AND {_ACTIVE} "
                             f"JOIN {nedb} o ON o.iin = v.iin AND o.school_bin <> v.school_bin "
                             f"AND o.enrolled_on <= v.month_end AND (o.withdrawn_on IS NULL OR o.withdrawn_on > v.month_start) "
                             f"AND (o.withdrawn_on IS NULL OR e.enrolled_on < o.withdrawn_on) "
                             f"AND (e.withdrawn_on IS NULL OR o.enrolled_on < e.withdrawn_on) "
                             f"WHERE v.rule IS NULL)"),
        # double_claim: another school's act for the month already counts the student, and that act is
        # not part of this verification pass.
        ("double_claim", "UPDATE tmp_vline SET rule = 'double_claim' WHERE rule IS NULL AND id IN ("
                         "SELECT v.id FROM tmp_vline v JOIN act_line o ON o.iin = v.iin AND o.period = v.period "
                         "AND o.school_id <> v.school_id AND o.outcome = 'accepted' "
                         "JOIN act oa ON oa.id = o.act_id AND oa.status IN ('verified', 'accepted', 'paid') "
                         "WHERE v.rule IS NULL AND NOT EXISTS (SELECT 1 FROM tmp_vrun r WHERE r.act_id = o.act_id))"),
        ("grade_mismatch", f"UPDATE tmp_vline SET rule = 'grade_mismatch' WHERE rule IS NULL AND id IN ("
                           f"SELECT v.id FROM tmp_vline v WHERE v.rule IS NULL AND NOT EXISTS "
                           f"({here} AND e.grade = v.grade))"),
        ("level_not_covered", "UPDATE tmp_vline SET rule = 'level_not_covered' WHERE rule IS NULL AND NOT EXISTS ("
                              "SELECT 1 FROM tmp_vgrade g WHERE g.act_id = tmp_vline.act_id AND g.grade = tmp_vline.grade)"),
        # over_capacity: lines still accepted, in line order, beyond the design capacity.
        ("over_capacity", "UPDATE tmp_vline SET rule = 'over_capacity' WHERE id IN (SELECT x.id FROM ("
                          "SELECT v.id, a.capacity, ROW_NUMBER() OVER (PARTITION BY v.act_id ORDER BY v.line_no) AS rn "
                          "FROM tmp_vline v JOIN tmp_vact a ON a.act_id = v.act_id "
                          "WHERE v.rule IS NULL AND a.capacity IS NOT NULL) x WHERE x.rn > x.capacity)"),
    ]


def _create_temp_tables(conn: Connection) -> None:
    _drop_temp_tables(conn)
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vact (act_id INTEGER PRIMARY KEY, school_rule VARCHAR(32), "
                      "capacity INTEGER, prorate INTEGER NOT NULL, month_start DATE, month_end DATE)"))
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vgrade (act_id INTEGER NOT NULL, grade INTEGER NOT NULL, "
                      "PRIMARY KEY (act_id, grade))"))
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vrun (act_id INTEGER PRIMARY KEY)"))
    conn.execute(text("CREATE TEMPORARY TABLE tmp_vline (id BIGINT PRIMARY KEY, act_id INTEGER NOT NULL, "
                      "school_id INTEGER NOT NULL, school_bin VARCHAR(12) NOT NULL, period DATE NOT NULL, "
                      "month_start DATE NOT NULL, month_end DATE NOT NULL, line_no INTEGER NOT NULL, "
                      "iin VARCHAR(12) NOT NULL, grade INTEGER NOT NULL, norm BIGINT NOT NULL, "
                      "amount BIGINT NOT NULL DEFAULT 0, rule VARCHAR(32))"))


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
    iins = [r[0] for r in conn.execute(text("SELECT DISTINCT iin FROM tmp_vline WHERE rule IS NULL"))]
    rows = [{"iin": e.iin, "school_bin": e.school_bin, "grade": e.grade, "enrolled_on": _d(conn, e.enrolled_on),
             "withdrawn_on": _d(conn, e.withdrawn_on)}
            for found in registry.enrollments_for(iins).values() for e in found]
    if rows:
        conn.execute(text("INSERT INTO tmp_vnedb VALUES (:iin, :school_bin, :grade, :enrolled_on, :withdrawn_on)"), rows)
    conn.execute(text("CREATE INDEX ix_tmp_vnedb_iin ON tmp_vnedb (iin)"))
    return "tmp_vnedb"


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
    _create_temp_tables(conn)
    try:
        conn.execute(text("INSERT INTO tmp_vact VALUES (:act_id, :school_rule, :capacity, :prorate, :ms, :me)"), [
            {"act_id": c.act_id, "school_rule": c.school_rule, "capacity": c.terms.design_capacity,
             "prorate": int(c.terms.prorate_by_days), "ms": _d(conn, c.start), "me": _d(conn, c.end)} for c in contexts])
        grades = [{"a": c.act_id, "g": g} for c in contexts for g in sorted(c.grades)]
        if grades:
            conn.execute(text("INSERT INTO tmp_vgrade VALUES (:a, :g)"), grades)
        conn.execute(text("INSERT INTO tmp_vrun VALUES (:a)"), [{"a": a} for a in sorted(set(run_act_ids or ()) |
                                                                                        {c.act_id for c in contexts})])
        norm_sql = _norm_by_period_sql(contexts)
        conn.execute(text(
            "INSERT INTO tmp_vline (id, act_id, school_id, school_bin, period, month_start, month_end, line_no, iin, "
            f"grade, norm, amount, rule) SELECT l.id, l.act_id, l.school_id, o.bin, l.period, a.month_start, a.month_end, "
            f"l.line_no, l.iin, l.grade, {norm_sql}, 0, a.school_rule "
            "FROM act_line l JOIN tmp_vact a ON a.act_id = l.act_id JOIN organisation o ON o.id = l.school_id"))
        conn.execute(text("CREATE INDEX ix_tmp_vline_act_iin ON tmp_vline (act_id, iin)"))
        conn.execute(text("CREATE INDEX ix_tmp_vline_iin ON tmp_vline (iin)"))
        if dialect == "postgresql":
            conn.execute(text("ANALYZE tmp_vline"))
            conn.execute(text("ANALYZE tmp_vact"))
        step("staged")
        nedb = getattr(registry, "table_name", None) or "tmp_vnedb"
        for label, sql in _rule_statements(dialect, nedb):
            if label == "not_in_nedb" and nedb == "tmp_vnedb":
                # Only IINs that passed the checksum and duplicate checks are asked of the service.
                _stage_registry(conn, registry)
            conn.execute(text(sql))
            step(label)
        _apply_amounts(conn, contexts, nedb)
        step("amounts")
        conn.execute(text(
            "UPDATE act_line SET outcome = CASE WHEN v.rule IS NULL THEN 'accepted' ELSE 'excluded' END, "
            "rule_code = v.rule, amount_tiyn = v.amount FROM tmp_vline v WHERE act_line.id = v.id"))
        summaries = _summaries(conn, contexts)
        conn.execute(text("UPDATE act SET total_lines = :total, accepted_lines = :accepted, amount_tiyn = :amount, "
                          "withheld_tiyn = :withheld WHERE id = :id"),
                     [{"id": act_id, "total": s.total, "accepted": s.accepted, "amount": s.amount_tiyn,
                       "withheld": s.withheld_tiyn} for act_id, s in summaries.items()])
        step("written")
    finally:
        _drop_temp_tables(conn)
    return summaries


def _norm_by_period_sql(contexts: list[ActContext]) -> str:
    """The claimed grade's monthly norm per line; norms depend only on the act's academic year."""
    by_year: dict[tuple, list[int]] = defaultdict(list)
    for c in contexts:
        by_year[(c.norms.get("primary", 0), c.norms.get("basic", 0), c.norms.get("secondary", 0))].append(c.act_id)
    if len(by_year) == 1:
        p, b, s = next(iter(by_year))
        return f"CASE WHEN l.grade <= 4 THEN {p} WHEN l.grade <= 9 THEN {b} ELSE {s} END"
    parts = []
    for (p, b, s), ids in by_year.items():
        parts.append(f"WHEN l.act_id IN ({', '.join(map(str, ids))}) THEN "
                     f"CASE WHEN l.grade <= 4 THEN {p} WHEN l.grade <= 9 THEN {b} ELSE {s} END")
    return f"CASE {' '.join(parts)} ELSE 0 END"


def _apply_amounts(conn: Connection, contexts: list[ActContext], nedb: str) -> None:
    """Accepted lines earn the norm of their grade; with ``prorate_by_days``, norm × days enrolled here in
    the month / days in the month (days summed over this school's enrolments, at most the whole month)."""
    conn.execute(text("UPDATE tmp_vline SET amount = norm WHERE rule IS NULL AND act_id IN "
                      "(SELECT act_id FROM tmp_vact WHERE prorate = 0)"))
    if not any(c.terms.prorate_by_days for c in contexts):
        return
    days: dict[int, int] = defaultdict(int)
    norm_of: dict[int, int] = {}
    month_days: dict[int, int] = {}
    rows = conn.execute(text(
        f"SELECT v.id, v.norm, v.month_start, v.month_end, e.enrolled_on, e.withdrawn_on FROM tmp_vline v "
        f"JOIN tmp_vact a ON a.act_id = v.act_id AND a.prorate = 1 "
        f"JOIN {nedb} e ON e.iin = v.iin AND e.school_bin = v.school_bin AND {_ACTIVE} WHERE v.rule IS NULL"))
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
            "SELECT act_id, rule, COUNT(*), COALESCE(SUM(norm), 0), COALESCE(SUM(amount), 0) "
            "FROM tmp_vline GROUP BY act_id, rule")):
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
