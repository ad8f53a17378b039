"""Alembic environment: migrations ship inside the package and run against DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None  # models.db.alembic_config sets it
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # batch mode lets later migrations alter columns on SQLite
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
