"""Test fixtures: a real PostgreSQL (embedded by default), a migrated template database
copied per test, and the real app driven in-process over HTTP (httpx.ASGITransport).

Set BLACKBOARD_TEST_DATABASE_URL=postgresql://user:pw@host/postgres to use another server
(the user must be allowed to CREATE DATABASE).
"""

import itertools
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from api import create_app
from blackboard.config import Settings
from blackboard.store import migrate
from blackboard.store.embedded import EmbeddedPostgres

ADMIN_TOKEN = "bbadmin_test-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_counter = itertools.count()


def with_database(url: str, name: str) -> str:
    """Return `url` pointing at database `name` on the same server."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


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


def create_database(server_url: str, template: str | None = None) -> str:
    """Create a fresh database (a copy of `template` if given); return its URL."""
    name = f"bb_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    return with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    """Drop the database at `url`, disconnecting whoever is still on it."""
    name = make_url(url).database
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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


class Actors:
    """Shortcuts to create agents and boards through the API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def agent(
        self, name: str | None = None, capabilities: list[str] | None = None
    ) -> dict[str, Any]:
        """Register an agent; return its record plus `headers` for acting as it."""
        r = await self.client.post(
            "/v1/agents",
            json={"name": name or f"agent-{next(_counter)}", "capabilities": capabilities or []},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        agent: dict[str, Any] = r.json()
        agent["headers"] = {"Authorization": f"Bearer {agent['token']}"}
        return agent

    async def board(self, name: str | None = None) -> dict[str, Any]:
        """Create a board; return its record."""
        r = await self.client.post(
            "/v1/boards", json={"name": name or f"board-{next(_counter)}"}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        board: dict[str, Any] = r.json()
        return board


@pytest.fixture
def actors(client: httpx.AsyncClient) -> Actors:
    """Create agents and boards through the API."""
    return Actors(client)


def count_rows(db: psycopg.Connection[Any], table: str) -> int:
    """Return how many rows `table` holds."""
    row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def free_port() -> int:
    """Return a TCP port on loopback that was free a moment ago."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve_app(settings: Settings) -> AsyncIterator[Any]:
    """Serve the real app with uvicorn on a loopback port, in this event loop.

    For behaviour that needs real HTTP (streams, disconnects); yields `.url` and `.app`.
    """
    import asyncio
    from types import SimpleNamespace

    import uvicorn

    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn failed to start"
        await asyncio.sleep(0.02)
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[Any]:
    """The real app on a loopback port (see `serve_app`)."""
    async with serve_app(settings) as server:
        yield server


class SSE:
    """Reads Server-Sent Events from a streaming response, a few at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def read(self, count: int) -> list[dict[str, str]]:
        """Read the next `count` events (comments skipped): [{id, event, data}]."""
        events: list[dict[str, str]] = []
        current: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if current:
                    events.append(current)
                    current = {}
                    if len(events) == count:
                        break
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            current[name] = value[1:] if value.startswith(" ") else value
        return events


async def read_sse(response: httpx.Response, count: int) -> list[dict[str, str]]:
    """Read `count` events from a fresh SSE response."""
    return await SSE(response).read(count)
