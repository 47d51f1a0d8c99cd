"""Read-only aggregate queries behind the population metrics.

Every query takes a board (or a run) and an optional time range [since, until); they only
read, so they run on any pooled connection without a transaction.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from blackboard.store.database import Conn

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


_WINDOW = "date_bin(make_interval(secs => %(window_s)s), {col}, %(origin)s)"


async def role_claims_per_window(
    conn: Conn,
    *,
    board_id: UUID,
    since: datetime | None,
    until: datetime | None,
    window_s: int,
    origin: datetime,
) -> list[dict[str, Any]]:
    """Return (window start, role, claims) for every window with a claim."""
    return await _all(
        conn,
        f"""SELECT {_WINDOW.format(col="at")} AS start, data->>'role' AS role, count(*) AS n
            FROM events
            WHERE board_id = %(board_id)s AND kind = 'role.claimed' AND {_range("at")}
            GROUP BY 1, 2 ORDER BY 1, 2""",
        _args(board_id, since, until, window_s=window_s, origin=origin),
    )


async def role_flips(
    conn: Conn, *, board_id: UUID, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """Return per agent: claims, distinct roles, and claims of a role other than its last."""
    return await _all(
        conn,
        f"""SELECT agent_id, count(*) AS claims, count(DISTINCT role) AS roles,
                   count(*) FILTER (WHERE role <> previous) AS flips
            FROM (SELECT actor_id AS agent_id, data->>'role' AS role,
                         lag(data->>'role') OVER (PARTITION BY actor_id ORDER BY seq) AS previous
                  FROM events
                  WHERE board_id = %(board_id)s AND kind = 'role.claimed'
                    AND {_range("at")}) c
            GROUP BY agent_id ORDER BY agent_id""",
        _args(board_id, since, until),
    )


LEDGER_KINDS = [
    "role.claimed",
    "role.released",
    "role.expired",
    "agent.abstained",
    "task.posted",
    "task.claimed",
    "task.lease_expired",
    "task.completed",
    "task.failed",
    "task.cancelled",
]


async def ledger_counts(
    conn: Conn, *, board_id: UUID, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """Return (kind, actor, role, n) over the ledger's events; a `task.failed` counts only
    when the task is finally failed (not when it went back to the pool for a retry)."""
    return await _all(
        conn,
        f"""SELECT kind, actor_id, data->>'role' AS role, count(*) AS n
            FROM events
            WHERE board_id = %(board_id)s AND kind = ANY(%(kinds)s) AND {_range("at")}
              AND (kind <> 'task.failed' OR data->>'status' = 'failed')
            GROUP BY 1, 2, 3""",
        _args(board_id, since, until, kinds=LEDGER_KINDS),
    )


async def tasks_by_status(conn: Conn, *, board_id: UUID) -> dict[str, int]:
    """Return how many of the board's tasks are in each status now."""
    rows = await _all(
        conn,
        "SELECT status, count(*) AS n FROM tasks WHERE board_id = %(board_id)s GROUP BY 1",
        {"board_id": board_id},
    )
    return {r["status"]: r["n"] for r in rows}


