"""webhooks deliver what their creator may read: the creator's read scope, kept with the webhook

Revision ID: 0013
Revises: 0012

With MODELREG_READ_SCOPE=scoped (issue 18) a webhook delivers only events about models its creator could read when
creating it: the namespaces, space-separated (`fraud/ churn/`), or NULL for everything (every webhook created
before this revision, and every one created in the default mode or by a caller who reads everything).
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhooks') as batch:
        batch.add_column(sa.Column('read_scope', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhooks') as batch:
        batch.drop_column('read_scope')
