"""What a whole board's artifacts add up to, kept per process and read incrementally.

Artifact versions are append-only and their seqs become visible in order, so counts over
"every artifact up to seq N" never change: each process keeps them and reads only newer
versions. That turns the costliest board metrics (interactions, duplicates, entropy) from a
scan of every artifact into a read of the few published since the last call.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from blackboard.store import metrics as q
from blackboard.store.database import Conn

T = TypeVar("T")


IDS_PER_GROUP = 50
SEQ_BITS = 48  # a board's seqs stay far below 2**48
SEQ_MASK = (1 << SEQ_BITS) - 1


@dataclass
class Copies:
    """Versions that share one content hash, once a second agent has published it."""

    first_seq: int
    authors: set[UUID]
    versions: int
    seqs: list[int]  # the first IDS_PER_GROUP


class BoardTally:
    """Per board: versions per author, built-on edges between authors, and content hashes.

    Memory: about 150 bytes per version, kept only for the boards whose metrics this
    process was asked about (see Tallies). What is kept per version is a bytes key and an
    int, which the garbage collector does not track: scanning a hundred thousand containers
    at every full collection would stall whichever request triggered it.
    """

    def __init__(self) -> None:
        self.last_seq = 0
        self.published: Counter[UUID] = Counter()
        self.built_on: Counter[tuple[UUID, UUID]] = Counter()
        self.authors: list[UUID] = []
        self._author_index: dict[UUID, int] = {}
        # hash → its first version, as author index << SEQ_BITS | seq, while one author has
        # published it; its later versions by that author (rare) in `repeats`
        self.single: dict[bytes, int] = {}
        self.repeats: dict[bytes, list[int]] = {}
        # hash → Copies, once a second author has published it
        self.copies: dict[bytes, Copies] = {}
        # Two requests catching up at once would count the same versions twice.
        self._lock = asyncio.Lock()

    async def catch_up(self, conn: Conn, *, board_id: UUID) -> None:
        """Count the versions published since the last catch-up."""
        async with self._lock:
            rows = await q.versions_since(conn, board_id=board_id, after_seq=self.last_seq)
            if not rows:
                return
            newest = rows[-1]["seq"]
            edges = await q.built_on_between(
                conn, board_id=board_id, after_seq=self.last_seq, up_to_seq=newest
            )
            for edge in edges:
                self.built_on[(edge["producer"], edge["consumer"])] += edge["n"]
            for row in rows:
                author = self._author(row["author_id"])
                self.published[self.authors[author]] += 1
                self._count_hash(bytes.fromhex(row["content_hash"]), author, row["seq"])
            self.last_seq = newest

    def _author(self, agent_id: UUID) -> int:
        index = self._author_index.get(agent_id)
        if index is None:
            index = self._author_index[agent_id] = len(self.authors)
            self.authors.append(agent_id)
        return index

    def _count_hash(self, key: bytes, author: int, seq: int) -> None:
        copies = self.copies.get(key)
        if copies is None:
            first = self.single.get(key)
            if first is None:
                self.single[key] = author << SEQ_BITS | seq
                return
            first_author, first_seq = first >> SEQ_BITS, first & SEQ_MASK
            if first_author == author:
                self.repeats.setdefault(key, []).append(seq)
                return
            del self.single[key]
            seqs = [first_seq, *self.repeats.pop(key, [])]
            copies = self.copies[key] = Copies(
                first_seq=first_seq,
                authors={self.authors[first_author]},
                versions=len(seqs),
                seqs=seqs[:IDS_PER_GROUP],
            )
        copies.authors.add(self.authors[author])
        copies.versions += 1
        if len(copies.seqs) < IDS_PER_GROUP:
            copies.seqs.append(seq)

    def duplicated(self, limit: int) -> tuple[list[tuple[str, Copies]], int]:
        """Return the first `limit` duplicated hashes, oldest first, and how many versions
        beyond the first every duplicated hash holds together."""
        oldest = sorted(self.copies.items(), key=lambda item: item[1].first_seq)[:limit]
        extra = sum(c.versions - 1 for c in self.copies.values())
        return [(key.hex(), copies) for key, copies in oldest], extra


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
