"""The database switch: SQLite by default, PostgreSQL when MODELREG_TEST_DATABASE_URL is set.

With PostgreSQL, each test session creates a fresh database of its own and drops it at the end.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
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
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wipe(url: str) -> None:
    """Delete every row, children first, keeping the schema. On PostgreSQL the audit log's append-only triggers
    are bypassed for this session (replica mode skips ordinary triggers; the suite connects as a superuser)."""
    engine = create_engine(driver_urls(url)[1])
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()
