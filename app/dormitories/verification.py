"""Verify occupied places: every line of one dormitory act — or of every dormitory act of a month — at once.

Set-based in SQL, in the same few statements for one act of 100 lines as for a country's month of 60,000 beds,
with the schools' working-table machinery (``app.acts.verification``: ``tmp_vline``, the per-act sums, the
over-capacity ranking, the one write-back of the lines that changed):

1. the acts' dormitory-level facts (documents, contract terms, region) are decided per act in Python — a few
   rows per dormitory — and go into ``tmp_dact``;
2. one ``INSERT … SELECT`` stages every line with its occupied days of the month (``tmp_dplace``);
3. one statement finds the places another dormitory claims on a common day (``tmp_dtwin``); then ONE statement
   joins every place to its student's enrolments (a covering index of the registry) and writes each line's
   rule, paid days and amount into ``tmp_vline``, in the precedence of :data:`app.dormitories.rules.DORM_RULES`
   (the bed is probed by index only for the lines still open at that rule);
4. the rare lines the one-row arithmetic cannot pay exactly (several full-time enrolments at the institution,
   or documents valid in more than one run of days) are counted day by day over the month's days;
5. the copies of a student listed twice, the beds occupied twice and the places over the contract are ranked
   by statements over those lines only;
6. the per-act sums are read from ``tmp_vline`` and ``act_line`` is written once, only where a result changed.

Pay by days: a line earns the contracted monthly rate per place × paid days / days in the month (integer tiyn,
rounded down); paid days are the days the place was occupied this month on which the student was enrolled
full-time at the named institution and the dormitory's commissioning and ownership documents were both valid.
What a line claims (rate × occupied days / days in the month) less what it earns is withheld.

Order-independence: a line's outcome depends on its act, the registries, the contract's terms and the other
dormitories' claims on the same student in the same month (``two_dormitories`` excludes the line on both acts;
:func:`app.dormitories.operations.reverify_other_claims` re-verifies the other act) — never on which act is
verified first, nor on the order of the act's lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, select, text

from app.acts.models import Act
from app.acts.verification import (
    _EXCLUDE,
    VerificationSummary,
    _create_temp_tables,
    _d,
    _days_sql,
    _empty_temp_tables,
    _fence,
    _iin_invalid_sql,
    _stage_enrolments,
    _sum_and_write,
    month_bounds,
)
from app.contracts.models import Contract, ContractAct
from app.dormitories.models import DormitoryTerms
from app.dormitories.registry import StudentRegistry, documents_of, student_registry
from app.dormitories.rules import DORM_LEVEL_RULES
from app.extensions import db
from app.people.models import Organisation, Region

_CHUNK = 900
DORMITORY = "dormitory"
_GENERAL = "*"  # rule placeholder of a line paid by the day-by-day count (step 4)


@dataclass
class DormContext:
    """What is decided per act before its lines: the dormitory-level rule and the contract's terms."""

    act: Act
    start: date
    end: date
    region_code: str
    dormitory_id: int
    dormitory_bin: str
    places: int | None = None
    rate_tiyn: int = 0
    excludes_local_residents: bool = True
    monthly_cap_tiyn: int | None = None
    dormitory_rule: str | None = None
    paid_days: set[int] = field(default_factory=set)  # days (ordinals) both documents are valid


def occupied_days(moved_in: date, moved_out: date | None, start: date, end: date) -> tuple[date, date]:
    """The first and last day of [start, end] the place is occupied (``moved_out`` is the first free day)."""
    last = end if moved_out is None else min(end, moved_out - timedelta(days=1))
    return max(moved_in, start), last


def _days(first: date, last: date) -> set[int]:
    """The days of [first, last] as ordinals (a month's worth at most)."""
    return set(range(first.toordinal(), last.toordinal() + 1))


def _document_days(docs, start: date, end: date) -> set[int] | None:
    """Days of the month on which a commissioning act AND an ownership document are valid; None: one kind is
    missing from the registry altogether."""
    by_kind: dict[str, set[int]] = defaultdict(set)
    kinds = set()
    for doc in docs:
        kinds.add(doc.kind)
        by_kind[doc.kind] |= _days(max(doc.valid_from, start), min(doc.valid_until or end, end))
    if kinds != {"commissioning", "ownership"}:
        return None
    return by_kind["commissioning"] & by_kind["ownership"]


