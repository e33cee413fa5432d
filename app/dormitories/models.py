"""The dormitory-places instrument's own tables: what an act line adds to the generic line, the registries it is
checked against (students of colleges and universities, the dormitories' beds and documents), and the terms a
dormitory contract adds to the generic contract.

Generic parts stay generic: an act of a dormitory is an ``act`` row (``instrument='dormitory'``) with ``act_line``
rows (IIN, name, course in ``grade``, days claimed in ``days_attended``), and its contract a ``contract`` row.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.acts.models import ActLine
from app.applications.models import Application
from app.contracts.models import Contract
from app.extensions import db
from app.orders.models import StateOrder

STUDY_FORMS = ("full_time", "part_time", "distance")
DOCUMENT_KINDS = ("commissioning", "ownership")


class DormPlaceLine(db.Model):
    """The dormitory-specific part of an act line: where the student studies and which bed they occupy when."""

    __tablename__ = "dorm_place_line"
    __table_args__ = (CheckConstraint("moved_out IS NULL OR moved_out >= moved_in", name="dates"),)
    line_id: Mapped[int] = mapped_column(ForeignKey("act_line.id", ondelete="CASCADE"), primary_key=True)
    institution_bin: Mapped[str] = mapped_column(String(12))
    room: Mapped[str] = mapped_column(String(16))
    bed: Mapped[str] = mapped_column(String(16))
    moved_in: Mapped[date] = mapped_column(Date)
    moved_out: Mapped[date | None] = mapped_column(Date)  # the first day the place is free again

    line: Mapped[ActLine] = relationship()


class StudentEnrolment(db.Model):
    """One enrolment of a student at a college or university in the student registry.

    ``withdrawn_on`` is the first day no longer a student there; ``home_region`` the region code of the
    student's registered address (a local resident of the dormitory's region may be excluded by the order).
    Natural key: (iin, institution_bin, enrolled_on).
    """

    __tablename__ = "student_enrolment"
    __table_args__ = (
        # covering: the rule pass reads every column it needs from the index (0014_dormsql)
        Index("ix_student_enrolment_facts", "iin", "institution_bin", "study_form", "enrolled_on", "withdrawn_on",
              "home_region"),
        Index("ix_student_enrolment_institution", "institution_bin", "enrolled_on"),
        Index("uq_student_enrolment_natural", "iin", "institution_bin", "enrolled_on", unique=True),
        CheckConstraint("study_form IN ('full_time','part_time','distance')", name="study_form"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    iin: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    institution_bin: Mapped[str] = mapped_column(String(12))
    course: Mapped[int]
    study_form: Mapped[str] = mapped_column(String(16), default="full_time")
    home_region: Mapped[str] = mapped_column(String(16))
    enrolled_on: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)


class DormitoryBed(db.Model):
    """A bed of a dormitory as its building passport lists it (natural key: dormitory, room, bed)."""

    __tablename__ = "dormitory_bed"
    __table_args__ = (Index("uq_dormitory_bed_natural", "dormitory_bin", "room", "bed", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dormitory_bin: Mapped[str] = mapped_column(String(12))
    room: Mapped[str] = mapped_column(String(16))
    bed: Mapped[str] = mapped_column(String(16))


class DormitoryDocument(db.Model):
    """A commissioning act or an ownership (or lease) document of a dormitory, valid for a period."""

    __tablename__ = "dormitory_document"
    __table_args__ = (
        Index("ix_dormitory_document_bin", "dormitory_bin"),
        CheckConstraint("kind IN ('commissioning','ownership')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    dormitory_bin: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class DormitoryTerms(db.Model):
    """What a dormitory contract adds to the generic contract: places, the monthly rate per place (from the
    rates decision table when the contract was made) and whether local residents are excluded."""

    __tablename__ = "dormitory_terms"
    __table_args__ = (
        CheckConstraint("places > 0", name="places_positive"),
        CheckConstraint("place_rate_tiyn >= 0", name="rate_non_negative"),
        UniqueConstraint("contract_id", name="uq_dormitory_terms_contract"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    places: Mapped[int]
    place_rate_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    excludes_local_residents: Mapped[bool] = mapped_column(default=True)

    contract: Mapped[Contract] = relationship(backref=backref("dormitory_terms", uselist=False))


class DormitoryOrderTerms(db.Model):
    """What an order for dormitory places adds to the generic order: the locality it funds, the places it orders,
    the monthly rate per place the rates decision table gave when it was placed (its contracts take this rate), and
    whether students who are local residents of the region are excluded."""

    __tablename__ = "dormitory_order_terms"
    __table_args__ = (
        CheckConstraint("places > 0", name="places_positive"),
        CheckConstraint("place_rate_tiyn >= 0", name="rate_non_negative"),
        CheckConstraint("locality IN ('urban','rural')", name="locality"),
        UniqueConstraint("order_id", name="uq_dormitory_order_terms_order"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("state_order.id"))
    locality: Mapped[str] = mapped_column(String(8))
    places: Mapped[int]
    place_rate_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    excludes_local_residents: Mapped[bool] = mapped_column(default=True)

    order: Mapped[StateOrder] = relationship(backref=backref("dormitory_terms", uselist=False))


class DormitoryApplicationTerms(db.Model):
    """What a dormitory's application adds to the generic application: the places it offers and those allocated."""

    __tablename__ = "dormitory_application_terms"
    __table_args__ = (
        CheckConstraint("places_requested >= 0 AND places_allocated >= 0", name="places_non_negative"),
        UniqueConstraint("application_id", name="uq_dormitory_application_terms_application"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    places_requested: Mapped[int] = mapped_column(default=0)
    places_allocated: Mapped[int] = mapped_column(default=0)

    application: Mapped[Application] = relationship(backref=backref("dormitory_terms", uselist=False))
