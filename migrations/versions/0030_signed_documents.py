"""signed documents: the exact bytes of a contract's printable document as signed (contract_document)

A signature records the SHA-256 of the printable contract; the bytes were rendered again from the templates whenever
the contract was shown or checked, so any change of a template, a filter, Babel's formats or a translation changed
what was shown as the signed document, or broke the check of every contract signed before. From now on the first
signature stores the bytes it signs, and the contract is shown and verified from them.

Contracts signed before this migration get their bytes on first use (or with ``flask store-signed-contracts``): the
layout whose rendering gives the signatures' SHA-256 is stored, with an audit event; a contract no layout matches is
flagged ``unmatched`` for the operator and is never signed again by itself. Nothing is rendered here: a migration
cannot depend on the templates of the code that happens to run it.

Revision ID: 0030_signed_documents
Revises: 0029_liquidation
"""
import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision = "0030_signed_documents"
down_revision = "0029_liquidation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contract_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("layout", sa.Integer(), nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('stored','unmatched')", name=op.f("ck_contract_document_state")),
        sa.CheckConstraint("origin IN ('signed','backfilled')", name=op.f("ck_contract_document_origin")),
        sa.CheckConstraint("state = 'unmatched' OR (content IS NOT NULL AND sha256 IS NOT NULL "
                           "AND media_type IS NOT NULL)", name=op.f("ck_contract_document_stored_has_content")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"],
                                name=op.f("fk_contract_document_contract_id_contract")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_document")),
        sa.UniqueConstraint("contract_id", name="uq_contract_document_contract_id"),
    )


def downgrade():
    """The stored bytes are the only copy of what was signed once a template has changed: below 0030 the contracts
    are rendered again from the templates. So the downgrade refuses, before it changes anything, while any document
    is stored, and says what to do."""
    stored = op.get_bind().execute(sa.text("SELECT count(*) FROM contract_document WHERE state = 'stored'")).scalar()
    if stored:
        raise CommandError(
            f"Cannot downgrade below 0030_signed_documents: {stored} contracts' signed documents are stored only in "
            "contract_document (the exact bytes their signatures' SHA-256 was taken of). Save them "
            "(flask export-signed-contracts DIRECTORY), then delete the rows of contract_document; or stay on this "
            "revision. Nothing was changed.")
    op.drop_table("contract_document")
