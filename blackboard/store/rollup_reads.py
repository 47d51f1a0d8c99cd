"""Reads of the metric roll-ups (store/rollup_tables.py): sums over a range of buckets.

A range is [lo, hi) in 1 s buckets since the board's origin (None: unbounded). Tables
kept at several bucket sizes are read at `size`, the coarsest one the range (and the
windows, where a series is grouped by window) is aligned to: see `size_for`.
"""

from typing import Any
from uuid import UUID

from blackboard.store.database import Conn
from blackboard.store.rollups import NO_ACTOR, SIZES

# The range filter on a bucket column (in buckets of the size read).
_IN_RANGE = """(%(lo)s::bigint IS NULL OR {col} >= %(lo)s)
    AND (%(hi)s::bigint IS NULL OR {col} < %(hi)s)"""


def _range(col: str = "bucket") -> str:
    return _IN_RANGE.format(col=col)


def size_for(*offsets: int | None) -> int:
    """Return the coarsest bucket size that divides every offset given (None: any)."""
    for size in sorted(SIZES, reverse=True):
        if all(o is None or o % size == 0 for o in offsets):
            return size
    return 1


def _at(size: int, lo: int | None, hi: int | None) -> dict[str, Any]:
    """The range in buckets of `size` (lo and hi are multiples of it)."""
    return {
        "size": size,
        "lo": None if lo is None else lo // size,
        "hi": None if hi is None else hi // size,
    }


