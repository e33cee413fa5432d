"""A student NEDB merged (two IINs of one child, app.registry.merges) is one child for the dormitories too: placed by
two dormitories on common days under the two IINs, neither place is paid (``two_dormitories`` on both acts, as under
one IIN); listed twice in one act under the two IINs, one line counts (``dorm_duplicate_line``). The dormitories'
rule pass compared IINs only, and paid the child's place twice."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.acts.models import Act
from app.acts.operations import claim_for_verification
from app.dormitories.models import StudentEnrolment
from app.dormitories.verification import verify_dormitory_acts
from app.extensions import db
from app.registry.models import NedbIinMerge
from tests.dormitories.test_rule_edges import OCTOBER, _lines, _newcomer, _outcomes, _rate, _verify


def _second_iin(seeded, line: dict, seed: int) -> dict:
    """The same child under a second IIN the student registry also lists (full-time at the same institution), and
    NEDB's merge of the second IIN into the first."""
    twin = _newcomer(seeded, date(2027, 10, 1), ("x", "x"), seed)
    enrolment = db.session.scalars(select(StudentEnrolment).where(StudentEnrolment.iin == twin["iin"])).one()
    enrolment.institution_bin, enrolment.home_region = line["institution_bin"], db.session.scalar(
        select(StudentEnrolment.home_region).where(StudentEnrolment.iin == line["iin"]))
    db.session.add(NedbIinMerge(retired_iin=twin["iin"], surviving_iin=line["iin"]))
    db.session.flush()
    return dict(line, iin=twin["iin"])


def test_a_child_placed_by_two_dormitories_under_two_merged_iins_is_paid_by_neither(dorm_year):
    jastar, alatau = _lines(dorm_year), _lines(dorm_year, "dorm_c")
    child = jastar[3]
    retired = _second_iin(dorm_year, child, 41)
    alatau[-1] = dict(retired, room=alatau[-1]["room"], bed=alatau[-1]["bed"])
    _summary, jastar_rows = _verify(dorm_year, jastar)
    _summary, alatau_rows = _verify(dorm_year, alatau, "dorm_c")
    assert alatau_rows[-1] == ("two_dormitories", None, 0)
    # verified again together: the same on both, whichever act comes first
    acts = list(db.session.scalars(select(Act).where(Act.period == OCTOBER, Act.instrument == "dormitory")
                                   .order_by(Act.id.desc())))
    claim_for_verification([a.id for a in acts])
    verify_dormitory_acts(acts)
    jastar_act = next(a for a in acts if a.school_id == dorm_year["orgs"]["dorm_a"].id)
    assert _outcomes(jastar_act.id)[3] == ("two_dormitories", None, 0)
    assert jastar_rows[3][0] is None  # it was paid before the second claim existed


def test_a_child_listed_twice_in_one_act_under_two_merged_iins_is_one_place(dorm_year):
    lines = _lines(dorm_year)
    free = lines.pop()
    child = lines[2]
    retired = _second_iin(dorm_year, child, 43)
    lines.insert(0, dict(retired, room=free["room"], bed=free["bed"]))  # the retired IIN's copy comes first
    summary, rows = _verify(dorm_year, lines)
    assert rows[0] == (None, 31, _rate(dorm_year))
    assert rows[3] == ("dorm_duplicate_line", None, 0)
    assert summary.by_rule == {"dorm_duplicate_line": 1}

