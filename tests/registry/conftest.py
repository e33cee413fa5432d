"""Factories for the registry tests: a school, its NEDB contingent and an act, built by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

from app.acts.models import Act, ActLine, StudentNorm
from app.extensions import db
from app.people.models import Organisation, Region
from app.registry.identifiers import complete_12
from app.registry.models import BusinessRecord, Licence, NedbEnrollment

OCTOBER = date(2026, 10, 1)
YEAR_START = date(2026, 9, 1)
NORMS = {"primary": 3_850_000, "basic": 4_230_000, "secondary": 4_610_000}


def iin(n: int) -> str:
    """A valid IIN, distinct for every n."""
    day, rest = divmod(n, 900)
    for serial in range(rest * 10, rest * 10 + 10):
        value = complete_12(f"1501{day % 28 + 1:02d}6{serial:04d}")
        if value:
            return value
    raise AssertionError("no valid IIN")


def bad_iin(n: int) -> str:
    good = iin(n)
    return good[:11] + str((int(good[11]) + 1) % 10)


class Country:
    """A tiny hand-made world; every helper returns what it created."""

    def __init__(self):
        self._bins = count(1)
        self.region = Region(code="ASTANA", name_kk="Астана", name_ru="Астана", name_en="Astana")
        self.region2 = Region(code="ALMATY", name_kk="Алматы", name_ru="Алматы", name_en="Almaty")
        db.session.add_all([self.region, self.region2])
        db.session.add_all([StudentNorm(academic_year="2026/2027", level=k, monthly_tiyn=v) for k, v in NORMS.items()])
        db.session.flush()

    def school(self, name: str = "School", capacity: int | None = 500, region=None,
               registered: bool = True) -> Organisation:
        """A school; ``registered``: with an active education record in the business register and an
        indefinite licence for every level (no record, no payment)."""
        n = next(self._bins)
        org = Organisation(kind="school", bin=complete_12(f"15080{n:06d}") or complete_12(f"15081{n:06d}"),
                           name=f"{name} {n}", region_id=(region or self.region).id, design_capacity=capacity,
                           iban="KZ86125KZT5004100100")
        db.session.add(org)
        db.session.flush()
        if registered:
            self.business(org)
            self.licence(org, number=f"KZ-{org.bin}-base")
        return org

    def state_bin(self) -> str:
        return complete_12(f"99090{next(self._bins):06d}") or complete_12(f"99091{next(self._bins):06d}")

    def enrol(self, student: str, school_bin: str, grade: int = 5, enrolled: date = YEAR_START,
              withdrawn: date | None = None, kind: str = "private") -> NedbEnrollment:
        row = NedbEnrollment(iin=student, full_name=f"Student {student}", school_bin=school_bin, school_kind=kind,
                             grade=grade, enrolled_on=enrolled, withdrawn_on=withdrawn)
        db.session.add(row)
        db.session.flush()
        return row

    def licence(self, school: Organisation, valid_from=date(2020, 1, 1), valid_until=None,
                levels="primary,basic,secondary", number=None) -> Licence:
        lic = Licence(number=number or f"KZ-{school.bin}-{valid_from:%Y%m%d}", bin=school.bin, valid_from=valid_from,
                      valid_until=valid_until, levels=levels)
        db.session.add(lic)
        db.session.flush()
        return lic

    def business(self, school: Organisation, status="active", oked="85.31") -> BusinessRecord:
        rec = BusinessRecord(bin=school.bin, name=school.name, status=status, oked=oked)
        db.session.add(rec)
        db.session.flush()
        return rec

    def act(self, school: Organisation, lines: list[tuple[str, int]] | list[tuple[str, int, int]],
            period: date = OCTOBER, status: str = "submitted") -> Act:
        act = Act(number=f"ACT-{school.bin}-{period:%Y%m}", school_id=school.id, region_id=school.region_id,
                  period=period, status=status, created_at=datetime(2026, 11, 1, tzinfo=UTC))
        db.session.add(act)
        db.session.flush()
        for no, line in enumerate(lines, start=1):
            student, grade = line[0], line[1]
            days = line[2] if len(line) > 2 else 20
            db.session.add(ActLine(act_id=act.id, period=period, school_id=school.id, line_no=no, iin=student,
                                   full_name=f"Student {student}", grade=grade, days_attended=days))
        db.session.flush()
        return act
