"""where versions registered from a source copy their files from

Revision ID: 0010
Revises: 0009

A version registered with a source (MLflow's `create_model_version`, issue 21: an MLflow logged model, a run's
artifacts, MLflow's artifact proxy, an HTTP or local directory) stays PENDING_REGISTRATION while a background copier
stores and digests its files; this table remembers the source (MLflow's `source` field answers it) and when the copy
finished.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_version_sources',
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('copied_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_model_version_sources_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_model_version_sources'))
    )


def downgrade() -> None:
    op.drop_table('model_version_sources')
