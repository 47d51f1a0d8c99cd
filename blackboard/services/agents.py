"""Agent registration and lookup."""

from uuid import UUID, uuid4

from blackboard.drafts import AgentDraft
from blackboard.errors import NotFound
from blackboard.records import Agent
from blackboard.services import credentials
from blackboard.store import agents as agent_store
from blackboard.store.database import Conn


async def register(conn: Conn, *, draft: AgentDraft) -> tuple[Agent, str]:
    """Return the new agent and its token; the token is not kept and cannot be shown again."""
    agent_id = uuid4()
    token = credentials.issue_agent_token(agent_id)
    agent = await agent_store.insert(
        conn,
        agent_id=agent_id,
        name=draft.name,
        capabilities=sorted(set(draft.capabilities)),
        description=draft.description,
        token_hash=credentials.hash_token(token),
        model=draft.model,
    )
    return agent, token


async def authenticate(conn: Conn, *, token: str) -> Agent | None:
    """Return the agent this token belongs to, or None."""
    agent_id = credentials.agent_id_of(token)
    if agent_id is None:
        return None
    found = await agent_store.get_with_token_hash(conn, agent_id=agent_id)
    if found is None:
        # Hash anyway so that unknown ids and wrong secrets take the same time.
        credentials.token_matches(token, b"\0" * 32)
        return None
    agent, stored_hash = found
    return agent if credentials.token_matches(token, stored_hash) else None


async def get(conn: Conn, *, agent_id: UUID) -> Agent:
    """Return the agent or raise NotFound."""
    agent = await agent_store.get(conn, agent_id=agent_id)
    if agent is None:
        raise NotFound("no agent with this id", agent_id=str(agent_id))
    return agent


async def list_agents(conn: Conn, *, limit: int, after: str | None) -> list[Agent]:
    """Return agents by name."""
    return await agent_store.list_all(conn, limit=limit, after_name=after)
