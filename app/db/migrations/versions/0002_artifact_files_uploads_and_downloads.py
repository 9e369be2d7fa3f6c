"""artifact files, uploads and downloads; per-version metric index

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('artifact_downloads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=True),
    sa.Column('subject', sa.String(length=256), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_artifact_downloads_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifact_downloads'))
    )
    with op.batch_alter_table('artifact_downloads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_downloads_downloaded_at'), ['downloaded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_artifact_downloads_version_id'), ['version_id'], unique=False)

    op.create_table('artifact_uploads',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_artifact_uploads_version_id_model_versions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_artifact_uploads'))
    )
    with op.batch_alter_table('artifact_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_uploads_expires_at'), ['expires_at'], unique=False)

    op.create_table('model_version_files',
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('digest', sa.String(length=80), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=255), nullable=False),
    sa.Column('upload_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_version_files_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'path', name=op.f('pk_model_version_files'))
    )
    with op.batch_alter_table('model_version_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_version_files_digest'), ['digest'], unique=False)

    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_message', sa.Text(), nullable=True))

    # Metric filters and ordering look metrics up per version; this index serves them on every backend.
    with op.batch_alter_table('model_version_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_model_version_metrics_version_id')
        batch_op.create_index('ix_model_version_metrics_version_id_name_value', ['version_id', 'name', 'value'],
                              unique=False)



def downgrade() -> None:
    with op.batch_alter_table('model_version_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_model_version_metrics_version_id_name_value')
        batch_op.create_index('ix_model_version_metrics_version_id', ['version_id'], unique=False)

    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_column('status_message')

    with op.batch_alter_table('model_version_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_version_files_digest'))

    op.drop_table('model_version_files')
    with op.batch_alter_table('artifact_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_artifact_uploads_expires_at'))

    op.drop_table('artifact_uploads')
    with op.batch_alter_table('artifact_downloads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_artifact_downloads_version_id'))
        batch_op.drop_index(batch_op.f('ix_artifact_downloads_downloaded_at'))

    op.drop_table('artifact_downloads')
