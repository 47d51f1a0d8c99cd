"""The route class of every router: refuses a NUL character in the URL's parameters.

PostgreSQL text cannot hold NUL, so a parameter carrying one could only fail later, in
the database, as a 500. Checked by the route's handler rather than by an app-wide
dependency: FastAPI resolves every dependency of every request anew, while this costs
a byte search, and the parameters are decoded only when it finds a NUL.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from blackboard.errors import FieldError, InvalidInput

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def reject_nul_in_url(request: Request) -> None:
    """422 naming each path or query parameter that contains the NUL character."""
    scope = request.scope
    raw = scope.get("raw_path", b"") + scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw and "\x00" not in scope["path"]:
        return  # the common case, decided without decoding anything
    params = [("path", k, v) for k, v in request.path_params.items()]
    params += [("query", k, v) for k, v in request.query_params.multi_items()]
    errors = [
        FieldError(f"/{where}/{name}", "must not contain the NUL character (\\u0000)")
        for where, name, value in params
        if isinstance(value, str) and "\x00" in value
    ]
    if errors:
        raise InvalidInput("a URL parameter contains the NUL character", errors=errors)


class CheckedRoute(APIRoute):
    """An APIRoute whose handler first refuses a NUL character in the URL."""

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler: the check runs before any dependency or the endpoint."""
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            reject_nul_in_url(request)
            return await handler(request)

        return checked
