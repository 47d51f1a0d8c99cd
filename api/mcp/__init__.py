"""The board as MCP tools, resources and a prompt, at `/mcp` on the service's own port.

Streamable HTTP in the SDK's stateless mode: no request depends on an earlier one having
reached the same process, so `serve --workers N` can hand consecutive requests of one
client to different workers. Subscriptions are `subscriptions/listen` streams
(`listening.py`), each one request long."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.mcp.backend import Backend
from api.mcp.gate import BearerGate, principal_of
from api.mcp.listening import BoardListening
from api.mcp.server import build_server
from api.mcp.service import ServiceBackend
from api.services import Services

PATH = "/mcp"


class McpEndpoint:
    """The MCP endpoint of one app: its server, session managers and subscriptions."""

    def __init__(self, app: FastAPI, services: Services) -> None:
        self.listening = BoardListening(services.database, services.feeds)

        async def backend_for(ctx: ServerRequestContext[Any]) -> Backend:
            request = ctx.request
            assert isinstance(request, Request)  # HTTP is this server's only transport
            return ServiceBackend(services, principal_of(request.scope))

        self.server = build_server(backend_for, self.listening.listen)
        limit = services.settings.max_body_bytes
        # A listen request's response is a stream (SSE); every other call is answered with
        # one JSON body, in the request's own task, which costs less per call.
        self.streams = StreamableHTTPSessionManager(
            app=self.server, stateless=True, max_request_body_size=limit
        )
        self.calls = StreamableHTTPSessionManager(
            app=self.server, stateless=True, json_response=True, max_request_body_size=limit
        )
        # first: FastAPI tries the routes in order, and the REST routes, with their path
        # parameters, would each be tried (1-2 us each) before a request reaches this one
        app.router.routes.insert(0, Route(PATH, endpoint=BearerGate(self._route), methods=["POST"]))

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = next((v for k, v in scope["headers"] if k == b"mcp-method"), None)
        manager = self.streams if method == b"subscriptions/listen" else self.calls
        await manager.handle_request(scope, receive, send)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve MCP while the app runs (its lifespan).

        The session manager's task group lives in a task of its own: a task group must
        be left by the task that entered it, and a lifespan may be entered and left by
        different tasks (test fixtures do)."""
        started, stop = asyncio.Event(), asyncio.Event()

        async def run() -> None:
            async with self.streams.run(), self.calls.run():
                started.set()
                await stop.wait()

        runner = asyncio.create_task(run())
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait([runner, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if runner.done():
            runner.result()  # it failed to start: say why
        try:
            yield
        finally:
            await self.listening.close()
            stop.set()
            await runner
