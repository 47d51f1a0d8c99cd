"""MCP on `blackboard serve --workers 2`: the requests of one client may land on either
worker, and a subscriber hears of a publish whichever worker took each."""

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ResourceUpdated

from api.mcp.resources import key_uri
from tests.support.mcp_scene import finding, make_scene
from tests.support.processes import Server, connections_by_worker, two_workers, workers_of
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


async def one_connection_per_request(stack: AsyncExitStack, url: str, token: str) -> Client:
    """An SDK client that opens a new connection for every request: SO_REUSEPORT spreads
    connections over the workers, so one client's requests go to both."""
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        limits=httpx2.Limits(max_keepalive_connections=0),
    )
    await stack.enter_async_context(http)
    client = Client(streamable_http_client(f"{url}/mcp", http_client=http))
    return await stack.enter_async_context(client)


async def scenario(server: Server, port: int) -> None:
    scene = await make_scene(server.url)
    board_id = scene.board["id"]
    watched = key_uri(board_id, "pump/seal")
    async with AsyncExitStack() as stack:
        writer = await one_connection_per_request(stack, server.url, scene.b["token"])
        streams = []
        for _ in range(12):  # all on one worker: 1 in 2,048
            listener = await one_connection_per_request(stack, server.url, scene.a["token"])
            streams.append(
                await stack.enter_async_context(listener.listen(resource_subscriptions=[watched]))
            )
        held = connections_by_worker(server, port)
        assert len(held) == 2, f"open listen streams per worker: {dict(held)}"

        # one client's consecutive calls, each on a connection of its own
        for version in range(1, 6):
            published = await writer.call_tool(
                "publish_artifact",
                finding(board_id, key="pump/seal", expected_version=version - 1),
            )
            assert not published.is_error, published
            assert published.structured_content["version"] == version
        heard = await asyncio.wait_for(
            asyncio.gather(*(anext(aiter(s)) for s in streams)), timeout=15
        )
    # every listener, on either worker, heard of the key's new version
    assert heard == [ResourceUpdated(uri=watched)] * len(streams)


def test_mcp_works_across_workers(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    server = two_workers(tmp_path, port, database_url)
    try:
        assert len(workers_of(server)) == 2
        asyncio.run(scenario(server, port))
    finally:
        assert server.stop() == 0
