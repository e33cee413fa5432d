"""No record, no payment — for dormitories as for schools: a dormitory whose BIN the state business register does
not know (or knows as liquidated) is not funded. Its application ends ineligible with the reason, and every line of
its monthly act is excluded with the reason in kk/ru/en; once the register has the record, the same act is paid.
The check is the schools' own (app.registry.business, app.applications.registry_lookup), not a copy of it."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.acts.models import Act
from app.applications.rules import reason
from app.dormitories.rules import DORM_RULES
from app.extensions import db
from app.people.models import Organisation
from app.registry.models import BusinessRecord
from tests.dormitories.test_order_to_contract import QAZYNA, apply, frozen, place  # noqa: F401  (fixture)
from tests.dormitories.test_rule_edges import _lines, _verify
from tests.i18n.catalogue import assert_translated


def _record(bin_: str) -> BusinessRecord:
    return db.session.scalars(select(BusinessRecord).where(BusinessRecord.bin == bin_)).one()


def test_a_dormitory_missing_from_the_business_register_has_every_line_excluded_until_it_is_registered(dorm_year,
                                                                                                        app):
    jastar = dorm_year["orgs"]["dorm_a"]
    record = _record(jastar.bin)
    db.session.execute(delete(BusinessRecord).where(BusinessRecord.bin == jastar.bin))
    lines = _lines(dorm_year)
    summary, rows = _verify(dorm_year, lines)
    assert len(rows) == len(lines) == 40
    assert {rule for rule, _days, _amount in rows} == {"dorm_no_business_record"}
    assert summary.amount_tiyn == 0 and sum(amount for _r, _d, amount in rows) == 0
    act = db.session.scalars(select(Act).where(Act.school_id == jastar.id)).one()
    assert act.withheld_tiyn > 0, "what the lines would have earned is withheld, not lost from the figures"

    # The other dormitories' acts are untouched: their BINs are in the register.
    _summary, others = _verify(dorm_year, _lines(dorm_year, "dorm_c"), key="dorm_c")
    assert others and all(rule is None for rule, _days, _amount in others)

    # The record arrives (an import of the register): the same act, verified again, is paid in full.
    db.session.add(BusinessRecord(bin=jastar.bin, name=record.name, status="active", oked="55.90"))
    db.session.flush()
    from app.acts.operations import claim_for_verification
    from app.dormitories.verification import verify_dormitory_acts

    db.session.expire_all()
    act = db.session.get(Act, act.id)
    claim_for_verification([act.id])
    again = verify_dormitory_acts([act])[act.id]
    assert again.amount_tiyn > 0 and all(line.rule_code is None for line in act.lines)

    # The reason, in every language the dormitory reads.
    for code in ("dorm_no_business_record", "dorm_business_inactive"):
        assert DORM_RULES[code].school_level
        assert_translated(app, DORM_RULES[code].title._args[0])
        assert_translated(app, DORM_RULES[code].reason._args[0])


def test_a_liquidated_dormitory_is_not_paid(dorm_year):
    jastar = dorm_year["orgs"]["dorm_a"]
    _record(jastar.bin).status = "liquidated"
    db.session.flush()
    _summary, rows = _verify(dorm_year, _lines(dorm_year))
    assert {rule for rule, _days, _amount in rows} == {"dorm_business_inactive"}


def test_a_dormitory_of_any_main_activity_is_paid(dorm_year):
    """A dormitory is run by an investor's company: accommodation, real estate — not education (the schools'
    OKED 85 requirement is theirs alone)."""
    jastar = dorm_year["orgs"]["dorm_a"]
    _record(jastar.bin).oked = "68.20"
    db.session.flush()
    _summary, rows = _verify(dorm_year, _lines(dorm_year))
    assert all(rule is None for rule, _days, _amount in rows)


def test_a_dormitory_application_without_a_business_record_ends_ineligible_with_the_reason(frozen, browser):  # noqa: F811
    qazyna = db.session.scalars(select(Organisation).where(Organisation.name == QAZYNA)).one()
    db.session.execute(delete(BusinessRecord).where(BusinessRecord.bin == qazyna.bin))
    db.session.commit()
    order = place(browser("official"))
    accountant = browser("dorm_applicant")
    application = apply(accountant, order)
    assert (application.status, application.reasons) == ("ineligible", ["dorm_not_in_business_register"])
    page = accountant.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "The dormitory&#39;s BIN is not found in the business register." in page or \
        "The dormitory's BIN is not found in the business register." in page


def test_a_liquidated_dormitory_applicant_is_ineligible(frozen, browser):  # noqa: F811
    qazyna = db.session.scalars(select(Organisation).where(Organisation.name == QAZYNA)).one()
    _record(qazyna.bin).status = "liquidated"
    db.session.commit()
    application = apply(browser("dorm_applicant"), place(browser("official")))
    assert (application.status, application.reasons) == ("ineligible", ["business_inactive"])
    assert reason("business_inactive").startswith("The organisation is not active in the business register")


def test_the_register_is_read_in_chunks_and_no_bin_is_left_out(dorm_year, monkeypatch):
    """The records are read 900 BINs at a time (SQLite's bound-parameter limit); every chunk counts."""
    from app.registry import business

    monkeypatch.setattr(business, "_CHUNK", 2)
    bins = [org.bin for org in dorm_year["orgs"].values()]
    assert len(bins) >= 3
    jastar = dorm_year["orgs"]["dorm_a"].bin
    _record(jastar).status = "liquidated"
    db.session.flush()
    rules = business.organisation_rules([*bins, "000000000000"], {business.Standing.MISSING: "missing",
                                                                  business.Standing.INACTIVE: "inactive"})
    assert rules == {"000000000000": "missing", jastar: "inactive"}
    assert set(business.business_records(bins)) == set(bins)
