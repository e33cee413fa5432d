"""A deterministic synthetic country for demos and benchmarks (``flask generate-country``).

Same seed, same sizes → the same country, row for row: 20 regions, private schools with design
capacities, an NEDB of every school student (private and state schools), licences, the business
register, and one month of submitted acts — with anomalies injected at known rates for every rule. The
ground truth (which lines and schools are anomalous, and which rule must catch them) goes to a CSV file.

Rows are written in bulk: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from app import clock
from app.acts.models import Act, StudentNorm
from app.acts.rules import age_on
from app.acts.verification import academic_year, month_bounds
from app.demo.regions import REGIONS
from app.extensions import db
from app.people.models import Organisation, Region
from app.registry.identifiers import complete_12, iin_birth_date, iin_century_digit

LINE_RATES = {  # share of private-school students whose act line carries the anomaly
    "iin_checksum": 0.002, "duplicate_line": 0.002, "not_in_nedb": 0.002, "withdrawn": 0.004,
    "other_school": 0.004, "not_registered": 0.001, "double_enrolment": 0.003, "grade_mismatch": 0.004,
    # a private student also claimed by another private school NEDB never had them at
    "double_claim": 0.002,
    # overlapping anomalies (two on one student): the wrong copy listed first; a withdrawn student listed twice
    "duplicate_line+grade_mismatch": 0.001, "withdrawn+duplicate_line": 0.001,
}
REVIEW_RATES = {  # identity checks: paid, but the official must review the line (rules.REVIEW_CHECKS)
    "name": 0.001, "age": 0.001, "days": 0.001,
}
NEAR_MISS_RATES = {  # legitimate lines that look like anomalies: none may be flagged; each is paid its days
    "transfer_before": 0.003,  # came from a state school before the month began
    "withdrawn_after": 0.003,  # leaves after the month
    "mid_month": 0.003,  # enrolled during the month: paid the days from then on
    "transfer_mid": 0.002,  # moved between two private schools during the month; both claim: each its own days
    "one_digit_away": 0.001,  # a classmate whose valid IIN differs in one digit of the body
    "name_variant": 0.002,  # the same name in other case, spacing or Kazakh letters
}
SCHOOL_RATES = {  # share of private schools
    "non_education_org": 0.01, "licence_expired": 0.015, "level_not_covered": 0.02, "over_capacity": 0.02,
    "no_business_record": 0.01, "no_licence": 0.01,
    "licence_partial": 0.015,  # near-miss: a licence starting or ending inside the month pays the covered days
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
    review_rates: dict[str, float] = field(default_factory=lambda: dict(REVIEW_RATES))
    near_miss_rates: dict[str, float] = field(default_factory=lambda: dict(NEAR_MISS_RATES))

    @property
    def private(self) -> int:
        return self.private_students if self.private_students is not None else self.nedb_students * 555 // 4000

    def set_rate(self, name: str, share: float) -> None:
        """Override one class's rate (``generate-country --rate NAME=SHARE``); unknown names are refused."""
        tables = [t for t in (self.line_rates, self.school_rates, self.review_rates, self.near_miss_rates) if name in t]
        if not tables:
            raise ValueError(f"Unknown anomaly class {name!r}; known: {', '.join(sorted(all_rate_names()))}.")
        if not 0 <= share <= 0.05:
            raise ValueError(f"The rate of {name} must be between 0 and 0.05.")
        tables[0][name] = share


def all_rate_names() -> set[str]:
    return {*LINE_RATES, *SCHOOL_RATES, *REVIEW_RATES, *NEAR_MISS_RATES}


@dataclass
class CountryStats:
    schools: int = 0
    nedb_rows: int = 0
    act_lines: int = 0
    anomalous_lines: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    expected_amount_tiyn: int = 0


def _year_start(period: date) -> int:
    return period.year if period.month >= 9 else period.year - 1


