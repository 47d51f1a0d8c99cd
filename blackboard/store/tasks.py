"""Tasks, their leases and their attempts.

Claiming is one statement, for one agent or for several whose claims arrived together:
pick for each the oldest open task it may take with `FOR UPDATE SKIP LOCKED` (concurrent
claimers step over each other's picks instead of queueing), lease it, and open its
attempt row. The partial index `ix_tasks_claimable` covers only open tasks, so the scan
stays short however many tasks are done.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from blackboard.records import Task, TaskAttempt
from blackboard.store.database import Conn, Statement, execute
from blackboard.store.events import NOTIFIED, logged_from

TASK_COLUMNS = """id, board_id, title, spec, wants_type, required_capabilities, inputs,
    max_attempts, attempt, failures, status, available_at, holder_id, lease_token,
    lease_expires_at, result_id, last_error, posted_by, created_at, updated_at, renewed_at,
    renewals"""


def task_columns(alias: str) -> str:
    """SQL: TASK_COLUMNS, each qualified with the table alias `alias`."""
    return ", ".join(f"{alias}.{c.strip()}" for c in TASK_COLUMNS.split(","))


def _task(row: dict[str, Any] | None) -> Task | None:
    return Task.model_validate(row) if row else None


@dataclass(frozen=True)
class NewTask:
    """A validated task to post."""

    id: UUID
    title: str
    spec: dict[str, Any]
    wants_type: str | None
    required_capabilities: list[str]
    inputs: list[UUID]
    max_attempts: int
    posted_by: UUID | None


# Posting is one statement: the open tasks, in order (created_at by the clock, so that the
# oldest-first claim order is the order they came in), and a `task.posted` for each.
_POST = f"""
WITH input AS (
    SELECT * FROM jsonb_to_recordset(%(tasks)s::jsonb)
        AS p(id uuid, title text, spec jsonb, wants_type text, required_capabilities jsonb,
             inputs jsonb, max_attempts int, posted_by uuid, ord int)
), posted AS (
    INSERT INTO tasks (id, board_id, title, spec, wants_type, required_capabilities,
                       inputs, max_attempts, status, posted_by, created_at)
    SELECT p.id, %(board_id)s, p.title, p.spec, p.wants_type,
           ARRAY(SELECT jsonb_array_elements_text(p.required_capabilities)),
           ARRAY(SELECT jsonb_array_elements_text(p.inputs))::uuid[],
           p.max_attempts, 'open', p.posted_by, clock_timestamp()
    FROM input p ORDER BY p.ord
    RETURNING {TASK_COLUMNS}
), evs AS (
    SELECT 'task.posted'::text AS kind, t.posted_by AS actor_id, t.id AS subject_id,
           jsonb_build_object('title', t.title, 'status', t.status, 'attempt', t.attempt,
                              'required_capabilities', t.required_capabilities,
                              'wants_type', t.wants_type) AS data,
           p.ord
    FROM posted t JOIN input p USING (id)
){logged_from("evs")}
SELECT {task_columns("t")}, {NOTIFIED}
FROM posted t JOIN input p USING (id) ORDER BY p.ord
"""


def post_statement(board_id: UUID, tasks: list[NewTask]) -> Statement:
    """The statement that posts the tasks on the board, open, and logs `task.posted` for
    each, in order; read its rows with `posted`."""
    return Statement(
        _POST,
        {
            "board_id": board_id,
            "tasks": Jsonb([{**vars(t), "ord": i} for i, t in enumerate(tasks)]),
        },
    )


def posted(rows: list[dict[str, Any]]) -> list[Task]:
    """The tasks a `post_statement` posted, in order."""
    return [Task.model_validate(row) for row in rows]


async def post(conn: Conn, *, board_id: UUID, tasks: list[NewTask]) -> list[Task]:
    """Run a `post_statement`; return the tasks it posted."""
    statement = post_statement(board_id, tasks)
    cur = await execute(conn, statement)
    return posted(await cur.fetchall())


async def get(conn: Conn, *, task_id: UUID) -> Task | None:
    """Return a task, or None."""
    cur = await conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = %s", (task_id,))
    return _task(await cur.fetchone())


async def get_with_lease(
    conn: Conn, *, task_id: UUID, lock: bool = True
) -> tuple[Task, bool] | None:
    """Return the task (locked FOR UPDATE unless not `lock`) and whether its lease is
    running (by database time)."""
    cur = await conn.execute(
        f"""SELECT {TASK_COLUMNS}, (status = 'leased' AND lease_expires_at > now()) AS lease_running
            FROM tasks WHERE id = %s {"FOR UPDATE" if lock else ""}""",
        (task_id,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    running = bool(row.pop("lease_running"))
    return Task.model_validate(row), running


async def attempts(conn: Conn, *, task_id: UUID) -> list[TaskAttempt]:
    """Return the task's attempts, first first."""
    cur = await conn.execute(
        """SELECT attempt, agent_id, lease_token, started_at, ended_at, outcome, reason
           FROM task_attempts WHERE task_id = %s ORDER BY attempt""",
        (task_id,),
    )
    return [TaskAttempt.model_validate(row) for row in await cur.fetchall()]


