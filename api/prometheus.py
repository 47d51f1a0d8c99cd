"""Prometheus for the service itself: `GET /metrics`, and the middleware that counts and
times every HTTP request (the instruments are in `blackboard.telemetry`).

Requests are labelled by route *template* (`/v1/boards/{board_id}/artifacts`), never by the
raw path: ids in paths would make a new series per board and artifact. The template is the
matched route's own path, so routers carry their whole prefix themselves
(`APIRouter(prefix=...)`; a prefix given to `include_router` would be missing from it).
"""

import time
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.routing import CheckedRoute
from blackboard import telemetry

UNMATCHED = "unmatched"
"""The route of requests answered before or without routing: unknown paths, and bodies
refused for their declared size."""

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(tags=["operations"], route_class=CheckedRoute)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """This process's instruments in the Prometheus text format.

    Unauthenticated: scrapers usually carry no token, and it exposes counts only."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Pure ASGI middleware (a `BaseHTTPMiddleware` would buffer streams): records each
    HTTP request's method, route template, status and duration once it has ended."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Each (method, route, status) series once looked up: prometheus_client's labels()
        # validates and locks on every call, twice per request. The label values are
        # bounded (known methods, route templates, statuses).
        self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before responding

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # any method string can arrive; only known ones become label values
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = getattr(scope.get("route"), "path", UNMATCHED)
            labels = (method, route, str(status))
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = (
                    telemetry.HTTP_REQUESTS.labels(*labels),
                    telemetry.HTTP_DURATION.labels(*labels),
                )
            series[0].inc()
            series[1].observe(time.perf_counter() - started)