def _contexts(acts: Sequence[Act]) -> dict[int, DormContext]:
    terms = {}
    ids = [a.id for a in acts]
    for i in range(0, len(ids), _CHUNK):
        terms.update({act_id: (contract, t) for act_id, contract, t in db.session.execute(
            select(ContractAct.act_id, Contract, DormitoryTerms)
            .join(Contract, Contract.id == ContractAct.contract_id)
            .join(DormitoryTerms, DormitoryTerms.contract_id == Contract.id)
            .where(ContractAct.act_id.in_(ids[i:i + _CHUNK])))})
    dormitories = {}  # id → (BIN, region code, capacity), in one query rather than a lazy load per act
    org_ids = sorted({a.school_id for a in acts})
    for i in range(0, len(org_ids), _CHUNK):
        dormitories.update({oid: (bin_, code or "", capacity) for oid, bin_, code, capacity in db.session.execute(
            select(Organisation.id, Organisation.bin, Region.code, Organisation.design_capacity)
            .outerjoin(Region, Region.id == Organisation.region_id).where(Organisation.id.in_(org_ids[i:i + _CHUNK])))})
    docs = documents_of({bin_ for bin_, _, _ in dormitories.values()})
    contexts = {}
    for act in acts:
        start, end = month_bounds(act.period)
        bin_, region_code, capacity = dormitories[act.school_id]
        ctx = DormContext(act, start, end, region_code, act.school_id, bin_)
        contract, t = terms.get(act.id, (None, None))
        if t is not None:
            ctx.places, ctx.rate_tiyn = t.places, t.place_rate_tiyn
            ctx.excludes_local_residents = t.excludes_local_residents
            ctx.monthly_cap_tiyn = contract.monthly_cap_tiyn
        else:  # no contract: nothing is owed, the places are the organisation's own capacity
            ctx.places = capacity
        days = _document_days(docs.get(bin_, []), start, end)
        # dorm_no_documents: a commissioning act or an ownership (lease) document is missing altogether;
        # dorm_documents_expired: both exist but are not both valid on any day of the month. Either excludes
        # every line of the act (dormitory-level rules come first).
        if days is None:
            ctx.dormitory_rule = "dorm_no_documents"
        elif not days:
            ctx.dormitory_rule = "dorm_documents_expired"
        ctx.paid_days = days or set()
        contexts[act.id] = ctx
    return contexts


# --- SQL ---------------------------------------------------------------------------------------------------------

def _create_dorm_tables(conn: Connection) -> None:
    """The dormitories' own working tables, beside the shared ``tmp_vline`` (kept by the connection, emptied after
    every pass, like the schools' ``tmp_vact``).

    ``tmp_dact``: one row per act — its dormitory-level rule, month, terms and the first and last day both
    documents are valid (``doc_run`` = 1: every day between is valid too). ``tmp_dplace``: one row per line with
    its occupied days of the month, keyed (act, room, bed, line) so the beds' groups read it in order.
    ``tmp_dtwin``: the places another dormitory claims on a common day. ``tmp_dday``: the days of the months that
    need the day-by-day count, with whether the documents are valid."""
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dact (act_id INTEGER PRIMARY KEY, "
                      "dormitory_id INTEGER NOT NULL, dorm_bin VARCHAR(12) NOT NULL, region_code VARCHAR(16) NOT NULL, "
                      "period DATE NOT NULL, month_start DATE NOT NULL, month_end DATE NOT NULL, "
                      "month_days INTEGER NOT NULL, rate BIGINT NOT NULL, excl_local INTEGER NOT NULL, "
                      "dorm_rule VARCHAR(32), pay_from DATE, pay_to DATE, doc_run INTEGER NOT NULL)"))
    rowid = " WITHOUT ROWID" if conn.dialect.name == "sqlite" else ""
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dplace (act_id INTEGER NOT NULL, id INTEGER NOT NULL, "
                      "line_no INTEGER NOT NULL, iin VARCHAR(12) NOT NULL, inst VARCHAR(12) NOT NULL, "
                      "room VARCHAR(16) NOT NULL, bed VARCHAR(16) NOT NULL, moved_in DATE NOT NULL, "
                      "first_day DATE NOT NULL, last_day DATE NOT NULL, claimed_days INTEGER NOT NULL, "
                      "pay_lo DATE, pay_hi DATE, pay_span INTEGER NOT NULL, "
                      f"PRIMARY KEY (act_id, room, bed, id)){rowid}"))
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dtwin (act_id INTEGER NOT NULL, id INTEGER NOT NULL, "
                      f"PRIMARY KEY (act_id, id)){rowid}"))
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_dday (act_id INTEGER NOT NULL, day DATE NOT NULL, "
                      f"doc_ok INTEGER NOT NULL, PRIMARY KEY (act_id, day)){rowid}"))


