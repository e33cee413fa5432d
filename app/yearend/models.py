from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.contracts.models import Contract
from app.extensions import db


class YearEndReport(db.Model):
    """The report on one academic year (1 September – 31 August) of a contract: a contract over several years
    has one per year, each with that year's months. The row exists from the moment the report is asked for
    (``awaiting``, with its process instance) and holds the months as submitted."""

    __tablename__ = "year_end_report"
    __table_args__ = (
        UniqueConstraint("contract_id", "academic_year", name="uq_year_end_report_contract_year"),
        CheckConstraint("status IN ('awaiting','submitted','returned','approved')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    academic_year: Mapped[str] = mapped_column(String(9))  # "2027/2028"
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    status: Mapped[str] = mapped_column(String(16))
    months: Mapped[list] = mapped_column(JSON)  # [{period, act_number, status, students, accepted_lines, …}]
    total_paid_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    comment: Mapped[str | None] = mapped_column(Text)
    review_comment: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    contract: Mapped[Contract] = relationship()
