"""Advancing the metric roll-ups (store/rollup_tables.py) from the event log.

A roll-up pass takes one board's watermark row (`rollup_marks`) with FOR UPDATE, sums the
events after the watermark — at most BATCH of them, and only committed ones: seqs become
visible in order (store/events.py) — into the roll-up tables, moves the watermark, and
commits, all in one transaction. So a pass killed midway leaves nothing behind and the
next one starts from the same watermark; two processes never sum the same events, as
the second waits on (or, with SKIP LOCKED, skips) the row the first holds.

Each statement below sums one batch of events (or of the artifact versions they
publish, whose seqs are the events') into one table; a bucket of a batch is added to
the same bucket of earlier batches.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from blackboard.store.database import Conn

BATCH = 5000
SIZES = (1, 60, 3600)  # bucket sizes, in seconds, of the tables read over long ranges
HELD_SIZES = (60, 3600)  # rollup_held's: at 1 s, a claim held for a day would be 86,400 rows
NO_ACTOR = UUID(int=0)

# The batch's events and artifact versions, with their 1 s bucket.
_EVENTS = """evs AS (
    SELECT e.*, floor(extract(epoch FROM e.at - %(origin)s))::bigint AS bucket
    FROM events e
    WHERE e.board_id = %(board_id)s AND e.seq > %(lo)s AND e.seq <= %(hi)s
)"""
_ARTIFACTS = """arts AS (
    SELECT a.*, floor(extract(epoch FROM a.created_at - %(origin)s))::bigint AS bucket
    FROM artifacts a
    WHERE a.board_id = %(board_id)s AND a.seq > %(lo)s AND a.seq <= %(hi)s
)"""
# Every bucket size of SIZES, for tables kept at each.
_SIZED = "CROSS JOIN unnest(%(sizes)s::int[]) AS z(size)"
_SIZED_BUCKET = "floor(x.bucket::numeric / z.size)::bigint"

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

ACTIVITY = f"""
WITH {_EVENTS}
INSERT INTO rollup_activity AS r (board_id, size, bucket, events)
SELECT %(board_id)s, z.size, {_SIZED_BUCKET}, count(*) FROM evs x {_SIZED} GROUP BY 2, 3
ON CONFLICT (board_id, size, bucket) DO UPDATE SET events = r.events + EXCLUDED.events
"""

# A `task.failed` counts only when the task is finally failed (not back in the pool).
LEDGER = f"""
WITH {_EVENTS}
INSERT INTO rollup_ledger AS r (board_id, size, bucket, kind, actor_id, role, n)
SELECT %(board_id)s, z.size, {_SIZED_BUCKET}, kind, coalesce(actor_id, %(no_actor)s),
       coalesce(data->>'role', ''), count(*)
FROM evs x {_SIZED}
WHERE kind = ANY(%(kinds)s) AND (kind <> 'task.failed' OR data->>'status' = 'failed')
GROUP BY 2, 3, 4, 5, 6
ON CONFLICT (board_id, size, bucket, kind, actor_id, role) DO UPDATE SET n = r.n + EXCLUDED.n
"""

# Flips within a bucket are counted in seq order; a later batch's first claim in the
# same bucket is compared with the bucket's last role so far.
ROLE_RUNS = f"""
WITH {_EVENTS}, claimed AS (
    SELECT z.size, {_SIZED_BUCKET} AS bucket, x.actor_id, x.data->>'role' AS role, x.seq
    FROM evs x {_SIZED} WHERE x.kind = 'role.claimed' AND x.actor_id IS NOT NULL
), ordered AS (
    SELECT *, lag(role) OVER (PARTITION BY size, bucket, actor_id ORDER BY seq) AS previous
    FROM claimed
)
INSERT INTO rollup_role_runs AS r
    (board_id, size, agent_id, bucket, claims, first_role, last_role, flips)
SELECT %(board_id)s, size, actor_id, bucket, count(*), (array_agg(role ORDER BY seq))[1],
       (array_agg(role ORDER BY seq DESC))[1], count(*) FILTER (WHERE role <> previous)
