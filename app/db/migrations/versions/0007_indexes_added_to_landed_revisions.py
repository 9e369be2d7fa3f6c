"""indexes that revisions 0001 and 0002 gained after they landed

Revision ID: 0007
Revises: 0006

Two landed revisions were edited afterwards, so a database that had already run them never got the change:

- 0001 gained ``ix_model_versions_version`` (commit bfde1df);
- 0002 gained ``ix_model_version_metrics_version_id_name_value`` in place of ``ix_model_version_metrics_version_id``
  (commit 013265c).

This revision brings such a database to the schema the current files describe. Each step looks first, so it does
nothing on a database that ran the edited files. Landed revisions are immutable from here on (docs/migrations.md).

The downgrade changes nothing, on purpose: at 0006 the current 0001 and 0002 already own these indexes, and their
own downgrades drop them. Removing them here would leave a database that 0002's and 0001's downgrades cannot
handle; keeping them makes every database, old or new, downgrade the same way.
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _index_names(table: str) -> set[str]:
    return {index["name"] for index in sa.inspect(op.get_bind()).get_indexes(table)}


def upgrade() -> None:
    if 'ix_model_versions_version' not in _index_names('model_versions'):
        op.create_index('ix_model_versions_version', 'model_versions', ['version'], unique=False)

    metric_indexes = _index_names('model_version_metrics')
    if 'ix_model_version_metrics_version_id_name_value' not in metric_indexes:
        op.create_index('ix_model_version_metrics_version_id_name_value', 'model_version_metrics',
                        ['version_id', 'name', 'value'], unique=False)
    if 'ix_model_version_metrics_version_id' in metric_indexes:
        op.drop_index('ix_model_version_metrics_version_id', 'model_version_metrics')


def downgrade() -> None:
    pass
