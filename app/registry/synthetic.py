"""A deterministic synthetic country for demos and benchmarks (``flask generate-country``).

Same seed, same sizes → the same country, row for row: 20 regions, private schools with design
capacities, an NEDB of every school student (private and state schools), licences, the business
register, and one month of submitted acts — with anomalies injected at known rates for every rule. The
ground truth (which lines and schools are anomalous, and which rule must catch them) goes to a CSV file.

Rows are written in bulk: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from app import clock
from app.acts.models import Act, StudentNorm
from app.acts.verification import academic_year, month_bounds
from app.demo.regions import REGIONS
from app.extensions import db
from app.people.models import Organisation, Region
from app.registry.identifiers import complete_12

LINE_RATES = {  # share of private-school students whose act line carries the anomaly
    "iin_checksum": 0.002, "duplicate_line": 0.002, "not_in_nedb": 0.002, "withdrawn": 0.004,
    "other_school": 0.004, "not_registered": 0.001, "double_enrolment": 0.003, "grade_mismatch": 0.004,
}
SCHOOL_RATES = {  # share of private schools
    "non_education_org": 0.01, "licence_expired": 0.015, "level_not_covered": 0.02, "over_capacity": 0.02,
}
FIRST = ["Айгерим", "Нурлан", "Дана", "Арман", "Асель", "Ерлан", "Жанар", "Данияр", "Мадина", "Алихан",
         "Камила", "Тимур", "Аружан", "Санжар", "Алия", "Бекзат", "Томирис", "Ильяс", "Амина", "Нурсултан"]
LAST = ["Ахметов", "Серикова", "Жумабаев", "Касымова", "Нургалиев", "Омарова", "Сулейменов", "Абдрахманова",
        "Искаков", "Токаева", "Бекмухамедов", "Ермекова", "Садыков", "Есенова", "Мусин"]
SCHOOL_WORDS = ["Bilim", "Nur", "Alatau", "Zhuldyz", "Samal", "Daryn", "Kemel", "Murager", "Oqu", "Tandau"]
NORMS = {"primary": 3_850_000, "basic": 4_230_000, "secondary": 4_610_000}


@dataclass
class CountrySpec:
    seed: int = 2026
    nedb_students: int = 4_000_000
    schools: int = 850
    private_students: int | None = None  # default: the national share, 555,000 of 4,000,000
    period: date = date(2026, 10, 1)
    state_schools: int | None = None
    line_rates: dict[str, float] = field(default_factory=lambda: dict(LINE_RATES))
    school_rates: dict[str, float] = field(default_factory=lambda: dict(SCHOOL_RATES))

    @property
    def private(self) -> int:
        return self.private_students if self.private_students is not None else self.nedb_students * 555 // 4000


@dataclass
class CountryStats:
    schools: int = 0
    nedb_rows: int = 0
    act_lines: int = 0
    anomalous_lines: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


class IinFactory:
    """IIN number k (k = 0, 1, 2 …), distinct for every k, with a valid check digit: birth date
    2008–2020 and sex from k, then the r-th serial whose check digit exists for that prefix."""

    def __init__(self):
        start, end = date(2008, 1, 1), date(2020, 12, 31)
        self.dates = [(start + timedelta(days=i)) for i in range((end - start).days + 1)]
        self.prefixes = []
        for d in self.dates:
            for century in ("4", "6"):  # male / female, born in the 2000s
                digits = [int(c) for c in f"{d:%y%m%d}{century}"]
                p1 = sum(x * w for x, w in zip(digits, range(1, 8), strict=True))
                p2 = sum(x * w for x, w in zip(digits, (3, 4, 5, 6, 7, 8, 9), strict=True))
                self.prefixes.append((f"{d:%y%m%d}{century}", p1 % 11, p2 % 11))
        s1 = [sum(int(c) * w for c, w in zip(f"{s:04d}", (8, 9, 10, 11), strict=True)) for s in range(10000)]
        s2 = [sum(int(c) * w for c, w in zip(f"{s:04d}", (10, 11, 1, 2), strict=True)) for s in range(10000)]
        self.serials: dict[tuple[int, int], list[tuple[str, int]]] = {}
        for a in range(11):
            for b in range(11):
                valid = []
                for s in range(10000):
                    c = (a + s1[s]) % 11
                    if c == 10:
                        c = (b + s2[s]) % 11
                        if c == 10:
                            continue
                    valid.append((f"{s:04d}", c))
                self.serials[(a, b)] = valid
        self.buckets = len(self.prefixes)

    def __call__(self, k: int) -> str:
        rank, bucket = divmod(k, self.buckets)
        prefix, a, b = self.prefixes[bucket]
        serial, check = self.serials[(a, b)][rank]
        return f"{prefix}{serial}{check}"


def _name(k: int) -> str:
    last = LAST[k % len(LAST)]
    first = FIRST[(k // len(LAST)) % len(FIRST)]
    return f"{last} {first}"


def _iban(rng: random.Random) -> str:
    bban = f"125KZT{rng.randint(0, 10**10 - 1):010d}"
    numeric = "".join(str(int(ch, 36)) for ch in bban + "KZ00")
    return f"KZ{98 - int(numeric) % 97:02d}{bban}"


def _bins(rng: random.Random, count: int, taken: set[str], type_digit: str) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        registered = date(1995 + rng.randint(0, 27), rng.randint(1, 12), 1)
        candidate = complete_12(f"{registered:%y%m}{type_digit}{rng.randint(0, 999999):06d}")
        if candidate and candidate not in taken:
            taken.add(candidate)
            out.append(candidate)
    return out


def _bulk(table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    """Write rows fast: COPY on PostgreSQL, executemany in chunks on SQLite. Returns the row count."""
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    n = 0
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
    cur = raw.cursor()
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(tuple(v.isoformat() if isinstance(v, date) else v for v in row))
        if len(chunk) >= 50_000:
            cur.executemany(sql, chunk)
            n += len(chunk)
            chunk.clear()
    if chunk:
        cur.executemany(sql, chunk)
        n += len(chunk)
    return n


def _count(rate: float, population: int) -> int:
    return 0 if rate <= 0 or population == 0 else max(1, round(rate * population))


def generate_country(spec: CountrySpec, truth_path: Path,
                     progress: Callable[[int], None] | None = None) -> CountryStats:
    """Build the country in the current database (commits). Refuses to build the same country twice."""
    report = progress or (lambda percent: None)
    rng = random.Random(spec.seed)
    iin_of = IinFactory()
    start, end = month_bounds(spec.period)
    year_start = date(spec.period.year if spec.period.month >= 9 else spec.period.year - 1, 9, 1)
    stats = CountryStats()

    # Regions and norms (created only when missing).
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    for code, kk, ru, en in REGIONS:
        if code not in regions:
            regions[code] = Region(code=code, name_kk=kk, name_ru=ru, name_en=en)
            db.session.add(regions[code])
    year = academic_year(spec.period)
    have = {n.level for n in db.session.scalars(select(StudentNorm).where(StudentNorm.academic_year == year))}
    db.session.add_all([StudentNorm(academic_year=year, level=lvl, monthly_tiyn=v)
                        for lvl, v in NORMS.items() if lvl not in have])
    db.session.flush()
    region_list = [regions[code] for code, *_ in REGIONS]
    weights = [3 if r.code in ("ALMATY", "ASTANA", "SHYMKENT") else 1 for r in region_list]

    # Schools: sizes, capacities, and which schools carry a school-level anomaly.
    taken = set(db.session.scalars(select(Organisation.bin)))
    first_bin = _bins(random.Random(spec.seed), 1, set(), "4")[0]
    if first_bin in taken:
        raise ValueError(f"The synthetic country for seed {spec.seed} is already in this database.")
    school_bins = _bins(rng, spec.schools, taken, "4")
    n_state = spec.state_schools or max(1, (spec.nedb_students - spec.private) // 500)
    state_bins = _bins(rng, n_state, taken, "5")
    raw_sizes = [rng.lognormvariate(0, 0.5) for _ in range(spec.schools)]
    total_w = sum(raw_sizes)
    sizes = [max(1, int(spec.private * w / total_w)) for w in raw_sizes]
    sizes[0] += spec.private - sum(sizes)
    school_anomaly: dict[int, str] = {}
    pool = list(range(spec.schools))
    rng.shuffle(pool)
    for rule, rate in spec.school_rates.items():
        for _ in range(_count(rate, spec.schools)):
            if pool:
                school_anomaly[pool.pop()] = rule

    # Line-level anomalies: disjoint sets of private students (global index k < private).
    private = spec.private
    candidates = rng.sample(range(private), min(private, sum(_count(r, private) for r in spec.line_rates.values())))
    anomaly_of: dict[int, str] = {}
    pos = 0
    extra_other, extra_phantom = 0, 0
    for rule, rate in spec.line_rates.items():
        n = _count(rate, private)
        if rule == "not_in_nedb":
            extra_phantom = n
            continue
        if rule == "other_school":
            extra_other = n
            continue
        for k in candidates[pos : pos + n]:
            anomaly_of[k] = rule
        pos += n
    report(5)

    # Private students' grades and enrolment dates, decided once (the NEDB rows and the act lines agree).
    grade_of = [rng.randint(1, 11) for _ in range(private)]
    since_of = [date(year_start.year - rng.choice((0, 0, 0, 1, 2, 3)), 9, 1) for _ in range(private)]
    school_of: list[int] = []
    for s, size in enumerate(sizes):
        school_of.extend([s] * size)

    orgs = []
    for s, bin_ in enumerate(school_bins):
        orgs.append(Organisation(kind="school", bin=bin_, region_id=rng.choices(region_list, weights)[0].id,
                                 name=f"{SCHOOL_WORDS[s % len(SCHOOL_WORDS)]} Private School №{s + 1}",
                                 design_capacity=None, iban=_iban(rng)))
    db.session.add_all(orgs)
    db.session.flush()

    # NEDB rows: private students, state students, and the extra rows some anomalies need.
    state_first = private
    n_state_students = max(0, spec.nedb_students - private)
    double_rows = []

    def nedb_rows():
        for k in range(private):
            rule = anomaly_of.get(k)
            enrolled, withdrawn = since_of[k], None
            if rule == "withdrawn":  # dropped out on or before the first day of the month
                withdrawn = start - timedelta(days=rng.randint(0, 25))
                enrolled = min(enrolled, withdrawn - timedelta(days=1))
            elif rule == "not_registered":  # registered from next month only
                enrolled = end + timedelta(days=1 + rng.randint(0, 10))
            elif rule == "double_enrolment":  # also at a state school on days of this month
                double_rows.append((iin_of(k), _name(k), state_bins[k % n_state], "state", grade_of[k],
                                    start + timedelta(days=rng.randint(0, 20)), None))
            yield (iin_of(k), _name(k), school_bins[school_of[k]], "private", grade_of[k], enrolled, withdrawn)
        for j in range(n_state_students):
            k = state_first + j
            yield (iin_of(k), _name(k), state_bins[j % n_state], "state", 1 + (k * 7 + spec.seed) % 11,
                   date(year_start.year - (k % 4), 9, 1), None)
        yield from double_rows

    columns = ["iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on", "withdrawn_on"]
    stats.nedb_rows = _bulk("nedb_enrollment", columns, nedb_rows())
    report(60)

    # Act lines per school, with the expected rule of each line.
    lines_of: list[list[list]] = [[] for _ in range(spec.schools)]  # [iin, grade, intent]
    for k in range(private):
        rule = anomaly_of.get(k)
        student = iin_of(k)
        grade = grade_of[k]
        if rule == "iin_checksum":
            student = student[:11] + str((int(student[11]) + 1) % 10)
        elif rule == "grade_mismatch":
            grade = grade % 11 + 1
        intent = rule if rule in ("iin_checksum", "grade_mismatch", "withdrawn", "not_registered",
                                  "double_enrolment") else None
        lines_of[school_of[k]].append([student, grade, intent, k])
    state_pick = rng.sample(range(n_state_students), min(extra_other, n_state_students)) if n_state_students else []
    for j in state_pick:  # a state-school student claimed by a private school
        k = state_first + j
        lines_of[rng.randrange(spec.schools)].append([iin_of(k), 1 + (k * 7 + spec.seed) % 11, "other_school", k])
    for j in range(extra_phantom):  # a valid IIN nobody registered
        k = spec.nedb_students + len(double_rows) + j + 1
        lines_of[rng.randrange(spec.schools)].append([iin_of(k), rng.randint(1, 11), "not_in_nedb", k])

    truth_rows = []
    acts = []
    now = clock.now()
    for s, school in enumerate(orgs):
        lines = lines_of[s]
        rng.shuffle(lines)
        dupes = [list(ln[:2]) + ["duplicate_line", ln[3]] for ln in lines if anomaly_of.get(ln[3]) == "duplicate_line"]
        lines.extend(dupes)
        school_rule = school_anomaly.get(s)
        expected = [school_rule if school_rule in ("non_education_org", "licence_expired") else ln[2] for ln in lines]
        if school_rule == "level_not_covered":
            expected = [e if e is not None or ln[1] < 10 else "level_not_covered"
                        for e, ln in zip(expected, lines, strict=True)]
        valid = sum(1 for e in expected if e is None)
        if school_rule == "over_capacity":
            school.design_capacity = max(1, valid * 45 // 100)  # more than twice the building holds
            rank = 0
            for i, e in enumerate(expected):
                if e is None:
                    rank += 1
                    if rank > school.design_capacity:
                        expected[i] = "over_capacity"
        else:
            school.design_capacity = len(lines) + 5 + len(lines) * rng.randint(10, 60) // 100
        act = Act(number=f"ACT-{school.bin}-{spec.period:%Y%m}", school_id=school.id, region_id=school.region_id,
                  period=spec.period, status="submitted", revision=1, total_lines=len(lines), created_at=now,
                  submitted_at=now)
        acts.append((act, lines, expected))
        if school_rule:
            truth_rows.append(("school", school.bin, act.number, "", "", school_rule, school_rule))
    db.session.add_all([a for a, _, _ in acts])
    db.session.flush()
    report(70)

    def act_line_rows():
        for act, lines, expected in acts:
            for no, (ln, exp) in enumerate(zip(lines, expected, strict=True), start=1):
                if exp is not None:
                    truth_rows.append(("line", orgs_by_id[act.school_id].bin, act.number, no, ln[0], ln[2] or "", exp))
                    stats.by_rule[exp] = stats.by_rule.get(exp, 0) + 1
                yield (act.id, spec.period, act.school_id, no, ln[0], _name(ln[3]), ln[1], 20, "pending", 0)

    orgs_by_id = {o.id: o for o in orgs}
    stats.act_lines = _bulk("act_line", ["act_id", "period", "school_id", "line_no", "iin", "full_name", "grade",
                                         "days_attended", "outcome", "amount_tiyn"], act_line_rows())
    stats.anomalous_lines = sum(1 for r in truth_rows if r[0] == "line")
    report(85)

    # Licences and the business register.
    def licence_rows():
        for s, school in enumerate(orgs):
            rule = school_anomaly.get(s)
            valid_from = date(2012 + rng.randint(0, 8), rng.randint(1, 12), 1)
            until = start + timedelta(days=rng.randint(-120, end.day - 2)) if rule == "licence_expired" else None
            levels = "primary,basic" if rule == "level_not_covered" else "primary,basic,secondary"
            yield (f"KZ{spec.seed % 100:02d}LAA{s + 1:08d}", school.bin, valid_from, until, levels)

    def business_rows():
        for s, school in enumerate(orgs):
            rule = school_anomaly.get(s)
            status, oked = "active", rng.choice(("85.31", "85.20", "85.32"))
            if rule == "non_education_org":
                if s % 2:
                    status = "liquidated"
                else:
                    oked = rng.choice(("47.11", "68.20", "56.10"))
            yield (school.bin, school.name, status, oked)

    _bulk("registry_licence", ["number", "bin", "valid_from", "valid_until", "levels"], licence_rows())
    _bulk("registry_business", ["bin", "name", "status", "oked"], business_rows())
    stats.schools = len(orgs)
    db.session.commit()
    report(95)

    truth_path.parent.mkdir(parents=True, exist_ok=True)
    with open(truth_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["scope", "school_bin", "act_number", "line_no", "iin", "injected", "expected_rule"])
        writer.writerows(truth_rows)
    report(100)
    return stats


def read_truth(path: Path) -> dict[tuple[str, int], str]:
    """(act number, line number) → expected rule, for every anomalous line of the ground truth."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {(r["act_number"], int(r["line_no"])): r["expected_rule"] for r in csv.DictReader(fh)
                if r["scope"] == "line"}
