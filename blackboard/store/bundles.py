"""Reading the artifact versions a context bundle may show, in the form it shows them.

A bundle shows each version as a small entry (id, type, key, version, author, role, body).
PostgreSQL builds that entry (`json_build_object` keeps the keys in the order given), so a
candidate costs one JSON parse here instead of a row turned into an `Artifact` and back
into a dict: on a board-scoped view of 200 candidates that was most of the build time.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from blackboard.store.artifacts import CURRENT_VERSIONS
from blackboard.store.database import Conn

_COLUMNS = """
SELECT json_build_object('id', a.id, 'type', a.type, 'key', a.key, 'version', a.version,
                         'author_id', a.author_id, 'role', a.role, 'body', a.body) AS entry,
       a.tags, r.artifact_id IS NOT NULL AS retracted
"""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One version a bundle may show: its entry as shown, and what views select by."""

    entry: dict[str, Any]
    tags: list[str]
    retracted: bool

    @property
    def type(self) -> str:
        """The artifact's type."""
        return str(self.entry["type"])

    @property
    def key(self) -> str:
        """The artifact's key."""
        return str(self.entry["key"])


async def tagged(conn: Conn, *, board_id: UUID, tag: str, limit: int) -> list[Candidate]:
    """The versions on the board carrying `tag`, newest first (GIN index)."""
    cur = await conn.execute(
        _COLUMNS
        + """FROM artifacts a LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.board_id = %s AND a.tags @> ARRAY[%s]::text[] AND a.tags <> '{}'
        ORDER BY a.seq DESC LIMIT %s""",
        (board_id, tag, limit),
    )
    return [Candidate(**row) for row in await cur.fetchall()]


async def current(conn: Conn, *, board_id: UUID, limit: int) -> list[Candidate]:
    """The board's current versions (one per key), most recently changed first."""
    cur = await conn.execute(_COLUMNS + CURRENT_VERSIONS, (board_id, limit))
    return [Candidate(**row) for row in await cur.fetchall()]
