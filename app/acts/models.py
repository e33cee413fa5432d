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
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.people.models import Organisation


class StudentNorm(db.Model):
    """Monthly per-student norm by level, in tiyn (1 ₸ = 100 tiyn). Money is never a float."""

    __tablename__ = "student_norm"
    __table_args__ = (
        UniqueConstraint("academic_year", "level", name="uq_student_norm_year_level"),
        CheckConstraint("level IN ('primary','basic','secondary')", name="level"),
        CheckConstraint("monthly_tiyn > 0", name="positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year: Mapped[str] = mapped_column(String(9))  # 2026/2027
    level: Mapped[str] = mapped_column(String(16))
    monthly_tiyn: Mapped[int] = mapped_column(BigInteger)


ACT_STATUSES = ("awaiting_submission", "submitted", "verified", "returned", "accepted", "paid")


class Act(db.Model):
    __tablename__ = "act"
    __table_args__ = (
        UniqueConstraint("school_id", "period", name="uq_act_school_period"),
        Index("ix_act_region_period", "region_id", "period"),
        CheckConstraint("amount_tiyn >= 0", name="amount_non_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    #: The funding instrument the act is paid under (app.instruments): its rules, registry and line schema.
    instrument: Mapped[str] = mapped_column(String(16), default="schools", server_default="schools")
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # the funded organisation
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    period: Mapped[date] = mapped_column(Date)  # first day of the month
    status: Mapped[str] = mapped_column(String(24), index=True)
    revision: Mapped[int] = mapped_column(default=0)
    #: Bumped by every guarded write (verification claim, submit, accept/return, pay): a writer that read an
    #: older version, or a status that has moved on, writes nothing (decided is final, DESIGN.md §3).
    lock_version: Mapped[int] = mapped_column(default=0, server_default="0")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    total_lines: Mapped[int] = mapped_column(default=0)
    accepted_lines: Mapped[int] = mapped_column(default=0)
    #: Distinct students (IINs) of the lines, and of the accepted lines: a student on two lines of the month (a
    #: dormitory's move to another room, a child listed twice) is one. Written with the line totals by verification
    #: (app.acts.verification._write_totals), read by the analytics flags (migration 0025_act_students).
    total_students: Mapped[int] = mapped_column(default=0, server_default="0")
    accepted_students: Mapped[int] = mapped_column(default=0, server_default="0")
    amount_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    withheld_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Part of ``amount_tiyn`` that settles corrections of earlier months (signed: claw-backs are negative);
    #: ``amount_tiyn`` is the net to pay, ``amount_tiyn - adjustment_tiyn`` what this month's lines earn.
    adjustment_tiyn: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: The account the department accepted the act to be paid to (app.acts.payee), pinned at acceptance and vouched
    #: for by the acceptance event's facts; NULL for an act accepted before payees were pinned (migration 0027).
    payee_iban: Mapped[str | None] = mapped_column(String(34))
    #: The design capacity (places) the act's lines were last verified against, written by every verification with
    #: the totals (``capacity_pinned``: written; NULL then means no limit). Once the act is decided it is the
    #: capacity its month is repriced with (app.acts.terms): an administrator's later edit of the school's capacity
    #: is not evidence about a month already accepted (migration 0037_act_capacity).
    verified_capacity: Mapped[int | None] = mapped_column()
    capacity_pinned: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(Text)
    return_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    school: Mapped[Organisation] = relationship()
    lines: Mapped[list[ActLine]] = relationship(
        back_populates="act", order_by="ActLine.line_no", cascade="all, delete-orphan"
    )
    #: Settled on this act (written only by :mod:`app.acts.adjustments`; the database cascades the delete).
    adjustments: Mapped[list[ActAdjustment]] = relationship(
        foreign_keys="ActAdjustment.act_id", order_by="ActAdjustment.id", viewonly=True,
    )

    @property
    def lines_amount_tiyn(self) -> int:
        return self.amount_tiyn - (self.adjustment_tiyn or 0)

    @property
    def period_label(self) -> str:
        return self.period.strftime("%Y-%m")


class ActLine(db.Model):
    __tablename__ = "act_line"
    __table_args__ = (
        UniqueConstraint("act_id", "line_no", name="uq_act_line_no"),
        # two_dormitories probes a month's lines of an IIN and skips the own dormitory's by school (0014_dormsql)
        Index("ix_act_line_iin_period_school", "iin", "period", "school_id"),
        Index("ix_act_line_act_iin", "act_id", "iin"),  # an act's students listed twice, in order (0013_speed)
        CheckConstraint("outcome IN ('pending','accepted','excluded')", name="outcome"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("act.id", ondelete="CASCADE"))
    period: Mapped[date] = mapped_column(Date)  # copied from the act: the double-claim check is one index probe
    school_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    line_no: Mapped[int]
    iin: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    grade: Mapped[int]
    days_attended: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    rule_code: Mapped[str | None] = mapped_column(String(32))
    amount_tiyn: Mapped[int] = mapped_column(BigInteger, default=0)
    # Written by verification (app.acts.verification): the days of the month NEDB has the student at this
    # school within the days a licence covers the line's level (what is paid), and the identity checks the
    # official must review.
    paid_days: Mapped[int | None]
    review_codes: Mapped[str | None] = mapped_column(String(32))  # e.g. "name,age" (rules.REVIEW_CHECKS)
    registry_name: Mapped[str | None] = mapped_column(String(200))  # NEDB's name, kept when it differs

    act: Mapped[Act] = relationship(back_populates="lines")


class ActAdjustment(db.Model):
    """A correction of a line of an earlier, already accepted or paid act, settled on a later act of the same
    school (claw-back: negative; top-up: positive). The earlier act is never edited: the difference between
    what its line earned and what today's registry data says it should have earned is carried here, with the
    rule, the month it belongs to and the NEDB evidence, and is accepted and paid with the later act."""

    __tablename__ = "act_adjustment"
    __table_args__ = (
        # One adjustment of an original line per settling act: re-verifying that act recomputes it, never adds.
        UniqueConstraint("act_id", "original_line_id", name="uq_act_adjustment_act_line"),
        Index("ix_act_adjustment_original_line", "original_line_id"),
        CheckConstraint("amount_tiyn <> 0", name="non_zero"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("act.id", ondelete="CASCADE"), index=True)
    original_act_id: Mapped[int] = mapped_column(ForeignKey("act.id"))
    original_line_id: Mapped[int] = mapped_column(ForeignKey("act_line.id"))
    period: Mapped[date] = mapped_column(Date)  # the month the corrected line belongs to
    iin: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    rule_code: Mapped[str] = mapped_column(String(32))
    original_amount_tiyn: Mapped[int] = mapped_column(BigInteger)  # what the line earned when accepted
    corrected_amount_tiyn: Mapped[int] = mapped_column(BigInteger)  # what it earns on today's registry data
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)  # settled on this act (earlier settlements deducted)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)  # the NEDB enrolments the correction rests on
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    original_act: Mapped[Act] = relationship(foreign_keys=[original_act_id])


#: How a carried top-up was settled outside the acts: paid by a payment order out of its closed year's budget (the
#: operator), or written off as not owed, with the reason (the education department).
OUTSIDE_SETTLEMENT_KINDS = ("paid", "written_off")


class OutsideSettlement(db.Model):
    """A carried top-up (:attr:`app.acts.adjustments.Unsettled.carried`) settled outside the acts: no act pays a
    closed year's top-up or one whose grade cannot be checked, so it is recorded here — paid by a payment order
    (number, date, amount) or written off with a reason — and leaves the carried list. A payment counts as settled
    for its line as an adjustment does (a later correction back claws it back); a write-off only stops the top-up
    being owed. Written only by :func:`app.acts.outside.settle_outside`, which records the audit event.

    ``seq`` is how many settlements of the line there were before: (line, seq) is unique, so of two requests that
    saw the same item (a double submit, two tabs, two operators) exactly one is recorded."""

    __tablename__ = "outside_settlement"
    __table_args__ = (
        UniqueConstraint("original_line_id", "seq", name="uq_outside_settlement_line_seq"),
        CheckConstraint("amount_tiyn > 0", name="positive"),
        CheckConstraint("kind IN ('paid','written_off')", name="kind"),
        CheckConstraint("kind <> 'paid' OR (order_number IS NOT NULL AND paid_on IS NOT NULL)", name="paid_order"),
        CheckConstraint("kind <> 'written_off' OR reason IS NOT NULL", name="written_off_reason"),
        # a return is of a payment, whole (day, reason from the list, the bank's reference), not older than it
        CheckConstraint("(returned_on IS NULL AND return_reason IS NULL AND return_reference IS NULL) OR "
                        "(kind = 'paid' AND returned_on IS NOT NULL AND return_reference IS NOT NULL AND return_reason "
                        "IN ('account_closed', 'wrong_details', 'bank_refused', 'other'))", name="return_whole"),
        CheckConstraint("returned_on IS NULL OR returned_on >= paid_on", name="returned_after_paid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    original_act_id: Mapped[int] = mapped_column(ForeignKey("act.id"), index=True)
    original_line_id: Mapped[int] = mapped_column(ForeignKey("act_line.id"))
    seq: Mapped[int] = mapped_column()
    period: Mapped[date] = mapped_column(Date)  # the month the top-up belongs to
    kind: Mapped[str] = mapped_column(String(16))
    amount_tiyn: Mapped[int] = mapped_column(BigInteger)
    rule_code: Mapped[str] = mapped_column(String(32))  # the correction's cause when it was settled
    corrected_amount_tiyn: Mapped[int] = mapped_column(BigInteger)  # what the line earned on the registry then
    order_number: Mapped[str | None] = mapped_column(String(40))
    paid_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The bank sent the payment back (app.contracts.settlements.record_settlement_return, the rules of an act's
    #: payment's return): the day, why, its reference, a note, who recorded it and when. NULL: not returned. A
    #: returned settlement counts as not paid, and the top-up is carried again (settled once more, the next ``seq``).
    returned_on: Mapped[date | None] = mapped_column(Date)
    return_reason: Mapped[str | None] = mapped_column(String(24))
    return_note: Mapped[str | None] = mapped_column(String(500))
    return_reference: Mapped[str | None] = mapped_column(String(64))
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    original_act: Mapped[Act] = relationship(foreign_keys=[original_act_id])
    line: Mapped[ActLine] = relationship(foreign_keys=[original_line_id])
REVIEW_DECISIONS = ("confirm", "exclude")


class ActLineReview(db.Model):
    """The department official's decision on a line that needs review (identity checks, rules.REVIEW_CHECKS).

    One decision per line; it resolves the checks it names (``codes``) for the values it was made on (``basis``). A
    line submitted anew is a new line (the act's lines are replaced on resubmission) and needs a new decision. Written
    only by ``app.acts.review.decide_line``, which records the audit event.
    """

    __tablename__ = "act_line_review"
    __table_args__ = (
        UniqueConstraint("line_id", name="uq_act_line_review_line"),
        Index("ix_act_line_review_act", "act_id"),
        CheckConstraint("decision IN ('confirm','exclude')", name="decision"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    act_id: Mapped[int] = mapped_column(ForeignKey("act.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("act_line.id", ondelete="CASCADE"))
    codes: Mapped[str] = mapped_column(String(32))
    #: The fingerprint of the values the decision was made on (``app.acts.review.values_basis``): it holds only
    #: while the line's values for its checks are still those. NULL: decided before revision 0028 (holds on codes).
    basis: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
