"""Agents: registration (admin) and lookup."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.deps import AdminDep, CurrentAgent, DatabaseDep, FeedsDep, PrincipalDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import AgentCreated, Items
from blackboard import telemetry
from blackboard.drafts import AgentDraft
from blackboard.records import Agent
from blackboard.services import agents
from blackboard.services.inbox import follow
from blackboard.store.outages import until_unavailable

router = APIRouter(
    route_class=CheckedRoute, prefix="/v1/agents", tags=["agents"], responses=ERROR_RESPONSES
)


@router.post("", status_code=201)
async def register_agent(draft: AgentDraft, _: AdminDep, db: DatabaseDep) -> AgentCreated:
    """Register an agent; the response carries its token, shown only this once."""
    agent, token = await db.run(lambda conn: agents.register(conn, draft=draft))
    return AgentCreated(**agent.model_dump(), token=token)


@router.get("")
async def list_agents(
    _: PrincipalDep,
    db: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most 1,000.")] = 100,
    after: Annotated[str | None, Query(description="Name to continue after.")] = None,
) -> Items[Agent]:
    """List agents by name."""
    async with db.connection() as conn:
        return Items(items=await agents.list_agents(conn, limit=limit, after=after))


@router.get("/me")
async def whoami(agent: CurrentAgent) -> Agent:
    """Return the calling agent."""
    return agent


@router.get("/me/events/stream", response_class=EventSourceResponse)
async def inbox(
    agent: CurrentAgent, db: DatabaseDep, feeds: FeedsDep
) -> AsyncIterator[ServerSentEvent]:
    """Stream what concerns you across every board, as Server-Sent Events: first the tasks
    you could claim now, then `task.available` as tasks become claimable for you and
    `turn.offered` as turns are offered to you. Reconnecting starts with a fresh snapshot."""
    with telemetry.SSE_SUBSCRIBERS.track_inprogress():
        async for item in until_unavailable(follow(db, feeds, agent=agent)):
            yield ServerSentEvent(
                event=item.kind,
                data={"board_id": str(item.board_id), "seq": item.seq, **item.data},
            )
