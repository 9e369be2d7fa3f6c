"""The database switch: SQLite by default, PostgreSQL when MODELREG_TEST_DATABASE_URL is set.

With PostgreSQL, each test session creates a fresh database of its own and drops it at the end.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from app.db import migrate
from app.db.engine import driver_urls
from app.db.tables import Base

SWITCH = "MODELREG_TEST_DATABASE_URL"


def backend() -> str:
    url = os.environ.get(SWITCH, "")
    return "postgresql" if url.startswith("postgres") else "sqlite"


@contextmanager
def fresh_database(tmp_dir: Path, label: str = "t", server_url: str | None = None) -> Iterator[str]:
    """A migrated, empty database URL: a SQLite file in ``tmp_dir``, or a new database on the PostgreSQL server
    at ``server_url`` (default: the suite's switch), dropped afterwards."""
    server_url = os.environ.get(SWITCH, "") if server_url is None else server_url
    if not server_url.startswith("postgres"):
        url = f"sqlite:///{tmp_dir / f'modelreg-{label}.db'}"
        migrate.upgrade(url)
        yield url
        return
    name = f"modelreg_{label}_{secrets.token_hex(4)}"
    admin = create_engine(driver_urls(server_url)[1], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        if url in _engines:
            _engines.pop(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_engines: dict[str, Engine] = {}


def sync_engine(url: str) -> Engine:
    """One synchronous engine per database URL for the whole session (creating one costs ~10 ms)."""
    if url not in _engines:
        _engines[url] = create_engine(driver_urls(url)[1])
    return _engines[url]


# Every sequence of the schema back to 1, so ids start over after a wipe as they do on SQLite (where a table
# without AUTOINCREMENT reuses ids once emptied): the same test writes the same ids on both backends.
RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname = current_schema()")


def _clear(connection: Connection) -> None:
    """Delete every row, children first. On PostgreSQL the audit log's append-only triggers are bypassed for this
    transaction (replica mode skips ordinary triggers; the suite connects as a superuser)."""
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
    for table in reversed(Base.metadata.sorted_tables):
        connection.execute(table.delete())
    if postgresql:
        connection.execute(RESTART_SEQUENCES)


def _advance_sequences(connection: Connection, image: DatabaseImage) -> None:
    """On PostgreSQL, move each restored table's id sequence past its largest restored id."""
    for table in Base.metadata.sorted_tables:
        keys = [column for column in table.primary_key.columns if column.autoincrement is True]
        if connection.dialect.name != "postgresql" or len(keys) != 1 or not image.rows[table.name]:
            continue
        largest = max(row[keys[0].name] for row in image.rows[table.name])
        connection.execute(text("SELECT setval(pg_get_serial_sequence(:table, :column), :largest)"),
                           {"table": table.name, "column": keys[0].name, "largest": largest})


def wipe(url: str) -> None:
    """Delete every row, keeping the schema."""
    with sync_engine(url).begin() as connection:
        _clear(connection)


@dataclass(frozen=True)
class DatabaseImage:
    """Every row of every table, parents first: what a seeded database holds, restorable in one transaction."""

    rows: dict[str, list[dict[str, Any]]]


def capture(url: str) -> DatabaseImage:
    """The rows of every table as they are now."""
    with sync_engine(url).connect() as connection:
        return DatabaseImage({
            table.name: [dict(row) for row in connection.execute(
                select(table).order_by(*table.primary_key.columns)).mappings()]  # one order on every backend
            for table in Base.metadata.sorted_tables})


def restore(url: str, image: DatabaseImage) -> None:
    """Replace everything with ``image``, keeping primary keys, so ids handed out by the original writes hold."""
    with sync_engine(url).begin() as connection:
        _clear(connection)
        for table in Base.metadata.sorted_tables:
            if image.rows[table.name]:
                connection.execute(table.insert(), image.rows[table.name])
        _advance_sequences(connection, image)


# Tables that a refused call writes to by design: denials are audited (tests/audit/test_completeness.py).
AUDIT_TABLES = frozenset({"audit_events"})


def fingerprint(url: str, *, ignore: frozenset[str] = AUDIT_TABLES) -> dict[str, str]:
    """A digest of each table's rows (all columns, any order): equal fingerprints mean nothing was written."""
    digests = {}
    with sync_engine(url).connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in ignore:
                continue
            rows = sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests
