"""The roll-up: keeps every board's metric roll-ups current with its event log.

Every API process runs one in the background; a metrics request also brings its board up
to date before reading (usually nothing or a few events left). Each batch is its own
transaction under the board's watermark lock (store/rollups.py): the background pass
skips boards someone else is rolling up, a request waits for that batch and goes on.
"""

import logging
from uuid import UUID

from blackboard.background import every
from blackboard.store import rollups
from blackboard.store.database import Database

log = logging.getLogger(__name__)

# A backlog this large is worth a line in the log per batch (a fresh start on an old board).
REPORTED_BACKLOG = 50_000


async def catch_up(db: Database, board_id: UUID) -> None:
    """Roll the board up to the newest committed event."""
    async with db.connection() as conn:
        await rollups.ensure_mark(conn, board_id=board_id)
    while True:
        async with db.transaction() as conn:
            done = await rollups.roll_up_batch(conn, board_id=board_id, wait=True)
        if done is None or done[1] == 0:
            return


async def roll_up_once(db: Database) -> int:
    """One pass over the boards that are behind, a batch each, skipping boards another
    process is rolling up; return how many boards are still a batch or more behind."""
    async with db.connection() as conn:
        behind = await rollups.boards_behind(conn)
        for board_id in behind:
            await rollups.ensure_mark(conn, board_id=board_id)
    backlogs = 0
    for board_id in behind:
        async with db.transaction() as conn:
            done = await rollups.roll_up_batch(conn, board_id=board_id, wait=False)
        if done is None:
            continue
        backlogs += done[1] >= rollups.BATCH
        if done[1] >= REPORTED_BACKLOG:
            log.info("roll-up: board %s, %d events summed, %d behind", board_id, *done)
    return backlogs


async def run_roller(db: Database, *, interval_s: float) -> None:
    """Roll up every `interval_s` seconds (at once again while a board is a batch or more
    behind) until cancelled; a failed pass is logged and retried.

    Passing again at once whenever anything was summed would, on a board written without
    pause, turn into a loop of passes over the few events that came in during the last:
    each pass costs its statements whatever its size, so the write path would pay several
    times over for what one pass per interval sums."""

    async def passes() -> None:
        while await roll_up_once(db):
            pass

    await every(interval_s, passes, name="roll-up pass")
