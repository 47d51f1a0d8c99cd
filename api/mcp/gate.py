"""Every MCP request authenticates as a REST request does: the same bearer token, the
same check (`api.deps.get_principal`), and a 401 in the documented error shape without
a valid one. The caller rides along in the ASGI scope, where the tools find it."""

from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import Principal, get_principal
from api.errors import error_response, status_of
from blackboard.errors import BlackboardError, Unauthenticated

PRINCIPAL = "blackboard.principal"
"""The scope key under which the authenticated caller travels."""


def principal_of(scope: Scope) -> Principal:
    """The caller the gate admitted for this request."""
    principal: Principal = scope[PRINCIPAL]
    return principal


class BearerGate:
    """ASGI middleware in front of the MCP endpoint: no valid token, no MCP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        creds = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if scheme else None
        try:
            scope[PRINCIPAL] = await get_principal(request, creds)
        except BlackboardError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
            refusal = error_response(status_of(exc), type(exc).__name__, exc.detail, headers)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
