"""Group commit for publishes: concurrent publishes to one board share one statement.

Every write to a board is serialised on the board's seq lock (store/events.py), so on a
busy board the lock — not the CPU — decides throughput. While one publish statement for a
board is running, the publishes for that board that arrive meanwhile wait here and then
go to the database together, as one statement. Each still gets its own versions, seqs and
events, in arrival order; the lock is taken once per group instead of once per publish.

A group is all or nothing in SQL, but requests must succeed or fail on their own: when a
group fails (a version conflict, an idempotency race, a key's type), each of its
publishes is run again alone, so that every request gets exactly its own outcome.
"""

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from blackboard.store import artifact_writes as writes
from blackboard.store.artifact_writes import NewVersion
from blackboard.store.database import Database

MAX_GROUP = 1_000  # versions per statement


@dataclass
class _Pending:
    versions: list[NewVersion]
    where: list[str]
    done: asyncio.Future[list[dict[str, Any]]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class PublishCoalescer:
    """Per process: queues publishes per board and writes each queue in groups."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queues: dict[UUID, deque[_Pending]] = defaultdict(deque)
        self._draining: set[UUID] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # held so they are not collected
        self.groups = 0
        self.grouped = 0

    async def publish(
        self, *, board_id: UUID, versions: list[NewVersion], where: list[str]
    ) -> list[dict[str, Any]]:
        """Write the versions (alone or grouped with others); return their rows in order."""
        pending = _Pending(versions, where)
        self._queues[board_id].append(pending)
        if board_id not in self._draining:
            self._draining.add(board_id)
            task = asyncio.create_task(self._drain(board_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await pending.done

    async def _drain(self, board_id: UUID) -> None:
        queue = self._queues[board_id]
        try:
            while queue:
                group = [queue.popleft()]
                size = len(group[0].versions)
                while queue and size + len(queue[0].versions) <= MAX_GROUP:
                    size += len(queue[0].versions)
                    group.append(queue.popleft())
                await self._write(board_id, group)
        finally:
            self._draining.discard(board_id)
            if not queue:
                self._queues.pop(board_id, None)

    async def _write(self, board_id: UUID, group: list[_Pending]) -> None:
        if len(group) > 1:
            self.groups += 1
            self.grouped += len(group)
            try:
                async with self.db.connection() as conn:
                    rows = await writes.publish(
                        conn,
                        board_id=board_id,
                        versions=[v for p in group for v in p.versions],
                        where=[w for p in group for w in p.where],
                    )
            except Exception:  # some member failed: give every member its own outcome
                pass
            else:
                start = 0
                for p in group:
                    p.done.set_result(rows[start : start + len(p.versions)])
                    start += len(p.versions)
                return
        for p in group:
            try:
                async with self.db.connection() as conn:
                    result = await writes.publish(
                        conn, board_id=board_id, versions=p.versions, where=p.where
                    )
            except Exception as exc:
                p.done.set_exception(exc)
            else:
                p.done.set_result(result)
