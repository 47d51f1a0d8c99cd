"""Presence: when each agent was last seen, written at most once per interval per agent.

Every authenticated request marks its agent as seen; writing that on every request would
add a row update to each publish, so marks are collected in memory and flushed by a
background loop.
"""

import asyncio
import logging
import time
from uuid import UUID

from blackboard.store import agents as agent_store
from blackboard.store.database import Database

log = logging.getLogger(__name__)


class Presence:
    """Collects "agent seen" marks and writes them in batches."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._written: dict[UUID, float] = {}
        self._pending: set[UUID] = set()

    def seen(self, agent_id: UUID) -> None:
        """Note that the agent made a request now."""
        last = self._written.get(agent_id)
        if last is None or time.monotonic() - last >= self.interval_s:
            self._pending.add(agent_id)

    async def flush(self, db: Database) -> int:
        """Write pending marks; return how many agents were updated."""
        if not self._pending:
            return 0
        batch, self._pending = sorted(self._pending), set()
        now = time.monotonic()
        async with db.transaction() as conn:
            await agent_store.touch(conn, agent_ids=batch)
        for agent_id in batch:
            self._written[agent_id] = now
        return len(batch)

    async def run(self, db: Database) -> None:
        """Flush often enough that last-seen lags by well under the interval, until cancelled."""
        while True:
            try:
                await self.flush(db)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("presence flush failed")
            await asyncio.sleep(min(self.interval_s, 1.0) or 0.05)
