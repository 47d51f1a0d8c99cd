"""The reaper: takes back leases that ran out and writes down that they did.

Reads already treat an expired lease as expired; the reaper makes it durable — claim
status 'expired' with a `role.expired` event, tasks back to the pool (or failed) with
`task.lease_expired` — so that the event log tells the whole story. Every API process
runs one; `FOR UPDATE SKIP LOCKED` keeps them from doing the same work twice.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

from blackboard import telemetry
from blackboard.background import every
from blackboard.services.claims import claimed_event
from blackboard.services.tasks import expired_events
from blackboard.store import claims as claim_store
from blackboard.store import events as event_store
from blackboard.store import tasks as task_store
from blackboard.store.database import Conn, Database
from blackboard.store.events import EventDraft

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Reaped:
    """How much one pass took back."""

    claims: int
    tasks: int


async def reap_once(conn: Conn) -> Reaped:
    """Expire due claims and task leases (up to a batch each) and log their events."""
    claims = await claim_store.expire_due(conn, limit=BATCH)
    tasks = await task_store.expire_due(conn, limit=BATCH)
    per_board: dict[UUID, list[EventDraft]] = defaultdict(list)
    for claim in claims:
        per_board[claim.board_id].append(claimed_event("role.expired", claim))
    for task, holder in tasks:
        per_board[task.board_id].extend(expired_events([(task, holder)]))
    # Boards in a fixed order: two reapers appending to the same boards cannot deadlock.
    for board_id in sorted(per_board):
        await event_store.append(conn, board_id=board_id, events=per_board[board_id])
    return Reaped(claims=len(claims), tasks=len(tasks))


async def reap_all(db: Database) -> None:
    """Reap batch after batch until a batch finds less than a full one of either kind."""
    while True:
        reaped = await db.run(reap_once)
        telemetry.LEASE_EXPIRIES.labels("claim").inc(reaped.claims)
        telemetry.LEASE_EXPIRIES.labels("task").inc(reaped.tasks)
        if reaped.claims < BATCH and reaped.tasks < BATCH:
            return


async def run_reaper(db: Database, *, interval_s: float) -> None:
    """Reap every `interval_s` seconds until cancelled; a failed pass is logged and retried."""
    await every(interval_s, lambda: reap_all(db), name="reaper pass")