def _empty_dorm_tables(conn: Connection) -> None:
    for table in ("tmp_dday", "tmp_dtwin", "tmp_dplace", "tmp_dact"):
        conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names


class _Dialect:
    """The few date expressions the two databases spell differently (SQLite keeps dates as ISO text)."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.pg else f"max({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"min({a}, {b})"

    def day_before(self, day: str) -> str:
        return f"({day} - 1)" if self.pg else f"date({day}, '-1 day')"

    def span(self, first: str, last: str) -> str:
        """Days from ``first`` to ``last`` inclusive, 0 when ``last`` is before ``first``."""
        if self.pg:
            return f"GREATEST(0, {last} - {first} + 1)"
        return f"max(0, CAST(julianday({last}) - julianday({first}) AS INTEGER) + 1)"

    def last_occupied(self, moved_out: str, month_end: str) -> str:
        """The last day of the month the place is occupied (``moved_out`` is the first free day)."""
        before = self.least(month_end, self.day_before(moved_out))
        return f"CASE WHEN {moved_out} IS NULL THEN {month_end} ELSE {before} END"


def _places_sql(sql: _Dialect) -> str:
    """Every line of the acts in ``tmp_dact`` with its occupied days (first, last, count) and the part of them the
    documents' run of valid days covers (pay_lo … pay_hi)."""
    first = sql.greatest("p.moved_in", "v.month_start")
    last = sql.last_occupied("p.moved_out", "v.month_end")
    lo, hi = sql.greatest(first, "v.pay_from"), sql.least(last, "v.pay_to")
    return ("INSERT INTO tmp_dplace (act_id, id, line_no, iin, inst, room, bed, moved_in, first_day, last_day, "  # noqa: S608
            "claimed_days, pay_lo, pay_hi, pay_span) "
            f"SELECT l.act_id, l.id, l.line_no, l.iin, p.institution_bin, p.room, p.bed, p.moved_in, {first}, {last}, "
            f"{sql.span(first, last)}, {lo}, {hi}, COALESCE({sql.span(lo, hi)}, 0) "
            "FROM tmp_dact v JOIN act_line l ON l.act_id = v.act_id JOIN dorm_place_line p ON p.line_id = l.id")


def _twins_sql(sql: _Dialect) -> str:
    """two_dormitories, the facts: the staged places whose student another dormitory's act of the same month
    places there on a common day (any status of that act: the claim stands until it or the registry is
    corrected). One statement over the places, so the database may join them to the month's lines as it sees
    fit; the rule statement looks the few found up at the rule's rank."""
    other_first = sql.greatest("op.moved_in", "v.month_start")
    other_last = sql.last_occupied("op.moved_out", "v.month_end")
    return ("INSERT INTO tmp_dtwin (act_id, id) SELECT d.act_id, d.id FROM tmp_dplace d "  # noqa: S608
            "JOIN tmp_dact v ON v.act_id = d.act_id WHERE v.dorm_rule IS NULL AND EXISTS (SELECT 1 FROM act_line o "
            "JOIN act a ON a.id = o.act_id JOIN dorm_place_line op ON op.line_id = o.id WHERE o.iin = d.iin "
            f"AND o.period = v.period AND o.school_id <> v.dormitory_id AND a.instrument = '{DORMITORY}' "
            f"AND {other_first} <= d.last_day AND d.first_day <= {other_last})")


