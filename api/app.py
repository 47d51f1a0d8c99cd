"""The application factory."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from fastapi import FastAPI
from starlette.types import ASGIApp

import blackboard
from api import a2a, errors, front, inspector, prometheus
from api.body_limit import DeclaredSizeLimit
from api.mcp import McpEndpoint
from api.methods import ConcretePathsFirst, PathMethods
from api.prometheus import RequestMetrics
from api.routes import (
    agents,
    artifacts,
    boards,
    claims,
    events,
    guards,
    health,
    metrics,
    runs,
    tasks,
    types,
    webhooks,
)
from api.routes.events import sse_frame
from api.services import Services
from api.stream_guard import StalledStreamGuard
from api.token_cache import TokenCache
from blackboard.background import cancel_and_wait
from blackboard.config import Settings
from blackboard.controller.driver import Controller
from blackboard.services.board_writes import BoardWrites
from blackboard.services.feed import Feeds
from blackboard.services.presence import Presence
from blackboard.services.reaper import run_reaper
from blackboard.services.roller import run_roller
from blackboard.services.schemas import SchemaCache, register_standard_types
from blackboard.services.webhooks import DeliveryPolicy, run_deliveries
from blackboard.store.database import Database


def _admin_token(settings: Settings) -> str:
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    if settings.admin_token_file.exists():
        return settings.admin_token_file.read_text().strip()
    raise RuntimeError(
        "no admin token: set BLACKBOARD_ADMIN_TOKEN, or start with `blackboard serve`, "
        f"which generates one in {settings.admin_token_file}"
    )


class _App(FastAPI):
    """FastAPI with our pure ASGI middleware outermost: `StalledStreamGuard` (outside the
    others, so that it hands streams the server's own send), `RequestMetrics` (outside the
    rest, so that it records what they answer too), `ConcretePathsFirst` and
    `DeclaredSizeLimit`.

    FastAPI's own body limiter wraps every user middleware and, for an oversized
    Content-Length, replaces whatever response is sent with a plain-text 413; so the
    error-shaped 413 must be answered before the request reaches it.
    """

    def __init__(self, *, stream_stall_timeout_s: float, **kwargs: Any) -> None:
        self.stream_stall_timeout_s = stream_stall_timeout_s
        # set when the stack is built; read by the 405 handler (`api.methods.allowed_for`)
        self.path_methods: PathMethods | None = None
        super().__init__(**kwargs)

    # `create_app` builds the same routes whatever the settings, so every app of a process
    # shares one spec. Building it walks every route and model: slow enough that paying it
    # once per app (the 405 table below needs it) dominated a test suite that builds
    # hundreds of apps.
    _shared_spec: ClassVar[dict[str, Any] | None] = None

    def openapi(self) -> dict[str, Any]:
        """The spec, with every error documented as the JSON it is: FastAPI gives a
        route's errors its response class's media type (text/event-stream for streams)."""
        if _App._shared_spec is None:
            spec = super().openapi()
            for operations in spec.get("paths", {}).values():
                for operation in operations.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if status[0] in "45" and "application/json" not in content and content:
                            response["content"] = {"application/json": content.popitem()[1]}
            _App._shared_spec = spec
        self.openapi_schema = _App._shared_spec
        return _App._shared_spec

    def build_middleware_stack(self) -> ASGIApp:
        assert self.max_body_size is not None
        methods = ConcretePathsFirst(
            DeclaredSizeLimit(super().build_middleware_stack(), self.max_body_size),
            self.openapi().get("paths", {}),
        )
        self.path_methods = methods.paths
        return StalledStreamGuard(RequestMetrics(methods), timeout_s=self.stream_stall_timeout_s)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the Blackboard API app for `settings` (default: from the environment)."""
    settings = settings or Settings()
    if not settings.database_url:
        raise RuntimeError("the API needs BLACKBOARD_DATABASE_URL (`blackboard serve` sets it)")
    database = Database(
        settings.database_url,
        pool_size=settings.pool_size,
        timeout_s=settings.pool_timeout_s,
        pooler=settings.pooler,
    )
    presence = Presence(settings.presence_interval_s)
    feeds = Feeds(database, fallback_s=settings.fallback_poll_s, encode=sse_frame)
    schemas = SchemaCache()
    services = Services(
        settings=settings,
        database=database,
        schemas=schemas,
        token_cache=TokenCache(),
        presence=presence,
        feeds=feeds,
        board_writes=BoardWrites(),
        admin_token=_admin_token(settings),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.open()
        async with database.transaction() as conn:
            await register_standard_types(conn)
        listener = feeds.listener(settings.direct_database_url or "")
        services.running.listener = listener
        background = [
            asyncio.create_task(listener.run()),
            asyncio.create_task(run_reaper(database, interval_s=settings.reaper_interval_s)),
            asyncio.create_task(presence.run(database)),
            asyncio.create_task(run_roller(database, interval_s=settings.rollup_interval_s)),
            asyncio.create_task(
                run_deliveries(
                    database,
                    feeds,
                    DeliveryPolicy(
                        timeout_s=settings.webhook_timeout_s,
                        max_attempts=settings.webhook_max_attempts,
                        backoff_s=settings.webhook_backoff_s,
                        poll_s=settings.fallback_poll_s,
                    ),
                )
            ),
        ]
        if settings.controller_in_process:
            controller = Controller(database, schemas, lease_s=settings.run_lease_s)
            services.running.controller = controller
            background.append(asyncio.create_task(controller.run_forever()))
        # What exists now (modules, the app, its schemas, the pool) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise take ~70 ms
        # and stall whichever request happens to trigger one.
        gc.freeze()
        try:
            async with mcp_endpoint.running():
                yield
        finally:
            gc.unfreeze()
            await cancel_and_wait(background)
            await presence.flush(database)
            await database.close()

    app = _App(
        title="Blackboard",
        version=blackboard.__version__,
        summary="Typed, versioned artifacts on a shared board, for LLM agents.",
        lifespan=lifespan,
        docs_url=None,  # served offline by `front`
        redoc_url=None,
        max_body_size=settings.max_body_bytes,
        stream_stall_timeout_s=settings.stream_stall_timeout_s,
    )
    app.state.services = services  # read only through `api.services.services_of`
    errors.install(app)
    # Routes are matched in order, every route of a router before the next (1-2 us each
    # here), so the busiest come first: claiming and completing tasks, then publishing.
    # Only one pair depends on the order: metrics before runs, as /v1/runs/compare must
    # not be read as /v1/runs/{run_id} (tests/api/test_routes.py).
    # The routers' own routes are added, not the routers: `include_router` makes FastAPI
    # build every route's handler state again for each app, on its first requests (slow
    # enough to dominate a suite that builds an app per test), while these routes were
    # built once, with their routers' tags, prefixes and responses, and serve any app.
    for module in (
        tasks, artifacts, events, health, claims, guards, metrics, runs, agents, boards, types,
        webhooks, prometheus, inspector,
    ):  # fmt: skip
        app.router.routes.extend(module.router.routes)
    app.mount("/inspector/static", inspector.static, name="inspector-static")
    a2a.mount(app, services)
    app.router.routes.extend(front.router.routes)
    app.mount(front.ASSETS_PATH, front.assets, name="docs-assets")
    mcp_endpoint = McpEndpoint(app, services)  # MCP at /mcp, acting through the same services
    return app
