"""Alembic migrations, run programmatically: ``modelreg db upgrade`` and ``modelreg db current``."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine

from .engine import driver_urls, is_sqlite

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, output: io.StringIO | None = None) -> Config:
    """An Alembic configuration for ``url`` that needs no alembic.ini on disk."""
    config = Config(stdout=output) if output is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", driver_urls(url)[1].replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (creating the SQLite file's folder if needed)."""
    if is_sqlite(url):
        database = driver_urls(url)[1].split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str:
    """The revision the database is at, as Alembic prints it."""
    output = io.StringIO()
    command.current(alembic_config(url, output), verbose=False)
    return output.getvalue().strip() or "(no revision: run `modelreg db upgrade`)"


def sync_engine(url: str) -> Engine:
    """A synchronous engine, for tools and tests that inspect the database directly."""
    return create_engine(driver_urls(url)[1])
