"""The tasks one poster posted, newest first, page by page; and what a poster sees of
them besides the task: the agents' abstentions on each."""

from datetime import datetime
from typing import Any
from uuid import UUID

from blackboard.records import Abstention, Task
from blackboard.store.database import Conn
from blackboard.store.tasks import TASK_COLUMNS

_FILTER = """posted_by = %(poster)s
    AND (%(board_id)s::uuid IS NULL OR board_id = %(board_id)s)
    AND (%(status)s::text IS NULL OR status = %(status)s)
    AND (%(changed_after)s::timestamptz IS NULL OR updated_at > %(changed_after)s)"""

# Newest first by (created_at, id), after the cursor's task: a range of ix_tasks_posted_by
# (the first page starts after an infinitely new task, so the same plan serves every page).
_LAST_ID = UUID(int=2**128 - 1)
_PAGE = f"""
SELECT {TASK_COLUMNS} FROM tasks
WHERE {_FILTER}
  AND (created_at, id) < (%(before_at)s::timestamptz, %(before_id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""


async def page(
    conn: Conn,
    *,
    poster: UUID,
    board_id: UUID | None,
    status: str | None,
    changed_after: datetime | None,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> tuple[list[Task], int]:
    """Return up to `limit` of the poster's tasks older than `before` (newest first), and
    how many of its tasks match the filters in all."""
    params: dict[str, Any] = {
        "poster": poster,
        "board_id": board_id,
        "status": status,
        "changed_after": changed_after,
        "before_at": before[0] if before else "infinity",
        "before_id": before[1] if before else _LAST_ID,
        "limit": limit,
    }
    cur = await conn.execute(_PAGE, params)
    tasks = [Task.model_validate(row) for row in await cur.fetchall()]
    cur = await conn.execute(f"SELECT count(*) AS n FROM tasks WHERE {_FILTER}", params)
    row = await cur.fetchone()
    return tasks, int(row["n"]) if row else 0


async def abstentions_on(conn: Conn, *, task_ids: list[UUID]) -> list[Abstention]:
    """Return every abstention on these tasks, in seq order."""
    cur = await conn.execute(
        """SELECT id, board_id, agent_id, scope, role, task_id, reason, confidence, seq,
                  created_at
           FROM abstentions WHERE task_id = ANY(%s) ORDER BY seq""",
        (task_ids,),
    )
    return [Abstention.model_validate(row) for row in await cur.fetchall()]


# Retries of one message wait here for each other (the lock is the transaction's): the
# first posts, the others then find its task.
_MESSAGE_TASK = (
    "SELECT pg_advisory_xact_lock(hashtextextended(%(poster)s::text || ' ' || %(message_id)s, 0))"
)


async def task_of_message(conn: Conn, *, poster: UUID, message_id: str) -> Task | None:
    """In the caller's transaction: lock the poster's message id, and return the task it
    posted before, if any."""
    args = {"poster": poster, "message_id": message_id}
    await conn.execute(_MESSAGE_TASK, args)
    cur = await conn.execute(
        f"""SELECT {TASK_COLUMNS} FROM tasks
            WHERE id = (SELECT task_id FROM message_tasks
                        WHERE poster_id = %(poster)s AND message_id = %(message_id)s)""",
        args,
    )
    row = await cur.fetchone()
    return None if row is None else Task.model_validate(row)


async def remember_message(conn: Conn, *, poster: UUID, message_id: str, task_id: UUID) -> None:
    """Record that the poster's message posted the task."""
    await conn.execute(
        "INSERT INTO message_tasks (poster_id, message_id, task_id) VALUES (%s, %s, %s)",
        (poster, message_id, task_id),
    )
