"""Group commit: concurrent writes to one board share one statement.

Every write to a board is serialised on the board's seq lock (store/events.py), and each
statement pays for its planning, executor start-up, commit (a WAL flush) and NOTIFY
however little it writes. While one statement for a board is running, the requests for
that board that arrive meanwhile wait here and then go to the database together, as one
statement: the lock is taken, and the commit paid, once per group instead of once per
request. Each request still gets its own outcome, in arrival order.

Who writes: the request that finds no writer for its board becomes the writer and writes
a group on its own connection; then it hands the role to the first request still waiting,
which writes the next group on its connection. So grouping never needs a connection of
its own (a pool exhausted by waiting requests cannot stall it), and no request writes for
longer than one group.
"""

import asyncio
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from blackboard.store.database import Conn

Req = TypeVar("Req")
Res = TypeVar("Res")

GroupWriter = Callable[[Conn, UUID, list[Req]], Awaitable[list[Res | BaseException]]]
"""Writes a group of requests for one board; returns each one's result or error, in order."""


def _future() -> "asyncio.Future[Any]":
    return asyncio.get_running_loop().create_future()


@dataclass
class _Pending(Generic[Req, Res]):
    request: Req
    done: "asyncio.Future[Res]" = field(default_factory=_future)
    # set when it waits: your turn to write (a request that writes at once never waits)
    lead: "asyncio.Future[None] | None" = None


class GroupCommit(Generic[Req, Res]):
    """Per process: queues requests per board and writes each queue in groups of at most
    `max_size` (as counted by `size`) with `write`."""

    def __init__(
        self,
        write: GroupWriter[Req, Res],
        *,
        max_size: int,
        size: Callable[[Req], int] = lambda _: 1,
    ) -> None:
        self._write_group = write
        self.max_size = max_size
        self._size = size
        self._queues: dict[UUID, deque[_Pending[Req, Res]]] = defaultdict(deque)
        self._writing: set[UUID] = set()
        self.groups = 0  # statements written for more than one request
        self.grouped = 0  # requests written in those

    def waiting(self, board_id: UUID) -> int:
        """Return how many requests for the board wait for a statement to be written in
        (those in the statement being written no longer count)."""
        return len(self._queues.get(board_id, ()))

    async def submit(self, conn: Conn, *, board_id: UUID, request: Req) -> Res:
        """Write `request` (alone or grouped with others); return its result."""
        mine: _Pending[Req, Res] = _Pending(request)
        queue = self._queues[board_id]
        queue.append(mine)
        if board_id in self._writing:
            mine.lead = _future()
            waits: set[asyncio.Future[Any]] = {mine.done, mine.lead}
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                self._withdraw(board_id, mine)
                raise
            if mine.done.done():
                return mine.done.result()
        # This request writes the next group (its own request is still in the queue).
        self._writing.add(board_id)
        try:
            group = [queue.popleft()]
            size = self._size(group[0].request)
            while queue and size + self._size(queue[0].request) <= self.max_size:
                size += self._size(queue[0].request)
                group.append(queue.popleft())
            try:
                await self._write(conn, board_id, group)
            finally:
                for p in group:  # interrupted (shutdown): nobody may wait forever
                    if not p.done.done():
                        p.done.set_exception(RuntimeError("the write was interrupted"))
        finally:
            if queue:
                self._hand_over(queue[0])  # the next waiting request writes next
            else:
                self._writing.discard(board_id)
                self._queues.pop(board_id, None)
        return await mine.done

    def _withdraw(self, board_id: UUID, mine: _Pending[Req, Res]) -> None:
        """A waiting request went away: take it out, and if it had just been chosen to
        write the next group, choose the next one in its place."""
        queue = self._queues.get(board_id)
        if queue is None or mine not in queue:
            return
        queue.remove(mine)
        if mine.lead is not None and mine.lead.done():
            if queue:
                self._hand_over(queue[0])
            else:
                self._writing.discard(board_id)
                self._queues.pop(board_id, None)

    @staticmethod
    def _hand_over(pending: _Pending[Req, Res]) -> None:
        assert pending.lead is not None  # it queued behind a writer, so it waits
        pending.lead.set_result(None)

    async def _write(self, conn: Conn, board_id: UUID, group: list[_Pending[Req, Res]]) -> None:
        if len(group) > 1:
            self.groups += 1
            self.grouped += len(group)
        try:
            outcomes = await self._write_group(conn, board_id, [p.request for p in group])
        except Exception as exc:  # the group's own failure is every member's outcome
            outcomes = [exc] * len(group)
        for p, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                p.done.set_exception(outcome)
            else:
                p.done.set_result(outcome)
