"""Guards: which keys of a board only a role's claim holder may write.

The publish statement (store/artifact_writes.py) reads this table for every version it
writes; here are the guards' own reads and writes.
"""

from uuid import UUID

from blackboard.records import Guard
from blackboard.store.database import Conn

_COLUMNS = "id, board_id, key_pattern, role, created_at"


async def lock_board_guards(conn: Conn, *, board_id: UUID) -> None:
    """Serialise guard changes per board until commit, so that two overlapping guards
    created at once cannot both pass the overlap check."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 18))", (str(board_id),))


async def on_board(conn: Conn, *, board_id: UUID) -> list[Guard]:
    """Return the board's guards, oldest first."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM guards WHERE board_id = %s ORDER BY created_at, id", (board_id,)
    )
    return [Guard.model_validate(row) for row in await cur.fetchall()]


async def insert(
    conn: Conn,
    *,
    guard_id: UUID,
    board_id: UUID,
    key_pattern: str,
    key_regex: str,
    role: str,
    scoped: bool,
) -> Guard:
    """Insert a guard; return it."""
    cur = await conn.execute(
        f"""INSERT INTO guards (id, board_id, key_pattern, key_regex, role, scoped)
            VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
        (guard_id, board_id, key_pattern, key_regex, role, scoped),
    )
    row = await cur.fetchone()
    assert row is not None
    return Guard.model_validate(row)


async def delete(conn: Conn, *, guard_id: UUID) -> Guard | None:
    """Delete a guard; return it, or None if there was none."""
    cur = await conn.execute(f"DELETE FROM guards WHERE id = %s RETURNING {_COLUMNS}", (guard_id,))
    row = await cur.fetchone()
    return Guard.model_validate(row) if row else None
