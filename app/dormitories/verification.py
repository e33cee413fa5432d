"""Verify occupied places: every line of one dormitory act — or of every dormitory act of a month — at once.

Set-based like the schools' pass (``app.acts.verification``): the lines of all the acts, their students'
enrolments, the dormitories' beds and documents, the contracts' terms and the other dormitories' claims on the
same students are each read in one query (chunked under SQLite's parameter limit), the rules
(:data:`app.dormitories.rules.DORM_RULES`, in precedence order) decide every line in memory, and the results
are written back with one ``executemany``. The number of statements does not grow with the number of lines.

Pay by days: a line earns the contracted monthly rate per place × paid days / days in the month (integer tiyn,
rounded down); paid days are the days the place was occupied this month on which the student was enrolled
full-time at the named institution and the dormitory's commissioning and ownership documents were both valid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select, text

from app.acts.models import Act, ActLine
from app.acts.verification import VerificationSummary, month_bounds
from app.contracts.models import Contract, ContractAct
from app.dormitories.models import DormitoryTerms, DormPlaceLine
from app.dormitories.registry import StudentRegistry, beds_of, documents_of, student_registry
from app.extensions import db
from app.people.models import Organisation, Region
from app.registry.identifiers import is_valid_iin

_CHUNK = 900
DORMITORY = "dormitory"


@dataclass
class DormContext:
    act: Act
    start: date
    end: date
    region_code: str
    dormitory_id: int
    places: int | None = None
    rate_tiyn: int = 0
    excludes_local_residents: bool = True
    monthly_cap_tiyn: int | None = None
    dormitory_rule: str | None = None
    paid_days: set[int] = field(default_factory=set)  # days (ordinals) both documents are valid
    beds: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Place:
    line_id: int
    act_id: int
    line_no: int
    iin: str
    institution_bin: str
    room: str
    bed: str
    first: date  # first occupied day of the month
    last: date  # last occupied day of the month
    moved_in: date
    rule: str | None = None
    paid_days: int = 0

    @property
    def claimed_days(self) -> int:
        return max(0, (self.last - self.first).days + 1)


def occupied_days(moved_in: date, moved_out: date | None, start: date, end: date) -> tuple[date, date]:
    """The first and last day of [start, end] the place is occupied (``moved_out`` is the first free day)."""
    last = end if moved_out is None else min(end, moved_out - timedelta(days=1))
    return max(moved_in, start), last


def _days(first: date, last: date) -> set[int]:
    """The days of [first, last] as ordinals (a month's worth at most)."""
    return set(range(first.toordinal(), last.toordinal() + 1))


def _overlap(a: tuple[date, date], b: tuple[date, date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


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
    bins = {bin_ for bin_, _, _ in dormitories.values()}
    beds, docs = beds_of(bins), documents_of(bins)
    contexts = {}
    for act in acts:
        start, end = month_bounds(act.period)
        bin_, region_code, capacity = dormitories[act.school_id]
        ctx = DormContext(act, start, end, region_code, act.school_id)
        contract, t = terms.get(act.id, (None, None))
        if t is not None:
            ctx.places, ctx.rate_tiyn = t.places, t.place_rate_tiyn
            ctx.excludes_local_residents = t.excludes_local_residents
            ctx.monthly_cap_tiyn = contract.monthly_cap_tiyn
        else:  # no contract: nothing is owed, the places are the organisation's own capacity
            ctx.places = capacity
        days = _document_days(docs.get(bin_, []), start, end)
        if days is None:
            ctx.dormitory_rule = "dorm_no_documents"
        elif not days:
            ctx.dormitory_rule = "dorm_documents_expired"
        ctx.paid_days = days or set()
        ctx.beds = beds.get(bin_, set())
        contexts[act.id] = ctx
    return contexts


def _places(contexts: dict[int, DormContext]) -> list[Place]:
    places = []
    ids = sorted(contexts)
    for i in range(0, len(ids), _CHUNK):
        rows = db.session.connection().execute(  # plain rows: no ORM loading for a month of lines
            select(ActLine.id, ActLine.act_id, ActLine.line_no, ActLine.iin, DormPlaceLine.institution_bin,
                   DormPlaceLine.room, DormPlaceLine.bed, DormPlaceLine.moved_in, DormPlaceLine.moved_out)
            .join(DormPlaceLine, DormPlaceLine.line_id == ActLine.id).where(ActLine.act_id.in_(ids[i:i + _CHUNK]))
            .order_by(ActLine.act_id, ActLine.line_no))
        for line_id, act_id, line_no, iin, inst, room, bed, moved_in, moved_out in rows:
            ctx = contexts[act_id]
            first, last = occupied_days(moved_in, moved_out, ctx.start, ctx.end)
            places.append(Place(line_id, act_id, line_no, iin, inst, room, bed, first, last, moved_in))
    return places


def _other_claims(acts: Sequence[Act], iins: set[str]) -> dict[tuple[str, date], list[tuple[int, date, date | None]]]:
    """Every dormitory act's claim on these students in these months: (iin, period) → [(dormitory, in, out)]."""
    periods = sorted({a.period for a in acts})
    wanted = sorted(iins)
    claims: dict[tuple[str, date], list] = defaultdict(list)
    for i in range(0, len(wanted), _CHUNK):
        rows = db.session.connection().execute(
            select(ActLine.iin, ActLine.period, ActLine.school_id, DormPlaceLine.moved_in, DormPlaceLine.moved_out)
            .join(DormPlaceLine, DormPlaceLine.line_id == ActLine.id).join(Act, Act.id == ActLine.act_id)
            .where(Act.instrument == DORMITORY, ActLine.period.in_(periods), ActLine.iin.in_(wanted[i:i + _CHUNK])))
        for iin, period, dormitory_id, moved_in, moved_out in rows:
            claims[(iin, period)].append((dormitory_id, moved_in, moved_out))
    return claims


def _decide(places: list[Place], contexts: dict[int, DormContext], registry: StudentRegistry,
            claims: dict) -> None:
    enrolments = registry.enrollments_for({p.iin for p in places})
    seen: set[tuple[int, str]] = set()
    for p in places:
        ctx = contexts[p.act_id]
        records = enrolments.get(p.iin, [])
        at_institution = [r for r in records if r.institution_bin == p.institution_bin
                          and r.active_during(p.first, p.last)]
        full_time = [r for r in at_institution if r.study_form == "full_time"]
        # Enrolled full-time on which of the place's days (intervals; a withdrawal is the first day not enrolled).
        enrolled = [(max(r.enrolled_on, p.first),
                     p.last if r.withdrawn_on is None else min(p.last, r.withdrawn_on - timedelta(days=1)))
                    for r in full_time]
        first_copy = (p.act_id, p.iin) not in seen
        seen.add((p.act_id, p.iin))
        elsewhere = [c for c in claims.get((p.iin, ctx.act.period), []) if c[0] != ctx.dormitory_id
                     and _overlap((p.first, p.last), occupied_days(c[1], c[2], ctx.start, ctx.end))]
        if ctx.dormitory_rule:
            p.rule = ctx.dormitory_rule
        elif not records and not is_valid_iin(p.iin):
            p.rule = "iin_checksum"
        elif not first_copy:
            p.rule = "dorm_duplicate_line"
        elif not records:
            p.rule = "student_not_found"
        elif not at_institution:
            p.rule = "not_enrolled"
        elif not full_time:
            p.rule = "not_full_time"
        elif ctx.excludes_local_residents and any(r.home_region == ctx.region_code for r in full_time):
            p.rule = "local_resident"
        elif (p.room, p.bed) not in ctx.beds:
            p.rule = "bed_unknown"
        elif elsewhere:
            p.rule = "two_dormitories"
        else:
            enrolled_days = set().union(*(_days(a, b) for a, b in enrolled if a <= b))
            p.paid_days = len(enrolled_days & ctx.paid_days)
            if not p.paid_days:
                p.rule = "not_enrolled" if not enrolled_days else "dorm_documents_expired"
    _share_beds(places)
    _cap_places(places, contexts)


def _share_beds(places: list[Place]) -> None:
    """bed_shared: of two lines on the same bed on a common day, the earlier move-in keeps it (then line order)."""
    by_bed: dict[tuple, list[Place]] = defaultdict(list)
    for p in places:
        if p.rule is None:
            by_bed[(p.act_id, p.room, p.bed)].append(p)
    for group in by_bed.values():
        kept: list[Place] = []
        for p in sorted(group, key=lambda x: (x.first, x.line_no)):
            if any(p.first <= k.last and k.first <= p.last for k in kept):
                p.rule, p.paid_days = "bed_shared", 0
            else:
                kept.append(p)


def _cap_places(places: list[Place], contexts: dict[int, DormContext]) -> None:
    """dorm_over_capacity: the places go to the students who moved in first (ties by IIN); registry and act dates
    only — the order of the act's lines plays no part."""
    by_act: dict[int, list[Place]] = defaultdict(list)
    for p in places:
        if p.rule is None:
            by_act[p.act_id].append(p)
    for act_id, group in by_act.items():
        limit = contexts[act_id].places
        if limit is not None and len(group) > limit:
            for p in sorted(group, key=lambda x: (x.moved_in, x.iin))[limit:]:
                p.rule, p.paid_days = "dorm_over_capacity", 0


def verify_dormitory_acts(acts: Sequence[Act], registry: StudentRegistry | None = None, *,
                          on_step: Callable[[str], None] | None = None) -> dict[int, VerificationSummary]:
    """Verify the lines of ``acts`` in place (outcome, rule, paid days, amount) and the acts' totals."""
    if not acts:
        return {}
    step = on_step or (lambda label: None)
    db.session.flush()
    contexts = _contexts(acts)
    places = _places(contexts)
    step("staged")
    _decide(places, contexts, registry or student_registry(), _other_claims(acts, {p.iin for p in places}))
    step("rules")
    summaries = {a.id: VerificationSummary(0, 0, 0, 0, 0, {}) for a in acts}
    updates = []
    for p in places:
        ctx, s = contexts[p.act_id], summaries[p.act_id]
        month_days = ctx.end.day
        claimed = ctx.rate_tiyn * min(p.claimed_days, month_days) // month_days
        amount = 0 if p.rule else ctx.rate_tiyn * min(p.paid_days, month_days) // month_days
        s.total += 1
        if p.rule:
            s.excluded += 1
            s.by_rule[p.rule] = s.by_rule.get(p.rule, 0) + 1
        else:
            s.accepted += 1
            s.amount_tiyn += amount
        s.withheld_tiyn += claimed - amount
        updates.append({"id": p.line_id, "outcome": "excluded" if p.rule else "accepted", "rule": p.rule,
                        "amount": amount, "paid": None if p.rule else p.paid_days})
    for act_id, s in summaries.items():
        cap = contexts[act_id].monthly_cap_tiyn
        if cap is not None and s.amount_tiyn > cap:  # the contract's monthly cap
            s.capped_tiyn = s.amount_tiyn - cap
            s.amount_tiyn = cap
            s.withheld_tiyn += s.capped_tiyn
    conn = db.session.connection()
    if updates:
        conn.execute(text("UPDATE act_line SET outcome = :outcome, rule_code = :rule, amount_tiyn = :amount, "
                          "paid_days = :paid, review_codes = NULL, registry_name = NULL WHERE id = :id"), updates)
    conn.execute(text("UPDATE act SET total_lines = :total, accepted_lines = :accepted, amount_tiyn = :amount, "
                      "withheld_tiyn = :withheld WHERE id = :id"),
                 [{"id": act_id, "total": s.total, "accepted": s.accepted, "amount": s.amount_tiyn,
                   "withheld": s.withheld_tiyn} for act_id, s in summaries.items()])
    step("written")
    return summaries
