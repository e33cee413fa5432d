"""import kind: a registry import's kind holds every kind's name (``dormitory_documents`` is 19 characters; the column
held 16, so importing dormitory documents failed on PostgreSQL — SQLite does not enforce the length)

Revision ID: 0021_import_kind
Revises: 0020_import_notices
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_import_kind"
down_revision = "0020_import_notices"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registry_import") as batch:
        batch.alter_column("kind", existing_type=sa.String(16), type_=sa.String(32), existing_nullable=False)


def downgrade():
    with op.batch_alter_table("registry_import") as batch:
        batch.alter_column("kind", existing_type=sa.String(32), type_=sa.String(16), existing_nullable=False)
