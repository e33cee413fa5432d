"""dormflow: the dormitory-places order and application stages — an order's terms (locality, places, rate from the
rates table, local residents excluded), an application's places, and the dormitory director's signature

Revision ID: 0014_dormflow
Revises: 0014_dormsql
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0014_dormflow"
down_revision = "0014_dormsql"
branch_labels = None
depends_on = None

CAPACITIES_BEFORE = "capacity IN ('school_director','department_head')"
CAPACITIES_AFTER = "capacity IN ('school_director','dormitory_director','department_head')"


def _defer_foreign_keys() -> None:
    # SQLite rebuilds a table to change a check constraint; rows elsewhere still reference it by name.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")


def upgrade():
    _defer_foreign_keys()
    with op.batch_alter_table("contract_signature", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contract_signature_capacity"), type_="check")
        batch_op.create_check_constraint(op.f("ck_contract_signature_capacity"), sa.text(CAPACITIES_AFTER))
    op.create_table(
        "dormitory_order_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("locality", sa.String(length=8), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("place_rate_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("excludes_local_residents", sa.Boolean(), nullable=False),
        sa.CheckConstraint("places > 0", name=op.f("ck_dormitory_order_terms_places_positive")),
        sa.CheckConstraint("place_rate_tiyn >= 0", name=op.f("ck_dormitory_order_terms_rate_non_negative")),
        sa.CheckConstraint("locality IN ('urban','rural')", name=op.f("ck_dormitory_order_terms_locality")),
        sa.ForeignKeyConstraint(["order_id"], ["state_order.id"],
                                name=op.f("fk_dormitory_order_terms_order_id_state_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dormitory_order_terms")),
        sa.UniqueConstraint("order_id", name="uq_dormitory_order_terms_order"),
    )
    op.create_table(
        "dormitory_application_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("places_requested", sa.Integer(), nullable=False),
        sa.Column("places_allocated", sa.Integer(), nullable=False),
        sa.CheckConstraint("places_requested >= 0 AND places_allocated >= 0",
                           name=op.f("ck_dormitory_application_terms_places_non_negative")),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name=op.f("fk_dormitory_application_terms_application_id_application")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dormitory_application_terms")),
        sa.UniqueConstraint("application_id", name="uq_dormitory_application_terms_application"),
    )


def _refuse_while_dormitory_records_exist() -> None:
    """0013_dorm's guard, asked before this downgrade drops the dormitories' terms and signatures."""
    spec = importlib.util.spec_from_file_location("_0013_dorm", Path(__file__).with_name("0013_dorm.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.refuse_while_dormitory_records_exist()


def downgrade():
    _refuse_while_dormitory_records_exist()
    _defer_foreign_keys()
    op.drop_table("dormitory_application_terms")
    op.drop_table("dormitory_order_terms")
    op.execute("DELETE FROM contract_signature WHERE capacity = 'dormitory_director'")
    with op.batch_alter_table("contract_signature", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contract_signature_capacity"), type_="check")
        batch_op.create_check_constraint(op.f("ck_contract_signature_capacity"), sa.text(CAPACITIES_BEFORE))
