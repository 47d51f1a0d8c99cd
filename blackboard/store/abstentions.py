"""Abstentions: agents declining a scope, role or task. Append-only."""

from typing import Any
from uuid import UUID

from blackboard.records import Abstention
from blackboard.store.database import Conn

_COLUMNS = "id, board_id, agent_id, scope, role, task_id, reason, confidence, seq, created_at"


async def insert(
    conn: Conn,
    *,
    abstention_id: UUID,
    board_id: UUID,
    agent_id: UUID,
    scope: str | None,
    role: str | None,
    task_id: UUID | None,
    reason: str,
    confidence: float | None,
    seq: int,
) -> Abstention:
    """Insert an abstention recorded at event `seq`; return it."""
    cur = await conn.execute(
        f"""INSERT INTO abstentions (id, board_id, agent_id, scope, role, task_id, reason,
                                     confidence, seq)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
        (abstention_id, board_id, agent_id, scope, role, task_id, reason, confidence, seq),
    )
    row = await cur.fetchone()
    assert row is not None
    return Abstention.model_validate(row)


_FILTER = """board_id = %(board_id)s
    AND (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s)
    AND (%(role)s::text IS NULL OR role = %(role)s)
    AND (%(task_id)s::uuid IS NULL OR task_id = %(task_id)s)"""


async def list_abstentions(
    conn: Conn,
    *,
    board_id: UUID,
    agent_id: UUID | None,
    role: str | None,
    task_id: UUID | None,
    after: int,
    limit: int,
) -> list[Abstention]:
    """Return abstentions in seq order after `after`."""
    params: dict[str, Any] = {
        "board_id": board_id,
        "agent_id": agent_id,
        "role": role,
        "task_id": task_id,
        "after": after,
        "limit": limit,
    }
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM abstentions WHERE {_FILTER} AND seq > %(after)s
            ORDER BY seq LIMIT %(limit)s""",
        params,
    )
    return [Abstention.model_validate(row) for row in await cur.fetchall()]


async def counts(
    conn: Conn, *, board_id: UUID, agent_id: UUID | None, role: str | None, task_id: UUID | None
) -> tuple[dict[str, int], dict[str, int]]:
    """Return abstention counts per agent id and per role (roles: '' when none was named)."""
    params = {"board_id": board_id, "agent_id": agent_id, "role": role, "task_id": task_id}
    cur = await conn.execute(
        f"""SELECT agent_id::text AS k, count(*) AS n FROM abstentions WHERE {_FILTER}
            GROUP BY agent_id""",
        params,
    )
    by_agent = {row["k"]: int(row["n"]) for row in await cur.fetchall()}
    cur = await conn.execute(
        f"""SELECT coalesce(role, '') AS k, count(*) AS n FROM abstentions WHERE {_FILTER}
            GROUP BY role""",
        params,
    )
    by_role = {row["k"]: int(row["n"]) for row in await cur.fetchall()}
    return by_agent, by_role


async def in_run(conn: Conn, *, board_id: UUID, run_id: UUID) -> list[Abstention]:
    """Return the abstentions made in a run's turns (their scope is `run:<id>:step:<n>`)."""
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM abstentions
            WHERE board_id = %s AND scope LIKE %s ORDER BY seq""",
        (board_id, f"run:{run_id}:%"),
    )
    return [Abstention.model_validate(row) for row in await cur.fetchall()]
