"""Migrations are the schema: head matches the models, and every revision goes down and up."""

from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool

from blackboard.store import migrate
from blackboard.store.database import sqlalchemy_url
from blackboard.store.tables import metadata
from tests.support.databases import create_database, drop_database


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    url = create_database(server_url)
    yield url
    drop_database(server_url, url)


def schema_differences(url: str) -> list[object]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows} - {"alembic_version"}


def test_upgrade_to_head_matches_the_models_exactly(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert schema_differences(empty_database) == []


def test_downgrade_to_base_then_upgrade_again(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    expected = tables(empty_database)
    assert expected >= {"agents", "boards", "artifacts", "events"}
    migrate.downgrade(empty_database, "base")
    assert tables(empty_database) == set()
    migrate.upgrade(empty_database)
    assert tables(empty_database) == expected
    assert schema_differences(empty_database) == []