class IinFactory:
    """IIN number k (k = 0, 1, 2 …), distinct for every k, with a valid check digit: a birth date that makes
    the child 6–16 years old on 1 September of the academic year (grades 1–11), the century/sex digit that
    goes with it (5 boy, 6 girl: born 2000–2099), then the r-th serial whose check digit exists."""

    def __init__(self, academic_year_start: int = 2026):
        start, end = date(academic_year_start - 17, 9, 2), date(academic_year_start - 6, 9, 1)
        self.first_september = date(academic_year_start, 9, 1)
        self.dates = [(start + timedelta(days=i)) for i in range((end - start).days + 1)]
        self.prefixes = []
        for d in self.dates:
            for female in (False, True):
                head = f"{d:%y%m%d}{iin_century_digit(d, female)}"
                digits = [int(c) for c in head]
                p1 = sum(x * w for x, w in zip(digits, range(1, 8), strict=True))
                p2 = sum(x * w for x, w in zip(digits, (3, 4, 5, 6, 7, 8, 9), strict=True))
                self.prefixes.append((head, p1 % 11, p2 % 11))
        s1 = [sum(int(c) * w for c, w in zip(f"{s:04d}", (8, 9, 10, 11), strict=True)) for s in range(10000)]
        s2 = [sum(int(c) * w for c, w in zip(f"{s:04d}", (10, 11, 1, 2), strict=True)) for s in range(10000)]
        self.serials: dict[tuple[int, int], list[tuple[str, int]]] = {}
        for a in range(11):
            for b in range(11):
                valid = []
                for s in range(9000):  # serials 9000–9999 are left for near-misses (one digit away)
                    c = (a + s1[s]) % 11
                    if c == 10:
                        c = (b + s2[s]) % 11
                        if c == 10:
                            continue
                    valid.append((f"{s:04d}", c))
                self.serials[(a, b)] = valid
        self.buckets = len(self.prefixes)
        # Consecutive k (one school's students) spread over all birth dates, hence all grades: a stride
        # coprime with the number of buckets is a permutation of them.
        self.stride = next(m for m in (7919, 7927, 7933, 1) if math.gcd(m, self.buckets) == 1)

    def __call__(self, k: int) -> str:
        rank, bucket = divmod(k, self.buckets)
        prefix, a, b = self.prefixes[bucket * self.stride % self.buckets]
        serial, check = self.serials[(a, b)][rank]
        return f"{prefix}{serial}{check}"

    def grade(self, iin: str) -> int:
        """The grade a child of this IIN's birth date normally sits in (6 years old in grade 1)."""
        return min(11, max(1, age_on(iin_birth_date(iin), self.first_september) - 5))


def one_digit_away(iin: str) -> str | None:
    """A valid IIN that differs from ``iin`` in one digit of its body (the serial's first digit set to 9 —
    a serial the factory never hands out) and, necessarily, in the check digit."""
    return complete_12(f"{iin[:7]}9{iin[8:11]}")


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


@dataclass
class _Line:
    """One act line as generated, with what verification must conclude about it."""

    iin: str
    grade: int
    name: str
    days_attended: int
    injected: str = ""  # the class injected on this line ("near_miss:…" for legitimate look-alikes)
    base_rule: str | None = None  # the line's own rule, before the school's and duplicates are considered
    enrolled: date | None = None  # this school's NEDB enrolment (None: none active in the month)
    withdrawn: date | None = None
    pref: int = 0  # among copies of one student: 0 for the valid copy (kept), 1 for a wrong one
    review: tuple[str, ...] = ()
    rule: str | None = None
    amount: int = 0
    review_codes: str = ""


def _overlap(enrolled: date, withdrawn: date | None, lo: date, hi: date) -> int:
    last = hi if withdrawn is None else min(hi, withdrawn - timedelta(days=1))
    return max(0, (last - max(enrolled, lo)).days + 1)


def _name_variant(name: str) -> str:
    """The same name as a careless keyboard writes it: upper case, doubled space, a Kazakh letter for its
    Russian stand-in (rules.normalise_name makes them equal)."""
    return "  ".join(name.upper().split()).replace("Н", "Ң", 1).replace("И", "І", 1)


def decided_acts_held() -> int:
    """Acts accepted or paid in the current database: a database with real decisions is no place for a
    fictitious country (``flask generate-country`` refuses it)."""
    return db.session.scalar(select(func.count(Act.id)).where(Act.status.in_(("accepted", "paid")))) or 0


