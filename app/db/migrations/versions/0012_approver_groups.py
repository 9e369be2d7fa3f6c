"""approvals from named groups: what a request requires, what each approval counted for

Revision ID: 0012
Revises: 0011

The promotion policy may require approvals from members of named groups per model pattern (issue 18: `fraud/*` to
PRODUCTION needs one approval from `risk-office`). A request records the group requirements in force when it was
made (as it records `required_approvals`), and each decision the approver's groups, from their token's `groups`
claim, that those requirements name, so a decision is explainable later. Both are NULL for rows written before this
revision (no group was required then).
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transition_requests') as batch:
        batch.add_column(sa.Column('required_groups', sa.JSON(), nullable=True))
    with op.batch_alter_table('transition_decisions') as batch:
        batch.add_column(sa.Column('approver_groups', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transition_decisions') as batch:
        batch.drop_column('approver_groups')
    with op.batch_alter_table('transition_requests') as batch:
        batch.drop_column('required_groups')
