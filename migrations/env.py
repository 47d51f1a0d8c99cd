"""Alembic environment: target metadata from blackboard's tables, URL from the caller."""

from alembic import context
from sqlalchemy import create_engine, pool

from blackboard.store.database import sqlalchemy_url
from blackboard.store.tables import metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from blackboard.config import Settings

        url = Settings().database_url
    if not url:
        raise RuntimeError(
            "no database URL: set BLACKBOARD_DATABASE_URL or use `blackboard migrate`"
        )
    return sqlalchemy_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
