"""Following one task live: the board's events about it, from the board's feed, until the
one that ends it. Nothing is kept per task: any process can follow any task, because the
feed reads the board's log (woken by NOTIFY) wherever the task was written."""

from collections.abc import AsyncIterator
from uuid import UUID

from blackboard.records import Event
from blackboard.services import boards, events
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import Feeds
from blackboard.store import events as event_store
from blackboard.store.database import Conn

TASK_EVENTS = EventFilter(
    kinds=frozenset(
        {
            "task.claimed",
            "task.completed",
            "task.failed",
            "task.lease_expired",
            "task.cancelled",
            "agent.abstained",
        }
    )
)
ENDED = frozenset({"completed", "failed", "cancelled"})


async def start(conn: Conn, *, board_id: UUID) -> int:
    """Where to follow a task of the board from: its log's last seq now (NotFound if there
    is no such board). Read it before the task: whatever the task read then shows, later
    events are after it."""
    await boards.require(conn, board_id=board_id)
    return await event_store.last_seq(conn, board_id=board_id)


def ends(event: Event) -> bool:
    """Whether the task is done for good with this event (a lapsed last lease is followed
    by its `task.failed`, which ends it)."""
    return event.kind != "task.lease_expired" and event.data.get("status") in ENDED


async def watch(feeds: Feeds, *, board_id: UUID, task_id: UUID, after: int) -> AsyncIterator[Event]:
    """Yield the events about the task after seq `after`, in order, as they are committed,
    up to and including the one that ends it."""
    async for event in events.stream(feeds, board_id=board_id, after=after, only=TASK_EVENTS):
        if event.subject_id != task_id:
            continue
        yield event
        if ends(event):
            return
