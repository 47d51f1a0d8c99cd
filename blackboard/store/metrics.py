"""Read-only aggregate queries behind the population metrics.

Every query takes a board (or a run) and an optional time range [since, until); they only
read, so they run on any pooled connection without a transaction.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from blackboard.store.database import Conn
from blackboard.store.rollups import TOKENS_OF_A

# The range filter on a timestamp column, by name.
_IN_RANGE = """(%(since)s::timestamptz IS NULL OR {col} >= %(since)s)
    AND (%(until)s::timestamptz IS NULL OR {col} < %(until)s)"""


def _range(col: str) -> str:
    return _IN_RANGE.format(col=col)


def _args(board_id: UUID, since: datetime | None, until: datetime | None, **more: Any) -> Any:
    return {"board_id": board_id, "since": since, "until": until, **more}


async def _all(conn: Conn, query: str, args: Any) -> list[dict[str, Any]]:
    cur = await conn.execute(query, args)
    return await cur.fetchall()


async def span(
    conn: Conn, *, board_id: UUID, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Return the number of events in range and the times of the first and last."""
    if since is None and until is None:
        # The whole log: seqs are gap-free from 1, and its ends are a primary-key step away.
        query = """SELECT b.last_seq AS events,
                   (SELECT at FROM events WHERE board_id = b.board_id ORDER BY seq LIMIT 1)
                       AS first,
                   (SELECT at FROM events WHERE board_id = b.board_id ORDER BY seq DESC LIMIT 1)
                       AS last
                   FROM board_seqs b WHERE b.board_id = %(board_id)s"""
    else:
        query = f"""SELECT count(*) AS events, min(at) AS first, max(at) AS last FROM events
                    WHERE board_id = %(board_id)s AND {_range("at")}"""
    rows = await _all(conn, query, _args(board_id, since, until))
    return rows[0] if rows else {"events": 0, "first": None, "last": None}


async def tasks_by_status(conn: Conn, *, board_id: UUID) -> dict[str, int]:
    """Return how many of the board's tasks are in each status now."""
    rows = await _all(
        conn,
        "SELECT status, count(*) AS n FROM tasks WHERE board_id = %(board_id)s GROUP BY 1",
        {"board_id": board_id},
    )
    return {r["status"]: r["n"] for r in rows}


# Artifacts in scope: a board's in a time range, or a run's (tagged `run:<id>`).
_BOARD_ARTIFACTS = f"a.board_id = %(board_id)s AND {_range('a.created_at')}"
_RUN_ARTIFACTS = "a.board_id = %(board_id)s AND a.tags @> ARRAY[%(tag)s] AND a.tags <> '{}'"
# Turns in scope: a board's (through its runs, which are indexed by board) or one run's.
_BOARD_TURNS = f"""t.run_id IN (SELECT id FROM runs WHERE board_id = %(board_id)s)
    AND {_range("t.created_at")}"""
_RUN_TURNS = "t.run_id = %(run_id)s"


def _scope(run_id: UUID | None) -> tuple[str, str]:
    return (_RUN_ARTIFACTS, _RUN_TURNS) if run_id else (_BOARD_ARTIFACTS, _BOARD_TURNS)


def _scope_args(
    board_id: UUID, since: datetime | None, until: datetime | None, run_id: UUID | None
) -> Any:
    return _args(board_id, since, until, run_id=run_id, tag=f"run:{run_id}")


