"""Board feeds of this process against the test database, and events committed beside
them as another process would commit them."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from blackboard.drafts import BoardDraft
from blackboard.services import boards
from blackboard.services.feed import Feeds
from blackboard.store.database import Database
from blackboard.store.events import CHANNEL
from blackboard.store.listener import Listener


async def until(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Return once `condition()` holds (failing after `timeout_s`)."""

    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout_s)


@asynccontextmanager
async def board_feeds(
    database_url: str, name: str, fallback_s: float = 30.0
) -> AsyncIterator[tuple[Feeds, Listener, UUID]]:
    """Feeds (a slow fallback poll unless told) and their running listener, in this
    process, and a new board."""
    db = Database(database_url)
    await db.open()
    feeds = Feeds(db, fallback_s=fallback_s)
    listener = feeds.listener(database_url)
    running = asyncio.create_task(listener.run())
    try:
        async with db.transaction() as conn:
            board = await boards.create(conn, draft=BoardDraft(name=name))
        yield feeds, listener, board.id
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await db.close()


def append_events(
    database_url: str,
    board: UUID,
    kind: str,
    count: int = 1,
    *,
    data: dict[str, object] | None = None,
    notify: bool = False,
) -> list[int]:
    """Commit `count` events to the board's log in one transaction, as another process
    would; with `notify`, send the notification its writes send."""
    with psycopg.connect(database_url, autocommit=True) as writer:
        rows = writer.execute(
            "WITH r AS (UPDATE board_seqs SET last_seq = last_seq + %(n)s"
            "           WHERE board_id = %(board)s RETURNING last_seq)"
            " INSERT INTO events (board_id, seq, kind, data)"
            " SELECT %(board)s, r.last_seq - %(n)s + g, %(kind)s, %(data)s"
            " FROM r, generate_series(1, %(n)s) AS g"
            " RETURNING seq",
            {"board": board, "n": count, "kind": kind, "data": Jsonb(data or {})},
        ).fetchall()
        seqs = sorted(row[0] for row in rows)
        if notify:
            writer.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{board}:{seqs[-1]}"))
    return seqs


def append_event(database_url: str, board: UUID, kind: str) -> int:
    """Commit one event to the board's log as another process would (no notification)."""
    [seq] = append_events(database_url, board, kind)
    return seq
