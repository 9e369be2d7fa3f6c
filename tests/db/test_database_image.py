"""The suite's seed restore and fingerprints (tests/support/databases.py): a restored image is the captured data
exactly, and any write, in any table but the audit log, changes the fingerprint."""

from __future__ import annotations

from sqlalchemy import text

from tests.graphql.test_schema_coverage import seed, seed_through_the_api, stored
from tests.support.databases import capture, restore, sync_engine, wipe


async def test_restored_seed_is_what_the_api_wrote(api):
    await seed(api)  # the session's image, restored or written
    restored = capture(api.database_url)
    restore(api.database_url, restored)
    assert capture(api.database_url) == restored  # every value of every row, ids included
    wipe(api.database_url)
    await seed_through_the_api(api)
    written = capture(api.database_url)
    assert {name: len(rows) for name, rows in restored.rows.items()} == {
        name: len(rows) for name, rows in written.rows.items()}
    assert sum(len(rows) for rows in restored.rows.values()) > 50


async def test_fingerprint_sees_a_write_anywhere_but_the_audit_log(api):
    await seed(api)
    before = stored(api)
    with sync_engine(api.database_url).begin() as connection:
        connection.execute(text("UPDATE model_versions SET description = 'changed' WHERE version = 4"))
    assert stored(api) != before
    await seed(api)
    assert stored(api) == before
    with sync_engine(api.database_url).begin() as connection:
        connection.execute(text("DELETE FROM registered_model_tags"))
    assert stored(api) != before
