"""Who may look: the inspector accepts the same tokens as the API, from a cookie.

A browser cannot attach `Authorization: Bearer` to a page load (nor to an EventSource),
so the login form puts the token in an HttpOnly, SameSite=Strict cookie scoped to the
inspector. Each request checks it exactly as the API checks a bearer token (the same
`get_principal`); a header still works, for curl and tests.
"""

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import Principal, get_principal
from blackboard.errors import Unauthenticated

COOKIE = "bb_inspector"
PREFIX = "/inspector"
LOGIN = f"{PREFIX}/login"


class LoginRequired(Exception):
    """A page was asked for without a valid token: send the browser to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def location(self) -> str:
        """Return the login page's URL, remembering where the viewer was going."""
        return f"{LOGIN}?next={quote(self.next_path, safe='/')}"


def safe_next(path: str | None) -> str:
    """Return `path` if it is an inspector page, else the boards list (no open redirects)."""
    if path and path.startswith(PREFIX + "/") and not any(s in path for s in ("\\", "//", "..")):
        return path
    return PREFIX + "/"


def presented_token(request: Request) -> str | None:
    """Return the token the request carries: a bearer header, else the inspector cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


async def authenticate(request: Request, token: str) -> Principal | None:
    """Return who `token` belongs to (the admin or an agent), None if nobody."""
    try:
        return await get_principal(
            request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        )
    except Unauthenticated:
        return None


async def _principal(request: Request) -> Principal | None:
    token = presented_token(request)
    return await authenticate(request, token) if token else None


async def page_viewer(request: Request) -> Principal:
    """The viewer of an HTML page; LoginRequired (a redirect to the form) without one."""
    principal = await _principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return principal


async def stream_viewer(request: Request) -> Principal:
    """The viewer of an event stream: a 401, as the API answers (a redirect to an HTML
    form would mean nothing to an EventSource)."""
    principal = await _principal(request)
    if principal is None:
        raise Unauthenticated("log in to the inspector first (or send Authorization: Bearer)")
    return principal


def set_session(response: Response, request: Request, token: str) -> None:
    """Keep `token` in the inspector's cookie: not readable by scripts, never sent by other
    sites' requests, only over https when the page came over https."""
    response.set_cookie(
        COOKIE,
        token,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session(response: Response, request: Request) -> None:
    """Forget the token."""
    response.delete_cookie(
        COOKIE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


Viewer = Annotated[Principal, Depends(page_viewer)]
StreamViewer = Annotated[Principal, Depends(stream_viewer)]
