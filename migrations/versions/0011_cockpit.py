"""cockpit: trial instances, suspended/cancelled states, list indexes; forced password change

Revision ID: 0011_cockpit
Revises: 0011_audit
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_cockpit"
down_revision = "0011_audit"
branch_labels = None
depends_on = None

_LIST_INDEXES = (
    ("ix_process_instance_list", ["is_trial", "updated_at", "id"]),
    ("ix_process_instance_list_status", ["is_trial", "status", "updated_at", "id"]),
    ("ix_process_instance_list_process", ["process_id", "status", "is_trial", "updated_at"]),
    ("ix_process_instance_list_region", ["region_id", "status", "is_trial", "updated_at"]),
    ("ix_process_instance_list_org", ["organisation_id", "status", "is_trial", "updated_at"]),
    ("ix_process_instance_list_started", ["is_trial", "started_at"]),
    ("ix_process_instance_status_started", ["is_trial", "status", "started_at"]),
    ("ix_process_instance_list_version", ["model_version_id", "status", "is_trial", "updated_at"]),
    ("ix_process_instance_trial_owner", ["trial_owner_id"]),
)


def upgrade():
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_trial", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("trial_owner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_process_instance_trial_owner_id_user_account"), "user_account",
                                    ["trial_owner_id"], ["id"])
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_trial", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    for name, columns in _LIST_INDEXES:
        op.create_index(name, "process_instance", columns)
    op.create_index("ix_process_instance_title", "process_instance", ["title"],
                    postgresql_ops={"title": "text_pattern_ops"})
    op.create_index("ix_human_task_open_spec", "human_task", ["spec_name", "status", "instance_id"])


def downgrade():
    op.drop_index("ix_human_task_open_spec", table_name="human_task")
    op.drop_index("ix_process_instance_title", table_name="process_instance")
    for name, _columns in reversed(_LIST_INDEXES):
        op.drop_index(name, table_name="process_instance")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("human_task", schema=None) as batch_op:
        batch_op.drop_column("is_trial")
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_process_instance_trial_owner_id_user_account"), type_="foreignkey")
        batch_op.drop_column("trial_owner_id")
        batch_op.drop_column("is_trial")