def _rules_sql(sql: _Dialect, dialect: str, students: str) -> str:
    """ONE statement: every staged place with its rule, paid days and amount, into ``tmp_vline``.

    Each place is joined to its student's enrolments (every institution: the registry's ``iin`` index) and
    grouped per line; the counts decide the rules in the precedence of ``DORM_RULES``. An enrolment *here* is
    one at the named institution active on a day the place is occupied (a withdrawal is the first day not
    enrolled); paid days are the days of the documents' run that the place and a full-time enrolment here
    share — exact from one such enrolment; a line with several, or a month whose documents leave a gap, gets the
    placeholder and is counted day by day (:func:`_day_by_day_sql`)."""
    here = ("e.institution_bin = d.inst AND e.enrolled_on <= d.last_day "
            "AND (e.withdrawn_on IS NULL OR e.withdrawn_on > d.first_day)")
    full_time = f"{here} AND e.study_form = 'full_time'"
    facts = (
        "SELECT d.act_id, d.id, d.iin, d.room, d.bed, d.moved_in, d.first_day, d.last_day, d.claimed_days, "  # noqa: S608
        "v.dormitory_id, v.dorm_bin, v.period, v.month_start, v.month_end, v.month_days, v.rate, v.excl_local, "
        "v.dorm_rule, v.doc_run, COUNT(e.iin) AS n_any, "
        f"SUM(CASE WHEN {here} THEN 1 ELSE 0 END) AS n_here, "
        f"SUM(CASE WHEN {full_time} THEN 1 ELSE 0 END) AS n_full, "
        f"SUM(CASE WHEN {full_time} AND e.home_region = v.region_code THEN 1 ELSE 0 END) AS n_local, "
        f"SUM(CASE WHEN {full_time} THEN {_days_sql(dialect, 'd.first_day', 'd.last_day', 'd.claimed_days')} "
        "ELSE 0 END) AS enrolled, "
        f"SUM(CASE WHEN {full_time} THEN {_days_sql(dialect, 'd.pay_lo', 'd.pay_hi', 'd.pay_span')} "
        "ELSE 0 END) AS paid "
        f"FROM tmp_dplace d JOIN tmp_dact v ON v.act_id = d.act_id LEFT JOIN {students} e ON e.iin = d.iin "
        # grouped in the working table's key order: no sort of the month's lines
        f"AND v.dorm_rule IS NULL GROUP BY d.act_id, d.room, d.bed, d.id{', v.act_id' if sql.pg else ''}"
        f"{_fence(dialect)}")
    ruled = (
        "SELECT g.*, CASE "  # noqa: S608
        # dorm_no_documents, dorm_documents_expired: decided per act (_contexts), every line.
        "WHEN g.dorm_rule IS NOT NULL THEN g.dorm_rule "
        # iin_checksum: an IIN the student registry does not know and whose check digit is wrong (a typing
        # error, not a missing student); student_not_found: a well-formed IIN no institution has.
        f"WHEN g.n_any = 0 THEN CASE WHEN {_iin_invalid_sql(dialect, 'g.iin')} THEN 'iin_checksum' "
        "ELSE 'student_not_found' END "
        # not_enrolled: no enrolment at the named institution on any day the place is occupied this month
        # (another institution, withdrawn before, enrolled after).
        "WHEN g.n_here = 0 THEN 'not_enrolled' "
        # not_full_time: enrolled there, but part-time or by distance learning only.
        "WHEN g.n_full = 0 THEN 'not_full_time' "
        # local_resident: a full-time enrolment there gives an address in the dormitory's region, and the
        # contract's order excludes local residents.
        "WHEN g.excl_local = 1 AND g.n_local > 0 THEN 'local_resident' "
        # bed_unknown: the room and bed are not in the dormitory's list of beds (its building passport).
        "WHEN NOT EXISTS (SELECT 1 FROM dormitory_bed b WHERE b.dormitory_bin = g.dorm_bin AND b.room = g.room "
        "AND b.bed = g.bed) THEN 'bed_unknown' "
        # two_dormitories: another dormitory's act of the month places the student on a common day (the lines
        # found by _twins_sql).
        "WHEN (g.act_id, g.id) IN (SELECT act_id, id FROM tmp_dtwin) THEN 'two_dormitories' "
        f"WHEN g.n_full > 1 OR g.doc_run = 0 THEN '{_GENERAL}' "
        # Occupied and enrolled, but no common day with the documents' validity (dorm_documents_expired) or
        # with the enrolment (not_enrolled: only a line with no occupied day could get here).
        "WHEN g.paid = 0 THEN CASE WHEN g.enrolled = 0 THEN 'not_enrolled' ELSE 'dorm_documents_expired' END "
        f"END AS rule FROM ({facts}) g{_fence(dialect)}")
    return ("INSERT INTO tmp_vline (act_id, id, iin, rule, norm, amount, paid_days, review, registry_name, "  # noqa: S608
            "here_since) SELECT act_id, id, iin, rule, rate * claimed_days / month_days, "
            "CASE WHEN rule IS NULL THEN rate * paid / month_days ELSE 0 END, "
            f"CASE WHEN rule IS NULL THEN paid END, NULL, NULL, moved_in FROM ({ruled}) r")


