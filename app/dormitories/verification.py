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

The statements, each rule documented where its SQL decides it, are in :mod:`app.dormitories.rule_sql`.

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
    _empty_temp_tables,
    _stage_enrolments,
    _sum_and_write,
    month_bounds,
)
from app.contracts.models import Contract, ContractAct
from app.dormitories import rule_sql
from app.dormitories.models import DormitoryTerms
from app.dormitories.registry import StudentRegistry, documents_of, student_registry
from app.extensions import db
from app.people.models import Organisation, Region
from app.registry.adapter import EnrolledDays
from app.registry.business import Standing, business_records, liquidation_day, standing

_CHUNK = 900
DORMITORY = "dormitory"
#: the business register's standing of a dormitory (its BIN: the investor's operating company) → its rule; any
#: main activity will do (accommodation, real estate), so only a missing or an inactive record excludes — or one
#: liquidated on a date on or before the month's first day (a date inside the month: its days before are paid)
DORM_BUSINESS_RULES = {Standing.MISSING: "dorm_no_business_record", Standing.INACTIVE: "dorm_business_inactive",
                       Standing.LIQUIDATED: "dorm_liquidated"}


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
    #: the business register's liquidation date, when it falls on or before the month's last day: no day from it on
    #: is paid (``paid_days`` end the day before; on or before the month's first day: ``dorm_liquidated``)
    liquidated_on: date | None = None


def occupied_days(moved_in: date, moved_out: date | None, start: date, end: date) -> tuple[date, date]:
    """The first and last day of [start, end] the place is occupied (``moved_out`` is the first free day)."""
    last = end if moved_out is None else min(end, moved_out - timedelta(days=1))
    return max(moved_in, start), last


def place_days(first: date, last: date, full_time_here: Sequence[EnrolledDays],
               document_days: set[int]) -> tuple[int, int]:
    """(enrolled, paid) days of a place occupied [first, last]: the days a full-time enrolment at the named
    institution runs (a withdrawal is the first day not enrolled; several enrolments, each day once), and those of
    them on which both documents are valid (``document_days``, ordinals) — what the rule pass counts in SQL
    (:func:`app.dormitories.rule_sql.rules_sql`, :func:`~app.dormitories.rule_sql.day_by_day_sql`), for one line
    in Python (the adjustments' repricing of a decided line)."""
    enrolled: set[int] = set()
    for e in full_time_here:
        until = last if e.withdrawn_on is None else min(last, e.withdrawn_on - timedelta(days=1))
        enrolled |= _days(max(first, e.enrolled_on), until)
    return len(enrolled), len(enrolled & document_days)


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


def dormitory_contexts(acts: Sequence[Act]) -> dict[int, DormContext]:
    """Per act: its dormitory-level rule, the contract's terms and the days both documents are valid (today's
    registries; the adjustments price a decided month again with the same)."""
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
    bins = {bin_ for bin_, _, _ in dormitories.values()}
    docs = documents_of(bins)
    records = business_records(bins)
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
        record = records.get(bin_)
        found = standing(record, month_start=start)
        liquidated = liquidation_day(record)  # while the register says so (a reinstated record is active)
        if liquidated is not None and liquidated <= end:
            # Liquidated within the month: the days before the liquidation are paid, as the days documents ending
            # inside the month cover are — the schools' rule (app.acts.verification.school_contexts).
            ctx.liquidated_on = liquidated
            if days:
                days = {day for day in days if day < liquidated.toordinal()} or None
                if days is None:  # the documents are valid only from the liquidation on
                    found = Standing.LIQUIDATED
        # dorm_no_business_record (no record, no payment), dorm_business_inactive, dorm_liquidated (on or before
        # the month's first day): the business register, as for schools (app.registry.business);
        # dorm_no_documents: a commissioning act or an ownership (lease) document is missing altogether;
        # dorm_documents_expired: both exist but are not both valid on any day of the month. Each excludes every
        # line of the act (dormitory-level rules come first).
        if found is not None:
            ctx.dormitory_rule = DORM_BUSINESS_RULES[found]
        elif days is None:
            ctx.dormitory_rule = "dorm_no_documents"
        elif not days:
            ctx.dormitory_rule = "dorm_documents_expired"
        ctx.paid_days = days or set()
        contexts[act.id] = ctx
    return contexts