FROM ordered GROUP BY size, actor_id, bucket
ON CONFLICT (board_id, size, agent_id, bucket) DO UPDATE SET
    claims = r.claims + EXCLUDED.claims,
    flips = r.flips + EXCLUDED.flips + (r.last_role <> EXCLUDED.first_role)::int,
    last_role = EXCLUDED.last_role
"""

HOLDINGS_START = f"""
WITH {_EVENTS}
INSERT INTO rollup_holdings (board_id, claim_id, role, agent_id, held_from)
SELECT %(board_id)s, subject_id, data->>'role', actor_id, bucket FROM evs
WHERE kind = 'role.claimed' AND subject_id IS NOT NULL AND actor_id IS NOT NULL
ON CONFLICT DO NOTHING
"""

# Run after HOLDINGS_START: a claim and its end may be in the same batch.
HOLDINGS_END = f"""
WITH {_EVENTS}
UPDATE rollup_holdings h SET held_until = ceil(extract(epoch FROM e.at - %(origin)s))::bigint
FROM evs e
WHERE e.kind IN ('role.released', 'role.expired') AND h.board_id = %(board_id)s
  AND h.claim_id = e.subject_id AND h.held_until IS NULL
"""

# The buckets at each of HELD_SIZES that the claims `ended` (rows of rollup_holdings with
# held_until set) were held in: b from floor(held_from / size) to ceil(held_until / size) - 1,
# exactly the buckets [lo, hi) for which held_from < hi AND held_until > lo. A claim held
# for no time (claimed and ended at the same whole second) holds nothing. Also the back-fill
# of migration 0019.
HOLD_BUCKETS = f"""INSERT INTO rollup_held (board_id, size, bucket, role, agent_id)
SELECT h.board_id, z.size, b.bucket, h.role, h.agent_id
FROM ended h CROSS JOIN unnest(ARRAY{list(HELD_SIZES)}::int[]) AS z(size)
CROSS JOIN LATERAL generate_series(floor(h.held_from::numeric / z.size)::bigint,
                                   ceil(h.held_until::numeric / z.size)::bigint - 1) AS b(bucket)
