"""The real app over real HTTP on loopback, and reading its Server-Sent Events."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from api import create_app
from blackboard.config import Settings


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
