"""The pages a person opens in a browser: `/` leads to the inspector, and the API's
reference, Swagger UI at /docs and ReDoc at /redoc, is served offline.

FastAPI's own pages load their scripts from a CDN, so they stay blank on a machine without
internet; these pages take the same scripts from the `fastapi-offline` package, which ships
pinned copies of the Swagger UI and ReDoc bundles, and serve them from the service itself.
"""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, RedirectResponse

ASSETS_PATH = "/docs-assets"
"""Where the Swagger UI and ReDoc bundles are served (mount `assets` there)."""

assets = StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static")

router = APIRouter(include_in_schema=False)


@router.get("/")
async def front_door(request: Request) -> RedirectResponse:
    """The service's root is the inspector (which asks for a token first)."""
    return RedirectResponse(f"{_prefix(request)}/inspector/", status_code=307)


def _prefix(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every operation, tried out against this service."""
    root = _prefix(request)
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — API",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the same reference as one long page."""
    root = _prefix(request)
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — API reference",
        redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