async def built_on(
    conn: Conn,
    *,
    board_id: UUID,
    since: datetime | None = None,
    until: datetime | None = None,
    run_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Return (producer, consumer, n): how many of the consumer's artifacts in scope have a
    parent by the producer (a different agent)."""
    artifacts, _ = _scope(run_id)
    return await _all(
        conn,
        f"""SELECT p.author_id AS producer, a.author_id AS consumer, count(*)::int AS n
            FROM artifacts a CROSS JOIN LATERAL unnest(a.parents) AS parent(id)
            JOIN artifacts p ON p.id = parent.id
            WHERE {artifacts} AND a.parents <> '{{}}' AND p.author_id <> a.author_id
            GROUP BY 1, 2""",
        _scope_args(board_id, since, until, run_id),
    )


async def shown(
    conn: Conn,
    *,
    board_id: UUID,
    since: datetime | None = None,
    until: datetime | None = None,
    run_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Return (producer, consumer, n): how many of the producer's artifacts were shown in
    the consumer's turn bundles (a different agent)."""
    _, turns = _scope(run_id)
    return await _all(
        conn,
        f"""SELECT p.author_id AS producer, t.agent_id AS consumer, count(*)::int AS n
            FROM turns t
            CROSS JOIN LATERAL jsonb_array_elements(t.manifest->'shown') AS s(entry)
            JOIN artifacts p ON p.id = (s.entry->>'id')::uuid
            WHERE {turns} AND p.author_id <> t.agent_id
            GROUP BY 1, 2""",
        _scope_args(board_id, since, until, run_id),
    )


async def publishers(
    conn: Conn,
    *,
    board_id: UUID,
    since: datetime | None = None,
    until: datetime | None = None,
    run_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Return (agent_id, name, published) for every agent that published in scope."""
    artifacts, _ = _scope(run_id)
    return await _all(
        conn,
        f"""SELECT c.agent_id, g.name, c.published
            FROM (SELECT a.author_id AS agent_id, count(*) AS published FROM artifacts a
                  WHERE {artifacts} GROUP BY 1) c
            JOIN agents g ON g.id = c.agent_id
            ORDER BY 1""",
        _scope_args(board_id, since, until, run_id),
    )


async def agent_names(conn: Conn, *, agent_ids: list[UUID]) -> dict[UUID, str]:
    """Return the names of the given agents."""
    rows = await _all(
        conn, "SELECT id, name FROM agents WHERE id = ANY(%(ids)s)", {"ids": agent_ids}
    )
    return {r["id"]: r["name"] for r in rows}


DUPLICATE_GROUPS = 100


async def duplicates(
    conn: Conn,
    *,
    board_id: UUID,
    since: datetime | None = None,
    until: datetime | None = None,
    run_id: UUID | None = None,
) -> list[dict[str, Any]]:
    """Return the content hashes published by more than one agent (oldest first, at most
    DUPLICATE_GROUPS of them), each with its agents, its first 50 versions, its `count` of
    versions, and `total`: how many versions beyond the first all such groups hold."""
    artifacts, _ = _scope(run_id)
    return await _all(
        conn,
        # Find the duplicated hashes first (cheap aggregates over all versions in scope),
        # then collect ids and agents for those few only.
        f"""WITH duplicated AS (
                SELECT a.content_hash FROM artifacts a WHERE {artifacts}
                GROUP BY 1 HAVING min(a.author_id::text) <> max(a.author_id::text)
            )
            SELECT content_hash, agents, ids, n AS count, sum(n - 1) OVER ()::int AS total
            FROM (SELECT a.content_hash, array_agg(DISTINCT a.author_id) AS agents,
                         (array_agg(a.id ORDER BY a.seq))[1:50] AS ids, count(*) AS n,
                         min(a.seq) AS first
                  FROM artifacts a JOIN duplicated USING (content_hash)
                  WHERE {artifacts}
                  GROUP BY a.content_hash) d
            ORDER BY first LIMIT {DUPLICATE_GROUPS}""",
        _scope_args(board_id, since, until, run_id),
    )


async def run_token_counts(conn: Conn, *, board_id: UUID, run_id: UUID) -> dict[str, int]:
    """Return token → occurrences over the artifacts published in a run."""
    rows = await _all(
        conn,
        f"""SELECT tok.token, count(*) AS n FROM artifacts a {TOKENS_OF_A}
              AND {_RUN_ARTIFACTS}
            GROUP BY 1""",
        _scope_args(board_id, None, None, run_id),
    )
    return {r["token"]: r["n"] for r in rows}


async def run_turns(conn: Conn, *, run_id: UUID) -> list[dict[str, Any]]:
    """Return the run's turns in step order: agent, round, status, role."""
    return await _all(
        conn,
        "SELECT agent_id, round, status, role FROM turns WHERE run_id = %(run_id)s ORDER BY step",
        {"run_id": run_id},
    )


async def run_artifact_count(conn: Conn, *, board_id: UUID, run_id: UUID) -> int:
    """Return how many artifact versions were published in a run."""
    rows = await _all(
        conn,
        f"SELECT count(*) AS n FROM artifacts a WHERE {_RUN_ARTIFACTS}",
        _scope_args(board_id, None, None, run_id),
    )
    return int(rows[0]["n"])
