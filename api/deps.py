"""Request dependencies: the database, settings, schema cache, and who is calling."""

import time
from dataclasses import dataclass
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from blackboard.config import Settings
from blackboard.errors import Forbidden, Unauthenticated
from blackboard.records import Agent
from blackboard.services import agents, boards, credentials
from blackboard.services.feed import Feeds
from blackboard.services.presence import Presence
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


class TokenCache:
    """Recently authenticated agent tokens, so that a busy agent costs no lookup per request.

    Keyed by the token's SHA-256, never the token itself. Entries live `ttl_s` seconds.
    """

    def __init__(self, ttl_s: float = 30.0, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[float, Agent]] = {}

    def get(self, token: str) -> Agent | None:
        """Return the cached agent for `token` if still fresh."""
        entry = self._entries.get(credentials.hash_token(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, agent: Agent) -> None:
        """Remember that `token` belongs to `agent`."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[credentials.hash_token(token)] = (time.monotonic() + self.ttl_s, agent)


# Plain `def` dependencies would each cost a thread-pool hop per request.
async def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    """Return the app's database."""
    db: Database = request.app.state.database
    return db


async def get_feeds(request: Request) -> Feeds:
    """Return the app's live board feeds."""
    feeds: Feeds = request.app.state.feeds
    return feeds


async def get_schemas(request: Request) -> SchemaCache:
    """Return the app's compiled-schema cache."""
    cache: SchemaCache = request.app.state.schemas
    return cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SchemasDep = Annotated[SchemaCache, Depends(get_schemas)]
FeedsDep = Annotated[Feeds, Depends(get_feeds)]


async def get_principal(request: Request, creds: HTTPAuthorizationCredentials | None) -> Principal:
    """Return who is calling; 401 without a valid bearer token."""
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthenticated("send Authorization: Bearer <token>")
    token = creds.credentials
    admin_token: str = request.app.state.admin_token
    if credentials.admin_token_matches(token, admin_token):
        return Principal(agent=None)
    cache: TokenCache = request.app.state.token_cache
    agent = cache.get(token)
    if agent is None:
        db: Database = request.app.state.database
        async with db.connection() as conn:
            agent = await agents.authenticate(conn, token=token)
        if agent is None:
            raise Unauthenticated("the bearer token is not valid")
        cache.put(token, agent)
    presence: Presence = request.app.state.presence
    presence.seen(agent.id)
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
    db: Database = request.app.state.database
    async with db.connection() as conn:
        await boards.require(conn, board_id=board_id)
    return board_id


ExistingBoard = Annotated[UUID, Depends(existing_board)]
