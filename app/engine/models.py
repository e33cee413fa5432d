"""Engine tables: model versions, process instances (one row each) and the human-task table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db


class ProcessModel(db.Model):
    __tablename__ = "process_model"
    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(100), unique=True)  # ours; the BPMN ids stay as drawn
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    versions: Mapped[list[ProcessModelVersion]] = relationship(
        back_populates="process_model", order_by="ProcessModelVersion.number"
    )


class ProcessModelVersion(db.Model):
    """An immutable snapshot of a model's files (BPMN, DMN, forms) once published.

    Instances point at the version they started on; the files are kept here (not re-read from disk)
    so a running instance always sees exactly the diagram and forms it started with.
    """

    __tablename__ = "process_model_version"
    __table_args__ = (UniqueConstraint("process_model_id", "number", name="uq_process_model_version_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_model_id: Mapped[int] = mapped_column(ForeignKey("process_model.id"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # draft | published | retired
    files: Mapped[dict] = mapped_column(JSON)  # filename -> text
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Which process of which diagram runs (a model may hold several .bpmn files: call activities resolve
    # across them), as the tool wrote its ids; None: chosen by app.engine.specs.choose_process.
    primary_file: Mapped[str | None] = mapped_column(String(200))
    process_id: Mapped[str | None] = mapped_column(String(200))
    # The role that performs user tasks without a lane (or in a lane that names no role); "starter": the
    # person who started the instance. None: every user task needs a role's lane.
    lane_role: Mapped[str | None] = mapped_column(String(32))
    process_model: Mapped[ProcessModel] = relationship(back_populates="versions")

    @validates("primary_file", "process_id")
    def _kept_if_it_fits(self, key: str, value: str | None) -> str | None:
        """A process id or diagram name longer than its column is not kept (None: the process is chosen by
        app.engine.specs.choose_process): importing Flowable's test model of a 315-character process id failed with
        a server error on PostgreSQL. Such an id is refused on its line by model_lint.stored_length_problems."""
        return value if value is None or len(value) <= self.__table__.c[key].type.length else None

    @property
    def bpmn_filename(self) -> str:
        if self.primary_file and self.primary_file in self.files:
            return self.primary_file
        return next(name for name in sorted(self.files) if name.endswith(".bpmn"))

    @property
    def bpmn_filenames(self) -> list[str]:
        """The primary diagram first, then the others (called processes) by name."""
        first = self.bpmn_filename
        return [first, *sorted(n for n in self.files if n.endswith(".bpmn") and n != first)]


class ProcessInstance(db.Model):
    """One running (or finished) workflow. ``state`` is the serialized workflow without its spec.

    ``lock_version`` is SQLAlchemy's version counter: an UPDATE that finds another writer got there
    first affects no row and raises StaleDataError — the loser gets a conflict, nothing half-written.
    """

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_process_instance_subject", "subject_type", "subject_id"),
                      # the state, then the last write: every background pass looks for running instances written
                      # by a clock that ran ahead (runtime.recheck_written_ahead) — a range of this index, not a read
                      # of every running instance's row; queries by state alone use its first column (0031)
                      Index("ix_process_instance_status_updated", "status", "updated_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("process_model_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # running | completed | error
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(default=1)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_timer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    error_message: Mapped[str | None] = mapped_column(Text)

    model_version: Mapped[ProcessModelVersion] = relationship()
    organisation = relationship("Organisation")

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def audit_chain(self) -> str:
        return f"instance:{self.id}"


class HumanTask(db.Model):
    """The inbox's table: one row per user task, written by the engine, read without loading workflows."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid", name="uq_human_task_instance_guid"),
        Index("ix_human_task_role_region", "role", "status", "region_id", "created_at"),
        Index("ix_human_task_role_org", "role", "status", "organisation_id", "created_at"),
        Index("ix_human_task_assignee", "assignee_id", "status"),
        Index("ix_human_task_completed_by", "completed_by_id", "completed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    spec_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255))
    subject_title: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | completed | cancelled
    form_schema: Mapped[str | None] = mapped_column(String(200))
    form_ui_schema: Mapped[str | None] = mapped_column(String(200))
    handler: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    details: Mapped[dict | None] = mapped_column(JSON)

    instance: Mapped[ProcessInstance] = relationship()
    completed_by = relationship("User", foreign_keys=[completed_by_id])

    @property
    def completed_by_name(self) -> str:
        return self.completed_by.full_name if self.completed_by else ""


class InstanceMigration(db.Model):
    """Moving a running instance from one model version to another (app.engine.migration writes it).

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
