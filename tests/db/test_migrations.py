"""Migrations: the same schema on SQLite and PostgreSQL, matching the table mappings, reversible."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db import migrate
from app.db.tables import Base
from tests.support.databases import fresh_database


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them; checked below
def test_migrations_match_the_mappings_and_downgrade_cleanly(tmp_path):
    with fresh_database(tmp_path, "mig") as url:
        engine = migrate.sync_engine(url)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        # Expression indexes cannot be reflected on every backend; everything else must match exactly.
        differences = [d for d in differences if not (d[0] in ("add_index", "remove_index")
                                                      and d[1].name.endswith("_key_value"))]
        assert differences == []
        command.downgrade(migrate.alembic_config(url), "base")
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() is None
        migrate.upgrade(url)
        assert "(head)" in migrate.current(url)
        engine.dispose()


def test_lineage_migration_turns_run_and_code_references_into_nodes(tmp_path):
    """Versions registered before revision 0004 keep their run and commit as lineage (one node per run)."""
    from sqlalchemy import text

    with fresh_database(tmp_path, "backfill") as url:
        command.downgrade(migrate.alembic_config(url), "0003")
        engine = migrate.sync_engine(url)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO registered_models (id, name, owner, created_at, created_by, updated_at, next_version) "
                "VALUES (1, 'old/model', 'o', '2026-01-01 00:00:00', 'o', '2026-01-01 00:00:00', 3)"))
            for number in (1, 2):
                connection.execute(text(
                    "INSERT INTO model_versions (id, model_id, version, status, stage, run_tracker, run_id, "
                    "code_repository_url, code_commit_sha, params, created_at, created_by, updated_at) VALUES "
                    f"({number}, 1, {number}, 'READY', 'NONE', 'MLFLOW', 'shared-run', 'https://git/x', "
                    f"'abcdef{number}', '{{}}', '2026-01-01 00:00:00', 'o', '2026-01-01 00:00:00')"))
        migrate.upgrade(url)
        with engine.connect() as connection:
            kinds = dict(connection.execute(text("SELECT kind, COUNT(*) FROM lineage_nodes GROUP BY kind")).all())
            edges = dict(connection.execute(text("SELECT kind, COUNT(*) FROM lineage_edges GROUP BY kind")).all())
        engine.dispose()
        assert kinds == {"MODEL_VERSION": 2, "RUN": 1, "CODE_COMMIT": 2}
        assert edges == {"PRODUCED": 2, "BUILT_FROM": 2}


@pytest.mark.postgresql_only
def test_replicas_upgrading_at_once_wait_for_each_other(tmp_path):
    """Three `modelreg db upgrade` processes on an empty PostgreSQL database (replicas starting together): before
    the advisory lock in migrations/env.py, two of three failed (duplicate key in pg_type); now one migrates and the
    others find the database at head."""
    import os
    import subprocess
    import sys

    from tests.support.databases import SWITCH, backend

    if backend() != "postgresql":
        pytest.skip(f"replicas share a PostgreSQL database: set {SWITCH} (CI's second leg)")
    with fresh_database(tmp_path, "race") as url:
        command.downgrade(migrate.alembic_config(url), "base")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MODELREG_")}, "MODELREG_DATABASE_URL": url}
        upgrades = [subprocess.Popen([sys.executable, "-m", "app", "db", "upgrade"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True) for _ in range(3)]
        outcomes = [(process.wait(120), process.stdout.read() if process.stdout else "") for process in upgrades]
        assert [code for code, _ in outcomes] == [0, 0, 0], [output[-500:] for _, output in outcomes]
        assert "(head)" in migrate.current(url)
