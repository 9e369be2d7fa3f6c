"""Landed migrations are immutable, and a database at any earlier revision upgrades to the schema of a new one.

A migration that has landed may already have run somewhere; editing it afterwards changes nothing there, so the
databases drift apart (0001 and 0002 were edited that way: revision 0007 repairs it). The digests of the landed
revision files are recorded in app/db/migrations/landed.json; docs/migrations.md says how to add a revision.

Run ``python -m tests.db.test_migration_immutability --record`` to record the digest of a new revision file.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import StaticPool

from app.db import migrate
from app.db.engine import driver_urls, is_sqlite
from app.db.tables import Base
from tests.support.databases import fresh_database

VERSIONS_DIR = migrate.MIGRATIONS_DIR / "versions"
LANDED = migrate.MIGRATIONS_DIR / "landed.json"
IMMUTABLE = "landed migrations are immutable: add a new revision instead"
RECORD_COMMAND = "python -m tests.db.test_migration_immutability --record"


def file_digest(path: Path) -> str:
    """sha256 of a revision file (line endings normalised, so a CRLF checkout gives the same digest)."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def present_digests() -> dict[str, str]:
    return {path.name: file_digest(path) for path in sorted(VERSIONS_DIR.glob("*.py"))}


def recorded_digests() -> dict[str, str]:
    recorded: dict[str, str] = json.loads(LANDED.read_text(encoding="utf-8"))
    return recorded


def test_landed_migrations_are_unchanged():
    present, recorded = present_digests(), recorded_digests()
    changed = sorted(name for name, digest in recorded.items() if name in present and present[name] != digest)
    removed = sorted(name for name in recorded if name not in present)
    assert not changed and not removed, (
        f"{IMMUTABLE}. Changed since they landed: {changed or 'none'}; removed: {removed or 'none'}. "
        "A database that already ran a landed revision never sees an edit to it. Restore the file "
        "(git checkout -- app/db/migrations/versions/<file>) and put the change in a new revision that checks "
        "what is there first (see 0007 and docs/migrations.md)."
    )


def test_every_revision_file_has_a_recorded_digest():
    present, recorded = present_digests(), recorded_digests()
    unrecorded = {name: digest for name, digest in present.items() if name not in recorded}
    lines = "\n".join(f'  "{name}": "{digest}",' for name, digest in unrecorded.items())
    assert not unrecorded, (
        f"revision files without a recorded digest: {sorted(unrecorded)}. Record a revision's digest when it lands "
        f"(from then on the file must not change). Run `{RECORD_COMMAND}` or add to "
        f"app/db/migrations/{LANDED.name}:\n{lines}"
    )


def record_new_revisions() -> list[str]:
    """Add the digests of revision files not recorded yet; recorded ones are never rewritten."""
    recorded = recorded_digests()
    added = {name: digest for name, digest in present_digests().items() if name not in recorded}
    if added:
        LANDED.write_text(json.dumps(dict(sorted({**recorded, **added}.items())), indent=2) + "\n", encoding="utf-8")
    return sorted(added)


# --- Upgrading from every earlier revision ------------------------------------------------------------------
# A database built by the first landed text of 0001 or 0002 is made by undoing the later edit; built from those
# texts (git show b31e2ef / b053436), SQLite and PostgreSQL give exactly these catalogs.


def _as_0001_first_landed(connection: Connection) -> None:
    """0001 as it landed in b31e2ef: without the version index added in bfde1df."""
    connection.execute(text("DROP INDEX ix_model_versions_version"))


def _as_0002_first_landed(connection: Connection) -> None:
    """0002 as it landed in b053436: 0001's per-version metric index kept, the composite one (013265c) absent."""
    connection.execute(text("DROP INDEX ix_model_version_metrics_version_id_name_value"))
    connection.execute(text("CREATE INDEX ix_model_version_metrics_version_id ON model_version_metrics (version_id)"))


Edit = Callable[[Connection], None]
SCRIPT = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
HEAD = SCRIPT.get_current_head()


def _starting_points() -> list[tuple[str, tuple[Edit, ...]]]:
    """Every revision before head as the current files make it, and 0001/0002 as their first landed text did
    (0002 landed after 0001's edit, so that database has the version index)."""
    earlier = sorted(r.revision for r in SCRIPT.walk_revisions() if r.revision != HEAD)
    return [
        *((revision, ()) for revision in earlier),
        ("0001", (_as_0001_first_landed,)),
        ("0002", (_as_0002_first_landed,)),
    ]


def _point_id(point: tuple[str, tuple[Edit, ...]]) -> str:
    revision, edits = point
    return f"{revision}-as-first-landed" if edits else revision