def _day_by_day_sql(students: str) -> str:
    """The placeholder lines, paid the days (of ``tmp_dday``) the place is occupied, a full-time enrolment at the
    institution runs and — for paid days — both documents are valid: the union of several enrolments counted
    once, and documents with a gap inside the month paying only their days."""
    enrolled_on = (f"EXISTS (SELECT 1 FROM {students} e WHERE e.iin = d.iin AND e.institution_bin = d.inst "  # noqa: S608
                   "AND e.study_form = 'full_time' AND e.enrolled_on <= t.day "
                   "AND (e.withdrawn_on IS NULL OR e.withdrawn_on > t.day))")
    counted = ("SELECT x.act_id, x.id, v.rate, v.month_days, "  # noqa: S608
               "(SELECT COUNT(*) FROM tmp_dday t WHERE t.act_id = d.act_id AND t.day >= d.first_day "
               f"AND t.day <= d.last_day AND {enrolled_on}) AS enrolled, "
               "(SELECT COUNT(*) FROM tmp_dday t WHERE t.act_id = d.act_id AND t.day >= d.first_day "
               f"AND t.day <= d.last_day AND t.doc_ok = 1 AND {enrolled_on}) AS paid "
               "FROM tmp_vline x JOIN tmp_dplace d ON d.act_id = x.act_id AND d.id = x.id "
               f"JOIN tmp_dact v ON v.act_id = x.act_id WHERE x.rule = '{_GENERAL}'")
    return ("UPDATE tmp_vline SET rule = y.rule, amount = y.amount, paid_days = y.paid_days FROM ("  # noqa: S608
            "SELECT act_id, id, CASE WHEN paid > 0 THEN NULL WHEN enrolled = 0 THEN 'not_enrolled' "
            "ELSE 'dorm_documents_expired' END AS rule, CASE WHEN paid > 0 THEN rate * paid / month_days ELSE 0 END "
            f"AS amount, CASE WHEN paid > 0 THEN paid END AS paid_days FROM ({counted}) c) y "
            "WHERE tmp_vline.act_id = y.act_id AND tmp_vline.id = y.id")


# dorm_duplicate_line: of the copies of a student in one act, the one kept is the copy no other rule excludes
# (wrong institution, bed, dates …) and only then the lower line number — the dormitory's order of lines cannot
# make a wrong copy win. The IINs an act lists twice come from one ordered scan of the (act_id, iin) index; only
# their lines are ranked. Dormitory-level rules and iin_checksum outrank it.
_DUPLICATES = (
    "WITH dupsets AS (SELECT act_id, iin FROM act_line WHERE act_id IN (SELECT act_id FROM tmp_dact "
    "WHERE dorm_rule IS NULL) GROUP BY act_id, iin HAVING COUNT(*) > 1) "
    "SELECT act_id, id FROM (SELECT x.act_id, x.id, ROW_NUMBER() OVER (PARTITION BY x.act_id, x.iin "
    "ORDER BY CASE WHEN x.rule IS NULL THEN 0 ELSE 1 END, l.line_no) AS copy_no "
    "FROM dupsets s JOIN act_line l ON l.act_id = s.act_id AND l.iin = s.iin "
    "JOIN tmp_vline x ON x.act_id = l.act_id AND x.id = l.id) ranked WHERE copy_no > 1")
