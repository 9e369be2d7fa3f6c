"""transition requests record the PRODUCTION versions they replace

Revision ID: 0008
Revises: 0007

A request to move a version into PRODUCTION records which versions were in PRODUCTION when it was made (or when an
approver last approved it again); when PRODUCTION holds others by the time it would apply, it stops at APPROVED
(issue 14: approving a second request archived the version approved a second earlier). Requests made before this
revision have NULL and are not checked.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transition_requests') as batch:
        batch.add_column(sa.Column('production_versions', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transition_requests') as batch:
        batch.drop_column('production_versions')
