from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.orders.models import StateOrder
from app.people.models import Organisation

OPEN_CONDITION = "status NOT IN ('ineligible','rejected','expired')"
APPLICATION_STATUSES = ("draft", "submitted", "eligible", "ineligible", "allocated", "rejected", "expired")


class Application(db.Model):
    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_order_school", "order_id", "school_id"),
        # At most one application per school and order that is still in play (a school may apply again
        # only after an ineligible, rejected or expired one) — held by the database, not just the code.
        Index("uq_application_in_play", "order_id", "school_id", unique=True,
              sqlite_where=text(OPEN_CONDITION), postgresql_where=text(OPEN_CONDITION)),
        CheckConstraint("status IN ('draft','submitted','eligible','ineligible','allocated','rejected','expired')",
                        name="status"),
        CheckConstraint("students_primary >= 0 AND students_basic >= 0 AND students_secondary >= 0",
                        name="students_non_negative"),
        CheckConstraint("places_primary >= 0 AND places_basic >= 0 AND places_secondary >= 0",
                        name="places_non_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instrument: Mapped[str] = mapped_column(String(16), default="schools", server_default="schools")
    order_id: Mapped[int] = mapped_column(ForeignKey("state_order.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    licence_number: Mapped[str | None] = mapped_column(String(40))
    locality: Mapped[str] = mapped_column(String(8), default="urban")
    students_primary: Mapped[int] = mapped_column(default=0)
    students_basic: Mapped[int] = mapped_column(default=0)
    students_secondary: Mapped[int] = mapped_column(default=0)
    design_capacity: Mapped[int | None]
    iban: Mapped[str | None] = mapped_column(String(34))
    #: as found in the licence registry at the eligibility check (history, copied into the contract; no act reads it)
    licence_valid_until: Mapped[date | None] = mapped_column(Date)
    reasons: Mapped[list | None] = mapped_column(JSON)  # eligibility rule codes that failed
    places_primary: Mapped[int] = mapped_column(default=0)
    places_basic: Mapped[int] = mapped_column(default=0)
    places_secondary: Mapped[int] = mapped_column(default=0)
    review_comment: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    order: Mapped[StateOrder] = relationship()
    school: Mapped[Organisation] = relationship()

    @property
    def students_total(self) -> int:
        return self.students_primary + self.students_basic + self.students_secondary

    @property
    def places_total(self) -> int:
        return self.places_primary + self.places_basic + self.places_secondary

    def students(self, level: str) -> int:
        return getattr(self, f"students_{level}")

    def places(self, level: str) -> int:
        return getattr(self, f"places_{level}")
