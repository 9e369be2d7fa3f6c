"""Alembic environment: runs migrations on a synchronous connection to the configured database."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from app.db.tables import Base

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK = 0x6D6F64656C726567  # "modelreg": the advisory lock key migrations hold on PostgreSQL


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection") or engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together each run `modelreg serve`'s upgrade: one migrates while the others
                # wait here, then find the database at head (PostgreSQL's DDL is transactional; the lock is held
                # until this transaction commits). SQLite has one writer at a time anyway.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
