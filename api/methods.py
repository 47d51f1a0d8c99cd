"""Which methods a path serves: a 405 with the whole `Allow` list, whatever route answers.

Starlette answers 405 with the methods of the first route whose path matched, so a path
served by two routes (GET and POST /v1/agents) named only one. And a concrete path that a
templated one also matches (POST /v1/boards/{id}/artifacts/batch, GET
/v1/boards/{id}/artifacts/{key}) is, for any other method, the templated route's: GET
.../batch read an artifact named "batch". OpenAPI matches concrete paths first; so do we.
"""

import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


class PathMethods:
    """Every path template of the app's OpenAPI spec and the methods it serves."""

    def __init__(self, spec_paths: dict[str, dict[str, Any]]) -> None:
        templates = []
        for path, operations in spec_paths.items():
            methods = {m.upper() for m in operations if m.upper() in HTTP_METHODS}
            if "GET" in methods:
                methods.add("HEAD")  # Starlette serves HEAD wherever GET is
            pattern = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "$")
            templates.append((path, pattern, frozenset(methods)))
        # most specific first: fewer parameters, then longer literal text
        self._templates = sorted(
            templates,
            key=lambda t: (t[0].count("{"), -len(re.sub(r"\{[^}]*\}", "", t[0]))),
        )
        # concrete paths that a more general template also matches: checked on every
        # request, so only these few, not every template
        self._shadowed = [
            (pattern, allowed)
            for path, pattern, allowed in self._templates
            if any(
                other != path and other_pattern.match(path)
                for other, other_pattern, _ in self._templates
            )
        ]

    def allowed(self, path: str) -> frozenset[str] | None:
        """Return the methods of the most specific template matching `path`, or None."""
        for _, pattern, allowed in self._templates:
            if pattern.match(path):
                return allowed
        return None

    def refused(self, method: str, path: str) -> frozenset[str] | None:
        """Return the allowed methods if `path` is a shadowed concrete path that does not
        serve `method` (the request must be answered 405); else None."""
        for pattern, allowed in self._shadowed:
            if pattern.match(path):
                return None if method in allowed else allowed
        return None


def allow_header(allowed: Iterable[str]) -> str:
    """Return an `Allow` header value."""
    return ", ".join(sorted(allowed))


class ConcretePathsFirst:
    """ASGI middleware: a request for a concrete path is answered by that path's routes
    only (405 for other methods), not by a templated route that also matches it."""

    def __init__(self, app: ASGIApp, spec_paths: dict[str, dict[str, Any]]) -> None:
        self.app = app
        self.paths = PathMethods(spec_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            allowed = self.paths.refused(scope["method"], scope["path"])
            if allowed is not None:
                response = error_response(
                    405,
                    "MethodNotAllowed",
                    f"{scope['method']} is not served here",
                    {"Allow": allow_header(allowed)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def allowed_for(request: Request) -> str | None:
    """Return the full `Allow` value for the request's path (for a 405 Starlette raised)."""
    paths: PathMethods | None = getattr(request.app, "path_methods", None)
    if paths is None:
        return None
    allowed = paths.allowed(request.scope["path"])
    return allow_header(allowed) if allowed else None
