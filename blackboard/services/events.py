"""Reading a board's event log."""

import asyncio
import time
from uuid import UUID

from blackboard.records import Event
from blackboard.services import boards
from blackboard.store import events as event_store
from blackboard.store.database import Database

POLL_INTERVAL_S = 0.05


async def read(
    db: Database,
    *,
    board_id: UUID,
    after: int,
    limit: int,
    kinds: list[str] | None,
    wait_s: float = 0.0,
) -> list[Event]:
    """Return events with seq > `after`; with `wait_s`, wait up to that long for one to exist."""
    deadline = time.monotonic() + wait_s
    async with db.connection() as conn:
        await boards.require(conn, board_id=board_id)
    while True:
        async with db.connection() as conn:
            events = await event_store.read(
                conn, board_id=board_id, after=after, limit=limit, kinds=kinds
            )
        if events or time.monotonic() >= deadline:
            return events
        await asyncio.sleep(min(POLL_INTERVAL_S, max(0.0, deadline - time.monotonic())))
