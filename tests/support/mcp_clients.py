"""Clients of the MCP endpoint: the `mcp` SDK's own, with an agent's bearer token."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

McpClients = Callable[[str], AbstractAsyncContextManager[Client]]


def mcp_client_at(url: str) -> McpClients:
    """Open an SDK client on `url`'s /mcp with a bearer token."""

    @asynccontextmanager
    async def connect(token: str) -> AsyncIterator[Client]:
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as c:
            yield c

    return connect
