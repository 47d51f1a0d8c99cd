"""MCP fixtures: the real service on a loopback port, and the `mcp` SDK's own client."""

from typing import Any

import pytest

from tests.support.mcp_clients import McpClients, mcp_client_at


@pytest.fixture
def service(live_server: Any) -> Any:
    """The real app served by uvicorn: MCP needs real HTTP streams."""
    return live_server


@pytest.fixture
def mcp_client(service: Any) -> McpClients:
    """`mcp_client(token)`: an SDK client acting with that agent's token."""
    return mcp_client_at(service.url)
