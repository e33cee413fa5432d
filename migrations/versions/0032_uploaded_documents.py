"""uploaded documents: a flagged contract's signed document restored by the operator (contract_document.origin)

A contract signed before 0030 whose signed SHA-256 no layout renders is flagged ``unmatched``. The operator restores
it from the file the signers hold, taken only when its SHA-256 is the one the signatures record; such a row says so
with origin ``uploaded`` (neither signed here nor rendered again).

Revision ID: 0032_uploaded_documents
Revises: 0031_instance_written_ahead
"""
import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision = "0032_uploaded_documents"
down_revision = "0031_instance_written_ahead"
branch_labels = None
depends_on = None

ORIGINS_BEFORE = "origin IN ('signed','backfilled')"
ORIGINS_AFTER = "origin IN ('signed','backfilled','uploaded')"


def upgrade():
    with op.batch_alter_table("contract_document", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contract_document_origin"), type_="check")
        batch_op.create_check_constraint(op.f("ck_contract_document_origin"), sa.text(ORIGINS_AFTER))


def downgrade():
    """Below this revision an uploaded document has no origin to say so: the downgrade refuses, before it changes
    anything, while one is stored (it is the only copy of what was signed)."""
    uploaded = op.get_bind().execute(sa.text("SELECT count(*) FROM contract_document WHERE origin = 'uploaded'"))\
        .scalar()
    if uploaded:
        raise CommandError(
            f"Cannot downgrade below 0032_uploaded_documents: {uploaded} contracts' signed documents were uploaded by "
            "the operator and are stored only in contract_document. Save them (flask export-signed-contracts "
            "DIRECTORY), or stay on this revision. Nothing was changed.")
    with op.batch_alter_table("contract_document", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contract_document_origin"), type_="check")
        batch_op.create_check_constraint(op.f("ck_contract_document_origin"), sa.text(ORIGINS_BEFORE))