_OUTRANK_DUPLICATE = ", ".join(f"'{code}'" for code in (*DORM_LEVEL_RULES, "iin_checksum"))

# bed_shared: of the lines still paid that place students on the same bed of an act, taken in order of their first
# occupied day (then line number), a line whose days meet a line kept before it loses the bed — the earlier
# move-in keeps it. "Kept before" makes it a walk: the recursive part carries the last day of the beds' kept
# lines. Only the beds with two lines are walked (read in the working table's key order, no sort).
_SHARED_BEDS = (
    "WITH RECURSIVE beds AS (SELECT act_id, room, bed FROM tmp_dplace GROUP BY act_id, room, bed "
    "HAVING COUNT(*) > 1), "
    # (the line's rule by a probe of tmp_vline's key per line of those beds: no plan may scan it per bed)
    "paid AS (SELECT d.act_id, d.room, d.bed, d.id, d.first_day, d.last_day, d.line_no FROM beds b "
    "JOIN tmp_dplace d ON d.act_id = b.act_id AND d.room = b.room AND d.bed = b.bed "
    "WHERE (SELECT x.rule FROM tmp_vline x WHERE x.act_id = d.act_id AND x.id = d.id) IS NULL), "
    "ranked AS (SELECT act_id, room, bed, id, first_day, last_day, ROW_NUMBER() OVER ("
    "PARTITION BY act_id, room, bed ORDER BY first_day, line_no) AS n FROM paid), "
    "walk (act_id, room, bed, n, id, lost, reach) AS ("
    "SELECT act_id, room, bed, n, id, 0, last_day FROM ranked WHERE n = 1 "
    "UNION ALL SELECT r.act_id, r.room, r.bed, r.n, r.id, CASE WHEN r.first_day <= w.reach THEN 1 ELSE 0 END, "
    "CASE WHEN r.first_day > w.reach AND r.last_day > w.reach THEN r.last_day ELSE w.reach END "
    "FROM walk w JOIN ranked r ON r.act_id = w.act_id AND r.room = w.room AND r.bed = w.bed AND r.n = w.n + 1) "
    "SELECT act_id, id FROM walk WHERE lost = 1")


def _stage_students(conn: Connection, registry: StudentRegistry) -> str:
    """The student registry as a table: the adapter's own, or — for an adapter that is not a table (a live
    registry service) — the enrolments of exactly the IINs in question in ``tmp_dstud`` (dropped at the end of
    the pass)."""
    def iins() -> list[str]:
        return conn.execute(text("SELECT DISTINCT d.iin FROM tmp_dplace d JOIN tmp_dact v ON v.act_id = d.act_id "
                                 "WHERE v.dorm_rule IS NULL")).scalars().all()

    def row(r) -> dict:
        return {"iin": r.iin, "institution_bin": r.institution_bin, "study_form": r.study_form,
                "home_region": r.home_region or "", "enrolled_on": _d(conn, r.enrolled_on),
                "withdrawn_on": _d(conn, r.withdrawn_on)}

    return _stage_enrolments(
        conn, registry, "tmp_dstud", "iin VARCHAR(12) NOT NULL, institution_bin VARCHAR(12) NOT NULL, "
        "study_form VARCHAR(16) NOT NULL, home_region VARCHAR(16) NOT NULL, enrolled_on DATE NOT NULL, "
        "withdrawn_on DATE", "iin, institution_bin, study_form, enrolled_on, withdrawn_on, home_region", iins, row)


