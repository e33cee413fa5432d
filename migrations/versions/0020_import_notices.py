"""import notices: a registry import lists the rows it loaded that may correct an earlier row of the same student
(a corrected enrolment date or school arrives as a second row; both counted)

Revision ID: 0020_import_notices
Revises: 0019_public_adjusted
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_import_notices"
down_revision = "0019_public_adjusted"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registry_import") as batch:
        batch.add_column(sa.Column("notices", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("registry_import") as batch:
        batch.drop_column("notices")
