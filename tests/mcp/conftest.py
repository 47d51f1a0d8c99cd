"""MCP fixtures: the real service on a loopback port, and the `mcp` SDK's own client."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


@pytest.fixture
def service(live_server: Any) -> Any:
    """The real app served by uvicorn: MCP needs real HTTP streams."""
    return live_server


McpClients = Callable[[str], AbstractAsyncContextManager[Client]]


def mcp_client_at(url: str) -> McpClients:
    """Open an SDK client on `url`'s /mcp with a bearer token."""

    @asynccontextmanager
    async def connect(token: str) -> AsyncIterator[Client]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as c:
            yield c

    return connect


@pytest.fixture
def mcp_client(service: Any) -> McpClients:
    """`mcp_client(token)`: an SDK client acting with that agent's token."""
    return mcp_client_at(service.url)
