"""Registry corrections arriving by import, as an auditor would send them: the open acts whose evidence the correction
changes are verified again — those the record now names *and* those it named before."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.models import Act
from app.extensions import db
from app.registry.models import Licence
from tests.helpers import school
from tests.money.test_adjustments import BILIM
from tests.money.test_import_reverifies import _import, _verified_bilim


def test_a_licence_corrected_to_another_bin_reverifies_the_school_that_loses_it(world, tmp_path):
    """The licence registry corrects the BIN typed on a licence (its number is the key): the licence was never the
    school's. The school's open act, verified while the licence was filed under its BIN, is verified again — no
    licence record, no payment — not accepted and paid at the registry's old word."""
    act = _verified_bilim()
    seen = act.lock_version
    assert act.amount_tiyn > 0
    own = db.session.scalars(select(Licence).where(Licence.bin == school(BILIM).bin)).all()
    other = next(s for s in (school(n) for n in ("Alatau Lyceum",)) if s.bin != school(BILIM).bin)
    rows = [{"number": lic.number, "bin": other.bin, "valid_from": lic.valid_from.isoformat(),
             "valid_until": lic.valid_until.isoformat() if lic.valid_until else "", "levels": lic.levels}
            for lic in own]
    job = _import("licences", tmp_path / "licence.csv", rows)
    assert job.status == "done" and job.loaded_rows == len(own)
    act = db.session.get(Act, act.id)
    assert act.lock_version > seen
    assert act.amount_tiyn == 0
    assert {ln.rule_code for ln in act.lines} == {"no_licence"}
