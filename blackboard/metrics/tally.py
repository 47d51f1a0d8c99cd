"""What a whole board's artifacts add up to, kept per process and read incrementally.

Artifact versions are append-only and their seqs become visible in order, so counts over
"every artifact up to seq N" never change: each process keeps them and reads only newer
versions. That turns the costliest board metrics (the interaction graph, entropy) from a
scan of every artifact into a read of the few published since the last call.
"""

import asyncio
from collections import Counter
from typing import TypeVar
from uuid import UUID

from blackboard.store import metrics as q
from blackboard.store.database import Conn

T = TypeVar("T")


class BoardTally:
    """Per board: versions published per author, and built-on edges between authors."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.published: Counter[UUID] = Counter()
        self.built_on: Counter[tuple[UUID, UUID]] = Counter()
        # Two requests catching up at once would count the same versions twice.
        self._lock = asyncio.Lock()

    async def catch_up(self, conn: Conn, *, board_id: UUID) -> None:
        """Count the versions published since the last catch-up."""
        async with self._lock:
            rows = await q.published_since(conn, board_id=board_id, after_seq=self.last_seq)
            for row in rows:
                if row["kind"] == "published":
                    self.published[row["producer"]] += row["n"]
                else:
                    self.built_on[(row["producer"], row["consumer"])] += row["n"]
            if rows:
                self.last_seq = rows[0]["last_seq"]


class Tallies:
    """A bounded cache of tallies, most recently used last."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: dict[object, object] = {}

    def get(self, key: object, make: type[T]) -> T:
        """Return the tally kept under `key`, new if there was none."""
        entry = self._entries.pop(key, None)
        if not isinstance(entry, make):
            entry = make()
        self._entries[key] = entry
        if len(self._entries) > self.size:
            del self._entries[next(iter(self._entries))]
        return entry