async def task_latency(
    conn: Conn, *, board_id: UUID, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Return count, mean, p50, p90 and max of seconds from posting to completion, over the
    tasks completed in range."""
    rows = await _all(
        conn,
        f"""SELECT count(*) AS count, avg(s) AS mean_s,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50_s,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90_s, max(s) AS max_s
            FROM (SELECT extract(epoch FROM c.at - p.at)::float8 AS s
                  FROM events c
                  JOIN events p ON p.board_id = c.board_id AND p.kind = 'task.posted'
                               AND p.subject_id = c.subject_id
                  WHERE c.board_id = %(board_id)s AND c.kind = 'task.completed'
                    AND {_range("c.at")}) d""",
        _args(board_id, since, until),
    )
    return rows[0]


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


async def versions_since(conn: Conn, *, board_id: UUID, after_seq: int) -> list[dict[str, Any]]:
    """Return (seq, author_id, content_hash) of the board's artifact versions after
    `after_seq`, oldest first."""
    return await _all(
        conn,
        """SELECT seq, author_id, content_hash FROM artifacts
           WHERE board_id = %(board_id)s AND seq > %(after_seq)s ORDER BY seq""",
        {"board_id": board_id, "after_seq": after_seq},
    )


async def built_on_between(
    conn: Conn, *, board_id: UUID, after_seq: int, up_to_seq: int
) -> list[dict[str, Any]]:
    """Return (producer, consumer, n) as `built_on` does, over the board's versions with
    after_seq < seq <= up_to_seq."""
    return await _all(
        conn,
        """SELECT p.author_id AS producer, a.author_id AS consumer, count(*)::int AS n
           FROM artifacts a CROSS JOIN LATERAL unnest(a.parents) AS parent(id)
           JOIN artifacts p ON p.id = parent.id
           WHERE a.board_id = %(board_id)s AND a.seq > %(after_seq)s
             AND a.seq <= %(up_to_seq)s AND a.parents <> '{}' AND p.author_id <> a.author_id
           GROUP BY 1, 2""",
        {"board_id": board_id, "after_seq": after_seq, "up_to_seq": up_to_seq},
    )


async def ids_at(conn: Conn, *, board_id: UUID, seqs: list[int]) -> dict[int, UUID]:
    """Return the ids of the board's artifact versions at the given seqs."""
    rows = await _all(
        conn,
        "SELECT seq, id FROM artifacts WHERE board_id = %(board_id)s AND seq = ANY(%(seqs)s)",
        {"board_id": board_id, "seqs": seqs},
    )
    return {r["seq"]: r["id"] for r in rows}


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


# Tokens: lower-cased runs of letters, digits and underscores in the string values of an
# artifact's body (field names and numbers are structure, not communication).
_TOKENS = """CROSS JOIN LATERAL jsonb_path_query(a.body, 'strict $.**') AS v(value)
    CROSS JOIN LATERAL regexp_split_to_table(lower(v.value #>> '{}'), '[^[:alnum:]_]+')
        AS tok(token)
    WHERE jsonb_typeof(v.value) = 'string' AND tok.token <> ''"""


async def token_counts_per_window(
    conn: Conn,
    *,
    board_id: UUID,
    after_seq: int,
    window_s: int,
    origin: datetime,
) -> list[dict[str, Any]]:
    """Return (window start, token, n) over the board's artifacts published after
    `after_seq`, and in every row `artifacts`: how many of them each window holds, and
    `last_seq`: the newest seq counted."""
    return await _all(
        conn,
        f"""WITH fresh AS (
                SELECT a.* FROM artifacts a
                WHERE a.board_id = %(board_id)s AND a.seq > %(after_seq)s
            ), counted AS (
                SELECT {_WINDOW.format(col="a.created_at")} AS start, tok.token, count(*) AS n
                FROM fresh a {_TOKENS}
                GROUP BY 1, 2
            ), per_window AS (
                SELECT {_WINDOW.format(col="created_at")} AS start, count(*) AS artifacts
                FROM fresh GROUP BY 1
            )
            SELECT w.start, c.token, coalesce(c.n, 0) AS n, w.artifacts,
                   (SELECT max(seq) FROM fresh) AS last_seq
            FROM per_window w LEFT JOIN counted c USING (start)
            ORDER BY w.start""",
        {"board_id": board_id, "after_seq": after_seq, "window_s": window_s, "origin": origin},
    )


async def run_token_counts(conn: Conn, *, board_id: UUID, run_id: UUID) -> dict[str, int]:
    """Return token → occurrences over the artifacts published in a run."""
    rows = await _all(
        conn,
        f"""SELECT tok.token, count(*) AS n FROM artifacts a {_TOKENS}
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
