"""governance: transition requests and decisions, stage history, documents, business metadata, audit log

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION modelreg_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_subject', sa.String(length=256), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_roles', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=128), nullable=True),
    sa.Column('target_name', sa.String(length=256), nullable=True),
    sa.Column('target_version', sa.Integer(), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_subject'), ['actor_subject'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_target_name'), ['target_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_target_type'), ['target_type'], unique=False)

    op.create_table('model_stage_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=32), nullable=False),
    sa.Column('to_stage', sa.String(length=32), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=256), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('request_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_model_stage_changes_model_id_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_stage_changes'))
    )
    with op.batch_alter_table('model_stage_changes', schema=None) as batch_op:
        batch_op.create_index('ix_model_stage_changes_model_id_changed_at', ['model_id', 'changed_at'], unique=False)
        batch_op.create_index('ix_model_stage_changes_model_id_version', ['model_id', 'version'], unique=False)

    op.create_table('model_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('markdown', sa.Text(), nullable=True),
    sa.Column('artifact_digest', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_documents_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_documents')),
    sa.UniqueConstraint('version_id', 'kind', 'title', 'revision', name=op.f('uq_model_documents_version_id_kind_title_revision'))
    )
    with op.batch_alter_table('model_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_documents_artifact_digest'), ['artifact_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_documents_version_id'), ['version_id'], unique=False)

    op.create_table('transition_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_stage', sa.String(length=32), nullable=False),
    sa.Column('to_stage', sa.String(length=32), nullable=True),
    sa.Column('alias', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=256), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('required_approvals', sa.Integer(), nullable=False),
    sa.Column('archive_existing_production', sa.Boolean(), nullable=False),
    sa.Column('gate_results', sa.JSON(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=256), nullable=True),
    sa.Column('resolution_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_transition_requests_model_id_registered_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_transition_requests_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transition_requests'))
    )
    with op.batch_alter_table('transition_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transition_requests_model_id'), ['model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transition_requests_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transition_requests_requested_by'), ['requested_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_transition_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_transition_requests_version_id'), ['version_id'], unique=False)

    op.create_table('transition_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('approver', sa.String(length=256), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['transition_requests.id'], name=op.f('fk_transition_decisions_request_id_transition_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transition_decisions')),
    sa.UniqueConstraint('request_id', 'approver', name=op.f('uq_transition_decisions_request_id_approver'))
    )
    with op.batch_alter_table('transition_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transition_decisions_request_id'), ['request_id'], unique=False)

    # At most one PRODUCTION version per model (stages could only be set directly in the database before).
    op.create_index('uq_model_versions_one_production', 'model_versions', ['model_id'], unique=True,
                    sqlite_where=sa.text("stage = 'PRODUCTION'"), postgresql_where=sa.text("stage = 'PRODUCTION'"))

    with op.batch_alter_table('registered_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('use_case', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('risk_tier', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('regulatory_status', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_registered_models_regulatory_status'), ['regulatory_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_registered_models_risk_tier'), ['risk_tier'], unique=False)

    # Versions already in a stage get one history entry, so stageAt() knows them from the upgrade on.
    op.execute(
        "INSERT INTO model_stage_changes (model_id, version, from_stage, to_stage, changed_at, changed_by, reason) "
        "SELECT model_id, version, 'NONE', stage, updated_at, 'modelreg', 'stage found when the history began' "
        "FROM model_versions WHERE stage <> 'NONE'"
    )

    if op.get_bind().dialect.name == "postgresql":
        # Append-only: no UPDATE, DELETE or TRUNCATE of audit events (the hash chain catches what gets past it).
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute("CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
                   "FOR EACH ROW EXECUTE FUNCTION modelreg_audit_append_only()")
        op.execute("CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION modelreg_audit_append_only()")




def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS modelreg_audit_append_only()")
    with op.batch_alter_table('registered_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registered_models_risk_tier'))
        batch_op.drop_index(batch_op.f('ix_registered_models_regulatory_status'))
        batch_op.drop_column('regulatory_status')
        batch_op.drop_column('risk_tier')
        batch_op.drop_column('use_case')

    op.drop_index('uq_model_versions_one_production', 'model_versions')

    with op.batch_alter_table('transition_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transition_decisions_request_id'))

    op.drop_table('transition_decisions')
    with op.batch_alter_table('transition_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transition_requests_version_id'))
        batch_op.drop_index(batch_op.f('ix_transition_requests_status'))
        batch_op.drop_index(batch_op.f('ix_transition_requests_requested_by'))
        batch_op.drop_index(batch_op.f('ix_transition_requests_requested_at'))
        batch_op.drop_index(batch_op.f('ix_transition_requests_model_id'))

    op.drop_table('transition_requests')
    with op.batch_alter_table('model_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_documents_version_id'))
        batch_op.drop_index(batch_op.f('ix_model_documents_artifact_digest'))

    op.drop_table('model_documents')
    with op.batch_alter_table('model_stage_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_model_stage_changes_model_id_version')
        batch_op.drop_index('ix_model_stage_changes_model_id_changed_at')

    op.drop_table('model_stage_changes')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_target_type'))
        batch_op.drop_index(batch_op.f('ix_audit_events_target_name'))
        batch_op.drop_index(batch_op.f('ix_audit_events_outcome'))
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_subject'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