def _fill_days(conn: Connection, contexts: dict[int, DormContext]) -> bool:
    """The month's days of the acts with lines left to the day-by-day count (rare: a handful of rows); False:
    there are none."""
    acts = conn.execute(text(f"SELECT DISTINCT act_id FROM tmp_vline WHERE rule = '{_GENERAL}'")).scalars().all()  # noqa: S608
    rows = [{"act_id": act_id, "day": _d(conn, day), "ok": int(day.toordinal() in contexts[act_id].paid_days)}
            for act_id in acts
            for day in (contexts[act_id].start + timedelta(days=n) for n in range(contexts[act_id].end.day))]
    if rows:
        conn.execute(text("INSERT INTO tmp_dday VALUES (:act_id, :day, :ok)"), rows)
    return bool(rows)


def _exclude(conn: Connection, statement: str, rule: str, guard: str = "") -> None:
    """Exclude the (act, line) pairs ``statement`` selects from ``tmp_vline`` by ``rule`` (few rows)."""
    found = [{"act_id": a, "id": i, "rule": rule} for a, i in conn.execute(text(statement))]
    if found:
        conn.execute(text(_EXCLUDE + guard), found)


def verify_dormitory_acts(acts: Sequence[Act], registry: StudentRegistry | None = None, *,
                          on_step: Callable[[str], None] | None = None) -> dict[int, VerificationSummary]:
    """Verify the lines of ``acts`` in place (outcome, rule, paid days, amount) and the acts' totals, in the
    caller's transaction (the caller claims the acts first: ``claim_for_verification``)."""
    if not acts:
        return {}
    step = on_step or (lambda label: None)
    db.session.flush()
    conn = db.session.connection()
    dialect = conn.dialect.name
    sql = _Dialect(dialect)
    contexts = _contexts(acts)
    _create_temp_tables(conn)
    _create_dorm_tables(conn)
    students = None
    try:
        conn.execute(text("INSERT INTO tmp_dact VALUES (:act_id, :dorm_id, :bin, :region, :period, :ms, :me, :days, "
                          ":rate, :excl, :rule, :pf, :pt, :run)"), [
            {"act_id": act_id, "dorm_id": c.dormitory_id, "bin": c.dormitory_bin, "region": c.region_code,
             "period": _d(conn, c.act.period), "ms": _d(conn, c.start), "me": _d(conn, c.end), "days": c.end.day,
             "rate": int(c.rate_tiyn), "excl": int(bool(c.excludes_local_residents)), "rule": c.dormitory_rule,
             "pf": _d(conn, date.fromordinal(min(c.paid_days))) if c.paid_days else None,
             "pt": _d(conn, date.fromordinal(max(c.paid_days))) if c.paid_days else None,
             "run": int(not c.paid_days or max(c.paid_days) - min(c.paid_days) + 1 == len(c.paid_days))}
            for act_id, c in contexts.items()])
        conn.execute(text(_places_sql(sql)))
        if dialect == "postgresql":
            conn.execute(text("ANALYZE tmp_dact"))
            conn.execute(text("ANALYZE tmp_dplace"))
        students = _stage_students(conn, registry or student_registry())
        step("staged")
        conn.execute(text(_twins_sql(sql)))
        conn.execute(text(_rules_sql(sql, dialect, students)))
        if _fill_days(conn, contexts):
            conn.execute(text(_day_by_day_sql(students)))
        _exclude(conn, _DUPLICATES, "dorm_duplicate_line",
                 f" AND (rule IS NULL OR rule NOT IN ({_OUTRANK_DUPLICATE}))")
        _exclude(conn, _SHARED_BEDS, "bed_shared")
        step("rules")
        # dorm_over_capacity: more paid places than the contract's: the places go to the students who moved in
        # first (``here_since`` is the move-in date; ties by IIN) — the act's dates only, the order of its lines
        # plays no part. The contract's monthly cap limits the act's amount.
        summaries = _sum_and_write(conn, step, {act_id: c.monthly_cap_tiyn for act_id, c in contexts.items()},
                                   {act_id: c.places for act_id, c in contexts.items()}, "dorm_over_capacity")
    finally:
        _empty_temp_tables(conn)
        _empty_dorm_tables(conn)
        if students == "tmp_dstud":
            conn.execute(text("DROP TABLE tmp_dstud"))
    return summaries
