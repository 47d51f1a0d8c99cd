"""Error mapping: domain errors and framework errors to `{"error", "detail", ...}` responses."""

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import ErrorBody
from blackboard.errors import (
    BlackboardError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from blackboard.store.outages import is_unavailable

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[BlackboardError], int]] = [
    (NotFound, 404),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidInput, 422),
]

_HTTP_NAMES = {
    400: "BadRequest",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationFailed",
    503: "Unavailable",
}

# Documented on every route so that clients in other languages see the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [
        (400, "Malformed request"),
        (401, "Missing or invalid token"),
        (403, "Not allowed"),
        (404, "Unknown id"),
        (409, "Conflict with the current state"),
        (413, "Body too large"),
        (415, "Body is not JSON"),
        (422, "Validation failed"),
        (503, "The database is unavailable (DatabaseUnavailable; see Retry-After)"),
    ]
}


def error_response(
    status: int,
    error: str,
    detail: str,
    headers: dict[str, str] | None = None,
    /,
    **extra: Any,
) -> JSONResponse:
    """Return a response in the documented error shape."""
    return JSONResponse(
        {"error": error, "detail": detail, **extra}, status_code=status, headers=headers
    )


def status_of(exc: BlackboardError) -> int:
    """Return the HTTP status for a domain error."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BlackboardError)
    extra: dict[str, Any] = dict(exc.extra)
    if isinstance(exc, InvalidInput):
        extra["errors"] = [{"path": e.path, "message": e.message} for e in exc.errors]
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return error_response(status_of(exc), type(exc).__name__, exc.detail, headers, **extra)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(400, "MalformedJSON", "the request body is not valid JSON")
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type and any(tuple(p.get("loc", ())) == ("body",) for p in problems):
        return error_response(
            415, "UnsupportedMediaType", "send the body as JSON with Content-Type: application/json"
        )
    return error_response(
        422,
        "ValidationFailed",
        "the request does not match the expected shape",
        errors=[
            {"path": _pointer(tuple(p.get("loc", ()))), "message": str(p.get("msg", ""))}
            for p in problems
        ],
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
    detail = exc.detail if isinstance(exc.detail, str) else name
    headers = dict(exc.headers or {})
    if exc.status_code == 413:
        detail = "the request body is larger than this service accepts"
    if exc.status_code == 405:
        # Starlette names only the first matching route's methods; name every route's
        from api.methods import allowed_for  # (imported here: it builds on this module)

        headers["Allow"] = allowed_for(request) or headers.get("Allow", "")
    return error_response(exc.status_code, name, detail, headers or None)


RETRY_AFTER_S = 1
"""What a 503 asks the client to wait: outages are seconds long or end in an operator."""


async def _database(request: Request, exc: Exception) -> JSONResponse:
    if not is_unavailable(exc):
        return await _unexpected(request, exc)
    return error_response(
        503,
        "DatabaseUnavailable",
        "the database is not reachable right now; try again shortly (a write cut off "
        "mid-way may have been made: retry it with the same Idempotency-Key)",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "InternalError", "the service failed; this is a bug")


def install(app: FastAPI) -> None:
    """Register the error handlers on `app`."""
    app.add_exception_handler(BlackboardError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(psycopg.OperationalError, _database)
    app.add_exception_handler(psycopg.InterfaceError, _database)
    app.add_exception_handler(Exception, _unexpected)
