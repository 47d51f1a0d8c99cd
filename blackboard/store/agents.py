"""Agent rows."""

from uuid import UUID

from blackboard.records import Agent
from blackboard.store.constraints import translated
from blackboard.store.database import Conn

_COLUMNS = "id, name, capabilities, description, model_spec AS model, created_at, last_seen_at"


async def insert(
    conn: Conn,
    *,
    agent_id: UUID,
    name: str,
    capabilities: list[str],
    description: str | None,
    token_hash: bytes,
    model: str | None = None,
) -> Agent:
    """Insert an agent and return it."""
    with translated():
        cur = await conn.execute(
            f"""INSERT INTO agents (id, name, capabilities, description, token_hash, model_spec)
                VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
            (agent_id, name, capabilities, description, token_hash, model),
        )
    row = await cur.fetchone()
    assert row is not None
    return Agent.model_validate(row)


async def get(conn: Conn, *, agent_id: UUID) -> Agent | None:
    """Return the agent with this id, or None."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM agents WHERE id = %s", (agent_id,))
    row = await cur.fetchone()
    return Agent.model_validate(row) if row else None


async def get_with_token_hash(conn: Conn, *, agent_id: UUID) -> tuple[Agent, bytes] | None:
    """Return the agent and its stored token hash, for authentication."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS}, token_hash FROM agents WHERE id = %s", (agent_id,)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    token_hash = bytes(row.pop("token_hash"))
    return Agent.model_validate(row), token_hash


async def list_all(conn: Conn, *, limit: int, after_name: str | None) -> list[Agent]:
    """Return agents ordered by name, after `after_name`."""
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM agents WHERE %(after)s::text IS NULL OR name > %(after)s
            ORDER BY name LIMIT %(limit)s""",
        {"after": after_name, "limit": limit},
    )
    return [Agent.model_validate(row) for row in await cur.fetchall()]


async def touch(conn: Conn, *, agent_ids: list[UUID]) -> None:
    """Set these agents' last-seen time to now."""
    await conn.execute("UPDATE agents SET last_seen_at = now() WHERE id = ANY(%s)", (agent_ids,))


async def get_many(conn: Conn, *, agent_ids: list[UUID]) -> list[Agent]:
    """Return these agents (unknown ids are left out)."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM agents WHERE id = ANY(%s)", (agent_ids,))
    return [Agent.model_validate(row) for row in await cur.fetchall()]
