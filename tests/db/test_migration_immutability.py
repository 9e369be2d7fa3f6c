"""Landed migrations are immutable, and a database at any earlier revision upgrades to the schema of a new one.

A migration that has landed may already have run somewhere; editing it afterwards changes nothing there, so the
databases drift apart (0001 and 0002 were edited that way: revision 0007 repairs it). The digests of the landed
revision files are recorded in app/db/migrations/landed.json; docs/migrations.md says how to add a revision.

Run ``python -m tests.db.test_migration_immutability --record`` to record the digest of a new revision file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from app.db import migrate
from app.db.engine import driver_urls
from app.db.tables import Base
from tests.support.databases import SWITCH, fresh_database

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
    return json.loads(LANDED.read_text(encoding="utf-8"))


def test_landed_migrations_are_unchanged():
    present, recorded = present_digests(), recorded_digests()
    changed = sorted(name for name, digest in recorded.items() if name in present and present[name] != digest)
    removed = sorted(name for name in recorded if name not in present)
    assert not changed and not removed, (
        f"{IMMUTABLE}. Changed since they landed: {changed or 'none'}; removed: {removed or 'none'}. "
        "A database that already ran a landed revision never sees an edit to it. Restore the file "
        "(git checkout -- app/db/migrations/versions/<file>) and put the change in a new revision that checks "
        "what is there first (see 0007 and docs/migrations.md).")


def test_every_revision_file_has_a_recorded_digest():
    present, recorded = present_digests(), recorded_digests()
    unrecorded = {name: digest for name, digest in present.items() if name not in recorded}
    lines = "\n".join(f'  "{name}": "{digest}",' for name, digest in unrecorded.items())
    assert not unrecorded, (
        f"revision files without a recorded digest in {LANDED.name}: {sorted(unrecorded)}. When a revision lands "
        f"its digest is recorded ({IMMUTABLE} later). Run `{RECORD_COMMAND}` or add to {LANDED}:\n{lines}")


def record_new_revisions() -> list[str]:
    """Add the digests of revision files not recorded yet; recorded ones are never rewritten."""
    recorded = recorded_digests()
    added = {name: digest for name, digest in present_digests().items() if name not in recorded}
    if added:
        LANDED.write_text(json.dumps(dict(sorted({**recorded, **added}.items())), indent=2) + "\n",
                          encoding="utf-8")
    return sorted(added)


# --- Upgrading from every earlier revision ------------------------------------------------------------------

def _as_0001_first_landed(connection: Connection) -> None:
    """0001 as it landed in b31e2ef: without the version index added in bfde1df."""
    connection.execute(text("DROP INDEX ix_model_versions_version"))


def _as_0002_first_landed(connection: Connection) -> None:
    """0002 as it landed in b053436: 0001's per-version metric index kept, the composite one (013265c) absent."""
    connection.execute(text("DROP INDEX ix_model_version_metrics_version_id_name_value"))
    connection.execute(text("CREATE INDEX ix_model_version_metrics_version_id ON model_version_metrics (version_id)"))


Edit = Callable[[Connection], None]


