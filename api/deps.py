"""Request dependencies: the database, settings, schema cache, and who is calling."""

from dataclasses import dataclass
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.services import services_of
from blackboard.config import Settings
from blackboard.errors import Forbidden, Unauthenticated
from blackboard.records import Agent
from blackboard.services import agents, boards, credentials
from blackboard.services.feed import Feeds
from blackboard.services.schemas import SchemaCache
from blackboard.store.database import Database


@dataclass(frozen=True)
class Principal:
    """Who is calling: the operator (admin token) or one agent."""

    agent: Agent | None

    @property
    def is_admin(self) -> bool:
        """Return whether this is the operator."""
        return self.agent is None


# Plain `def` dependencies would each cost a thread-pool hop per request.
async def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    return services_of(request).settings


async def get_database(request: Request) -> Database:
    """Return the app's database."""
    return services_of(request).database


async def get_feeds(request: Request) -> Feeds:
    """Return the app's live board feeds."""
    return services_of(request).feeds


async def get_schemas(request: Request) -> SchemaCache:
    """Return the app's compiled-schema cache."""
    return services_of(request).schemas


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SchemasDep = Annotated[SchemaCache, Depends(get_schemas)]
FeedsDep = Annotated[Feeds, Depends(get_feeds)]


async def get_principal(request: Request, creds: HTTPAuthorizationCredentials | None) -> Principal:
    """Return who is calling; 401 without a valid bearer token."""
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthenticated("send Authorization: Bearer <token>")
    token = creds.credentials
    services = services_of(request)
    if credentials.admin_token_matches(token, services.admin_token):
        return Principal(agent=None)
    agent = services.token_cache.get(token)
    if agent is None:
        async with services.database.connection() as conn:
            agent = await agents.authenticate(conn, token=token)
        if agent is None:
            raise Unauthenticated("the bearer token is not valid")
        services.token_cache.put(token, agent)
    services.presence.seen(agent.id)
    return Principal(agent=agent)


def admitted(principal: Principal, needs: Literal["anyone", "agent", "admin"]) -> Principal:
    """`principal`, if it may do what `needs` (else Forbidden): for REST and MCP alike."""
    if needs == "admin" and not principal.is_admin:
        raise Forbidden("this needs the admin token")
    if needs == "agent" and principal.agent is None:
        raise Forbidden("this needs an agent token: the author is always the calling agent")
    return principal


class _Caller(HTTPBearer):
    """Who is calling, as one dependency that is also the OpenAPI bearer scheme.

    One node rather than a chain (bearer header -> principal -> agent or admin): FastAPI
    resolves every node of every request anew, and every route but /healthz has one.
    """

    def __init__(self, needs: Literal["anyone", "agent", "admin"]) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="HTTPBearer",
            description="An agent token, or the admin token.",
        )
        self.needs = needs

    async def principal(self, request: Request) -> Principal:
        return admitted(await get_principal(request, await super().__call__(request)), self.needs)


class _AnyCaller(_Caller):
    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return await self.principal(request)


class _AgentCaller(_Caller):
    async def __call__(self, request: Request) -> Agent:  # type: ignore[override]
        agent = (await self.principal(request)).agent
        assert agent is not None
        return agent


PrincipalDep = Annotated[Principal, Depends(_AnyCaller("anyone"))]
AdminDep = Annotated[Principal, Depends(_AnyCaller("admin"))]
CurrentAgent = Annotated[Agent, Depends(_AgentCaller("agent"))]


async def existing_board(board_id: UUID, request: Request, _: PrincipalDep) -> UUID:
    """The path's board, checked (after the caller is) before a streaming response starts:
    a 404, not a 200 that breaks off."""
    async with services_of(request).database.connection() as conn:
        await boards.require(conn, board_id=board_id)
    return board_id


ExistingBoard = Annotated[UUID, Depends(existing_board)]
