"""Resource subscriptions, fed from the board's event feed.

On the 2026-07-28 protocol a subscription is one `subscriptions/listen` request whose
response is the stream: it lives on one connection, so in one worker, and needs no
session shared between requests or workers. That worker's board feed (PostgreSQL
LISTEN/NOTIFY, as for the REST event stream) sees every publish, whichever worker wrote
it; while a stream listens to a board's resources, a follower turns the board's artifact
events into `notifications/resources/updated` for the key and the board.
"""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated

from api.mcp.resources import artifact_uri, board_of, board_uri, key_uri
from blackboard.background import cancel_and_wait
from blackboard.errors import NotFound
from blackboard.services import boards, events
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import Feeds
from blackboard.store.database import Database

ARTIFACT_EVENTS = EventFilter(kinds=frozenset({"artifact.published", "artifact.retracted"}))


class BoardListening:
    """Serves `subscriptions/listen`, following each board some open stream listens to."""

    def __init__(self, db: Database, feeds: Feeds) -> None:
        self.db = db
        self.feeds = feeds
        self.bus = InMemorySubscriptionBus()
        self.handler = ListenHandler(self.bus)
        self._listeners: Counter[UUID] = Counter()
        self._followers: dict[UUID, asyncio.Task[None]] = {}

    async def listen(
        self, ctx: ServerRequestContext[Any], params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        """One listen stream, its boards followed while it is open."""
        uris = params.notifications.resource_subscriptions or []
        wanted = {b for b in map(board_of, uris) if b is not None}
        async with self._following(wanted):
            return await self.handler(ctx, params)

    @contextlib.asynccontextmanager
    async def _following(self, board_ids: set[UUID]) -> AsyncIterator[None]:
        # The cursor is taken before the stream is acknowledged: whatever is published
        # once the client holds the acknowledgement is after it, so it is heard.
        for board_id in board_ids:
            self._listeners[board_id] += 1
            if board_id not in self._followers:
                after = await self._head(board_id)
                if after is not None and board_id not in self._followers:
                    self._followers[board_id] = asyncio.create_task(self._follow(board_id, after))
        try:
            yield
        finally:
            for board_id in board_ids:
                self._listeners[board_id] -= 1
                if self._listeners[board_id] <= 0:
                    del self._listeners[board_id]
                    follower = self._followers.pop(board_id, None)
                    if follower is not None:
                        follower.cancel()

    async def _head(self, board_id: UUID) -> int | None:
        try:
            async with self.db.connection() as conn:
                return (await boards.get(conn, board_id=board_id)).last_seq
        except NotFound:
            return None  # as for any URI that names nothing: honored, never fires

    async def _follow(self, board_id: UUID, after: int) -> None:
        async for batch in events.stream_batches(
            self.feeds, board_id=board_id, after=after, only=ARTIFACT_EVENTS
        ):
            for key in dict.fromkeys(str(e.data.get("key")) for e in batch):
                await self.bus.publish(ResourceUpdated(uri=key_uri(board_id, key)))
            for e in batch:  # a retracted version is marked so: its own resource changed
                if e.kind == "artifact.retracted" and e.subject_id is not None:
                    await self.bus.publish(
                        ResourceUpdated(uri=artifact_uri(board_id, e.subject_id))
                    )
            if batch:
                await self.bus.publish(ResourceUpdated(uri=board_uri(board_id)))

    async def close(self) -> None:
        """End every stream gracefully and stop following."""
        self.handler.close()
        await cancel_and_wait(list(self._followers.values()))
        self._followers.clear()
