"""Who may look: the inspector accepts the same tokens as the API, and keeps a login in a
server-side session.

A browser cannot attach `Authorization: Bearer` to a page load (nor to an EventSource).
The login form checks a token exactly as the API does (the same `get_principal`) and
starts a session: a random id in an HttpOnly, SameSite=Strict cookie scoped to the
inspector, its SHA-256 in `inspector_sessions` (shared by every API process), with an
expiry. Logging out ends the session there, not only in the browser. A session ends
too when the token it was opened with stops being valid. A header still works, for curl
and tests.
"""

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import Principal, get_principal
from api.services import services_of
from blackboard.errors import Unauthenticated
from blackboard.services import credentials
from blackboard.store import agents as agent_store
from blackboard.store import inspector_sessions as sessions

COOKIE = "bb_inspector"
PREFIX = "/inspector"
LOGIN = f"{PREFIX}/login"
SESSION_S = 12 * 3600
"""How long a login lasts."""


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


async def authenticate(request: Request, token: str) -> Principal | None:
    """Return who `token` belongs to (the admin or an agent), None if nobody."""
    try:
        return await get_principal(
            request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        )
    except Unauthenticated:
        return None


async def _principal(request: Request) -> Principal | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return await authenticate(request, value.strip())
    session_id = request.cookies.get(COOKIE)
    return await _session_principal(request, session_id) if session_id else None


async def _session_principal(request: Request, session_id: str) -> Principal | None:
    """Return who the live session `session_id` belongs to, if their token still works."""
    services = services_of(request)
    async with services.database.connection() as conn:
        found = await sessions.find(conn, id_hash=credentials.hash_token(session_id))
        if found is None:
            return None
        if found["agent_id"] is None:
            admin = credentials.hash_token(services.admin_token)
            valid = hmac.compare_digest(found["token_hash"], admin)
            return Principal(agent=None) if valid else None
        agent = await agent_store.get_with_token_hash(conn, agent_id=found["agent_id"])
    if agent is None or not hmac.compare_digest(found["token_hash"], agent[1]):
        return None
    return Principal(agent=agent[0])


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


async def start_session(
    response: Response, request: Request, principal: Principal, token: str
) -> None:
    """Open a session for whoever `token` proved to be; its id goes in the cookie: not
    readable by scripts, never sent by other sites' requests, only over https when the
    page came over https."""
    session_id = secrets.token_urlsafe(32)
    async with services_of(request).database.connection() as conn:
        await sessions.begin(
            conn,
            id_hash=credentials.hash_token(session_id),
            agent_id=principal.agent.id if principal.agent else None,
            token_hash=credentials.hash_token(token),
            ttl_s=SESSION_S,
        )
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=SESSION_S,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def end_session(response: Response, request: Request) -> None:
    """End the request's session, server-side, and forget its cookie."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        async with services_of(request).database.connection() as conn:
            await sessions.end(conn, id_hash=credentials.hash_token(session_id))
    response.delete_cookie(
        COOKIE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


Viewer = Annotated[Principal, Depends(page_viewer)]
StreamViewer = Annotated[Principal, Depends(stream_viewer)]
