"""The board event log and its sequence numbers.

Why the counter is a row and not a SEQUENCE: a reader pages with `after=<seq>` and must
never miss an event. With a SEQUENCE, transaction A can take seq 11 and B seq 12, B
commits first, a reader sees 12 and moves its cursor past 11, which A commits a moment
later — lost to that reader forever. Here every writer takes its seqs by raising the
board's counter row (`blackboard_take_seqs`, see `seqs_taken`), which holds the row's lock
until commit, so per board the seqs become visible strictly in order: whoever holds 12
could only take it after 11 was committed. A write takes this lock as its *last* step
(everything else is done first). The busy writes (publishes, completions, posts, claims)
are single statements that commit at once, so they hold it for the rest of the statement
(or of a group's few, sent together: services/board_writes.py) plus the commit; writes
in an explicit transaction also for the round trip of their COMMIT. No writer waits
for a row lock while it holds the board's (what a group's posts and claims lock after
it, nobody else holds: new rows, and rows taken with SKIP LOCKED), which rules out
deadlocks between writers.
"""

import functools
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from blackboard.records import Event
from blackboard.store.constraints import translated
from blackboard.store.database import Conn

_COLUMNS = "seq, kind, at, actor_id, subject_id, data"

CHANNEL = "bb_events"
"""The NOTIFY channel. Payload: '<board_id>:<newest seq>' — ids only, and only a hint:
listeners re-read the log, and poll it anyway, so a lost notification delays, never loses.
Sent inside the writing transaction, so it is delivered at commit or not at all."""


@dataclass(frozen=True)
class EventDraft:
    """An event to append; the log assigns its seq and time."""

    kind: str
    actor_id: UUID | None = None
    subject_id: UUID | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _append_sql() -> str:
    # One statement: the drafts as rows, logged by the same CTEs every writer uses.
    return (
        """
WITH evs AS (
    SELECT e.kind, e.actor_id, e.subject_id, e.data, e.ord
    FROM unnest(%(kinds)s::text[], %(actors)s::uuid[], %(subjects)s::uuid[], %(datas)s::jsonb[])
         WITH ORDINALITY AS e(kind, actor_id, subject_id, data, ord)
)"""
        + logged_from("evs")
        + f"""
SELECT seq, {NOTIFIED} FROM ev_logged
"""
    )


async def append(conn: Conn, *, board_id: UUID, events: list[EventDraft]) -> list[int]:
    """Append events to the board's log in order; return their seqs (empty if no such board)."""
    with translated():
        cur = await conn.execute(
            _APPEND,
            {
                "board_id": board_id,
                "kinds": [e.kind for e in events],
                "actors": [e.actor_id for e in events],
                "subjects": [e.subject_id for e in events],
                "datas": [Jsonb(e.data) for e in events],
            },
        )
    return sorted(row["seq"] for row in await cur.fetchall())


@functools.cache
def _read_sql(bounded: bool, by_kind: bool, by_type: bool, by_key: bool, by_prefix: bool) -> str:
    """The read query for one combination of filters (built once: every live board's feed
    reads once per burst in every process)."""
    return (
        f"SELECT {_COLUMNS} FROM events WHERE board_id = %(board_id)s AND seq > %(after)s"
        + (" AND seq <= %(upto)s" if bounded else "")
        + (" AND kind = ANY(%(kinds)s)" if by_kind else "")
        + (" AND data->>'type' = ANY(%(types)s)" if by_type else "")
        + (" AND data->>'key' = ANY(%(keys)s)" if by_key else "")
        + (" AND starts_with(data->>'key', %(key_prefix)s)" if by_prefix else "")
        + " ORDER BY seq LIMIT %(limit)s"
    )


async def read(
    conn: Conn,
    *,
    board_id: UUID,
    after: int,
    limit: int,
    kinds: list[str] | None = None,
    types: list[str] | None = None,
    keys: list[str] | None = None,
    key_prefix: str | None = None,
    upto: int | None = None,
) -> list[Event]:
    """Return up to `limit` events with `after` < seq (<= `upto`), oldest first, filtered by
    kind and by the artifact type and key their data names."""
    cur = await conn.execute(
        _read_sql(upto is not None, bool(kinds), bool(types), keys is not None, bool(key_prefix)),
        {
            "board_id": board_id,
            "after": after,
            "limit": limit,
            "kinds": kinds,
            "types": types,
            "keys": keys,
            "key_prefix": key_prefix,
            "upto": upto,
        },
    )
    return [Event.model_validate(row) for row in await cur.fetchall()]


async def last_seq(conn: Conn, *, board_id: UUID) -> int:
    """Return the board's newest seq (0 if the board has none or does not exist)."""
    cur = await conn.execute("SELECT last_seq FROM board_seqs WHERE board_id = %s", (board_id,))
    row = await cur.fetchone()
    return int(row["last_seq"]) if row else 0


async def board_heads(conn: Conn) -> dict[UUID, int]:
    """Return every board's newest seq."""
    cur = await conn.execute("SELECT board_id, last_seq FROM board_seqs")
    return {row["board_id"]: int(row["last_seq"]) for row in await cur.fetchall()}


def seqs_taken(count: str, *conditions: str) -> str:
    """SQL: a query whose one row's `base` is the board's last seq before `count` more
    taken for it (the parameter `board_id`); no row if there is no such board. The
    `conditions` (SQL, with no FROM to refer to) are evaluated first, before the board's
    lock is taken, and nothing is taken unless they hold.

    The counter is raised by a function (migration 0012) so that waiting for the lock
    costs a re-check of the function's one-line UPDATE, not of the whole statement."""
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    # A subquery whose output calls a volatile function is never merged into its
    # caller, so the function runs once, after `where`.
    return f"""SELECT base FROM (
        SELECT blackboard_take_seqs(%(board_id)s, {count}) AS base {where}
    ) taken WHERE base IS NOT NULL"""


def logged_from(source: str) -> str:
    """SQL: CTEs that log the rows of CTE `source` — columns (kind, actor_id, subject_id,
    data, ord) — as the board's next events, within the statement that produced them.

    The board's seq lock is taken only after `source` has run (so after any row locks the
    statement takes to produce it) and only if it produced rows. Use with the parameter
    `board_id`, and select `notified` (see `NOTIFIED`) in the main query.
    """
    return f"""
, ev_numbered AS (
    SELECT s.*, row_number() OVER (ORDER BY s.ord) AS n FROM {source} s
), ev_reserved AS (
    {seqs_taken("(SELECT count(*) FROM ev_numbered)", "EXISTS (SELECT 1 FROM ev_numbered)")}
), ev_logged AS (
    INSERT INTO events (board_id, seq, kind, actor_id, subject_id, data)
    SELECT %(board_id)s, r.base + e.n, e.kind, e.actor_id, e.subject_id, e.data
    FROM ev_reserved r, ev_numbered e
    RETURNING seq
)"""


NOTIFIED = (
    "(SELECT pg_notify('" + CHANNEL + "', %(board_id)s::text || ':' || max(seq)) FROM ev_logged"
    " HAVING count(*) > 0) AS notified"
)
"""SQL: the NOTIFY for events logged with `logged_from` (NULL when none were). Not sent
when nothing was logged: pg_notify with a NULL payload still notifies (with ''), and
every NOTIFY queues on a database-wide lock at commit and wakes every listener."""


_APPEND = _append_sql()