def _starting_points() -> list[tuple[str, tuple[Edit, ...]]]:
    """Every revision before head as the current files make it, and 0001/0002 as their first landed text did."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    head = script.get_current_head()
    earlier = sorted(r.revision for r in script.walk_revisions() if r.revision != head)
    points: list[tuple[str, tuple[Edit, ...]]] = [(revision, ()) for revision in earlier]
    points += [("0001", (_as_0001_first_landed,)),
               ("0002", (_as_0002_first_landed,)),
               ("0002", (_as_0001_first_landed, _as_0002_first_landed))]
    return points


def _point_id(point: tuple[str, tuple[Edit, ...]]) -> str:
    revision, edits = point
    landed = "+".join(edit.__name__.removeprefix("_as_").removesuffix("_first_landed") for edit in edits)
    return f"{revision}-with-{landed}-as-first-landed" if edits else revision


@contextmanager
def empty_database(tmp_dir: Path, label: str) -> Iterator[str]:
    """A database without any revision: a SQLite file, or a new database on the suite's PostgreSQL server."""
    server_url = os.environ.get(SWITCH, "")
    if not server_url.startswith("postgres"):
        yield f"sqlite:///{tmp_dir / f'modelreg-{label}.db'}"
        return
    name = f"modelreg_{label}_{secrets.token_hex(4)}"
    admin = create_engine(driver_urls(server_url)[1], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_POSTGRESQL_CATALOG = {
    "column": "SELECT table_name || '.' || column_name, concat_ws(' ', data_type, character_maximum_length, "
              "numeric_precision, is_nullable, column_default, collation_name) "
              "FROM information_schema.columns WHERE table_schema = 'public'",
    "constraint": "SELECT conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) "
                  "FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
    "index": "SELECT tablename || '.' || indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "trigger": "SELECT tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(oid) "
               "FROM pg_trigger WHERE NOT tgisinternal",
    "function": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
    "view": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'",
    "sequence": "SELECT sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = 'public'",
    "type": "SELECT typname, typtype::text FROM pg_type WHERE typnamespace = 'public'::regnamespace",
}


def catalog(connection: Connection) -> dict[str, str]:
    """Everything the database says about its schema, as ``kind name -> definition``: tables with their columns
    and constraints, indexes (expression and partial ones too), triggers, functions, views."""
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT type || ' ' || name, sql FROM sqlite_master")).all()
        return {name: " ".join((sql or "").split()) for name, sql in rows}
    return {f"{kind} {name}": definition for kind, query in _POSTGRESQL_CATALOG.items()
            for name, definition in connection.execute(text(query)).all()}


def differences_from_the_mappings(connection: Connection) -> list:
    """`alembic check`: what autogenerate would change to match app.db.tables (expression indexes, which
    cannot be reflected on every backend, are compared through the catalog instead)."""
    differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    return [d for d in differences
            if not (d[0] in ("add_index", "remove_index") and d[1].name.endswith("_key_value"))]


@pytest.fixture(scope="module")
def head_catalog(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    with fresh_database(tmp_path_factory.mktemp("head"), "head") as url:
        engine = migrate.sync_engine(url)
        with engine.connect() as connection:
            schema = catalog(connection)
        engine.dispose()
    return schema


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them; the catalog can
@pytest.mark.parametrize("start", _starting_points(), ids=_point_id)
def test_a_database_at_an_earlier_revision_upgrades_to_the_head_schema(start, head_catalog, tmp_path):
    revision, edits = start
    with empty_database(tmp_path, f"r{revision}") as url:
        migrate.upgrade(url, revision)
        engine = migrate.sync_engine(url)
        try:
            with engine.begin() as connection:
                for edit in edits:
                    edit(connection)
            migrate.upgrade(url)
            with engine.connect() as connection:
                at_head = MigrationContext.configure(connection).get_current_revision()
                schema = catalog(connection)
                drift = differences_from_the_mappings(connection)
        finally:
            engine.dispose()
    assert at_head == ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    missing = {name: head_catalog[name] for name in head_catalog.keys() - schema.keys()}
    extra = {name: schema[name] for name in schema.keys() - head_catalog.keys()}
    different = {name: (schema[name], head_catalog[name]) for name in schema.keys() & head_catalog.keys()
                 if schema[name] != head_catalog[name]}
    assert (missing, extra, different) == ({}, {}, {}), (
        f"upgrading from {_point_id(start)} differs from a new database: missing {missing}, extra {extra}, "
        f"different (upgraded, new) {different}")
    assert drift == []


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit(f"usage: {RECORD_COMMAND}")
    added = record_new_revisions()
    print(f"recorded {', '.join(added)}" if added else "every revision file is already recorded")