# Each claimant's pick: blackboard_lease_tasks (migration 0009) leases the oldest open task
# it can do and has not declined, FOR UPDATE SKIP LOCKED, seeing the picks before it.
_CLAIM = f"""
WITH lapsed AS (
    -- a lease on this board that ran out: its task is older than any open one, and must
    -- be taken back (with its events) before anything is claimed
    SELECT EXISTS (SELECT 1 FROM tasks
                   WHERE board_id = %(board_id)s AND status = 'leased'
                     AND lease_expires_at <= now()) AS found
), leased AS (
    SELECT l.ord, (l.task).*
    FROM lapsed CROSS JOIN LATERAL blackboard_lease_tasks(
        %(board_id)s,
        -- with `defer`, nothing is claimed while a lapsed lease waits to be taken back
        CASE WHEN %(defer)s AND lapsed.found THEN '[]'::jsonb ELSE %(claimants)s::jsonb END
    ) l
), evs AS (
    SELECT 'task.claimed'::text AS kind, l.holder_id AS actor_id, l.id AS subject_id,
           jsonb_build_object('title', l.title, 'status', l.status, 'attempt', l.attempt,
                              'lease_token', l.lease_token,
                              'lease_expires_at', l.lease_expires_at) AS data,
           l.ord
    FROM leased l
){logged_from("evs")}
SELECT l.ord, {task_columns("l")},
       lapsed.found AS lapsed, {NOTIFIED}
FROM lapsed LEFT JOIN leased l ON true
"""


@dataclass(frozen=True)
class Claimant:
    """An agent asking for the next task it can do, and for how long."""

    agent_id: UUID
    capabilities: list[str]
    lease_s: float


def claim_statement(
    board_id: UUID, claimants: list[Claimant], *, defer_to_lapsed: bool = True
) -> Statement:
    """The statement that leases to each claimant, in order, the oldest open task it can
    do and has not declined, and logs `task.claimed` for each; with `defer_to_lapsed`, it
    claims nothing if a lease on the board has run out. Read its rows with `claimed`."""
    return Statement(
        _CLAIM,
        {
            "board_id": board_id,
            "claimants": Jsonb([vars(c) for c in claimants]),
            "defer": defer_to_lapsed,
        },
    )


def claimed(rows: list[dict[str, Any]], claimants: int) -> tuple[list[Task | None], bool]:
    """Each claimant's task from the rows of a `claim_statement` (None if there was none
    for it), and whether a lease on the board has run out."""
    lapsed = bool(rows[0]["lapsed"])  # one row at least, with or without a task
    tasks: list[Task | None] = [None] * claimants
    for row in rows:
        ord_ = row.pop("ord")
        row.pop("lapsed")
        if ord_ is not None:
            tasks[ord_ - 1] = _task(row)
    return tasks, lapsed


