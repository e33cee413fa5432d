"""Red flags per school: each a named check with a threshold, computed over one academic year of acts.

A flag is a reason to look, not a verdict: the official opens the school's acts from it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_percent
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

from app.acts.models import Act
from app.acts.verification import academic_year
from app.clock import local_day
from app.extensions import db
from app.i18n import format_month  # the flags name months and shares as the reader's pages do (they wrote 2026-10)
from app.people.models import Organisation

#: thresholds (one place, named): a share withheld this high; a month-on-month change of the children paid for
#: this large (and at least JUMP_MIN children); acts submitted this many days after their month ended; returns.
WITHHELD_SHARE = 0.10
JUMP_SHARE = 0.25
JUMP_MIN = 10
LATE_AFTER_DAYS = 10
RETURNS = 2

FLAGS = {
    "withheld": _l("High share withheld"),
    "jump": _l("Sudden change in the number of children"),
    "over_capacity": _l("More claimed than the capacity (students or places)"),
    "late": _l("Acts submitted late"),
    "returns": _l("Acts returned repeatedly"),
}
DECIDED = ("verified", "accepted", "paid", "returned", "submitted")


@dataclass
class SchoolFlags:
    school: Organisation
    acts: int = 0
    claimed_tiyn: int = 0
    withheld_tiyn: int = 0
    flags: dict[str, str] = field(default_factory=dict)  # code -> what was seen, in figures

    @property
    def withheld_share(self) -> float:
        total = self.claimed_tiyn
        return self.withheld_tiyn / total if total else 0.0


def _month_end(period: date) -> date:
    following = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def school_flags(year: str, scope: ColumnElement[bool]) -> list[SchoolFlags]:
    """Every school with acts in the year that the user may see, with the flags it raises (flagged first)."""
    acts = db.session.scalars(select(Act).where(scope, Act.status.in_(DECIDED)).order_by(Act.school_id, Act.period))
    by_school: dict[int, list[Act]] = defaultdict(list)
    for act in acts:
        if academic_year(act.period) == year:
            by_school[act.school_id].append(act)
    schools = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_(list(by_school) or [0])))}
    result = [_flags_of(schools[sid], school_acts) for sid, school_acts in by_school.items()]
    return sorted(result, key=lambda s: (-len(s.flags), -s.withheld_share, s.school.name))


def _flags_of(school: Organisation, acts: list[Act]) -> SchoolFlags:
    found = SchoolFlags(school, acts=len(acts))
    found.claimed_tiyn = sum(a.amount_tiyn + a.withheld_tiyn for a in acts)
    found.withheld_tiyn = sum(a.withheld_tiyn for a in acts)
    if found.withheld_share >= WITHHELD_SHARE:
        found.flags["withheld"] = format_percent(found.withheld_share)
    # The flags count students, not lines: a dormitory student who moved rooms within the month has a line per room,
    # a child listed twice is one child. Verification stores each act's distinct students with its totals.
    claimed = {a.id: a.total_students for a in acts}  # students claimed
    paid = {a.id: a.accepted_students for a in acts}  # students paid for
    previous = None
    for act in acts:
        if previous is not None and paid[previous.id]:
            change = paid[act.id] - paid[previous.id]
            if abs(change) >= JUMP_MIN and abs(change) / paid[previous.id] >= JUMP_SHARE:
                found.flags["jump"] = f"{format_month(previous.period)}: {paid[previous.id]} → " \
                                      f"{format_month(act.period)}: {paid[act.id]}"
        previous = act
    capacity = school.design_capacity
    over = [a for a in acts if capacity and claimed[a.id] > capacity]
    if over:
        found.flags["over_capacity"] = f"{max(claimed[a.id] for a in over)} > {capacity}"
    late = [a for a in acts if a.submitted_at is not None
            and (local_day(a.submitted_at) - _month_end(a.period)).days > LATE_AFTER_DAYS]
    if late:
        found.flags["late"] = ", ".join(format_month(a.period) for a in late)
    returned = [a for a in acts if returns_of(a) >= RETURNS]
    if returned:
        found.flags["returns"] = ", ".join(f"{format_month(a.period)} ×{returns_of(a)}" for a in returned)
    return found


def returns_of(act: Act) -> int:
    """Each submission increments the act's revision, so every submission after the first followed a return
    (plus the return that is still waiting for a correction)."""
    return max(0, act.revision - 1) + (act.status == "returned")


@dataclass
class RegionFlags:
    region_id: int
    schools: int = 0
    flagged: int = 0
    claimed_tiyn: int = 0
    withheld_tiyn: int = 0
    by_flag: dict[str, int] = field(default_factory=dict)

    @property
    def withheld_share(self) -> float:
        return self.withheld_tiyn / self.claimed_tiyn if self.claimed_tiyn else 0.0


def region_flags(schools: list[SchoolFlags]) -> list[RegionFlags]:
    regions: dict[int, RegionFlags] = {}
    for s in schools:
        region = regions.setdefault(s.school.region_id, RegionFlags(s.school.region_id))
        region.schools += 1
        region.flagged += bool(s.flags)
        region.claimed_tiyn += s.claimed_tiyn
        region.withheld_tiyn += s.withheld_tiyn
        for code in s.flags:
            region.by_flag[code] = region.by_flag.get(code, 0) + 1
    return sorted(regions.values(), key=lambda r: (-r.flagged, -r.withheld_share))
