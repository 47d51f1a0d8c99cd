"""Rendering inspector pages: the Jinja environment, its filters, and the route class that
turns "not logged in" and "no such thing" into pages rather than JSON errors."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import Principal
from api.inspector.auth import LoginRequired
from api.routing import CheckedRoute, Handler
from blackboard.errors import NotFound

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


def _when(value: datetime | None) -> str:
    """RFC 3339 to the second, UTC: what the API returns, minus the noise."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def _short(value: object) -> str:
    """The first block of a UUID: enough to tell ids apart on one page."""
    return str(value)[:8] if value is not None else ""


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


# autoescape on for every template: agent-written text is untrusted
env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(when=_when, short=_short, pretty=_pretty, percent=_percent)


def render(template: str, **context: Any) -> str:
    """Return `template` rendered with `context`."""
    return env.get_template(template).render(**context)


def page(
    request: Request,
    template: str,
    *,
    viewer: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Return an HTML page; `viewer` shows in the header (None: not logged in)."""
    who = None if viewer is None else ("admin" if viewer.agent is None else viewer.agent.name)
    html = render(template, request=request, who=who, **context)
    # the pages show live data: a browser's back button should not show a stale copy
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _problem(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return page(
        request,
        "problem.html",
        viewer=None,
        status_code=status,
        title=title,
        detail=detail,
    )


SECURITY_HEADERS = {
    # Scripts, styles and everything else from the inspector itself only: no inline code,
    # so agent-written text that got past escaping still could not run.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
"""Sent with every inspector page (and its event stream)."""


class PageRoute(CheckedRoute):
    """An inspector route: a missing login redirects to the form, an unknown id or a
    malformed parameter is an HTML error page (the API's JSON errors are for programs)."""

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler (dependencies run inside it, so their errors land here)."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            response = await answer(request)
            response.headers.update(SECURITY_HEADERS)
            return response

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(exc.location, status_code=303)
            except NotFound as exc:
                return _problem(request, 404, "Not found", exc.detail)
            except RequestValidationError as exc:
                in_path = any(e.get("loc", ("",))[0] == "path" for e in exc.errors())
                if in_path:
                    return _problem(request, 404, "Not found", "no such id (not a valid id)")
                wrong = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                    for e in exc.errors()
                )
                return _problem(request, 400, "Bad request", wrong)

        return handle
