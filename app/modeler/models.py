"""The modeler's own table: one row per instance migration, keeping what is needed to revert it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class InstanceMigration(db.Model):
    """Moving a running instance from one model version to another.

    ``previous_state`` is the serialized workflow before the move, so a revert restores exactly the
    instance as it was (its version, its tasks and its data).
    """

    __tablename__ = "instance_migration"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_model_version.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_model_version.id"))
    status: Mapped[str] = mapped_column(String(16))  # applied | reverted
    previous_state: Mapped[str] = mapped_column(Text)
    report: Mapped[dict] = mapped_column(JSON)
    migrated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    migrated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reverted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reverted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    instance = relationship("ProcessInstance")
    from_version = relationship("ProcessModelVersion", foreign_keys=[from_version_id])
    to_version = relationship("ProcessModelVersion", foreign_keys=[to_version_id])
    migrated_by = relationship("User", foreign_keys=[migrated_by_id])
