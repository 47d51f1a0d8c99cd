"""Group commit for publishes: concurrent publishes to one board share one statement.

Every write to a board is serialised on the board's seq lock (store/events.py), so on a
busy board the lock — not the CPU — decides throughput. While one publish statement for a
board is running, the publishes for that board that arrive meanwhile wait here and then
go to the database together, as one statement. Each still gets its own versions, seqs and
events, in arrival order; the lock is taken once per group instead of once per publish.

Who writes: the request that finds no writer for its board becomes the writer and writes
a group on its own connection; then it hands the role to the first request still waiting,
which writes the next group on its connection. So grouping never needs a connection of
its own (a pool exhausted by waiting requests cannot stall it), and no request writes for
longer than one group.

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
from blackboard.store.database import Conn

MAX_GROUP = 1_000  # versions per statement


def _future() -> "asyncio.Future[Any]":
    return asyncio.get_running_loop().create_future()


@dataclass
class _Pending:
    versions: list[NewVersion]
    where: list[str]
    done: "asyncio.Future[list[dict[str, Any]]]" = field(default_factory=_future)
    lead: "asyncio.Future[None]" = field(default_factory=_future)  # your turn to write


class PublishCoalescer:
    """Per process: queues publishes per board and writes each queue in groups."""

    def __init__(self) -> None:
        self._queues: dict[UUID, deque[_Pending]] = defaultdict(deque)
        self._writing: set[UUID] = set()
        self.groups = 0
        self.grouped = 0

    async def publish(
        self, conn: Conn, *, board_id: UUID, versions: list[NewVersion], where: list[str]
    ) -> list[dict[str, Any]]:
        """Write the versions (alone or grouped with others); return their rows in order."""
        mine = _Pending(versions, where)
        queue = self._queues[board_id]
        queue.append(mine)
        if board_id in self._writing:
            waits: set[asyncio.Future[Any]] = {mine.done, mine.lead}
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                self._withdraw(board_id, mine)
                raise
            if mine.done.done():
                return mine.done.result()
        # This request writes the next group (its own publish is still in the queue).
        self._writing.add(board_id)
        try:
            group = [queue.popleft()]
            size = len(group[0].versions)
            while queue and size + len(queue[0].versions) <= MAX_GROUP:
                size += len(queue[0].versions)
                group.append(queue.popleft())
            try:
                await self._write(conn, board_id, group)
            finally:
                for p in group:  # interrupted (shutdown): nobody may wait forever
                    if not p.done.done():
                        p.done.set_exception(RuntimeError("the publish was interrupted"))
        finally:
            if queue:
                queue[0].lead.set_result(None)  # the next waiting request writes next
            else:
                self._writing.discard(board_id)
                self._queues.pop(board_id, None)
        return await mine.done

    def _withdraw(self, board_id: UUID, mine: _Pending) -> None:
        """A waiting request went away: take its publish out, and if it had just been
        chosen to write the next group, choose the next one in its place."""
        queue = self._queues.get(board_id)
        if queue is None or mine not in queue:
            return
        queue.remove(mine)
        if mine.lead.done():
            if queue:
                queue[0].lead.set_result(None)
            else:
                self._writing.discard(board_id)
                self._queues.pop(board_id, None)

    async def _write(self, conn: Conn, board_id: UUID, group: list[_Pending]) -> None:
        if len(group) > 1:
            self.groups += 1
            self.grouped += len(group)
            try:
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
                result = await writes.publish(
                    conn, board_id=board_id, versions=p.versions, where=p.where
                )
            except Exception as exc:
                p.done.set_exception(exc)
            else:
                p.done.set_result(result)