WHERE h.held_until > h.held_from
ON CONFLICT DO NOTHING"""

# Run after HOLDINGS_END: the claims this batch ended, with their end set.
HELD = f"""
WITH {_EVENTS}, ended AS (
    SELECT h.* FROM evs e
    JOIN rollup_holdings h ON h.board_id = %(board_id)s AND h.claim_id = e.subject_id
    WHERE e.kind IN ('role.released', 'role.expired') AND h.held_until IS NOT NULL
)
{HOLD_BUCKETS}
"""

TASKS_POSTED = f"""
WITH {_EVENTS}
INSERT INTO rollup_tasks (board_id, task_id, posted_at)
SELECT %(board_id)s, subject_id, at FROM evs WHERE kind = 'task.posted' AND subject_id IS NOT NULL
ON CONFLICT DO NOTHING
"""

TASKS_COMPLETED = f"""
WITH {_EVENTS}
UPDATE rollup_tasks t
SET completed = e.bucket, latency_s = extract(epoch FROM e.at - t.posted_at)::float8
FROM evs e
WHERE e.kind = 'task.completed' AND t.board_id = %(board_id)s AND t.task_id = e.subject_id
"""

PUBLISHES = f"""
WITH {_ARTIFACTS}
INSERT INTO rollup_publishes AS r (board_id, size, bucket, agent_id, n)
SELECT %(board_id)s, z.size, {_SIZED_BUCKET}, x.author_id, count(*) FROM arts x {_SIZED}
GROUP BY 2, 3, 4
ON CONFLICT (board_id, size, bucket, agent_id) DO UPDATE SET n = r.n + EXCLUDED.n
"""

BUILT_ON = f"""
WITH {_ARTIFACTS}, edges AS (
    SELECT x.bucket, p.author_id AS producer, x.author_id AS consumer
    FROM arts x CROSS JOIN LATERAL unnest(x.parents) AS parent(id)
    JOIN artifacts p ON p.id = parent.id
    WHERE x.parents <> '{{}}' AND p.author_id <> x.author_id
)
INSERT INTO rollup_built_on AS r (board_id, size, bucket, producer, consumer, n)
SELECT %(board_id)s, z.size, {_SIZED_BUCKET}, producer, consumer, count(*) FROM edges x {_SIZED}
GROUP BY 2, 3, 4, 5
ON CONFLICT (board_id, size, bucket, producer, consumer) DO UPDATE SET n = r.n + EXCLUDED.n
"""

# Tokens: lower-cased runs of letters, digits and underscores in the string values of an
# artifact's body (field names and numbers are structure, not communication).
TOKENS_OF_A = """CROSS JOIN LATERAL jsonb_path_query(a.body, 'strict $.**') AS v(value)
    CROSS JOIN LATERAL regexp_split_to_table(lower(v.value #>> '{}'), '[^[:alnum:]_]+')
        AS tok(token)
    WHERE jsonb_typeof(v.value) = 'string' AND tok.token <> ''"""

TOKENS = f"""
WITH {_ARTIFACTS}, words AS (
    SELECT a.bucket, tok.token, count(*) AS n FROM arts a {TOKENS_OF_A} GROUP BY 1, 2
)
INSERT INTO rollup_tokens AS r (board_id, size, bucket, token, n)
SELECT %(board_id)s, z.size, {_SIZED_BUCKET}, x.token, sum(x.n) FROM words x {_SIZED}
GROUP BY 2, 3, 4
ON CONFLICT (board_id, size, bucket, token) DO UPDATE SET n = r.n + EXCLUDED.n
"""

# Content hashes: merge the batch's into rollup_contents; a hash that has (now) more than
# one author moves its versions to rollup_duplicates: the batch's, and the earlier ones
# kept in `seqs` while it had one author (empty once duplicated); and the board's running
# total of duplicate versions (rollup_marks.duplicate_versions) moves with them.
CONTENTS = f"""
WITH {_ARTIFACTS}, batch AS (
    SELECT content_hash, min(seq) AS first_seq, array_agg(DISTINCT author_id) AS authors,
           count(*) AS n, array_agg(seq ORDER BY seq) AS seqs
    FROM arts GROUP BY 1
), merged AS (
    SELECT b.content_hash, least(p.first_seq, b.first_seq) AS first_seq,
           ARRAY(SELECT DISTINCT u FROM unnest(coalesce(p.authors, '{{}}') || b.authors) AS u
                 ORDER BY u) AS authors,
           coalesce(p.versions, 0) + b.n AS versions,
           coalesce(p.seqs, '{{}}') || b.seqs AS seqs,
           coalesce(p.duplicated, false) AS was, coalesce(p.versions, 0) AS before
    FROM batch b LEFT JOIN rollup_contents p
        ON p.board_id = %(board_id)s AND p.content_hash = b.content_hash
), kept AS (
    INSERT INTO rollup_contents AS r
        (board_id, content_hash, first_seq, authors, versions, seqs, duplicated)
    SELECT %(board_id)s, content_hash, first_seq, authors, versions,
           CASE WHEN cardinality(authors) > 1 THEN '{{}}' ELSE seqs END,
           cardinality(authors) > 1
    FROM merged
    ON CONFLICT (board_id, content_hash) DO UPDATE SET
        first_seq = EXCLUDED.first_seq, authors = EXCLUDED.authors,
        versions = EXCLUDED.versions, seqs = EXCLUDED.seqs, duplicated = EXCLUDED.duplicated
), tally AS (
    UPDATE rollup_marks SET duplicate_versions = duplicate_versions + (
        SELECT coalesce(sum(CASE WHEN cardinality(authors) > 1 THEN versions - 1 ELSE 0 END
                            - CASE WHEN was THEN before - 1 ELSE 0 END), 0)
        FROM merged)
    WHERE board_id = %(board_id)s
)
INSERT INTO rollup_duplicates (board_id, content_hash, seq, bucket, author_id, artifact_id)
SELECT %(board_id)s, a.content_hash, a.seq,
       floor(extract(epoch FROM a.created_at - %(origin)s))::bigint, a.author_id, a.id
FROM merged m CROSS JOIN LATERAL unnest(m.seqs) AS s(seq)
JOIN artifacts a ON a.board_id = %(board_id)s AND a.seq = s.seq
WHERE cardinality(m.authors) > 1
"""

STATEMENTS = (
    ACTIVITY,
    LEDGER,
    ROLE_RUNS,
    HOLDINGS_START,
    HOLDINGS_END,
    HELD,
    TASKS_POSTED,
    TASKS_COMPLETED,
    PUBLISHES,
    BUILT_ON,
    TOKENS,
    CONTENTS,
)


# Every roll-up table, watermark last.
TABLES = (
    "rollup_activity",
    "rollup_ledger",
    "rollup_role_runs",
    "rollup_holdings",
    "rollup_held",
    "rollup_tasks",
    "rollup_publishes",
    "rollup_built_on",
    "rollup_tokens",
    "rollup_contents",
    "rollup_duplicates",
    "rollup_marks",
)


def batch_args(board_id: UUID, origin: datetime, lo: int, hi: int) -> dict[str, Any]:
    """The parameters every statement of a batch takes."""
    return {
        "board_id": board_id,
        "origin": origin,
        "lo": lo,
        "hi": hi,
        "sizes": list(SIZES),
        "kinds": LEDGER_KINDS,
        "no_actor": NO_ACTOR,
    }


MARK = """INSERT INTO rollup_marks (board_id, origin)
SELECT id, created_at FROM boards WHERE id = %(board_id)s ON CONFLICT DO NOTHING"""

# The watermark and how far the log goes (committed events only), the mark row locked.
_TAKE = """SELECT m.origin, m.last_seq, s.last_seq AS log_seq
FROM rollup_marks m JOIN board_seqs s USING (board_id)
WHERE m.board_id = %(board_id)s FOR UPDATE OF m"""

BEHIND = """SELECT s.board_id FROM board_seqs s LEFT JOIN rollup_marks m USING (board_id)
WHERE s.last_seq > coalesce(m.last_seq, 0) ORDER BY s.board_id LIMIT %(limit)s"""


_STATE = """SELECT b.created_at AS origin, s.last_seq - coalesce(m.last_seq, 0) AS behind
FROM boards b JOIN board_seqs s ON s.board_id = b.id
LEFT JOIN rollup_marks m ON m.board_id = b.id WHERE b.id = %(board_id)s"""


async def state(conn: Conn, *, board_id: UUID) -> dict[str, Any] | None:
    """Return the board's creation time (`origin`) and how many committed events its
    roll-ups lack (`behind`); None if there is no such board."""
    cur = await conn.execute(_STATE, {"board_id": board_id})
    return await cur.fetchone()


async def ensure_mark(conn: Conn, *, board_id: UUID) -> None:
    """Give the board a watermark (at 0) if it has none."""
    await conn.execute(MARK, {"board_id": board_id})


async def boards_behind(conn: Conn, *, limit: int = 100) -> list[UUID]:
    """Return boards whose log has events the roll-ups lack."""
    cur = await conn.execute(BEHIND, {"limit": limit})
    return [row["board_id"] for row in await cur.fetchall()]


async def roll_up_batch(
    conn: Conn, *, board_id: UUID, wait: bool, batch: int = BATCH
) -> tuple[int, int] | None:
    """In the caller's transaction: sum up to `batch` events after the board's watermark
    and move it. Return (events summed, events still behind), or None if another pass
    holds the board and `wait` is false."""
    take = _TAKE if wait else _TAKE + " SKIP LOCKED"
    cur = await conn.execute(take, {"board_id": board_id})
    row = await cur.fetchone()
    if row is None:
        return None
    lo, log_seq = row["last_seq"], row["log_seq"]
    hi = min(lo + batch, log_seq)
    if hi <= lo:
        return 0, 0
    args = batch_args(board_id, row["origin"], lo, hi)
    for statement in STATEMENTS:
        await conn.execute(statement, args)
    await conn.execute(
        "UPDATE rollup_marks SET last_seq = %(hi)s WHERE board_id = %(board_id)s", args
    )
    return hi - lo, log_seq - hi
