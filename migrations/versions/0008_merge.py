"""merge area migrations

Revision ID: 0008_merge
Revises: 0003_lifecycle, 0004_registry, 0005_inbox, 0006_modeler
Create Date: 2026-11-25 19:04:34.082823

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_merge'
down_revision = ('0003_lifecycle', '0004_registry', '0005_inbox', '0006_modeler')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
