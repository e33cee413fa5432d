"""An act of a school funded under a contract is that contract's act, whoever opens it.

``flask open-acts`` opened Samruk's December act with no link to its contract: verified and paid with no places per
level, no caps and the year's default norms (992,400 ₸ where the contract allowed 953,900 ₸), and June's act after
the contract had ended was paid in full."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app import clock
from app.acts.models import Act
from app.acts.operations import open_monthly_act
from app.audit.models import AuditEvent
from app.contracts.models import Contract, ContractAct
from app.contracts.operations import contract_months, open_contract_act
from app.engine.errors import DomainRefused
from app.extensions import db
from app.people.models import Organisation


@pytest.fixture()
def contract(world) -> Contract:
    """The demo world's signed contract (Samruk Private School, Shymkent)."""
    return db.session.scalars(select(Contract).where(Contract.status == "active").order_by(Contract.id)).first()


def _free_month(contract: Contract) -> date:
    taken = set(db.session.scalars(select(Act.period).where(Act.school_id == contract.school_id)))
    return next(m for m in contract_months(contract) if m not in taken)


def _after(contract: Contract) -> date:
    end = contract.period_end
    return date(end.year + end.month // 12, end.month % 12 + 1, 1)


def test_an_act_opened_for_a_school_under_contract_is_linked_to_it(contract):
    month = _free_month(contract)
    act = open_monthly_act(contract.school, month)
    db.session.flush()
    link = db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).one()
    assert (link.contract_id, link.period) == (contract.id, month)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.act_opened",
                                                       AuditEvent.object_id == act.id)).one()
    # the contract's timer then finds the act linked: no second link, no second event
    assert open_contract_act(contract, month) is act
    assert len(db.session.scalars(select(ContractAct).where(ContractAct.act_id == act.id)).all()) == 1
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contract.act_opened",
                                                           AuditEvent.object_id == act.id)).all()) == 1


def test_no_act_opens_for_a_month_no_contract_of_the_school_covers(contract):
    with pytest.raises(DomainRefused, match="no active contract of the school covers"):
        open_monthly_act(contract.school, _after(contract))
    before = contract.period_start.replace(day=1)
    with pytest.raises(DomainRefused):
        open_monthly_act(contract.school, date(before.year - 1, before.month, 1))
    assert db.session.scalars(select(Act).where(Act.school_id == contract.school_id,
                                                Act.period == _after(contract))).first() is None


def test_open_acts_skips_the_months_outside_a_schools_contract(app, contract):
    month = _after(contract)
    free_school = db.session.scalars(select(Organisation).where(Organisation.kind == "school",
                                                                Organisation.iban.is_not(None),
                                                                Organisation.id != contract.school_id)).first()
    db.session.commit()
    with clock.FrozenClock(datetime(month.year, month.month, 28, tzinfo=UTC).replace(day=28)) as frozen:
        frozen.advance(days=10)
        result = app.test_cli_runner().invoke(args=["open-acts", "--period", f"{month:%Y-%m}"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalars(select(Act).where(Act.school_id == contract.school_id, Act.period == month)).first() \
        is None
    assert db.session.scalars(select(Act).where(Act.school_id == free_school.id, Act.period == month)).first() \
        is not None, "a school never funded under a contract opens as before"
