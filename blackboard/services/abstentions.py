"""Abstentions: an agent saying a scope, role or task is outside its competence."""

from uuid import UUID, uuid4

from blackboard.records import Abstention, Agent
from blackboard.services import boards
from blackboard.store import abstentions as abstention_store
from blackboard.store import events as event_store
from blackboard.store.database import Conn
from blackboard.store.events import EventDraft


async def abstain(
    conn: Conn,
    *,
    board_id: UUID,
    agent: Agent,
    reason: str,
    scope: str | None = None,
    role: str | None = None,
    task_id: UUID | None = None,
    confidence: float | None = None,
    extra: dict[str, object] | None = None,
) -> Abstention:
    """Record the abstention and its `agent.abstained` event; return it."""
    await boards.require(conn, board_id=board_id)
    abstention_id = uuid4()
    data: dict[str, object] = {
        "scope": scope,
        "role": role,
        "task_id": str(task_id) if task_id else None,
        "reason": reason,
        "confidence": confidence,
        **(extra or {}),
    }
    [seq] = await event_store.append(
        conn,
        board_id=board_id,
        events=[
            EventDraft(
                "agent.abstained", actor_id=agent.id, subject_id=task_id or abstention_id, data=data
            )
        ],
    )
    return await abstention_store.insert(
        conn,
        abstention_id=abstention_id,
        board_id=board_id,
        agent_id=agent.id,
        scope=scope,
        role=role,
        task_id=task_id,
        reason=reason,
        confidence=confidence,
        seq=seq,
    )


async def list_abstentions(
    conn: Conn,
    *,
    board_id: UUID,
    agent_id: UUID | None,
    role: str | None,
    task_id: UUID | None,
    after: int,
    limit: int,
) -> tuple[list[Abstention], dict[str, int], dict[str, int]]:
    """Return a page of abstentions and the counts per agent and per role over all of them."""
    await boards.require(conn, board_id=board_id)
    items = await abstention_store.list_abstentions(
        conn,
        board_id=board_id,
        agent_id=agent_id,
        role=role,
        task_id=task_id,
        after=after,
        limit=limit,
    )
    by_agent, by_role = await abstention_store.counts(
        conn, board_id=board_id, agent_id=agent_id, role=role, task_id=task_id
    )
    return items, by_agent, by_role
