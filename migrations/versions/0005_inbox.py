"""inbox: human_task search/SLA columns and indexes, saved filters, substitutions, comments,
attachments, notifications and the e-mail outbox

Revision ID: 0005_inbox
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_inbox"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("process_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("subject_number", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("school_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("school_bin", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("started_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("excluded_lines", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("amount_tiyn", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("sla_state", sa.String(length=16), nullable=True))
        # Also covers the region's open-task counts (index-only): role, status, region, due, claim.
        batch_op.create_index("ix_human_task_region_due", ["role", "status", "region_id", "due_at", "assignee_id"],
                              unique=False)
        batch_op.create_index("ix_human_task_region_school", ["region_id", "school_bin"], unique=False)
        batch_op.create_index("ix_human_task_subject_number", ["subject_number"], unique=False)
        batch_op.create_index("ix_human_task_started_by", ["started_by_id", "status"], unique=False)
        batch_op.create_index("ix_human_task_sla", ["status", "due_at"], unique=False)

    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["user_account.id"], name=op.f("fk_saved_filter_owner_id_user_account")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_saved_filter_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
    )
    op.create_index("ix_saved_filter_owner_id", "saved_filter", ["owner_id"])
    op.create_index("ix_saved_filter_organisation_id", "saved_filter", ["organisation_id"])

    op.create_table(
        "substitution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["principal_id"], ["user_account.id"],
                                name=op.f("fk_substitution_principal_id_user_account")),
        sa.ForeignKeyConstraint(["deputy_id"], ["user_account.id"],
                                name=op.f("fk_substitution_deputy_id_user_account")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_substitution_created_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_substitution")),
    )
    op.create_index("ix_substitution_principal_id", "substitution", ["principal_id"])
    op.create_index("ix_substitution_deputy", "substitution", ["deputy_id", "starts_on", "ends_on"])

    op.create_table(
        "task_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["human_task.id"], name=op.f("fk_task_comment_task_id_human_task")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_task_comment_instance_id_process_instance")),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"],
                                name=op.f("fk_task_comment_author_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comment")),
    )
    op.create_index("ix_task_comment_task_id", "task_comment", ["task_id"])
    op.create_index("ix_task_comment_instance_id", "task_comment", ["instance_id"])

    op.create_table(
        "task_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["human_task.id"], name=op.f("fk_task_attachment_task_id_human_task")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_task_attachment_instance_id_process_instance")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["user_account.id"],
                                name=op.f("fk_task_attachment_uploaded_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_attachment")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_task_attachment_stored_name")),
    )
    op.create_index("ix_task_attachment_task_id", "task_attachment", ["task_id"])
    op.create_index("ix_task_attachment_instance_id", "task_attachment", ["instance_id"])

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account")),
        sa.ForeignKeyConstraint(["task_id"], ["human_task.id"], name=op.f("fk_notification_task_id_human_task")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    op.create_index("ix_notification_user_unread", "notification", ["user_id", "read_at", "created_at"])

    op.create_table(
        "outbox_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_outbox_email_user_id_user_account")),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"],
                                name=op.f("fk_outbox_email_notification_id_notification")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_email")),
    )
    op.create_index("ix_outbox_email_user_id", "outbox_email", ["user_id"])
    op.create_index("ix_outbox_email_status", "outbox_email", ["status", "created_at"])


def downgrade():
    for table in ("outbox_email", "notification", "task_attachment", "task_comment", "substitution", "saved_filter"):
        op.drop_table(table)
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        for index in ("ix_human_task_sla", "ix_human_task_started_by", "ix_human_task_subject_number",
                      "ix_human_task_region_school", "ix_human_task_region_due"):
            batch_op.drop_index(index)
        for column in ("sla_state", "amount_tiyn", "excluded_lines", "started_by_id", "school_bin", "school_name",
                       "subject_number", "process_id", "claimed_at"):
            batch_op.drop_column(column)
