"""Synthetic dormitories with ground truth: beds, documents and students in the registries, residents who move
in and out, and — for a dormitory built with ``anomalies=True`` — one line of every kind the rules must catch,
each carrying the rule it must be excluded by. The demo, the simulated-year test and the benchmark use it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.acts.verification import month_bounds
from app.demo.seed import _student
from app.dormitories.models import DormitoryBed, DormitoryDocument, StudentEnrolment
from app.extensions import db
from app.people.models import Organisation
from app.registry.models import BusinessRecord

ROOM_BEDS = 4  # beds per room


@dataclass
class Resident:
    iin: str
    full_name: str
    institution_bin: str
    course: int
    room: str
    bed: str
    moved_in: date
    moved_out: date | None = None
    expected: str | None = None  # the rule that must exclude the line (ground truth); None: paid
    home_region: str | None = None  # in the student registry (None: not registered)

    def line(self) -> dict:
        return {"iin": self.iin, "full_name": self.full_name, "institution_bin": self.institution_bin,
                "course": self.course, "room": self.room, "bed": self.bed, "moved_in": self.moved_in.isoformat(),
                **({"moved_out": self.moved_out.isoformat()} if self.moved_out else {})}


@dataclass
class DormitoryWorld:
    dormitory: Organisation
    places: int
    residents: list[Resident] = field(default_factory=list)
    #: lines that appear twice in every act (the copy is the duplicate)
    duplicates: list[Resident] = field(default_factory=list)

    def lines_for(self, period: date) -> list[tuple[dict, str | None]]:
        """The act's lines for the month with their expected rule (the residents living there that month)."""
        start, end = month_bounds(period)
        out = [(r.line(), r.expected) for r in self.residents
               if r.moved_in <= end and (r.moved_out is None or r.moved_out > start)]
        out += [(r.line(), "dorm_duplicate_line") for r in self.duplicates
                if r.moved_in <= end and (r.moved_out is None or r.moved_out > start)]
        return out


def _person(rng: random.Random, course: int, ref: date) -> tuple[str, str]:
    """A student in their ``course``: aged as a school leaver (grade 11) plus the years since. Never an IIN this
    generator issued before (at country scale random IINs collide, and one person in two dormitories is an
    anomaly the ground truth must not contain by accident)."""
    issued = rng.__dict__.setdefault("issued_iins", set())
    while True:
        iin, name = _student(rng, 11 + course, ref)
        if iin not in issued:
            issued.add(iin)
            return iin, name


def _enrol(rng, institution_bin: str, course: int, since: date, home_region: str, *, study_form="full_time",
           withdrawn_on: date | None = None, person: tuple[str, str] | None = None) -> tuple[str, str]:
    iin, name = person or _person(rng, course, since)
    db.session.add(StudentEnrolment(iin=iin, full_name=name, institution_bin=institution_bin, course=course,
                                    study_form=study_form, home_region=home_region, enrolled_on=since,
                                    withdrawn_on=withdrawn_on))
    return iin, name


def build_dormitory(rng: random.Random, dormitory: Organisation, *, places: int, beds: int, institutions: list[str],
                    year_start: date, home_regions: list[str], ownership_until: date | None = None,
                    anomalies: bool = False, other: DormitoryWorld | None = None) -> DormitoryWorld:
    """Register the dormitory in the business register (active; OKED 55.90, other accommodation), its beds and
    documents, and ``places`` full-time students from other regions who
    move in on ``year_start`` (one only mid-October, one moves out mid-January: pro rata). ``anomalies``: add one
    line of each kind the rules catch (needs ``places + 10`` beds); ``other``: a dormitory whose resident this one
    also claims (two_dormitories)."""
    region = dormitory.region.code
    away = [code for code in home_regions if code != region]
    bed_list = [(f"{1 + i // ROOM_BEDS:03d}", str(1 + i % ROOM_BEDS)) for i in range(beds)]
    db.session.add_all(DormitoryBed(dormitory_bin=dormitory.bin, room=room, bed=bed) for room, bed in bed_list)
    db.session.add(BusinessRecord(bin=dormitory.bin, name=dormitory.name, status="active", oked="55.90"))
    db.session.add_all([
        DormitoryDocument(number=f"CA-{dormitory.bin}", dormitory_bin=dormitory.bin, kind="commissioning",
                          valid_from=date(year_start.year - 3, 6, 1), valid_until=None),
        DormitoryDocument(number=f"OW-{dormitory.bin}", dormitory_bin=dormitory.bin, kind="ownership",
                          valid_from=date(year_start.year - 3, 6, 1), valid_until=ownership_until),
    ])
    world = DormitoryWorld(dormitory, places)
    free = iter(bed_list)

    def resident(expected=None, *, moved_in=year_start, registry=True, bed=None, institution=None, **enrol):
        course = rng.randint(1, 4)
        institution = institution or rng.choice(institutions)
        home = enrol.pop("home_region", rng.choice(away)) if registry else None
        iin, name = (_enrol(rng, institution, course, date(year_start.year - course + 1, 9, 1), home, **enrol)
                     if registry else _person(rng, course, year_start))
        room, bed_no = bed or next(free)
        r = Resident(iin, name, institution, course, room, bed_no, moved_in, expected=expected, home_region=home)
        world.residents.append(r)
        return r

    for _ in range(places):
        resident()
    world.residents[0].moved_in = year_start + timedelta(days=44)  # mid-October: paid pro rata
    if not anomalies:  # (with anomalies the places stay full, so the over-capacity lines are the same every month)
        world.residents[1].moved_out = date(year_start.year + 1, 1, 16)  # the place is free from 16 January
    else:
        world.duplicates.append(world.residents[3])
        resident("student_not_found", registry=False)
        wrong = resident("not_enrolled")  # registered at another institution than the act names
        wrong.institution_bin = next(b for b in institutions if b != wrong.institution_bin)
        resident("not_enrolled", withdrawn_on=year_start - timedelta(days=30))
        resident("not_full_time", study_form="part_time")
        resident("local_resident", home_region=region)
        resident("bed_unknown", bed=("999", "9"))
        resident("bed_shared", bed=(world.residents[2].room, world.residents[2].bed))
        if other is not None:  # the other dormitory's resident, claimed here too
            # (a paid resident there who is not a local resident here: the one rule that catches the line)
            twin = next(r for r in reversed(other.residents) if r.expected is None and r.home_region != region)
            world.residents.append(Resident(twin.iin, twin.full_name, twin.institution_bin, twin.course,
                                            *next(free), year_start, expected="two_dormitories",
                                            home_region=twin.home_region))
            twin.expected = "two_dormitories"
        # The contract's places are full: the ones who moved in last (four valid residents from 31 October) are
        # unpaid. (In September and October one place is still free: the mid-October resident's.)
        for _ in range(4):
            resident("dorm_over_capacity", moved_in=year_start + timedelta(days=60))
    db.session.flush()
    return world
