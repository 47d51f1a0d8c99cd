"""The board event log and its sequence numbers.

Why the counter is a row and not a SEQUENCE: a reader pages with `after=<seq>` and must
never miss an event. With a SEQUENCE, transaction A can take seq 11 and B seq 12, B
commits first, a reader sees 12 and moves its cursor past 11, which A commits a moment
later — lost to that reader forever. Here every writer takes its seqs with
`UPDATE boards SET last_seq = last_seq + n`, which holds the board row's lock until
commit, so per board the seqs become visible strictly in order: whoever holds 12 could
only take it after 11 was committed. Writers take this lock as the *last* step of their
transaction (everything else is done first), so the lock is held for one statement
plus the commit — well under a millisecond — and every transaction takes the board
lock after any other row lock, which rules out deadlocks between writers.
"""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb

from blackboard.records import Event
from blackboard.store.constraints import translated
from blackboard.store.database import Conn

_COLUMNS = "seq, kind, at, actor_id, subject_id, data"


@dataclass(frozen=True)
class EventDraft:
    """An event to append; the log assigns its seq and time."""

    kind: str
    actor_id: UUID | None = None
    subject_id: UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)


# One statement: reserve n seqs on the board row (taking its lock) and insert the events.
_APPEND = """
WITH reserved AS (
    UPDATE boards SET last_seq = last_seq + %(n)s WHERE id = %(board_id)s
    RETURNING last_seq - %(n)s AS base
)
INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
SELECT %(board_id)s, reserved.base + e.ord, e.kind, e.actor_id, e.subject_id, e.data
FROM reserved,
     unnest(%(kinds)s::text[], %(actors)s::uuid[], %(subjects)s::uuid[], %(datas)s::jsonb[])
         WITH ORDINALITY AS e(kind, actor_id, subject_id, data, ord)
RETURNING seq
"""


async def append(conn: Conn, *, board_id: UUID, events: list[EventDraft]) -> list[int]:
    """Append events to the board's log in order; return their seqs (empty if no such board)."""
    with translated():
        cur = await conn.execute(
            _APPEND,
            {
                "board_id": board_id,
                "n": len(events),
                "kinds": [e.kind for e in events],
                "actors": [e.actor_id for e in events],
                "subjects": [e.subject_id for e in events],
                "datas": [Jsonb(e.data) for e in events],
            },
        )
    return sorted(row["seq"] for row in await cur.fetchall())


async def read(
    conn: Conn, *, board_id: UUID, after: int, limit: int, kinds: list[str] | None = None
) -> list[Event]:
    """Return up to `limit` events with seq > `after`, oldest first, optionally of some kinds."""
    query = sql.SQL(
        "SELECT {columns} FROM events WHERE board_id = %(board_id)s AND seq > %(after)s {kinds}"
        " ORDER BY seq LIMIT %(limit)s"
    ).format(
        columns=sql.SQL(_COLUMNS),
        kinds=sql.SQL("AND kind = ANY(%(kinds)s)") if kinds else sql.SQL(""),
    )
    cur = await conn.execute(
        query, {"board_id": board_id, "after": after, "limit": limit, "kinds": kinds}
    )
    return [Event.model_validate(row) for row in await cur.fetchall()]
