"""lifecycle: state orders and norms, applications, contracts, signatures, contract acts, SLA escalations,
year-end reports

Revision ID: 0003_lifecycle
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_lifecycle"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

IN_PLAY = "status NOT IN ('ineligible','rejected','expired')"


def upgrade():
    op.create_table('state_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('academic_year', sa.String(length=9), nullable=False),
    sa.Column('budget_tiyn', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('window_opens', sa.Date(), nullable=False),
    sa.Column('window_closes', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('placed_by_id', sa.Integer(), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('placed','open','closed')", name=op.f('ck_state_order_status')),
    sa.CheckConstraint('budget_tiyn > 0', name=op.f('ck_state_order_budget_positive')),
    sa.CheckConstraint('period_start < period_end', name=op.f('ck_state_order_period_order')),
    sa.CheckConstraint('window_opens <= window_closes', name=op.f('ck_state_order_window_order')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_state_order_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['placed_by_id'], ['user_account.id'], name=op.f('fk_state_order_placed_by_id_user_account')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_state_order_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_state_order')),
    sa.UniqueConstraint('number', name=op.f('uq_state_order_number')),
    sa.UniqueConstraint('region_id', 'academic_year', name='uq_state_order_region_year')
    )
    with op.batch_alter_table('state_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_state_order_region_id'), ['region_id'], unique=False)

    op.create_table('act_escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('act_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('human_task_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_user_ids', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['act_id'], ['act.id'], name=op.f('fk_act_escalation_act_id_act')),
    sa.ForeignKeyConstraint(['human_task_id'], ['human_task.id'], name=op.f('fk_act_escalation_human_task_id_human_task')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_act_escalation_region_id_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_act_escalation'))
    )
    with op.batch_alter_table('act_escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_act_escalation_act_id'), ['act_id'], unique=False)
        batch_op.create_index('ix_act_escalation_region', ['region_id', 'escalated_at'], unique=False)

    op.create_table('application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('licence_number', sa.String(length=40), nullable=True),
    sa.Column('locality', sa.String(length=8), nullable=False),
    sa.Column('students_primary', sa.Integer(), nullable=False),
    sa.Column('students_basic', sa.Integer(), nullable=False),
    sa.Column('students_secondary', sa.Integer(), nullable=False),
    sa.Column('design_capacity', sa.Integer(), nullable=True),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('licence_valid_until', sa.Date(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=True),
    sa.Column('places_primary', sa.Integer(), nullable=False),
    sa.Column('places_basic', sa.Integer(), nullable=False),
    sa.Column('places_secondary', sa.Integer(), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft','submitted','eligible','ineligible','allocated','rejected','expired')", name=op.f('ck_application_status')),
    sa.CheckConstraint('places_primary >= 0 AND places_basic >= 0 AND places_secondary >= 0', name=op.f('ck_application_places_non_negative')),
    sa.CheckConstraint('students_primary >= 0 AND students_basic >= 0 AND students_secondary >= 0', name=op.f('ck_application_students_non_negative')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_application_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['order_id'], ['state_order.id'], name=op.f('fk_application_order_id_state_order')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_application_region_id_region')),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_application_school_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application')),
    sa.UniqueConstraint('number', name=op.f('uq_application_number'))
    )
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_order_school', ['order_id', 'school_id'], unique=False)
        batch_op.create_index('uq_application_in_play', ['order_id', 'school_id'], unique=True,
                              sqlite_where=sa.text(IN_PLAY), postgresql_where=sa.text(IN_PLAY))
        batch_op.create_index(batch_op.f('ix_application_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_school_id'), ['school_id'], unique=False)

    op.create_table('order_norm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('locality', sa.String(length=8), nullable=False),
    sa.Column('monthly_tiyn', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("level IN ('primary','basic','secondary')", name=op.f('ck_order_norm_level')),
    sa.CheckConstraint("locality IN ('urban','rural')", name=op.f('ck_order_norm_locality')),
    sa.CheckConstraint('monthly_tiyn > 0', name=op.f('ck_order_norm_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['state_order.id'], name=op.f('fk_order_norm_order_id_state_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_norm')),
    sa.UniqueConstraint('order_id', 'level', 'locality', name='uq_order_norm_level_locality')
    )
    op.create_table('contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('places_primary', sa.Integer(), nullable=False),
    sa.Column('places_basic', sa.Integer(), nullable=False),
    sa.Column('places_secondary', sa.Integer(), nullable=False),
    sa.Column('design_capacity', sa.Integer(), nullable=True),
    sa.Column('locality', sa.String(length=8), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=True),
    sa.Column('licence_number', sa.String(length=40), nullable=True),
    sa.Column('licence_valid_until', sa.Date(), nullable=True),
    sa.Column('monthly_cap_tiyn', sa.BigInteger(), nullable=False),
    sa.Column('amount_cap_tiyn', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('awaiting_director','awaiting_head','active','closed')", name=op.f('ck_contract_status')),
    sa.CheckConstraint('amount_cap_tiyn >= 0 AND monthly_cap_tiyn >= 0', name=op.f('ck_contract_caps_non_negative')),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_contract_application_id_application')),
    sa.ForeignKeyConstraint(['department_id'], ['organisation.id'], name=op.f('fk_contract_department_id_organisation')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_contract_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['order_id'], ['state_order.id'], name=op.f('fk_contract_order_id_state_order')),
    sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_contract_region_id_region')),
    sa.ForeignKeyConstraint(['school_id'], ['organisation.id'], name=op.f('fk_contract_school_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract')),
    sa.UniqueConstraint('application_id', name='uq_contract_application_id'),
    sa.UniqueConstraint('number', name=op.f('uq_contract_number'))
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_contract_school_period', ['school_id', 'period_start'], unique=False)

    op.create_table('contract_act',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('act_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['act_id'], ['act.id'], name=op.f('fk_contract_act_act_id_act')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_act_contract_id_contract')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_act')),
    sa.UniqueConstraint('act_id', name='uq_contract_act_act_id'),
    sa.UniqueConstraint('contract_id', 'period', name='uq_contract_act_contract_period')
    )
    with op.batch_alter_table('contract_act', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_act_contract_id'), ['contract_id'], unique=False)

    op.create_table('contract_signature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.String(length=20), nullable=False),
    sa.Column('signer_id', sa.Integer(), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("capacity IN ('school_director','department_head')", name=op.f('ck_contract_signature_capacity')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_contract_signature_contract_id_contract')),
    sa.ForeignKeyConstraint(['signer_id'], ['user_account.id'], name=op.f('fk_contract_signature_signer_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_signature')),
    sa.UniqueConstraint('contract_id', 'capacity', name='uq_contract_signature_capacity')
    )
    op.create_table('year_end_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('months', sa.JSON(), nullable=False),
    sa.Column('total_paid_tiyn', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('submitted','returned','approved')", name=op.f('ck_year_end_report_status')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user_account.id'], name=op.f('fk_year_end_report_approved_by_id_user_account')),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_year_end_report_contract_id_contract')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], name=op.f('fk_year_end_report_submitted_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_year_end_report')),
    sa.UniqueConstraint('contract_id', name='uq_year_end_report_contract_id')
    )


def downgrade():
    op.drop_table('year_end_report')
    op.drop_table('contract_signature')
    with op.batch_alter_table('contract_act', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_act_contract_id'))

    op.drop_table('contract_act')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index('ix_contract_school_period')
        batch_op.drop_index(batch_op.f('ix_contract_school_id'))
        batch_op.drop_index(batch_op.f('ix_contract_region_id'))

    op.drop_table('contract')
    op.drop_table('order_norm')
    # IF EXISTS: databases migrated with an earlier draft of this revision lack the index.
    op.execute("DROP INDEX IF EXISTS uq_application_in_play")
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_school_id'))
        batch_op.drop_index(batch_op.f('ix_application_region_id'))
        batch_op.drop_index('ix_application_order_school')

    op.drop_table('application')
    with op.batch_alter_table('act_escalation', schema=None) as batch_op:
        batch_op.drop_index('ix_act_escalation_region')
        batch_op.drop_index(batch_op.f('ix_act_escalation_act_id'))

    op.drop_table('act_escalation')
    with op.batch_alter_table('state_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_state_order_region_id'))

    op.drop_table('state_order')
