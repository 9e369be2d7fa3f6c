"""initial registry schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registered_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=256).with_variant(sa.String(length=256, collation='C'), 'postgresql'), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registered_models')),
    sa.UniqueConstraint('name', name=op.f('uq_registered_models_name'))
    )
    with op.batch_alter_table('registered_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registered_models_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_registered_models_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_registered_models_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_registered_models_updated_at'), ['updated_at'], unique=False)

    op.create_table('model_alias_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alias', sa.String(length=64), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=True),
    sa.Column('to_version', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_model_alias_changes_model_id_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_alias_changes'))
    )
    with op.batch_alter_table('model_alias_changes', schema=None) as batch_op:
        batch_op.create_index('ix_model_alias_changes_model_id_alias_changed_at', ['model_id', 'alias', 'changed_at'], unique=False)

    op.create_table('model_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('flavor', sa.String(length=100), nullable=True),
    sa.Column('signature', sa.JSON(), nullable=True),
    sa.Column('run_tracker', sa.String(length=32), nullable=True),
    sa.Column('run_id', sa.String(length=256), nullable=True),
    sa.Column('run_uri', sa.Text(), nullable=True),
    sa.Column('code_repository_url', sa.Text(), nullable=True),
    sa.Column('code_commit_sha', sa.String(length=64), nullable=True),
    sa.Column('artifact_uri', sa.Text(), nullable=True),
    sa.Column('artifact_digest', sa.String(length=80), nullable=True),
    sa.Column('artifact_size', sa.BigInteger(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_model_versions_model_id_registered_models'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_versions')),
    sa.UniqueConstraint('model_id', 'version', name=op.f('uq_model_versions_model_id_version'))
    )
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_versions_artifact_digest'), ['artifact_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_code_commit_sha'), ['code_commit_sha'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_created_by'), ['created_by'], unique=False)
        batch_op.create_index('ix_model_versions_model_id_stage_version', ['model_id', 'stage', 'version'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_versions_version'), ['version'], unique=False)

    op.create_table('registered_model_tags',
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_registered_model_tags_model_id_registered_models'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_id', 'key', name=op.f('pk_registered_model_tags'))
    )
    op.create_table('model_aliases',
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alias', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_model_aliases_model_id_registered_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_aliases_version_id_model_versions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('model_id', 'alias', name=op.f('pk_model_aliases'))
    )
    with op.batch_alter_table('model_aliases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_aliases_version_id'), ['version_id'], unique=False)

    op.create_table('model_version_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('dataset', sa.String(length=500), nullable=True),
    sa.Column('step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_version_metrics_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_version_metrics'))
    )
    with op.batch_alter_table('model_version_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_model_version_metrics_name_value', ['name', 'value'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_version_metrics_version_id'), ['version_id'], unique=False)

    op.create_table('model_version_tags',
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_version_tags_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'key', name=op.f('pk_model_version_tags'))
    )

    # Tags are found by key and the first characters of the value (see app.db.tables.TAG_VALUE_INDEX_PREFIX).
    op.create_index("ix_registered_model_tags_key_value", "registered_model_tags",
                    ["key", sa.text("substr(value, 1, 200)")])
    op.create_index("ix_model_version_tags_key_value", "model_version_tags",
                    ["key", sa.text("substr(value, 1, 200)")])


def downgrade() -> None:
    op.drop_index("ix_model_version_tags_key_value", "model_version_tags")
    op.drop_index("ix_registered_model_tags_key_value", "registered_model_tags")
    op.drop_table('model_version_tags')
    with op.batch_alter_table('model_version_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_version_metrics_version_id'))
        batch_op.drop_index('ix_model_version_metrics_name_value')

    op.drop_table('model_version_metrics')
    with op.batch_alter_table('model_aliases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_aliases_version_id'))

    op.drop_table('model_aliases')
    op.drop_table('registered_model_tags')
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_versions_version'))
        batch_op.drop_index(batch_op.f('ix_model_versions_status'))
        batch_op.drop_index(batch_op.f('ix_model_versions_stage'))
        batch_op.drop_index(batch_op.f('ix_model_versions_run_id'))
        batch_op.drop_index('ix_model_versions_model_id_stage_version')
        batch_op.drop_index(batch_op.f('ix_model_versions_created_by'))
        batch_op.drop_index(batch_op.f('ix_model_versions_created_at'))
        batch_op.drop_index(batch_op.f('ix_model_versions_code_commit_sha'))
        batch_op.drop_index(batch_op.f('ix_model_versions_artifact_digest'))

    op.drop_table('model_versions')
    with op.batch_alter_table('model_alias_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_model_alias_changes_model_id_alias_changed_at')

    op.drop_table('model_alias_changes')
    with op.batch_alter_table('registered_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registered_models_updated_at'))
        batch_op.drop_index(batch_op.f('ix_registered_models_owner'))
        batch_op.drop_index(batch_op.f('ix_registered_models_created_by'))
        batch_op.drop_index(batch_op.f('ix_registered_models_created_at'))

    op.drop_table('registered_models')
