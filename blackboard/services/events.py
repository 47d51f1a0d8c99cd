"""Reading a board's event log: pages, long-polls and live streams."""

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from blackboard.records import Event
from blackboard.services import boards
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import BATCH, Feeds
from blackboard.services.parking import Write
from blackboard.store.database import Database

T = TypeVar("T", list[Event], bytes)


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


async def _follow(
    feeds: Feeds,
    board_id: UUID,
    after: int,
    idle_s: float | None,
    read: Callable[[int], Awaitable[tuple[T, int]]],
    park: Callable[[int, float | None], Awaitable[int]] | None = None,
) -> AsyncIterator[T]:
    """Yield what `read(cursor)` returns (a batch and the cursor after it) each time the
    board may have moved on, forever; an empty batch when nothing came within `idle_s`.

    With `park`, a subscriber that has everything waits by `park(cursor, idle_s)`, which
    writes to it meanwhile and returns the cursor written up to (see Feeds.park)."""
    wait_s = feeds.fallback_s if idle_s is None else min(idle_s, feeds.fallback_s)
    feeds.subscribers += 1
    feeds.follow()
    try:
        batch, cursor = await read(after)
        while True:
            if not batch:
                if park is not None and feeds.nothing_after(board_id, cursor):
                    cursor = await park(cursor, idle_s)
                else:
                    await feeds.wait(board_id, cursor, wait_s)
                batch, cursor = await read(cursor)
            yield batch
            # A live subscriber has just been sent the newest event: it waits at once,
            # rather than first reading nothing (a read per event per subscriber saved).
            if feeds.nothing_after(board_id, cursor):
                batch = batch[:0]
            else:
                batch, cursor = await read(cursor)
    finally:
        feeds.unfollow()
        feeds.subscribers -= 1


def stream_batches(
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

    async def read(cursor: int) -> tuple[list[Event], int]:
        batch, cursor = await feeds.read(board_id, after=cursor, limit=BATCH, only=only)
        return (await feeds.with_bodies(board_id, batch) if with_body and batch else batch), cursor

    return _follow(feeds, board_id, after, idle_s, read)


def stream_frames(
    feeds: Feeds,
    *,
    board_id: UUID,
    after: int,
    only: EventFilter,
    idle_s: float | None = None,
    write: Write | None = None,
) -> AsyncIterator[bytes]:
    """`stream_batches`, each batch as its events' frames joined (see Feeds.frames): what
    a stream writes, shared by the subscribers at the same cursor.

    With `write` (straight to the subscriber's connection), the feed writes the frames of
    new events itself while the subscriber is caught up; what this yields is then only
    what it reads on its own: its start, and its catching up after a slow patch."""

    def read(cursor: int) -> Awaitable[tuple[bytes, int]]:
        return feeds.frames(board_id, after=cursor, limit=BATCH, only=only)

    def park(cursor: int, timeout_s: float | None) -> Awaitable[int]:
        assert write is not None
        return feeds.park(board_id, cursor=cursor, only=only, write=write, timeout_s=timeout_s)

    return _follow(feeds, board_id, after, idle_s, read, park if write is not None else None)


async def stream(
    feeds: Feeds, *, board_id: UUID, after: int, only: EventFilter
) -> AsyncIterator[Event]:
    """Yield every matching event after `after`, one at a time (see `stream_batches`)."""
    async for batch in stream_batches(feeds, board_id=board_id, after=after, only=only):
        for event in batch:
            yield event
