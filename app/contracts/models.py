from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.acts.models import Act
from app.applications.models import Application
from app.extensions import db
from app.orders.models import StateOrder
from app.people.models import Organisation, User

CONTRACT_STATUSES = ("awaiting_director", "awaiting_head", "active", "closed")
LEVEL_GRADES = {"primary": range(1, 5), "basic": range(5, 10), "secondary": range(10, 12)}


class Contract(db.Model):
    __tablename__ = "contract"
    __table_args__ = (
        UniqueConstraint("application_id", name="uq_contract_application_id"),
        Index("ix_contract_school_period", "school_id", "period_start"),
        CheckConstraint("status IN ('awaiting_director','awaiting_head','active','closed')", name="status"),
        CheckConstraint("amount_cap_tiyn >= 0 AND monthly_cap_tiyn >= 0", name="caps_non_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    instrument: Mapped[str] = mapped_column(String(16), default="schools", server_default="schools")
    order_id: Mapped[int] = mapped_column(ForeignKey("state_order.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    places_primary: Mapped[int] = mapped_column(default=0)
    places_basic: Mapped[int] = mapped_column(default=0)
    places_secondary: Mapped[int] = mapped_column(default=0)
    design_capacity: Mapped[int | None]
    locality: Mapped[str] = mapped_column(String(8), default="urban")
    iban: Mapped[str | None] = mapped_column(String(34))
    licence_number: Mapped[str | None] = mapped_column(String(40))
    #: the licence's end date as the eligibility check found it (history of what was signed), never a cap: acts are
    #: paid for the days the licence registry covers now, renewals included
    licence_valid_until: Mapped[date | None] = mapped_column(Date)
    monthly_cap_tiyn: Mapped[int] = mapped_column(BigInteger)
    amount_cap_tiyn: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default="awaiting_director")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    order: Mapped[StateOrder] = relationship()
    application: Mapped[Application] = relationship()
    school: Mapped[Organisation] = relationship(foreign_keys=[school_id])
    department: Mapped[Organisation | None] = relationship(foreign_keys=[department_id])
    signatures: Mapped[list[ContractSignature]] = relationship(back_populates="contract",
                                                               order_by="ContractSignature.id")
    amendments: Mapped[list[ContractAmendment]] = relationship(back_populates="contract",
                                                               order_by="ContractAmendment.seq")

    def places(self, level: str) -> int:
        return getattr(self, f"places_{level}")

    @property
    def places_total(self) -> int:
        return self.places_primary + self.places_basic + self.places_secondary

    @property
    def levels(self) -> list[str]:
        return [level for level in LEVEL_GRADES if self.places(level) > 0]

    @property
    def allowed_grades(self) -> frozenset[int]:
        return frozenset(g for level in self.levels for g in LEVEL_GRADES[level])


class ContractSignature(db.Model):
    """A signature: who signed in which capacity, when, and the SHA-256 of the document they signed."""

    __tablename__ = "contract_signature"
    __table_args__ = (
        UniqueConstraint("contract_id", "capacity", name="uq_contract_signature_capacity"),
        CheckConstraint("capacity IN ('school_director','dormitory_director','department_head')", name="capacity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    capacity: Mapped[str] = mapped_column(String(20))
    signer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    document_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    contract: Mapped[Contract] = relationship(back_populates="signatures")
    signer: Mapped[User] = relationship()


#: What a stored signed document may be: the bytes were stored (``stored``), or the contract was signed before the
#: bytes were kept and no layout renders the SHA-256 its signatures record (``unmatched``: flagged for the operator,
#: nothing stored, nothing signed again).
DOCUMENT_STATES = ("stored", "unmatched")
#: How the bytes came to be stored: at the first signature, found again for a contract signed before (migration
#: 0030) by rendering each layout until one gave the signatures' SHA-256, or uploaded by the operator from the file
#: the signers hold, taken only because its SHA-256 is the one the signatures record (migration 0032).
DOCUMENT_ORIGINS = ("signed", "backfilled", "uploaded")


class ContractDocument(db.Model):
    """The exact bytes of a contract's printable document as its first signer signed them — the evidence. From the
    first signature on the contract is shown, downloaded and verified from these bytes, never rendered again: a
    change of a template, a filter, Babel or a translation cannot change what was signed, nor its check. ``sha256``
    is the digest the signatures record; the content's own digest is computed whenever it is read, so a changed
    byte shows (:func:`app.contracts.documents.document_of`)."""

    __tablename__ = "contract_document"
    __table_args__ = (
        UniqueConstraint("contract_id", name="uq_contract_document_contract_id"),
        CheckConstraint("state IN ('stored','unmatched')", name="state"),
        CheckConstraint("origin IN ('signed','backfilled','uploaded')", name="origin"),
        CheckConstraint("state = 'unmatched' OR (content IS NOT NULL AND sha256 IS NOT NULL "
                        "AND media_type IS NOT NULL)", name="stored_has_content"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    state: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: the layout that rendered the bytes (:data:`app.contracts.documents.CONTRACT_LAYOUTS`), for the record
    layout: Mapped[int | None]
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


#: The terms an amendment may change; the contract row always holds the terms in force now.
AMENDABLE_TERMS = ("places_primary", "places_basic", "places_secondary", "monthly_cap_tiyn", "amount_cap_tiyn",
                   "period_end")


class ContractAmendment(db.Model):
    """A change of a signed contract's places, amount or term, with its reason (a supplementary agreement).

    ``before`` and ``after`` hold the amended terms (:data:`AMENDABLE_TERMS`, dates as ISO text) and their SHA-256
    digests the whole terms before and after, as the audit event's facts do. The terms apply to the months from
    ``effective_from``; earlier months keep the terms before. ``seq`` numbers a contract's amendments 1, 2, …:
    the unique (contract, seq) makes two officials amending the same version collide instead of both winning."""

    __tablename__ = "contract_amendment"
    __table_args__ = (UniqueConstraint("contract_id", "seq", name="uq_contract_amendment_seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    seq: Mapped[int]
    effective_from: Mapped[date] = mapped_column(Date)
    rationale: Mapped[str] = mapped_column(Text)
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    before_sha256: Mapped[str] = mapped_column(String(64))
    after_sha256: Mapped[str] = mapped_column(String(64))
    amended_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    amended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    contract: Mapped[Contract] = relationship(back_populates="amendments")
    amended_by: Mapped[User] = relationship()

    @property
    def number(self) -> str:
        return f"{self.contract.number}-A{self.seq}"


class ContractAct(db.Model):
    """Links a monthly act to the contract it is paid under: one act per contract and month."""

    __tablename__ = "contract_act"
    __table_args__ = (
        UniqueConstraint("act_id", name="uq_contract_act_act_id"),
        UniqueConstraint("contract_id", "period", name="uq_contract_act_contract_period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("act.id"))
    period: Mapped[date] = mapped_column(Date)

    contract: Mapped[Contract] = relationship()
    act: Mapped[Act] = relationship()


class ActEscalation(db.Model):
    """An act waited for acceptance past its deadline; the department head was notified (SLA)."""

    __tablename__ = "act_escalation"
    __table_args__ = (Index("ix_act_escalation_region", "region_id", "escalated_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("act.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notified_user_ids: Mapped[str] = mapped_column(String(500), default="")  # comma-separated heads

    act: Mapped[Act] = relationship()
