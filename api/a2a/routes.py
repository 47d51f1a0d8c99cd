"""A2A on the app: the Agent Card at the well-known path, and the SDK's JSON-RPC endpoint
(with 0.3 method names too) behind our bearer authentication."""

from typing import Any

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers.response_helpers import agent_card_to_dict, build_error_response
from a2a.server.routes import DefaultServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
from a2a.utils.errors import InvalidRequestError
from fastapi import FastAPI
from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.a2a.card import RPC_PATH, agent_card
from api.a2a.errors import shaped
from api.a2a.handler import BoardHandler
from api.deps import get_principal
from api.services import Services
from blackboard.errors import BlackboardError, Forbidden, Unauthenticated
from blackboard.records import Agent

_BEARER = HTTPBearer(auto_error=False)


class _CallerContext(DefaultServerCallContextBuilder):
    """The SDK's call context, with the agent our endpoint authenticated."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state["agent"] = request.state.a2a_agent
        return context


async def _agent(request: Request) -> Agent:
    principal = await get_principal(request, await _BEARER(request))
    if principal.agent is None:
        raise Forbidden("A2A needs an agent token: a task belongs to the agent that posts it")
    return principal.agent


async def _refusal(request: Request, exc: BlackboardError) -> Response:
    """A JSON-RPC error for a caller we do not let in, with the HTTP status REST gives it."""
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    request_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(request_id, str | int) or isinstance(request_id, bool):
        request_id = None
    name = type(exc).__name__
    error = InvalidRequestError(exc.detail, data=shaped(name, exc.detail))
    unauthenticated = isinstance(exc, Unauthenticated)
    return JSONResponse(
        build_error_response(request_id, error),
        status_code=401 if unauthenticated else 403,
        headers={"WWW-Authenticate": "Bearer"} if unauthenticated else None,
    )


def mount(app: FastAPI, services: Services) -> None:
    """Add the Agent Card and the JSON-RPC endpoint, acting through `services`, to `app`."""
    dispatcher = JsonRpcDispatcher(
        BoardHandler(services.database, services.feeds, services.board_writes),
        context_builder=_CallerContext(),
        enable_v0_3_compat=True,
    )

    async def rpc(request: Request) -> Response:
        try:
            request.state.a2a_agent = await _agent(request)
        except (Unauthenticated, Forbidden) as exc:
            return await _refusal(request, exc)
        return await dispatcher.handle_requests(request)

    async def card(request: Request) -> Response:
        # Our own route rather than the SDK's: the interface URL is absolute, and only the
        # request knows where the service was reached.
        base = str(request.base_url).rstrip("/")
        return JSONResponse(agent_card_to_dict(agent_card(base)))

    app.add_route(RPC_PATH, rpc, methods=["POST"], include_in_schema=False)
    app.add_route(AGENT_CARD_WELL_KNOWN_PATH, card, methods=["GET"], include_in_schema=False)
