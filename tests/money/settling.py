"""Steps the money tests take with an act of a registry world (tests/registry/conftest.py's ``country``): verify it and
settle its adjustments as submitting does, mark it paid, read what was settled on it."""

from __future__ import annotations

from sqlalchemy import select

from app.acts.adjustments import settle_adjustments
from app.acts.models import ActAdjustment
from app.acts.verification import verify_acts
from app.extensions import db


def verified(act):
    """``act`` verified and its adjustments settled, read again from the database."""
    verify_acts([act])
    settle_adjustments([act])
    db.session.expire_all()
    return act


def paid(act):
    act.status = "paid"
    db.session.flush()
    return act


def settled(act) -> list[tuple[str, int]]:
    """The adjustments settled on ``act``: (rule code, amount in tiyn), in the order they were made."""
    return [(a.rule_code, a.amount_tiyn) for a in db.session.scalars(
        select(ActAdjustment).where(ActAdjustment.act_id == act.id).order_by(ActAdjustment.id))]
