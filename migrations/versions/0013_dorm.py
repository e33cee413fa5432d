"""dorm: funding instruments — an instrument on orders, applications, contracts and acts; the dormitory-places
instrument's organisation kind, line extension, registries and contract terms

Revision ID: 0013_dorm
Revises: 0012_public
"""
import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision = "0013_dorm"
down_revision = "0013_speed"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('school','department','operator','ministry')"
KINDS_AFTER = "kind IN ('school','dormitory','department','operator','ministry')"


def _instrument_column() -> sa.Column:
    return sa.Column("instrument", sa.String(length=16), server_default="schools", nullable=False)


def _defer_foreign_keys() -> None:
    # SQLite rebuilds a table to change its constraints (drop + rename); other tables' rows still reference it
    # by name, so the check waits for the commit, when the rebuilt table is back under its name.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA defer_foreign_keys = ON")


#: what still needs this revision's schema, with what to delete: (label, table, condition)
DORMITORY_RECORDS = (
    ("monthly acts", "act", "instrument <> 'schools'"),
    ("contracts", "contract", "instrument <> 'schools'"),
    ("applications", "application", "instrument <> 'schools'"),
    ("orders", "state_order", "instrument <> 'schools'"),
    ("organisations of kind 'dormitory'", "organisation", "kind = 'dormitory'"),
)


def refuse_while_dormitory_records_exist() -> None:
    """Below this revision there is one instrument and no organisation kind 'dormitory': rows of the other
    instrument would either break the rebuilt CHECK constraint (a raw database error half-way through) or silently
    turn into schools' records. So the downgrade refuses, before it changes anything, and says what to delete.
    (0014_dormflow's downgrade asks the same first: it would drop the dormitories' order and application terms.)"""
    bind = op.get_bind()
    found = [(label, table, where, bind.execute(sa.select(sa.func.count()).select_from(sa.table(table))
                                                .where(sa.text(where))).scalar())
             for label, table, where in DORMITORY_RECORDS]
    found = [row for row in found if row[3]]
    if found:
        counts = "; ".join(f"{n} {label} ({table} WHERE {where})" for label, table, where, n in found)
        raise CommandError(
            "Cannot downgrade below 0013_dorm: the database holds records of the dormitory-places instrument — "
            f"{counts}. Delete them first, in this order: the dormitories' acts (their lines and payments with "
            "them), contracts, applications and orders (instrument <> 'schools'), then the users of the "
            "dormitory organisations and the organisations of kind 'dormitory'; or stay on this revision. "
            "No dormitory record or table was changed.")


def upgrade():
    _defer_foreign_keys()
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_organisation_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_organisation_kind"), sa.text(KINDS_AFTER))
    with op.batch_alter_table("state_order", schema=None) as batch_op:
        batch_op.add_column(_instrument_column())
        batch_op.drop_constraint("uq_state_order_region_year", type_="unique")
        batch_op.create_unique_constraint("uq_state_order_region_year_instrument",
                                          ["region_id", "academic_year", "instrument"])
    for table in ("application", "contract", "act"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_instrument_column())
    op.create_table(
        "dorm_place_line",
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("institution_bin", sa.String(length=12), nullable=False),
        sa.Column("room", sa.String(length=16), nullable=False),
        sa.Column("bed", sa.String(length=16), nullable=False),
        sa.Column("moved_in", sa.Date(), nullable=False),
        sa.Column("moved_out", sa.Date(), nullable=True),
        sa.CheckConstraint("moved_out IS NULL OR moved_out >= moved_in", name=op.f("ck_dorm_place_line_dates")),
        sa.ForeignKeyConstraint(["line_id"], ["act_line.id"], name=op.f("fk_dorm_place_line_line_id_act_line"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_dorm_place_line")),
    )
    op.create_table(
        "student_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("iin", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("institution_bin", sa.String(length=12), nullable=False),
        sa.Column("course", sa.Integer(), nullable=False),
        sa.Column("study_form", sa.String(length=16), nullable=False),
        sa.Column("home_region", sa.String(length=16), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.CheckConstraint("study_form IN ('full_time','part_time','distance')",
                           name=op.f("ck_student_enrolment_study_form")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student_enrolment")),
    )
    op.create_index("ix_student_enrolment_iin", "student_enrolment", ["iin"])
    op.create_index("ix_student_enrolment_institution", "student_enrolment", ["institution_bin", "enrolled_on"])
    op.create_index("uq_student_enrolment_natural", "student_enrolment", ["iin", "institution_bin", "enrolled_on"],
                    unique=True)
    op.create_table(
        "dormitory_bed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dormitory_bin", sa.String(length=12), nullable=False),
        sa.Column("room", sa.String(length=16), nullable=False),
        sa.Column("bed", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dormitory_bed")),
    )
    op.create_index("uq_dormitory_bed_natural", "dormitory_bed", ["dormitory_bin", "room", "bed"], unique=True)
    op.create_table(
        "dormitory_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("dormitory_bin", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.CheckConstraint("kind IN ('commissioning','ownership')", name=op.f("ck_dormitory_document_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dormitory_document")),
        sa.UniqueConstraint("number", name=op.f("uq_dormitory_document_number")),
    )
    op.create_index("ix_dormitory_document_bin", "dormitory_document", ["dormitory_bin"])
    op.create_table(
        "dormitory_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("place_rate_tiyn", sa.BigInteger(), nullable=False),
        sa.Column("excludes_local_residents", sa.Boolean(), nullable=False),
        sa.CheckConstraint("places > 0", name=op.f("ck_dormitory_terms_places_positive")),
        sa.CheckConstraint("place_rate_tiyn >= 0", name=op.f("ck_dormitory_terms_rate_non_negative")),
        sa.ForeignKeyConstraint(["contract_id"], ["contract.id"], name=op.f("fk_dormitory_terms_contract_id_contract")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dormitory_terms")),
        sa.UniqueConstraint("contract_id", name="uq_dormitory_terms_contract"),
    )


def downgrade():
    refuse_while_dormitory_records_exist()
    _defer_foreign_keys()
    op.drop_table("dormitory_terms")
    op.drop_index("ix_dormitory_document_bin", table_name="dormitory_document")
    op.drop_table("dormitory_document")
    op.drop_index("uq_dormitory_bed_natural", table_name="dormitory_bed")
    op.drop_table("dormitory_bed")
    op.drop_index("uq_student_enrolment_natural", table_name="student_enrolment")
    op.drop_index("ix_student_enrolment_institution", table_name="student_enrolment")
    op.drop_index("ix_student_enrolment_iin", table_name="student_enrolment")
    op.drop_table("student_enrolment")
    op.drop_table("dorm_place_line")
    for table in ("act", "contract", "application"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("instrument")
    with op.batch_alter_table("state_order", schema=None) as batch_op:
        batch_op.drop_constraint("uq_state_order_region_year_instrument", type_="unique")
        batch_op.create_unique_constraint("uq_state_order_region_year", ["region_id", "academic_year"])
        batch_op.drop_column("instrument")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_organisation_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_organisation_kind"), sa.text(KINDS_BEFORE))
