"""An agent's inbox: what concerns it across all boards, on one connection.

On connect it lists the open tasks the agent could claim right now (so nothing that
happened while it was away is missed), then follows every board live and passes on
tasks that become claimable for it (posted, or back in the pool after an expired lease,
a retryable failure or another agent's abstention) and turns offered to it.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from blackboard.records import Agent
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import Feeds
from blackboard.store import events as event_store
from blackboard.store import tasks as task_store
from blackboard.store.database import Database

SNAPSHOT_LIMIT = 500
_WATCHED = EventFilter(
    kinds=frozenset(
        {"task.posted", "task.lease_expired", "task.failed", "agent.abstained", "turn.offered"}
    )
)


@dataclass(frozen=True)
class InboxItem:
    """One thing for the agent: `task.available` (with the task) or `turn.offered`."""

    kind: str
    board_id: UUID
    seq: int | None
    data: dict[str, Any]


async def follow(db: Database, feeds: Feeds, *, agent: Agent) -> AsyncIterator[InboxItem]:
    """Yield the agent's inbox: a snapshot of claimable tasks, then live items, forever."""
    async with db.connection() as conn:
        cursors = await event_store.board_heads(conn)
        snapshot = await task_store.claimable(
            conn, agent_id=agent.id, capabilities=agent.capabilities, limit=SNAPSHOT_LIMIT
        )
    for task in snapshot:
        yield InboxItem(
            "task.available", task.board_id, None, {"task": task.model_dump(mode="json")}
        )
    feeds.subscribers += 1
    feeds.follow()
    try:
        while True:
            changed = feeds.any_changed
            moved = [b for b, feed in feeds.boards() if feed.hint > cursors.get(b, 0)]
            for board_id in moved:
                async for item in _board_items(db, feeds, agent, board_id, cursors):
                    yield item
            if not moved:
                try:
                    await asyncio.wait_for(changed.wait(), timeout=feeds.fallback_s)
                except TimeoutError:
                    # the fallback: ask the database which boards moved, in case a
                    # notification was lost
                    async with db.connection() as conn:
                        heads = await event_store.board_heads(conn)
                    for board_id, head in heads.items():
                        if head > cursors.get(board_id, 0):
                            feeds.board(board_id).hint = max(feeds.board(board_id).hint, head)
    finally:
        feeds.unfollow()
        feeds.subscribers -= 1


async def _board_items(
    db: Database, feeds: Feeds, agent: Agent, board_id: UUID, cursors: dict[UUID, int]
) -> AsyncIterator[InboxItem]:
    events, cursors[board_id] = await feeds.read(
        board_id, after=cursors.get(board_id, 0), limit=500, only=_WATCHED
    )
    for event in events:
        if event.kind == "turn.offered":
            if event.data.get("agent_id") == str(agent.id):
                yield InboxItem("turn.offered", board_id, event.seq, event.data)
            continue
        if event.kind == "agent.abstained" and not event.data.get("returned_to_pool"):
            continue
        if event.subject_id is None or event.actor_id == agent.id:
            continue
        async with db.connection() as conn:
            tasks = await task_store.claimable(
                conn,
                agent_id=agent.id,
                capabilities=agent.capabilities,
                limit=1,
                task_id=event.subject_id,
            )
        for task in tasks:
            yield InboxItem(
                "task.available", board_id, event.seq, {"task": task.model_dump(mode="json")}
            )