async def claim_next(
    conn: Conn,
    *,
    board_id: UUID,
    claimants: list[Claimant],
    defer_to_lapsed: bool = True,
) -> tuple[list[Task | None], bool]:
    """Run a `claim_statement`; return what `claimed` reads from it."""
    statement = claim_statement(board_id, claimants, defer_to_lapsed=defer_to_lapsed)
    cur = await execute(conn, statement)
    return claimed(await cur.fetchall(), len(claimants))


async def extend_lease(conn: Conn, *, task_id: UUID, lease_s: float) -> Task:
    """Move the lease's end to `lease_s` from now; return the task."""
    cur = await conn.execute(
        f"""UPDATE tasks SET lease_expires_at = now() + make_interval(secs => %s),
                             updated_at = now(), renewed_at = now(), renewals = renewals + 1
            WHERE id = %s RETURNING {TASK_COLUMNS}""",
        (lease_s, task_id),
    )
    task = _task(await cur.fetchone())
    assert task is not None
    return task


async def finish_attempt(
    conn: Conn, *, task_id: UUID, attempt: int, outcome: str, reason: str | None
) -> None:
    """Record how an attempt ended."""
    await conn.execute(
        """UPDATE task_attempts SET outcome = %s, reason = %s, ended_at = now()
           WHERE task_id = %s AND attempt = %s""",
        (outcome, reason, task_id, attempt),
    )


async def release(
    conn: Conn,
    *,
    task_id: UUID,
    status: str,
    failed: bool,
    retry_after_s: float,
    error: str | None,
) -> Task:
    """Take the lease away: back to the pool ('open', after a delay) or 'failed'."""
    cur = await conn.execute(
        f"""UPDATE tasks SET status = %(status)s, holder_id = NULL, lease_expires_at = NULL,
                failures = failures + %(failed)s::int,
                available_at = now() + make_interval(secs => %(delay)s),
                last_error = coalesce(%(error)s, last_error), updated_at = now()
            WHERE id = %(task_id)s RETURNING {TASK_COLUMNS}""",
        {
            "status": status,
            "failed": failed,
            "delay": retry_after_s,
            "error": error,
            "task_id": task_id,
        },
    )
    task = _task(await cur.fetchone())
    assert task is not None
    return task


async def cancel(conn: Conn, *, task_id: UUID) -> Task | None:
    """Mark the task cancelled if it is open; None if it is not (any more)."""
    cur = await conn.execute(
        f"""UPDATE tasks SET status = 'cancelled', updated_at = now()
            WHERE id = %s AND status = 'open' RETURNING {TASK_COLUMNS}""",
        (task_id,),
    )
    return _task(await cur.fetchone())


_EXPIRE_DUE = f"""
WITH due AS (
    SELECT id, holder_id AS former_holder FROM tasks
    WHERE status = 'leased' AND lease_expires_at <= now() {{board_filter}}
    ORDER BY lease_expires_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE tasks t
    SET status = CASE WHEN t.failures + 1 >= t.max_attempts THEN 'failed' ELSE 'open' END,
        failures = t.failures + 1, holder_id = NULL, lease_expires_at = NULL,
        available_at = now(), last_error = 'lease expired', updated_at = now()
    FROM due WHERE t.id = due.id
    RETURNING {task_columns("t")}, due.former_holder
), closed AS (
    UPDATE task_attempts a SET outcome = 'lease_expired', ended_at = now()
    FROM expired e WHERE a.task_id = e.id AND a.attempt = e.attempt
)
SELECT * FROM expired
"""


