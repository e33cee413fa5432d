"""The facts an audit event vouches for, worked out by hand: exactly these fields, these digests.

The same functions write the facts and recompute them at verification, so a change of a field's name or of a
digest's input would still verify against new events — and report every event written before it as tampered.
These worked examples pin the stored format independently of the code that produces it."""

from __future__ import annotations

import hashlib
from datetime import date
from types import SimpleNamespace

from app.audit.facts import _act_facts, _contract_facts, digest, payment_facts, terms_sha256


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_digest_is_the_sha256_of_canonical_json_with_dates_as_text():
    assert digest({"b": [2, "ә"], "a": date(2026, 1, 2)}) == _sha('{"a":"2026-01-02","b":[2,"ә"]}')
    assert digest([]) == _sha("[]")


def test_an_acts_facts_are_its_money_and_a_digest_of_its_lines_in_line_order():
    act = SimpleNamespace(number="A-7", school_id=3, period=date(2026, 10, 1), amount_tiyn=8_080_000,
                          withheld_tiyn=4_230_000, total_lines=3, accepted_lines=2, adjustment_tiyn=-1_000,
                          payee_iban="KZ563190000012344567", verified_capacity=120, capacity_pinned=True)
    fields = ("line_no", "iin", "full_name", "grade", "days_attended", "outcome", "rule_code", "amount_tiyn")
    values = [(2, "010101500002", "Ә Б", 5, 20, "excluded", "withdrawn", 0),
              (1, "010101500001", "A B", 1, 21, "accepted", None, 3_850_000),
              (10, "010101500010", "C D", 5, 21, "accepted", None, 4_230_000)]
    lines = [SimpleNamespace(**dict(zip(fields, v, strict=True))) for v in values]
    claw_back = SimpleNamespace(original_line_id=70, period=date(2026, 9, 1), iin="010101500070",
                                rule_code="withdrawn", original_amount_tiyn=3_850_000, corrected_amount_tiyn=3_849_000,
                                amount_tiyn=-1_000)
    assert _act_facts(act, lines, [claw_back]) == {
        "number": "A-7", "school_id": 3, "period": "2026-10-01", "amount_tiyn": 8_080_000,
        "withheld_tiyn": 4_230_000, "total_lines": 3, "accepted_lines": 2,
        "lines_sha256": _sha('[[1,"010101500001","A B",1,21,"accepted",null,3850000],'
                             '[2,"010101500002","Ә Б",5,20,"excluded","withdrawn",0],'
                             '[10,"010101500010","C D",5,21,"accepted",null,4230000]]'),
        "adjustment_tiyn": -1_000,
        "adjustments_sha256": _sha('[[70,"2026-09-01","010101500070","withdrawn",3850000,3849000,-1000]]'),
        "payee_iban": "KZ563190000012344567", "verified_capacity": 120, "capacity_pinned": True,
    }


def test_a_payments_facts_are_its_act_amount_order_and_day():
    payment = SimpleNamespace(act_id=4, amount_tiyn=8_080_000, order_number="PP-2026-0007",
                              paid_on=date(2026, 11, 20), payee_iban="KZ563190000012344567")
    assert payment_facts(payment) == {"act_id": 4, "amount_tiyn": 8_080_000, "order_number": "PP-2026-0007",
                                      "paid_on": "2026-11-20", "payee_iban": "KZ563190000012344567"}


TERMS = {"number": "C-1", "order_id": 2, "school_id": 3, "department_id": 4, "region_id": 5,
         "period_start": date(2026, 9, 1), "period_end": date(2027, 5, 31), "places_primary": 40,
         "places_basic": 60, "places_secondary": 20, "design_capacity": 150, "locality": "urban",
         "iban": "KZ000000000000000001", "licence_number": "L-9", "licence_valid_until": date(2030, 1, 1),
         "monthly_cap_tiyn": 900_000_000, "amount_cap_tiyn": 8_100_000_000}
TERMS_JSON = ('{"amount_cap_tiyn":8100000000,"department_id":4,"design_capacity":150,"iban":"KZ000000000000000001",'
              '"licence_number":"L-9","licence_valid_until":"2030-01-01","locality":"urban",'
              '"monthly_cap_tiyn":900000000,"number":"C-1","order_id":2,"period_end":"2027-05-31",'
              '"period_start":"2026-09-01","places_basic":60,"places_primary":40,"places_secondary":20,'
              '"region_id":5,"school_id":3}')


def test_a_contracts_terms_digest_covers_every_term():
    contract = SimpleNamespace(**TERMS, id=1, status="signed")
    assert terms_sha256(contract) == _sha(TERMS_JSON)


def test_a_contracts_facts_are_its_caps_terms_signatures_and_amendments():
    contract = SimpleNamespace(**TERMS)
    signatures = [SimpleNamespace(capacity="school", signer_id=8, document_sha256="b" * 64),
                  SimpleNamespace(capacity="department", signer_id=7, document_sha256="a" * 64)]
    facts = _contract_facts(contract, signatures)
    assert facts == {"monthly_cap_tiyn": 900_000_000, "amount_cap_tiyn": 8_100_000_000,
                     "terms_sha256": _sha(TERMS_JSON),
                     "signatures_sha256": _sha(f'[["department",7,"{"a" * 64}"],["school",8,"{"b" * 64}"]]')}
    amendments = [SimpleNamespace(seq=2, effective_from=date(2026, 12, 1), rationale="places", before_sha256="c",
                                  after_sha256="d", amended_by_id=7),
                  SimpleNamespace(seq=1, effective_from=date(2026, 11, 1), rationale="iban", before_sha256="a",
                                  after_sha256="c", amended_by_id=7)]
    amended = _contract_facts(contract, signatures, amendments)
    assert amended == {**facts, "amendments_sha256": _sha(
        '[[1,"2026-11-01","iban","a","c",7],[2,"2026-12-01","places","c","d",7]]')}


def test_the_bulk_loaders_give_each_object_the_facts_it_has_alone(world):
    """verify-audit reads every contract's and act's facts in a few statements: each must equal what the
    object's own events vouched for — an amended contract's amendments included."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from app.acts.models import Act
    from app.audit.facts import act_facts, contract_facts, load_act_facts, load_contract_facts
    from app.contracts.models import Contract, ContractAmendment
    from app.extensions import db
    from tests.helpers import user

    contracts = db.session.scalars(select(Contract).order_by(Contract.id)).all()
    amended = contracts[0]
    assert "amendments_sha256" not in load_contract_facts()[amended.id]
    db.session.add(ContractAmendment(contract_id=amended.id, seq=1, effective_from=date(2026, 11, 1),
                                     rationale="Places corrected", before={"places": 100}, after={"places": 120},
                                     before_sha256="a" * 64, after_sha256="b" * 64,
                                     amended_by_id=user("official").id, amended_at=datetime(2026, 11, 2, tzinfo=UTC)))
    db.session.flush()
    loaded = load_contract_facts()
    assert set(loaded) == {c.id for c in contracts}
    assert loaded == {c.id: contract_facts(c) for c in contracts}
    assert "amendments_sha256" in loaded[amended.id]
    acts = load_act_facts(("verified", "accepted", "paid"))  # the demo has verified acts, none decided yet
    assert acts and acts == {a.id: act_facts(a) for a in db.session.scalars(select(Act).where(Act.id.in_(acts)))}