async def _all(conn: Conn, query: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    cur = await conn.execute(query, args)
    return await cur.fetchall()


async def span(conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None) -> dict[str, Any]:
    """Return the events in range, and the first and last 1 s bucket holding any."""
    rows = await _all(
        conn,
        f"""SELECT (SELECT coalesce(sum(events), 0) FROM rollup_activity
                    WHERE board_id = %(board_id)s AND size = %(size)s AND {_range()}) AS events,
                   min(bucket) AS first, max(bucket) AS last
            FROM rollup_activity
            WHERE board_id = %(board_id)s AND size = 1
              AND (%(lo1)s::bigint IS NULL OR bucket >= %(lo1)s)
              AND (%(hi1)s::bigint IS NULL OR bucket < %(hi1)s)""",
        {"board_id": board_id, **_at(size_for(lo, hi), lo, hi), "lo1": lo, "hi1": hi},
    )
    return rows[0]


async def role_claims_per_window(
    conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None, window_s: int
) -> list[dict[str, Any]]:
    """Return (win, role, n) for every window with a claim; window k starts at
    k * window_s."""
    return await _all(
        conn,
        f"""SELECT floor(bucket::numeric * %(size)s / %(window_s)s)::bigint AS win, role,
                   sum(n)::int AS n
            FROM rollup_ledger
            WHERE board_id = %(board_id)s AND size = %(size)s AND kind = 'role.claimed'
              AND {_range()}
            GROUP BY 1, 2 ORDER BY 1, 2""",
        {"board_id": board_id, "window_s": window_s, **_at(size_for(window_s, lo, hi), lo, hi)},
    )


async def role_flips(
    conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None
) -> list[dict[str, Any]]:
    """Return per agent: claims, distinct roles, and claims of a role other than its
    previous claim's (within a bucket, counted as it was rolled up; across buckets, from
    each bucket's first role and the previous bucket's last)."""
    return await _all(
        conn,
        f"""WITH runs AS (
                SELECT agent_id, claims, flips, first_role,
                       lag(last_role) OVER (PARTITION BY agent_id ORDER BY bucket) AS previous
                FROM rollup_role_runs
                WHERE board_id = %(board_id)s AND size = %(size)s AND {_range()}
            ), roles AS (
                SELECT actor_id AS agent_id, count(DISTINCT role)::int AS roles
                FROM rollup_ledger
                WHERE board_id = %(board_id)s AND size = %(size)s AND kind = 'role.claimed'
                  AND {_range()}
                GROUP BY 1
            )
            SELECT agent_id, sum(claims)::int AS claims, roles.roles,
                   (sum(flips) + count(*) FILTER (WHERE first_role <> previous))::int AS flips
            FROM runs JOIN roles USING (agent_id)
            GROUP BY agent_id, roles.roles ORDER BY agent_id""",
        {"board_id": board_id, **_at(size_for(lo, hi), lo, hi)},
    )


async def ledger_counts(
    conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None
) -> list[dict[str, Any]]:
    """Return (kind, actor_id, role, n) over the ledger's events (no actor, no role: None)."""
    rows = await _all(
        conn,
        f"""SELECT kind, actor_id, role, sum(n)::int AS n FROM rollup_ledger
            WHERE board_id = %(board_id)s AND size = %(size)s AND {_range()} GROUP BY 1, 2, 3""",
        {"board_id": board_id, **_at(size_for(lo, hi), lo, hi)},
    )
    for row in rows:
        row["actor_id"] = None if row["actor_id"] == NO_ACTOR else row["actor_id"]
        row["role"] = row["role"] or None
    return rows


async def task_latency(
    conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None
) -> dict[str, Any]:
    """Return count, mean, p50, p90 and max of seconds from posting to completion, over the
    tasks completed in range."""
    rows = await _all(
        conn,
        f"""SELECT count(*) AS count, avg(latency_s) AS mean_s,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_s) AS p50_s,
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY latency_s) AS p90_s,
                   max(latency_s) AS max_s
            FROM rollup_tasks
            WHERE board_id = %(board_id)s AND completed IS NOT NULL AND {_range("completed")}""",
        {"board_id": board_id, "lo": lo, "hi": hi},
    )
    return rows[0]


async def built_on(
    conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None
) -> list[dict[str, Any]]:
    """Return (producer, consumer, n) over the versions published in range."""
    return await _all(
        conn,
        f"""SELECT producer, consumer, sum(n)::int AS n FROM rollup_built_on
            WHERE board_id = %(board_id)s AND size = %(size)s AND {_range()}
            GROUP BY 1, 2""",
        {"board_id": board_id, **_at(size_for(lo, hi), lo, hi)},
    )


async def publishers(
    conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None
) -> list[dict[str, Any]]:
    """Return (agent_id, name, published) for every agent that published in range."""
    return await _all(
        conn,
        f"""SELECT c.agent_id, g.name, c.published
            FROM (SELECT agent_id, sum(n)::int AS published FROM rollup_publishes
                  WHERE board_id = %(board_id)s AND size = %(size)s AND {_range()}
                  GROUP BY 1) c
            JOIN agents g ON g.id = c.agent_id
            ORDER BY 1""",
        {"board_id": board_id, **_at(size_for(lo, hi), lo, hi)},
    )


DUPLICATE_GROUPS = 100
IDS_PER_GROUP = 50


async def duplicates(
    conn: Conn, *, board_id: UUID, lo: int | None, hi: int | None
) -> list[dict[str, Any]]:
    """Return the content hashes published by more than one agent in range (oldest first,
    at most DUPLICATE_GROUPS), each with its agents, its first IDS_PER_GROUP versions, its
    `count` of versions, and `total`: the versions beyond the first of all such groups."""
    if lo is None and hi is None:
        # The whole board: the per-hash sums, then ids for the groups shown only.
        query = f"""
            WITH shown AS (
                SELECT content_hash, authors, versions, first_seq FROM rollup_contents
                WHERE board_id = %(board_id)s AND duplicated ORDER BY first_seq
                LIMIT {DUPLICATE_GROUPS}
            )
            SELECT s.content_hash, s.authors AS agents, s.versions::int AS count,
                   ARRAY(SELECT d.artifact_id FROM rollup_duplicates d
                         WHERE d.board_id = %(board_id)s AND d.content_hash = s.content_hash
                         ORDER BY d.seq LIMIT {IDS_PER_GROUP}) AS ids,
                   (SELECT duplicate_versions FROM rollup_marks
                    WHERE board_id = %(board_id)s)::int AS total
            FROM shown s ORDER BY s.first_seq"""
    else:
        query = f"""
            SELECT content_hash, agents, ids, n AS count, sum(n - 1) OVER ()::int AS total
            FROM (SELECT content_hash, array_agg(DISTINCT author_id) AS agents,
                         (array_agg(artifact_id ORDER BY seq))[1:{IDS_PER_GROUP}] AS ids,
                         count(*)::int AS n, min(seq) AS first
                  FROM rollup_duplicates WHERE board_id = %(board_id)s AND {_range()}
                  GROUP BY 1 HAVING count(DISTINCT author_id) > 1) d
            ORDER BY first LIMIT {DUPLICATE_GROUPS}"""
    return await _all(conn, query, {"board_id": board_id, "lo": lo, "hi": hi})


async def entropy_per_window(
    conn: Conn, *, board_id: UUID, lo: int, hi: int, window_s: int
) -> list[dict[str, Any]]:
    """Return per window k (starting at k * window_s) holding an artifact: `artifacts`,
    `tokens`, `distinct_tokens` and `nlogn`, the sum over tokens of n·ln(n) — enough for
    the window's entropy. [lo, hi) is a whole number of windows."""
    args = {"board_id": board_id, "window_s": window_s, **_at(size_for(window_s, lo), lo, hi)}
    window = "floor(bucket::numeric * %(size)s / %(window_s)s)::bigint"
    return await _all(
        conn,
        f"""WITH words AS (
                SELECT {window} AS win, token, sum(n) AS n FROM rollup_tokens
                WHERE board_id = %(board_id)s AND size = %(size)s AND {_range()}
                GROUP BY 1, 2
            ), per_window AS (
                SELECT win, sum(n)::bigint AS tokens, count(*)::int AS distinct_tokens,
                       sum(n * ln(n))::float8 AS nlogn
                FROM words GROUP BY 1
            ), artifacts AS (
                SELECT {window} AS win, sum(n)::int AS artifacts FROM rollup_publishes
                WHERE board_id = %(board_id)s AND size = %(size)s AND {_range()}
                GROUP BY 1
            )
            SELECT win, a.artifacts, coalesce(w.tokens, 0) AS tokens,
                   coalesce(w.distinct_tokens, 0) AS distinct_tokens,
                   coalesce(w.nlogn, 0) AS nlogn
            FROM artifacts a LEFT JOIN per_window w USING (win)""",
        args,
    )


# Windows are counted from window `first`, which starts at `base` (seconds): offsets from
# it are never negative in range, so integer division floors them.
#
# Claims (rows of rollup_holdings `h`) held in [start, end), each with every window it
# overlaps (window k is [k * window_s, (k + 1) * window_s) cut to [start, end)): from the
# window of its start to that of its end, both clipped to the range (least() skips the NULL
# end of an open claim).
_CLAIM_WINDOWS = """SELECT %(first)s + k.i, h.role, h.agent_id
    FROM rollup_holdings h CROSS JOIN LATERAL generate_series(
        (greatest(h.held_from, %(start)s) - %(base)s) / %(window_s)s,
        (least(h.held_until, %(end)s) - %(base)s - 1) / %(window_s)s) AS k(i)
    WHERE h.board_id = %(board_id)s AND h.held_from < %(end)s"""
_ENDED_IN_RANGE = "h.held_until > %(start)s AND h.held_until > h.held_from"


async def holdings(
    conn: Conn,
    *,
    board_id: UUID,
    lo: int | None,
    hi: int | None,
    window_s: int,
    first: int,
    last: int,
) -> list[dict[str, Any]]:
    """Return (win, role, agents) for every role held at some moment of window `win`, from
    window `first` to window `last`: window k is [k * window_s, (k + 1) * window_s) cut to
    [lo, hi). A window cut to nothing holds nothing, nor does a claim held for no time."""
    base = first * window_s
    start = base if lo is None else max(base, lo)
    end = (last + 1) * window_s if hi is None else min((last + 1) * window_s, hi)
    if start >= end:
        return []
    args = {
        "board_id": board_id,
        "window_s": window_s,
        "first": first,
        "base": base,
        "start": start,
        "end": end,
    }
    size = size_for(window_s, start, end)
    if size == 1:
        # No roll-up of whole buckets fits: the claims in range, spread over their windows.
        held = f"{_CLAIM_WINDOWS} AND (h.held_until IS NULL OR ({_ENDED_IN_RANGE}))"
    else:
        # Ended claims from their buckets, open ones (never in rollup_held) as above.
        held = f"""SELECT %(first)s + (bucket - %(base_bucket)s) / %(per_window)s, role, agent_id
            FROM rollup_held
            WHERE board_id = %(board_id)s AND size = %(size)s
              AND bucket >= %(lo)s AND bucket < %(hi)s
            UNION ALL
            {_CLAIM_WINDOWS} AND h.held_until IS NULL"""
        args |= _at(size, start, end)
        args |= {"base_bucket": base // size, "per_window": window_s // size}
    return await _all(
        conn,
        f"""SELECT win, role, array_agg(DISTINCT agent_id ORDER BY agent_id) AS agents
            FROM ({held}) AS held(win, role, agent_id)
            GROUP BY 1, 2 ORDER BY 1, 2""",
        args,
    )
