from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.acts.models import Act
from app.extensions import db

#: A payment order's number as the bank's order carries it: Latin letters, digits, "/" and "-" (an act's payment and a
#: carried top-up's alike — one order pays one thing, so both are compared by the same spelling).
ORDER_NUMBER_PATTERN = "^[A-Za-z0-9/-]{1,40}$"


#: Why the bank sent a payment back (``Payment.return_reason``): the account is closed, the payee's details (IBAN,
#: BIN, name) do not match the account, the bank refused it for its own reasons, or another reason the note says.
RETURN_REASONS = ("account_closed", "wrong_details", "bank_refused", "other")
#: A payment the bank has not sent back: the money reached the school (as far as the operator knows).
NOT_RETURNED = "returned_on IS NULL"


class Payment(db.Model):
    """At most one payment of an act that the bank has not returned — at the database level (a partial unique
    index): a returned payment stays, with its return, and the act is paid again once."""

    __tablename__ = "payment"
    __table_args__ = (
        Index("uq_payment_act_not_returned", "act_id", unique=True, sqlite_where=text(NOT_RETURNED),
              postgresql_where=text(NOT_RETURNED)),
        UniqueConstraint("order_number", name="uq_payment_order_number"),
        CheckConstraint("amount_tiyn >= 0", name="amount_non_negative"),
        # a return is whole (day, reason from the list, the bank's reference) and not older than the payment
        CheckConstraint("(returned_on IS NULL AND return_reason IS NULL AND return_reference IS NULL) OR "
                        "(returned_on IS NOT NULL AND return_reference IS NOT NULL AND return_reason IN "
                        "('account_closed', 'wrong_details', 'bank_refused', 'other'))", name="return_whole"),
        CheckConstraint("returned_on IS NULL OR returned_on >= paid_on", name="returned_after_paid"),
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
    #: The bank sent the money back (app.payments.returns): the day, why, its reference, who recorded it and when.
    #: NULL: not returned.
    returned_on: Mapped[date | None] = mapped_column(Date)
    return_reason: Mapped[str | None] = mapped_column(String(24))
    return_note: Mapped[str | None] = mapped_column(String(500))
    return_reference: Mapped[str | None] = mapped_column(String(64))
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    act: Mapped[Act] = relationship()
