"""Fixtures for the client SDK: the real app in-process behind `AsyncClient`s."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from agents.client import AsyncClient
from api import create_app
from blackboard.config import Settings
from tests.support.api import ADMIN_TOKEN
from tests.support.clients import FAST, MakeClient


@pytest.fixture
async def asgi_app(settings: Settings) -> AsyncIterator[Any]:
    """The real app with its lifespan running (database pool, controller, reaper)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def make_client(asgi_app: Any) -> AsyncIterator[MakeClient]:
    """Build `AsyncClient`s on the in-process app: `make_client(token, transport=...)`."""
    made: list[AsyncClient] = []

    def make(
        token: str | None = ADMIN_TOKEN,
        *,
        wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
        **options: Any,
    ) -> AsyncClient:
        transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=asgi_app)
        if wrap is not None:
            transport = wrap(transport)
        client = AsyncClient("http://bb.test", token, transport=transport, backoff=FAST, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def admin(make_client: MakeClient) -> AsyncClient:
    """The operator."""
    return make_client()


@pytest.fixture
def new_agent(admin: AsyncClient, make_client: MakeClient) -> Callable[..., Awaitable[AsyncClient]]:
    """Register an agent and return a client acting as it."""

    async def make(name: str | None = None, capabilities: list[str] | None = None) -> AsyncClient:
        import uuid

        created = await admin.register_agent(
            name or f"agent-{uuid.uuid4().hex[:8]}", capabilities or []
        )
        return make_client(created.token)

    return make
