"""what `modelreg import mlflow` brought over

Revision ID: 0011
Revises: 0010

`modelreg import mlflow` (issue 21) records each registered model and model version it imported from an MLflow
tracking server, with the modelreg model or version it became and what MLflow said of it (times, user, stage, run,
source), so a second run changes nothing and an interrupted one continues (docs/mlflow-import.md).
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mlflow_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tracking_uri', sa.String(length=500), nullable=False),
    sa.Column('mlflow_name', sa.String(length=256), nullable=False),
    sa.Column('mlflow_version', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=256), nullable=False),
    sa.Column('original', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_models.id'], name=op.f('fk_mlflow_imports_model_id_registered_models'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_mlflow_imports_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mlflow_imports')),
    sa.UniqueConstraint('tracking_uri', 'mlflow_name', 'mlflow_version', name=op.f('uq_mlflow_imports_tracking_uri_mlflow_name_mlflow_version'))
    )
    with op.batch_alter_table('mlflow_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mlflow_imports_model_id'), ['model_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mlflow_imports_version_id'), ['version_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mlflow_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mlflow_imports_version_id'))
        batch_op.drop_index(batch_op.f('ix_mlflow_imports_model_id'))

    op.drop_table('mlflow_imports')
