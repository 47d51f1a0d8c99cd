"""Reading a board's event log: pages, long-polls and live streams."""

import time
from collections.abc import AsyncIterator
from uuid import UUID

from blackboard.records import Event
from blackboard.services import boards
from blackboard.services.feed import EventFilter, Feeds
from blackboard.store.database import Database


async def read(
    db: Database,
    feeds: Feeds,
    *,
    board_id: UUID,
    after: int,
    limit: int,
    only: EventFilter,
    wait_s: float = 0.0,
    with_body: bool = False,
) -> tuple[list[Event], int]:
    """Return events after `after` and the cursor to continue from.

    With `wait_s`, wait up to that long for a matching event to exist (a long-poll).
    With `with_body`, each `artifact.published` event carries its version's body.
    """
    events, cursor = await _read(db, feeds, board_id, after, limit, only, wait_s)
    if with_body:
        events = await feeds.with_bodies(board_id, events)
    return events, cursor


async def _read(
    db: Database,
    feeds: Feeds,
    board_id: UUID,
    after: int,
    limit: int,
    only: EventFilter,
    wait_s: float,
) -> tuple[list[Event], int]:
    async with db.connection() as conn:
        await boards.require(conn, board_id=board_id)
    deadline = time.monotonic() + wait_s
    cursor = after
    events, cursor = await feeds.read(board_id, after=cursor, limit=limit, only=only)
    if events or wait_s <= 0:
        return events, cursor
    with feeds.following():
        while True:
            await feeds.wait(board_id, cursor, min(deadline - time.monotonic(), feeds.fallback_s))
            events, cursor = await feeds.read(board_id, after=cursor, limit=limit, only=only)
            if events or deadline - time.monotonic() <= 0:
                return events, cursor


async def stream_batches(
    feeds: Feeds,
    *,
    board_id: UUID,
    after: int,
    only: EventFilter,
    idle_s: float | None = None,
    with_body: bool = False,
) -> AsyncIterator[list[Event]]:
    """Yield every matching event after `after`, in order, as it is committed; forever.

    Events come in batches: all that are ready when the subscriber asks, so a subscriber
    that fell behind catches up in a few large writes instead of one write per event.
    An empty batch means nothing new arrived within `idle_s` (at most the feed's fallback
    interval). With `with_body`, each `artifact.published` event carries its version's body."""
    wait_s = feeds.fallback_s if idle_s is None else min(idle_s, feeds.fallback_s)
    feeds.subscribers += 1
    feeds.follow()
    try:
        events, cursor = await feeds.read(board_id, after=after, limit=500, only=only)
        while True:
            if not events:
                await feeds.wait(board_id, cursor, wait_s)
                events, cursor = await feeds.read(board_id, after=cursor, limit=500, only=only)
            yield await feeds.with_bodies(board_id, events) if with_body and events else events
            # A live subscriber has just been sent the newest event: it waits at once,
            # rather than first reading nothing (a read per event per subscriber saved).
            events = []
            if not feeds.nothing_after(board_id, cursor):
                events, cursor = await feeds.read(board_id, after=cursor, limit=500, only=only)
    finally:
        feeds.unfollow()
        feeds.subscribers -= 1


async def stream(
    feeds: Feeds, *, board_id: UUID, after: int, only: EventFilter
) -> AsyncIterator[Event]:
    """Yield every matching event after `after`, one at a time (see `stream_batches`)."""
    async for batch in stream_batches(feeds, board_id=board_id, after=after, only=only):
        for event in batch:
            yield event