async def expire_due(
    conn: Conn, *, limit: int, board_id: UUID | None = None
) -> list[tuple[Task, UUID]]:
    """Take back up to `limit` tasks whose lease ran out; return them with their former holder."""
    query = _EXPIRE_DUE.replace(
        "{board_filter}", "AND board_id = %(board_id)s" if board_id is not None else ""
    )
    cur = await conn.execute(query, {"limit": limit, "board_id": board_id})
    expired = []
    for row in await cur.fetchall():
        holder = row.pop("former_holder")
        task = _task(row)
        assert task is not None
        expired.append((task, holder))
    return expired


_EXPIRE_ON_BOARD = f"""
WITH due AS (
    SELECT id, holder_id AS former_holder FROM tasks
    WHERE board_id = %(board_id)s AND status = 'leased' AND lease_expires_at <= now()
    ORDER BY lease_expires_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE tasks t
    SET status = CASE WHEN t.failures + 1 >= t.max_attempts THEN 'failed' ELSE 'open' END,
        failures = t.failures + 1, holder_id = NULL, lease_expires_at = NULL,
        available_at = now(), last_error = 'lease expired', updated_at = now()
    FROM due WHERE t.id = due.id
    RETURNING t.id, t.title, t.status, t.attempt, due.former_holder
), closed AS (
    UPDATE task_attempts a SET outcome = 'lease_expired', ended_at = now()
    FROM expired e WHERE a.task_id = e.id AND a.attempt = e.attempt
), evs AS (
    SELECT 'task.lease_expired'::text AS kind, NULL::uuid AS actor_id, e.id AS subject_id,
           jsonb_build_object('title', e.title, 'status', e.status, 'attempt', e.attempt,
                              'former_holder', e.former_holder) AS data,
           (row_number() OVER (ORDER BY e.id)) * 2 - 1 AS ord
    FROM expired e
    UNION ALL
    SELECT 'task.failed', NULL, e.id,
           jsonb_build_object('title', e.title, 'status', e.status, 'attempt', e.attempt,
                              'reason', 'lease expired', 'final', true),
           (row_number() OVER (ORDER BY e.id)) * 2
    FROM expired e WHERE e.status = 'failed'
){logged_from("evs")}
SELECT count(*) AS expired, {NOTIFIED} FROM expired
"""


async def expire_on_board(conn: Conn, *, board_id: UUID, limit: int) -> int:
    """Take back the board's leases that ran out, logging their events, in one statement;
    return how many."""
    cur = await conn.execute(_EXPIRE_ON_BOARD, {"board_id": board_id, "limit": limit})
    row = await cur.fetchone()
    return int(row["expired"]) if row else 0


async def list_tasks(conn: Conn, *, board_id: UUID, status: str | None, limit: int) -> list[Task]:
    """Return the board's tasks, oldest first, optionally of one status."""
    cur = await conn.execute(
        f"""SELECT {TASK_COLUMNS} FROM tasks
            WHERE board_id = %(board_id)s AND (%(status)s::text IS NULL OR status = %(status)s)
            ORDER BY created_at, id LIMIT %(limit)s""",
        {"board_id": board_id, "status": status, "limit": limit},
    )
    return [Task.model_validate(row) for row in await cur.fetchall()]


async def claimable(
    conn: Conn,
    *,
    agent_id: UUID,
    capabilities: list[str],
    limit: int,
    task_id: UUID | None = None,
) -> list[Task]:
    """Return open tasks (on any board, or just `task_id`) this agent could claim, oldest first."""
    cur = await conn.execute(
        f"""SELECT {TASK_COLUMNS} FROM tasks t
            WHERE t.status = 'open' AND t.required_capabilities <@ %(capabilities)s::text[]
              AND (%(task_id)s::uuid IS NULL OR t.id = %(task_id)s)
              AND NOT EXISTS (SELECT 1 FROM abstentions a
                              WHERE a.task_id = t.id AND a.agent_id = %(agent_id)s)
            ORDER BY t.created_at LIMIT %(limit)s""",
        {"agent_id": agent_id, "capabilities": capabilities, "limit": limit, "task_id": task_id},
    )
    return [Task.model_validate(row) for row in await cur.fetchall()]
