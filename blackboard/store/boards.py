"""Board rows."""

from uuid import UUID

from blackboard.records import Board
from blackboard.store.constraints import translated
from blackboard.store.database import Conn

_COLUMNS = "b.id, b.name, b.mission, b.created_at, s.last_seq"
_BOARDS = "boards b JOIN board_seqs s ON s.board_id = b.id"

# The board and its event counter, at 0.
_INSERT = """
WITH b AS (
    INSERT INTO boards (id, name, mission) VALUES (%s, %s, %s)
    RETURNING id, name, mission, created_at
), s AS (
    INSERT INTO board_seqs (board_id) SELECT id FROM b
)
SELECT b.*, 0::bigint AS last_seq FROM b
"""


async def insert(conn: Conn, *, board_id: UUID, name: str, mission: str | None) -> Board:
    """Insert a board (with its event counter) and return it."""
    with translated():
        cur = await conn.execute(_INSERT, (board_id, name, mission))
    row = await cur.fetchone()
    assert row is not None
    return Board.model_validate(row)


async def get(conn: Conn, *, board_id: UUID) -> Board | None:
    """Return the board with this id, or None."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM {_BOARDS} WHERE b.id = %s", (board_id,))
    row = await cur.fetchone()
    return Board.model_validate(row) if row else None


async def exists(conn: Conn, *, board_id: UUID) -> bool:
    """Return whether the board exists."""
    cur = await conn.execute("SELECT 1 FROM boards WHERE id = %s", (board_id,))
    return await cur.fetchone() is not None


async def list_all(conn: Conn, *, limit: int, after_name: str | None) -> list[Board]:
    """Return boards ordered by name, after `after_name`."""
    cur = await conn.execute(
        f"""SELECT {_COLUMNS} FROM {_BOARDS} WHERE %(after)s::text IS NULL OR name > %(after)s
            ORDER BY name LIMIT %(limit)s""",
        {"after": after_name, "limit": limit},
    )
    return [Board.model_validate(row) for row in await cur.fetchall()]
