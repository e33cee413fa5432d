"""The NEDB web service and a NEDB file are read alike: an IIN or a BIN grouped for the eye ("150101 600107",
"1501-0160-0107", a non-breaking space) is its twelve digits, and one in another script's digits, a date or a grade
in them, is no value the registry can be taken at its word for.

The HTTP adapter only stripped an identifier's ends: a child whose IIN the service wrote grouped matched no line of
the act (the child "not in NEDB", the school not paid for her), and one it wrote in full-width digits the same,
silently. Its dates were ``date.fromisoformat`` (a week date "2026-W36-2" was a day) and its grade ``int`` ("１１" was
grade 11, 5.9 grade 5, ``true`` grade 1). Now both paths read identifiers with :func:`app.registry.cells.identifier_of`,
and what it cannot read makes the service's answer malformed — the verification stops with the registry's error,
nothing is decided on it."""

from __future__ import annotations

import pytest

from app.acts.verification import verify_act
from app.extensions import db
from app.registry.cells import UnreadableIdentifier, identifier_of
from app.registry.http import HttpStudentRegistry, RegistryUnavailable
from app.registry.importers import RowError, parse_nedb
from tests.registry.conftest import NORMS, iin
from tests.registry.test_http_adapter import StandIn, row

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

#: how a registry may write the twelve digits ``n`` for the eye
GROUPINGS = {
    "space": lambda n: f"{n[:6]} {n[6:]}",
    "non-breaking space": lambda n: f"{n[:6]}\u00a0{n[6:]}",
    "narrow no-break spaces": lambda n: f"{n[:4]}\u202f{n[4:8]}\u202f{n[8:]}",
    "hyphens": lambda n: f"{n[:4]}-{n[4:8]}-{n[8:]}",
    "en dashes": lambda n: f"{n[:4]}\u2013{n[4:8]}\u2013{n[8:]}",
    "around": lambda n: f" {n}\u00a0",
}


@pytest.mark.parametrize("grouping", GROUPINGS)
def test_a_file_and_the_service_read_a_grouped_identifier_as_the_same_digits(app_ctx, grouping):
    child, school = iin(1), "950440001673"
    written = {"iin": GROUPINGS[grouping](child), "full_name": "Алиев Арман", "school_bin": GROUPINGS[grouping](school),
               "school_kind": "private", "grade": "5", "enrolled_on": "2026-09-01", "withdrawn_on": ""}
    from_file = parse_nedb(written)
    with StandIn([row(written["iin"], written["school_bin"])]) as service:
        [from_service] = HttpStudentRegistry(service.url).enrollments_for([child])[child]
    assert (from_file["iin"], from_file["school_bin"]) == (from_service.iin, from_service.school_bin) == (child, school)


@pytest.mark.parametrize("grouping", GROUPINGS)
def test_a_child_the_service_writes_grouped_is_paid_for(country, grouping):
    school = country.school()
    pupil = iin(7)
    act = country.act(school, [(pupil, 5)])
    with StandIn([row(GROUPINGS[grouping](pupil), GROUPINGS[grouping](school.bin))]) as service:
        verify_act(act, HttpStudentRegistry(service.url))
    db.session.expire_all()
    [line] = act.lines
    assert (line.outcome, line.rule_code, line.amount_tiyn) == ("accepted", None, NORMS["basic"])


#: what a registry may write in a row that no value of the row can be read from, by the column it is in
UNREADABLE = {
    "full-width IIN": ("iin", lambda n: n.translate(FULL_WIDTH)),
    "Arabic-Indic IIN": ("iin", lambda n: n.translate(ARABIC_INDIC)),
    "one full-width digit": ("iin", lambda n: n[:11] + n[11].translate(FULL_WIDTH)),
    "scientific BIN": ("school_bin", lambda n: "9.50440E+11"),
    "full-width BIN": ("school_bin", lambda n: n.translate(FULL_WIDTH)),
    "year in other digits": ("enrolled_on", lambda n: "٢٠٢٦-09-01"),
    "week date": ("enrolled_on", lambda n: "2026-W36-2"),
    "grade in other digits": ("grade", lambda n: "١١"),
    "fractional grade": ("grade", lambda n: 5.9),
    "boolean grade": ("grade", lambda n: True),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_a_service_answer_in_other_digits_is_malformed_and_decides_nothing(country, case):
    column, spell = UNREADABLE[case]
    school = country.school()
    pupil = iin(8)
    act = country.act(school, [(pupil, 5)])
    db.session.commit()
    before = [(line.outcome, line.rule_code, line.amount_tiyn) for line in act.lines]
    served = row(pupil, school.bin)
    written = {"iin": pupil, "school_bin": school.bin, "enrolled_on": "2026-09-01", "grade": "5"}[column]
    served[column] = spell(written)
    with StandIn([served]) as service:
        if column == "iin":  # the stand-in finds the child by her digits and answers as it keeps her IIN
            assert service.rows[0]["iin"] != pupil
        registry = HttpStudentRegistry(service.url)
        with pytest.raises(RegistryUnavailable):
            registry.enrollments_for([pupil])
        with pytest.raises(RegistryUnavailable):
            verify_act(act, registry)
    db.session.rollback()
    db.session.expire_all()
    assert [(line.outcome, line.rule_code, line.amount_tiyn) for line in act.lines] == before, "nothing decided"


@pytest.mark.parametrize("value, code", [
    ("１５０１０１６００１０７", "non_ascii_digits"), ("1.50101E+11", "scientific_notation"), (12.5, "invalid"),
    (True, "invalid"), (-5, "invalid"), (10**12, "invalid"), (None, "invalid"),
])
def test_the_one_reading_refuses_what_is_no_twelve_digits(value, code):
    with pytest.raises(UnreadableIdentifier) as refused:
        identifier_of(value)
    assert refused.value.code == code
    assert identifier_of(150101600107.0) == identifier_of("'1501 0160 0107") == identifier_of(" 150101600107.0 ")


def test_a_file_row_in_other_digits_is_refused_with_its_reason(app_ctx):
    good = {"iin": iin(1), "full_name": "Алиев Арман", "school_bin": "950440001673", "grade": "5",
            "enrolled_on": "2026-09-01"}
    with pytest.raises(RowError) as refused:
        parse_nedb({**good, "school_bin": "9504 4000 １６７３"})
    assert (refused.value.column, refused.value.code) == ("school_bin", "non_ascii_digits")
    with pytest.raises(RowError) as refused:
        parse_nedb({**good, "grade": "５"})
    assert (refused.value.column, refused.value.code) == ("grade", "invalid_grade")