def generate_country(spec: CountrySpec, truth_path: Path,
                     progress: Callable[[int], None] | None = None) -> CountryStats:
    """Build the country in the current database (commits). Refuses to build the same country twice.

    The ground truth has every line: the anomaly or near-miss injected, the rule that must exclude it, the
    review checks that must flag it, and the amount it must be paid (norm × days / days in the month)."""
    report = progress or (lambda percent: None)
    rng = random.Random(spec.seed)
    year = _year_start(spec.period)
    iin_of = IinFactory(year)
    start, end = month_bounds(spec.period)
    month_days = end.day
    stats = CountryStats()

    # Regions and norms (created only when missing).
    regions = {r.code: r for r in db.session.scalars(select(Region))}
    for code, kk, ru, en in REGIONS:
        if code not in regions:
            regions[code] = Region(code=code, name_kk=kk, name_ru=ru, name_en=en)
            db.session.add(regions[code])
    ay = academic_year(spec.period)
    have = {n.level: n.monthly_tiyn for n in db.session.scalars(select(StudentNorm)
                                                                .where(StudentNorm.academic_year == ay))}
    db.session.add_all([StudentNorm(academic_year=ay, level=lvl, monthly_tiyn=v)
                        for lvl, v in NORMS.items() if lvl not in have])
    norms = {**NORMS, **have}
    db.session.flush()
    region_list = [regions[code] for code, *_ in REGIONS]
    weights = [3 if r.code in ("ALMATY", "ASTANA", "SHYMKENT") else 1 for r in region_list]

    def norm(grade: int) -> int:
        return norms["primary" if grade <= 4 else "basic" if grade <= 9 else "secondary"]

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

    # Per-student classes (anomalies, review checks, near-misses): disjoint sets of private students.
    private = spec.private
    per_student = {**{r: v for r, v in spec.line_rates.items() if r not in ("not_in_nedb", "other_school")},
                   **{f"review:{r}": v for r, v in spec.review_rates.items()},
                   **{f"near_miss:{r}": v for r, v in spec.near_miss_rates.items()}}
    wanted = sum(_count(r, private) for r in per_student.values())
    candidates = rng.sample(range(private), min(private, wanted))
    class_of: dict[int, str] = {}
    pos = 0
    for cls, rate in per_student.items():
        n = _count(rate, private)
        for k in candidates[pos : pos + n]:
            class_of[k] = cls
        pos += n
    extra_phantom = _count(spec.line_rates.get("not_in_nedb", 0), private)
    extra_other = _count(spec.line_rates.get("other_school", 0), private)
    report(5)

    school_of: list[int] = []
    for s, size in enumerate(sizes):
        school_of.extend([s] * size)
    # Grades follow the birth date in the IIN; an "age" review case sits two grades too high or three too low.
    grade_of = [iin_of.grade(iin_of(k)) for k in range(private)]
    for k, cls in class_of.items():
        if cls == "review:age":
            g = grade_of[k]
            grade_of[k] = g + 2 if g + 2 <= 11 else g - 3
    since_of = [date(year - rng.choice((0, 0, 0, 1, 2, 3)), 9, 1) for _ in range(private)]

    orgs = []
    for s, bin_ in enumerate(school_bins):
        orgs.append(Organisation(kind="school", bin=bin_, region_id=rng.choices(region_list, weights)[0].id,
                                 name=f"{SCHOOL_WORDS[s % len(SCHOOL_WORDS)]} Private School №{s + 1}",
                                 design_capacity=None, iban=_iban(rng)))
    db.session.add_all(orgs)
    db.session.flush()

    # NEDB rows and act lines are decided together, student by student.
    lines_of: list[list[_Line]] = [[] for _ in range(spec.schools)]
    extra_rows: list[tuple] = []

    def other_private_school(s: int) -> int:
        return (s + 1 + rng.randrange(max(1, spec.schools - 1))) % spec.schools if spec.schools > 1 else s

    def here_row(k: int, enrolled: date, withdrawn: date | None) -> tuple:
        return (iin_of(k), _name(k), school_bins[school_of[k]], "private", grade_of[k], enrolled, withdrawn)

    def nedb_rows():
        for k in range(private):
            cls = class_of.get(k, "")
            s = school_of[k]
            enrolled, withdrawn = since_of[k], None
            student, grade, name = iin_of(k), grade_of[k], _name(k)
            line = _Line(student, grade, name, 20, injected=cls)
            if cls in ("withdrawn", "withdrawn+duplicate_line"):  # dropped out on or before the month's first day
                withdrawn = start - timedelta(days=rng.randint(0, 25))
                enrolled = min(enrolled, withdrawn - timedelta(days=1))
                line.base_rule = "withdrawn"
            elif cls == "not_registered":  # registered from next month only
                enrolled = end + timedelta(days=1 + rng.randint(0, 10))
                line.base_rule = "not_registered"
            elif cls == "double_enrolment":  # also at a state school on days of this month
                extra_rows.append((student, name, state_bins[k % n_state], "state", grade,
                                   start + timedelta(days=rng.randint(0, 20)), None))
                line.base_rule = "double_enrolment"
            elif cls == "iin_checksum":
                line.iin = student[:11] + str((int(student[11]) + 1) % 10)
                line.base_rule = "iin_checksum"
            elif cls == "grade_mismatch":
                line.grade = grade % 11 + 1
                line.base_rule = "grade_mismatch"
            elif cls == "double_claim":  # another private school claims a student NEDB never had there
                lines_of[other_private_school(s)].append(_Line(student, grade, name, 20, injected=cls,
                                                               base_rule="other_school"))
                line.injected = ""
            elif cls == "review:name":
                line.name = _name(k + 1)
                line.review = ("name",)
            elif cls == "review:age":
                line.review = ("age",)
            elif cls == "near_miss:transfer_before":
                moved = start - timedelta(days=rng.randint(0, 20))
                extra_rows.append((student, name, state_bins[k % n_state], "state", grade, since_of[k], moved))
                enrolled = moved
            elif cls == "near_miss:withdrawn_after":
                withdrawn = end + timedelta(days=1 + rng.randint(0, 30))
            elif cls in ("near_miss:mid_month", "review:days"):
                enrolled = start + timedelta(days=rng.randint(5, 25))
            elif cls == "near_miss:transfer_mid":
                moved = start + timedelta(days=rng.randint(5, 25))
                withdrawn = moved
                other = other_private_school(s)
                extra_rows.append((student, name, school_bins[other], "private", grade, moved, None))
                lines_of[other].append(_Line(student, grade, name, min(20, _overlap(moved, None, start, end)),
                                             injected=cls, enrolled=moved))
            elif cls == "near_miss:one_digit_away":
                twin = one_digit_away(student)
                if twin is not None:
                    twin_name = _name(k + 3)
                    extra_rows.append((twin, twin_name, school_bins[s], "private", grade, since_of[k], None))
                    lines_of[s].append(_Line(twin, grade, twin_name, 20, injected=cls, enrolled=since_of[k]))
                line.injected = ""
            elif cls == "near_miss:name_variant":
                line.name = _name_variant(name)
            if line.base_rule not in ("withdrawn", "not_registered"):
                line.enrolled, line.withdrawn = enrolled, withdrawn
            raw = _overlap(enrolled, withdrawn, start, end) if line.enrolled else 0
            line.days_attended = raw + 3 if cls == "review:days" else min(20, raw) if line.enrolled else 20
            if cls == "review:days":
                line.review = ("days",)
            lines_of[s].append(line)
            if cls in ("duplicate_line", "withdrawn+duplicate_line"):  # the very same line twice
                lines_of[s].append(_Line(**{**line.__dict__, "injected": cls}))
            elif cls == "duplicate_line+grade_mismatch":  # a wrong copy, listed before the right one below
                wrong = _Line(**{**line.__dict__, "grade": grade % 11 + 1, "pref": 1})
                lines_of[s].append(wrong)
            yield (student, name, school_bins[s], "private", grade, enrolled, withdrawn)
        for j in range(max(0, spec.nedb_students - private)):
            k = private + j
            yield (iin_of(k), _name(k), state_bins[j % n_state], "state", iin_of.grade(iin_of(k)),
                   date(year - (k % 4), 9, 1), None)
        yield from extra_rows

    columns = ["iin", "full_name", "school_bin", "school_kind", "grade", "enrolled_on", "withdrawn_on"]
    # The wide covering index (migration 0013_speed) is built once after the load, from sorted rows, instead of
    # taking 4 million inserts in IIN order that is random to it; the unique natural key stays on throughout.
    db.session.execute(text("DROP INDEX ix_nedb_enrollment_facts"))
    stats.nedb_rows = _bulk("nedb_enrollment", columns, nedb_rows())
    db.session.execute(text("CREATE INDEX ix_nedb_enrollment_facts ON nedb_enrollment "
                            "(iin, school_bin, enrolled_on, withdrawn_on, grade, full_name)"))
    report(60)

    n_state_students = max(0, spec.nedb_students - private)
    state_pick = rng.sample(range(n_state_students), min(extra_other, n_state_students)) if n_state_students else []
    for j in state_pick:  # a state-school student claimed by a private school
        k = private + j
        lines_of[rng.randrange(spec.schools)].append(_Line(iin_of(k), iin_of.grade(iin_of(k)), _name(k), 20,
                                                           injected="other_school", base_rule="other_school"))
    for j in range(extra_phantom):  # a valid IIN nobody registered
        k = spec.nedb_students + len(extra_rows) + j + 1
        lines_of[rng.randrange(spec.schools)].append(_Line(iin_of(k), rng.randint(1, 11), _name(k), 20,
                                                           injected="not_in_nedb", base_rule="not_in_nedb"))

    truth_rows = []
    acts = []
    now = clock.now()
    for s, school in enumerate(orgs):
        lines = lines_of[s]
        # The school's order of lines is arbitrary — except that a wrong copy is listed before the right one.
        wrong_copies = [ln for ln in lines if ln.pref == 1]
        lines = [ln for ln in lines if ln.pref == 0]
        rng.shuffle(lines)
        copies = [ln for ln in lines if ln.injected in ("duplicate_line", "withdrawn+duplicate_line")]
        singles = [ln for ln in lines if ln not in copies]
        lines = wrong_copies + singles + copies
        school_rule = school_anomaly.get(s)
        licence_from, licence_to = start, end
        if school_rule == "licence_partial":  # a licence issued on the 11th, or one that ends on the 20th
            licence_from, licence_to = (start + timedelta(days=10), end) if s % 2 else (start, start + timedelta(19))
        # Duplicates: the valid copy is kept, then the lower line number (rules.RULES duplicate_line).
        keeper: dict[str, int] = {}
        for i, ln in sorted(enumerate(lines), key=lambda p: (p[1].pref, p[0])):
            keeper.setdefault(ln.iin, i)
        for i, ln in enumerate(lines):
            if school_rule in ("non_education_org", "licence_expired", "no_business_record", "no_licence"):
                ln.rule = school_rule
            elif ln.base_rule == "iin_checksum":
                ln.rule = "iin_checksum"
            elif keeper[ln.iin] != i:
                ln.rule = "duplicate_line"
            else:
                ln.rule = ln.base_rule
            if ln.rule is None and school_rule == "level_not_covered" and ln.grade >= 10:
                ln.rule = "level_not_covered"
            if ln.rule is None and _overlap(ln.enrolled, ln.withdrawn, licence_from, licence_to) == 0:
                ln.rule = "licence_expired"  # enrolled only on days the licence does not cover
        valid = [ln for ln in lines if ln.rule is None]
        if school_rule == "over_capacity":
            school.design_capacity = max(1, len(valid) * 45 // 100)  # more than twice the building holds
            # The places go to the students enrolled here longest (NEDB), then by IIN; a place is counted on the
            # days NEDB has its student here (one freed mid-month pays a newcomer).
            taken: dict[date, int] = {}
            for ln in sorted(valid, key=lambda ln: (ln.enrolled, ln.iin)):
                days = [start + timedelta(days=n) for n in range(month_days)
                        if _overlap(ln.enrolled, ln.withdrawn, start + timedelta(days=n), start + timedelta(days=n))]
                if any(taken.get(day, 0) >= school.design_capacity for day in days):
                    ln.rule = "over_capacity"
                else:
                    for day in days:
                        taken[day] = taken.get(day, 0) + 1
        else:
            school.design_capacity = len(lines) + 5 + len(lines) * rng.randint(10, 60) // 100
        for ln in lines:
            if ln.rule is None:
                days = _overlap(ln.enrolled, ln.withdrawn, licence_from, licence_to)
                ln.amount = norm(ln.grade) if days >= month_days else norm(ln.grade) * days // month_days
                ln.review_codes = ",".join(ln.review)
        act = Act(number=f"ACT-{school.bin}-{spec.period:%Y%m}", school_id=school.id, region_id=school.region_id,
                  period=spec.period, status="submitted", revision=1, total_lines=len(lines), created_at=now,
                  submitted_at=now)
        acts.append((act, lines))
        if school_rule:
            truth_rows.append(("school", school.bin, act.number, "", "", school_rule,
                               "" if school_rule == "licence_partial" else school_rule, "", ""))
    db.session.add_all([a for a, _ in acts])
    db.session.flush()
    report(70)

    def act_line_rows():
        for act, lines in acts:
            for no, ln in enumerate(lines, start=1):
                injected = ln.injected or ("near_miss:leading_zero" if ln.iin.startswith("0") else "")
                truth_rows.append(("line", orgs_by_id[act.school_id].bin, act.number, no, ln.iin, injected,
                                   ln.rule or "", ln.review_codes, ln.amount))
                if ln.rule is not None:
                    stats.by_rule[ln.rule] = stats.by_rule.get(ln.rule, 0) + 1
                stats.expected_amount_tiyn += ln.amount
                yield (act.id, spec.period, act.school_id, no, ln.iin, ln.name, ln.grade, ln.days_attended,
                       "pending", 0)

    orgs_by_id = {o.id: o for o in orgs}
    stats.act_lines = _bulk("act_line", ["act_id", "period", "school_id", "line_no", "iin", "full_name", "grade",
                                         "days_attended", "outcome", "amount_tiyn"], act_line_rows())
    stats.anomalous_lines = sum(1 for r in truth_rows if r[0] == "line" and r[6])
    report(85)

    # Licences and the business register (a school without a record gets none: no record, no payment).
    def licence_rows():
        for s, school in enumerate(orgs):
            rule = school_anomaly.get(s)
            if rule == "no_licence":
                continue
            valid_from, until = date(2012 + rng.randint(0, 8), rng.randint(1, 12), 1), None
            if rule == "licence_expired":  # ended before the month began
                until = start - timedelta(days=rng.randint(1, 120))
            elif rule == "licence_partial":
                valid_from, until = (start + timedelta(days=10), None) if s % 2 else (valid_from, start + timedelta(19))
            levels = "primary,basic" if rule == "level_not_covered" else "primary,basic,secondary"
            yield (f"KZ{spec.seed % 100:02d}LAA{s + 1:08d}", school.bin, valid_from, until, levels)

    def business_rows():
        for s, school in enumerate(orgs):
            rule = school_anomaly.get(s)
            if rule == "no_business_record":
                continue
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
    from app.files import written_whole

    with written_whole(truth_path, "w", newline="", encoding="utf-8") as fh:  # a cut truth would score wrongly
        writer = csv.writer(fh)
        writer.writerow(["scope", "school_bin", "act_number", "line_no", "iin", "injected", "expected_rule",
                         "expected_review", "expected_amount_tiyn"])
        writer.writerows(truth_rows)
    report(100)
    return stats


@dataclass(frozen=True)
class ExpectedLine:
    rule: str | None
    review: frozenset[str]
    amount_tiyn: int
    injected: str


def read_truth(path: Path) -> dict[tuple[str, int], str]:
    """(act number, line number) → expected rule, for every line the rules must exclude."""
    return {key: e.rule for key, e in read_truth_lines(path).items() if e.rule}


def read_truth_lines(path: Path) -> dict[tuple[str, int], ExpectedLine]:
    """Every line of the ground truth: expected rule, review checks and amount."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {(r["act_number"], int(r["line_no"])): ExpectedLine(
                    r["expected_rule"] or None, frozenset(c for c in r["expected_review"].split(",") if c),
                    int(r["expected_amount_tiyn"]), r["injected"])
                for r in csv.DictReader(fh) if r["scope"] == "line"}
