"""lineage graph: nodes, datasets, runs, code commits, external nodes, edges

Revision ID: 0004
Revises: 0003

Versions registered before this revision get lineage nodes for the run and code commit they name.
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lineage_nodes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'], name=op.f('fk_lineage_nodes_version_id_model_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_nodes')),
    sa.UniqueConstraint('version_id', name=op.f('uq_lineage_nodes_version_id'))
    )
    op.create_table('lineage_code_commits',
    sa.Column('node_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('repository_url', sa.String(length=2000), nullable=False),
    sa.Column('commit_sha', sa.String(length=64), nullable=False),
    sa.Column('branch', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['node_id'], ['lineage_nodes.id'], name=op.f('fk_lineage_code_commits_node_id_lineage_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_lineage_code_commits')),
    sa.UniqueConstraint('repository_url', 'commit_sha', name=op.f('uq_lineage_code_commits_repository_url_commit_sha'))
    )
    with op.batch_alter_table('lineage_code_commits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_code_commits_commit_sha'), ['commit_sha'], unique=False)

    op.create_table('lineage_datasets',
    sa.Column('node_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('version', sa.String(length=200), nullable=True),
    sa.Column('uri', sa.String(length=2000), nullable=True),
    sa.Column('digest', sa.String(length=80), nullable=True),
    sa.Column('format', sa.String(length=100), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('row_count', sa.BigInteger(), nullable=True),
    sa.Column('schema', sa.JSON(), nullable=True),
    sa.Column('source_system', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['node_id'], ['lineage_nodes.id'], name=op.f('fk_lineage_datasets_node_id_lineage_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_lineage_datasets')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_lineage_datasets_name_version'))
    )
    with op.batch_alter_table('lineage_datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_datasets_digest'), ['digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_lineage_datasets_source_system'), ['source_system'], unique=False)
        batch_op.create_index('uq_lineage_datasets_unversioned_digest', ['digest'], unique=True, sqlite_where=sa.text('version IS NULL'), postgresql_where=sa.text('version IS NULL'))

    op.create_table('lineage_edges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('relation', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['lineage_nodes.id'], name=op.f('fk_lineage_edges_source_id_lineage_nodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['lineage_nodes.id'], name=op.f('fk_lineage_edges_target_id_lineage_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_edges')),
    sa.UniqueConstraint('source_id', 'kind', 'target_id', name=op.f('uq_lineage_edges_source_id_kind_target_id'))
    )
    with op.batch_alter_table('lineage_edges', schema=None) as batch_op:
        batch_op.create_index('ix_lineage_edges_target_id_kind_source_id', ['target_id', 'kind', 'source_id'], unique=False)

    op.create_table('lineage_external_nodes',
    sa.Column('node_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('uri', sa.String(length=2000), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('properties', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['node_id'], ['lineage_nodes.id'], name=op.f('fk_lineage_external_nodes_node_id_lineage_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_lineage_external_nodes')),
    sa.UniqueConstraint('name', name=op.f('uq_lineage_external_nodes_name'))
    )
    op.create_table('lineage_runs',
    sa.Column('node_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tracker', sa.String(length=32), nullable=False),
    sa.Column('run_id', sa.String(length=256), nullable=False),
    sa.Column('run_uri', sa.String(length=2000), nullable=True),
    sa.Column('experiment_name', sa.String(length=500), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('python_version', sa.String(length=50), nullable=True),
    sa.Column('requirements_digest', sa.String(length=80), nullable=True),
    sa.Column('container_image', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['node_id'], ['lineage_nodes.id'], name=op.f('fk_lineage_runs_node_id_lineage_nodes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('node_id', name=op.f('pk_lineage_runs')),
    sa.UniqueConstraint('tracker', 'run_id', name=op.f('uq_lineage_runs_tracker_run_id'))
    )
    with op.batch_alter_table('lineage_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lineage_runs_experiment_name'), ['experiment_name'], unique=False)
    _backfill(op.get_bind())


_nodes = sa.table('lineage_nodes', sa.column('id'), sa.column('kind'), sa.column('version_id'),
                  sa.column('created_at'), sa.column('created_by'))
_runs = sa.table('lineage_runs', sa.column('node_id'), sa.column('tracker'), sa.column('run_id'),
                 sa.column('run_uri'), sa.column('params', sa.JSON()), sa.column('metrics', sa.JSON()))
_commits = sa.table('lineage_code_commits', sa.column('node_id'), sa.column('repository_url'),
                    sa.column('commit_sha'))
_edges = sa.table('lineage_edges', sa.column('source_id'), sa.column('target_id'), sa.column('kind'),
                  sa.column('created_at'), sa.column('created_by'))


def _backfill(bind) -> None:
    """Run and code references of existing versions become Run and CodeCommit nodes with their edges."""
    versions = bind.execute(sa.text(
        "SELECT id, run_tracker, run_id, run_uri, code_repository_url, code_commit_sha, created_at, created_by "
        "FROM model_versions WHERE run_id IS NOT NULL OR code_commit_sha IS NOT NULL ORDER BY id")).all()
    runs: dict = {}
    commits: dict = {}

    def node(kind, when, who, version_id=None):
        return bind.execute(sa.insert(_nodes).values(kind=kind, version_id=version_id, created_at=when,
                                                     created_by=who).returning(_nodes.c.id)).scalar_one()

    for v in versions:
        version_node = node('MODEL_VERSION', v.created_at, v.created_by, v.id)
        if v.run_id is not None:
            key = (v.run_tracker, v.run_id)
            if key not in runs:
                runs[key] = node('RUN', v.created_at, v.created_by)
                bind.execute(sa.insert(_runs).values(node_id=runs[key], tracker=v.run_tracker, run_id=v.run_id,
                                                     run_uri=v.run_uri, params={}, metrics={}))
            bind.execute(sa.insert(_edges).values(source_id=runs[key], target_id=version_node, kind='PRODUCED',
                                                  created_at=v.created_at, created_by=v.created_by))
        if v.code_commit_sha is not None:
            key = (v.code_repository_url, v.code_commit_sha)
            if key not in commits:
                commits[key] = node('CODE_COMMIT', v.created_at, v.created_by)
                bind.execute(sa.insert(_commits).values(node_id=commits[key], repository_url=key[0],
                                                        commit_sha=key[1]))
            bind.execute(sa.insert(_edges).values(source_id=commits[key], target_id=version_node, kind='BUILT_FROM',
                                                  created_at=v.created_at, created_by=v.created_by))



def downgrade() -> None:
    with op.batch_alter_table('lineage_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lineage_runs_experiment_name'))

    op.drop_table('lineage_runs')
    op.drop_table('lineage_external_nodes')
    with op.batch_alter_table('lineage_edges', schema=None) as batch_op:
        batch_op.drop_index('ix_lineage_edges_target_id_kind_source_id')

    op.drop_table('lineage_edges')
    with op.batch_alter_table('lineage_datasets', schema=None) as batch_op:
        batch_op.drop_index('uq_lineage_datasets_unversioned_digest', sqlite_where=sa.text('version IS NULL'), postgresql_where=sa.text('version IS NULL'))
        batch_op.drop_index(batch_op.f('ix_lineage_datasets_source_system'))
        batch_op.drop_index(batch_op.f('ix_lineage_datasets_digest'))

    op.drop_table('lineage_datasets')
    with op.batch_alter_table('lineage_code_commits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lineage_code_commits_commit_sha'))

    op.drop_table('lineage_code_commits')
    op.drop_table('lineage_nodes')
