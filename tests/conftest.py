"""Test fixtures: a real PostgreSQL (embedded by default), a migrated template database
copied per test, and the real app driven in-process over HTTP (httpx.ASGITransport).

Set BLACKBOARD_TEST_DATABASE_URL=postgresql://user:pw@host/postgres to use another server
(the user must be allowed to CREATE DATABASE).
"""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from api import create_app
from blackboard.config import Settings
from blackboard.store import migrate
from blackboard.store.embedded import EmbeddedPostgres
from tests.support.api import ADMIN_TOKEN, Actors
from tests.support.databases import create_database, drop_database, with_database
from tests.support.servers import serve_app


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a maintenance database on a real PostgreSQL server."""
    external = os.environ.get("BLACKBOARD_TEST_DATABASE_URL")
    if external:
        yield external
        return
    with tempfile.TemporaryDirectory(prefix="bb-test-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp) / "pgdata")
        embedded.start()
        try:
            yield embedded.url("postgres")
        finally:
            embedded.stop()


@pytest.fixture(scope="session")
def template_db(server_url: str) -> str:
    """Name of a database migrated to head, copied for each test that needs one."""
    name = f"bb_template_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    migrate.upgrade(with_database(server_url, name))
    return name


@pytest.fixture
def database_url(server_url: str, template_db: str) -> Iterator[str]:
    """URL of a private, migrated, empty database for this test."""
    url = create_database(server_url, template_db)
    yield url
    drop_database(server_url, url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app on this test's database."""
    return Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        data_dir=tmp_path,
        pool_size=40,
        # Tests burst far past the pool (1,000 posts at once) on a machine that may be
        # busy: here a request waits for a connection rather than being shed with a 503,
        # which tests/api/test_database_outage.py checks with the default.
        pool_timeout_s=10,
        max_body_bytes=256 * 1024,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real app, started (lifespan included) on this test's database."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as c:
        yield c


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A direct connection to this test's database, to check what was (not) written."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def actors(client: httpx.AsyncClient) -> Actors:
    """Create agents and boards through the API."""
    return Actors(client)


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[Any]:
    """The real app on a loopback port (see `serve_app`)."""
    async with serve_app(settings) as server:
        yield server
