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


def test_a_paid_place_is_clawed_back_once_another_dormitory_claims_the_child_under_the_merged_iin(dorm_year):
    """Jastar's September is paid; Alatau then claims the same child for September under the IIN NEDB retired: the
    claim excludes Alatau's line, and Jastar's paid place is clawed back on its next act — once, as under one IIN."""
    from app.acts.models import ActAdjustment, ActLine
    from app.acts.operations import submit_act
    from app.contracts.operations import open_contract_act
    from tests.dormitories.test_adjustments import OCTOBER as OCT
    from tests.dormitories.test_adjustments import SEPTEMBER, _month
    from tests.dormitories.test_rule_edges import ACCOUNTANTS
    from tests.dormitories.test_two_dormitories_paid import _verify as verify_and_settle
    from tests.helpers import user

    september = _month(dorm_year, SEPTEMBER)
    rate = _rate(dorm_year)
    paid = next(ln for ln in september.lines if ln.outcome == "accepted" and ln.amount_tiyn == rate)
    jastar_line = next(dict(line) for line, _ in dorm_year["worlds"]["dorm_a"].lines_for(SEPTEMBER)
                       if line["iin"] == paid.iin)
    retired = _second_iin(dorm_year, jastar_line, 47)
    alatau_lines = [dict(line) for line, _ in dorm_year["worlds"]["dorm_c"].lines_for(SEPTEMBER)]
    alatau = open_contract_act(dorm_year["contracts"]["dorm_c"], SEPTEMBER)
    submit_act(alatau, [*alatau_lines[:-1], dict(retired, room=alatau_lines[-1]["room"], bed=alatau_lines[-1]["bed"])],
               None, user(ACCOUNTANTS["dorm_c"]))
    verify_and_settle(alatau)
    assert db.session.execute(select(ActLine.rule_code, ActLine.amount_tiyn).where(
        ActLine.act_id == alatau.id, ActLine.iin == retired["iin"])).one() == ("two_dormitories", 0)

    october = _month(dorm_year, OCT, decide=False)
    (adj,) = db.session.scalars(select(ActAdjustment).where(ActAdjustment.act_id == october.id))
    assert (adj.iin, adj.rule_code, adj.period, adj.amount_tiyn) == (paid.iin, "two_dormitories", SEPTEMBER, -rate)
    assert adj.evidence["other_dormitory_acts"] == [alatau.number]
    assert october.adjustment_tiyn == -rate


def test_the_first_act_verified_loses_the_place_when_the_second_claims_the_child_under_the_merged_iin(dorm_year):
    """Whichever act is verified first: the second's verification verifies the first again (reverify_other_claims),
    which found the first act by the same IIN only."""
    from app.acts.operations import submit_act
    from app.contracts.operations import open_contract_act
    from tests.dormitories.test_rule_edges import ACCOUNTANTS
    from tests.dormitories.test_two_dormitories_paid import _verify as verify_and_settle
    from tests.helpers import user

    jastar, alatau = _lines(dorm_year), _lines(dorm_year, "dorm_c")
    child = jastar[3]
    retired = _second_iin(dorm_year, child, 53)
    alatau[-1] = dict(retired, room=alatau[-1]["room"], bed=alatau[-1]["bed"])
    acts = {}
    for key, lines in (("dorm_a", jastar), ("dorm_c", alatau)):
        acts[key] = open_contract_act(dorm_year["contracts"][key], OCTOBER)
        submit_act(acts[key], lines, None, user(ACCOUNTANTS[key]))
        verify_and_settle(acts[key])
    db.session.expire_all()
    assert _outcomes(acts["dorm_c"].id)[-1] == ("two_dormitories", None, 0)
    assert _outcomes(acts["dorm_a"].id)[3] == ("two_dormitories", None, 0)