@contextmanager
def blank_database(head_url: str, label: str) -> Iterator[Engine]:
    """An engine on a database without any revision: a new in-memory SQLite database, or on PostgreSQL a new
    schema, alone on the search path, in the database at ``head_url`` (it goes when that database is dropped).
    Revisions create everything unqualified, so they build the same schema there; a schema costs far less than
    a database to create and drop."""
    if is_sqlite(head_url):
        engine = create_engine("sqlite+pysqlite://", poolclass=StaticPool)
    else:
        schema = f"mig_{label}_{secrets.token_hex(4)}".lower()
        engine = create_engine(driver_urls(head_url)[1], connect_args={"options": f"-csearch_path={schema}"})
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield engine
    finally:
        engine.dispose()


def _config(engine: Engine) -> Config:
    config = migrate.alembic_config("sqlite://")  # the URL goes unused: env.py takes the engine
    config.attributes["connection"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """`modelreg db upgrade` on this engine."""
    command.upgrade(_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(_config(engine), revision)


_POSTGRESQL_CATALOG = {
    "column": (
        "SELECT table_name || '.' || column_name, concat_ws(' ', data_type, character_maximum_length, "
        "numeric_precision, is_nullable, column_default, collation_name) "
        "FROM information_schema.columns WHERE table_schema = current_schema()"
    ),
    "constraint": (
        "SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
    ),
    "index": "SELECT tablename || '.' || indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
    "trigger": (
        "SELECT tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT tgisinternal "
        "AND c.relnamespace = current_schema()::regnamespace"
    ),
    "function": (
        "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
    ),
    "view": "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema()",
    "sequence": (
        "SELECT sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = current_schema()"
    ),
    "type": "SELECT typname, typtype::text FROM pg_type WHERE typnamespace = current_schema()::regnamespace",
}


def catalog(connection: Connection) -> dict[str, str]:
    """Everything the database says about its schema, as ``kind name -> definition``: tables with their columns
    and constraints, indexes (expression and partial ones too), triggers, functions, views."""
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT type || ' ' || name, sql FROM sqlite_master")).all()
        return {name: " ".join((sql or "").split()) for name, sql in rows}
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    qualifier = re.compile(rf'\b"?{re.escape(schema)}"?\.')
    return {
        f"{kind} {name}": qualifier.sub("", definition)
        for kind, query in _POSTGRESQL_CATALOG.items()
        for name, definition in connection.execute(text(query)).all()
    }


def differences_from_the_mappings(connection: Connection) -> list:
    """`alembic check`: what autogenerate would change to match app.db.tables (expression indexes, which
    cannot be reflected on every backend, are compared through the catalog instead)."""
    differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    return [d for d in differences if not (d[0] in ("add_index", "remove_index") and d[1].name.endswith("_key_value"))]


@pytest.fixture(scope="module")
def head_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated straight to head; on PostgreSQL the starting points get their schemas in it."""
    with fresh_database(tmp_path_factory.mktemp("head"), "heads") as url:
        yield url


@pytest.fixture(scope="module")
def head_catalog(head_url: str) -> dict[str, str]:
    engine = migrate.sync_engine(head_url)
    with engine.connect() as connection:
        schema = catalog(connection)
    engine.dispose()
    return schema


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them; the catalog can
def test_a_new_database_matches_the_mappings(head_url):
    """With this, an upgraded database whose catalog equals the new one's matches the mappings too."""
    engine = migrate.sync_engine(head_url)
    with engine.connect() as connection:
        assert differences_from_the_mappings(connection) == []
    engine.dispose()


def assert_same_schema(upgraded: dict[str, str], new: dict[str, str], start: str) -> None:
    missing = {name: new[name] for name in new.keys() - upgraded.keys()}
    extra = {name: upgraded[name] for name in upgraded.keys() - new.keys()}
    different = {
        name: {"upgraded": upgraded[name], "new": new[name]}
        for name in upgraded.keys() & new.keys()
        if upgraded[name] != new[name]
    }
    assert (missing, extra, different) == ({}, {}, {}), (
        f"a database at {start} upgraded to head is not what a new database is: "
        f"missing {missing}, extra {extra}, different {different}"
    )


@pytest.mark.parametrize("start", _starting_points(), ids=_point_id)
def test_a_database_at_an_earlier_revision_upgrades_to_the_head_schema(start, head_url, head_catalog):
    revision, edits = start
    with blank_database(head_url, f"r{revision}") as engine:
        upgrade(engine, revision)
        with engine.begin() as connection:
            for edit in edits:
                edit(connection)
        upgrade(engine)
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == HEAD
            assert_same_schema(catalog(connection), head_catalog, _point_id(start))
        if edits:  # 0007 left it where every revision's downgrade finds what it drops
            downgrade(engine, "base")
            with engine.connect() as connection:
                assert [name for name in catalog(connection) if "alembic_version" not in name] == []


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit(f"usage: {RECORD_COMMAND}")
    added = record_new_revisions()
    print(f"recorded {', '.join(added)}" if added else "every revision file is already recorded")
