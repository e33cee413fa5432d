"""A NEDB web service that writes an IIN or a BIN as a JSON number (or pads it with spaces): the identifiers are
twelve digits whatever the service's serialiser made of them. A number drops the leading zero of a child born in
2000–2009 ("09…") and of a BIN that starts with 0: the enrolment was dropped as an invalid IIN (the child "not in
NEDB") or read as another school's ("other school") — a legitimate child withheld."""

from __future__ import annotations

from datetime import date

import pytest

from app.acts.verification import verify_act
from app.extensions import db
from app.registry.http import HttpStudentRegistry, RegistryUnavailable
from app.registry.identifiers import complete_12
from app.registry.models import BusinessRecord, Licence
from tests.registry.conftest import NORMS


def _registry(rows: list[dict]) -> HttpStudentRegistry:
    registry = HttpStudentRegistry("http://127.0.0.1:9/api")
    registry._call = lambda path, payload=None: {"enrollments": rows}  # the service's answer, as JSON decoded it
    return registry


@pytest.mark.parametrize("written", ["number", "spaced"])
def test_identifiers_the_service_writes_as_numbers_or_with_spaces_are_twelve_digits(country, written):
    school = country.school(registered=False)
    school.bin = complete_12("05084000001")  # a BIN with a leading zero
    db.session.add_all([BusinessRecord(bin=school.bin, name=school.name, status="active", oked="85.31"),
                        Licence(number="KZ-0", bin=school.bin, valid_from=date(2020, 1, 1),
                                levels="primary,basic,secondary")])
    pupil = complete_12("09031560001")  # born 15 March 2009: grade 11 in 2026/27
    act = country.act(school, [(pupil, 11)])
    if written == "number":
        iin_value, bin_value = int(pupil), int(school.bin)
    else:
        iin_value, bin_value = f" {pupil} ", f"{school.bin}\u00a0"
    registry = _registry([{"iin": iin_value, "full_name": f"Student {pupil}", "school_bin": bin_value,
                           "school_kind": "private", "grade": 11, "enrolled_on": "2026-09-01", "withdrawn_on": None}])
    found = registry.enrollments_for([pupil])
    assert [(e.iin, e.school_bin) for e in found[pupil]] == [(pupil, school.bin)]
    verify_act(act, registry)
    db.session.expire_all()
    [line] = act.lines
    assert (line.outcome, line.rule_code, line.amount_tiyn) == ("accepted", None, NORMS["secondary"])


@pytest.mark.parametrize("value", [12.5, True, 10**12, -5, "12345678901a"])
def test_an_identifier_no_twelve_digits_can_be_made_of_is_a_malformed_answer_or_left_as_sent(app_ctx, value):
    """What cannot be twelve digits is not padded into them: a fraction, a boolean, a number of 13 digits or a negative
    one make the answer malformed (the registry unavailable, as for any malformed enrolment); a text stays the text."""
    registry = _registry([{"iin": value, "full_name": "X", "school_bin": "150840000012", "grade": 5,
                           "enrolled_on": "2026-09-01"}])
    if isinstance(value, str):
        assert list(registry.enrollments_for(["x"])) == [value]
    else:
        with pytest.raises(RegistryUnavailable):
            registry.enrollments_for(["x"])