def _stage_students(conn: Connection, registry: StudentRegistry) -> str:
    """The student registry as a table: the adapter's own, or — for an adapter that is not a table (a live
    registry service) — the enrolments of exactly the IINs in question in ``tmp_dstud`` (dropped at the end of
    the pass)."""
    def iins() -> list[str]:
        # and every IIN NEDB merged with a place's child (staged in ``tmp_vmerge`` first): its rows are the child's
        return conn.execute(text("SELECT DISTINCT d.iin FROM tmp_dplace d JOIN tmp_dact v ON v.act_id = d.act_id "
                                 "WHERE v.dorm_rule IS NULL UNION SELECT iin FROM tmp_vmerge "
                                 "UNION SELECT person FROM tmp_vmerge")).scalars().all()

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
    acts = conn.execute(text("SELECT DISTINCT act_id FROM tmp_vline WHERE rule = :general"),
                        {"general": rule_sql.GENERAL}).scalars().all()
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
    sql = rule_sql.Dialect(dialect)
    contexts = dormitory_contexts(acts)
    _create_temp_tables(conn)
    rule_sql.create_tables(conn)
    students = None
    try:
        conn.execute(text("INSERT INTO tmp_dact VALUES (:act_id, :dorm_id, :bin, :region, :period, :ms, :me, :days, "
                          ":rate, :excl, :rule, :pf, :pt, :run, :liq)"), [
            {"act_id": act_id, "dorm_id": c.dormitory_id, "bin": c.dormitory_bin, "region": c.region_code,
             "period": _d(conn, c.act.period), "ms": _d(conn, c.start), "me": _d(conn, c.end), "days": c.end.day,
             "rate": int(c.rate_tiyn), "excl": int(bool(c.excludes_local_residents)), "rule": c.dormitory_rule,
             "pf": _d(conn, date.fromordinal(min(c.paid_days))) if c.paid_days else None,
             "pt": _d(conn, date.fromordinal(max(c.paid_days))) if c.paid_days else None,
             "run": int(not c.paid_days or max(c.paid_days) - min(c.paid_days) + 1 == len(c.paid_days)),
             "liq": _d(conn, c.liquidated_on)}
            for act_id, c in contexts.items()])
        conn.execute(text(rule_sql.places_sql(sql)))
        if dialect == "postgresql":
            conn.execute(text("ANALYZE tmp_dact"))
            conn.execute(text("ANALYZE tmp_dplace"))
        merged = rule_sql.stage_merges(conn)
        students = _stage_students(conn, registry or student_registry())
        step("staged")
        conn.execute(text(rule_sql.twins_sql(sql, DORMITORY, merged)))
        conn.execute(text(rule_sql.rules_sql(sql, dialect, students, merged)))
        if _fill_days(conn, contexts):
            conn.execute(text(rule_sql.day_by_day_sql(students, merged)))
        _exclude(conn, rule_sql.duplicates_sql(merged), "dorm_duplicate_line",
                 f" AND (rule IS NULL OR rule NOT IN ({rule_sql.OUTRANK_DUPLICATE}))")
        _exclude(conn, rule_sql.SHARED_BEDS, "bed_shared")
        step("rules")
        # dorm_over_capacity: more places held on a day than the contract's: the places go to the students who
        # moved in first (``here_since`` is the move-in date; ties by IIN), counted on the days each holds its bed
        # (a bed handed on mid-month is one place) — the act's dates only, the order of its lines plays no part.
        # The contract's monthly cap limits the act's amount.
        summaries = _sum_and_write(conn, step, {act_id: c.monthly_cap_tiyn for act_id, c in contexts.items()},
                                   {act_id: c.places for act_id, c in contexts.items()}, "dorm_over_capacity",
                                   spans="SELECT id, first_day, last_day FROM tmp_dplace WHERE act_id = :a")
    finally:
        _empty_temp_tables(conn)
        rule_sql.empty_tables(conn)
        if students == "tmp_dstud":
            conn.execute(text("DROP TABLE tmp_dstud"))
    return summaries
