from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.acts.models import Act
from app.extensions import db

#: A payment order's number as the bank's order carries it: Latin letters, digits, "/" and "-" (an act's payment and a
#: carried top-up's alike — one order pays one thing, so both are compared by the same spelling).
ORDER_NUMBER_PATTERN = "^[A-Za-z0-9/-]{1,40}$"


class Payment(db.Model):
    """``act_id`` is unique: a second payment of the same act is impossible at the database level."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("act_id", name="uq_payment_act_id"),
        UniqueConstraint("order_number", name="uq_payment_order_number"),
        CheckConstraint("amount_tiyn >= 0", name="amount_non_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("act.id"))
    order_number: Mapped[str] = mapped_column(String(40))
    paid_on: Mapped[date] = mapped_column(Date)
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    #: The account the payment was sent to (the act's pinned payee), vouched for by the ``act.paid`` event's facts;
    #: NULL for a payment registered before payees were pinned (its event's details name the account).
    payee_iban: Mapped[str | None] = mapped_column(String(34))
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    act: Mapped[Act] = relationship()
