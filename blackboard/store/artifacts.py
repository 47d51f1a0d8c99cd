"""Reading artifact versions: by id, listings as the board stands or stood, history,
lineage. (Writing is in store/artifact_writes.py.)"""

import functools
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from blackboard.records import Artifact, LineageEdge, Retraction
from blackboard.store.database import Conn

_SELECT = """
SELECT a.id, a.board_id, a.type, a.type_version, a.key, a.version, a.body, a.author_id,
       a.role, a.claim_id, a.fencing_token, a.parents, a.tags, a.seq, a.content_hash,
       a.created_at,
       r.seq AS r_seq, r.actor_id AS r_by, r.reason AS r_reason, r.created_at AS r_at
"""


def _artifact(row: dict[str, Any]) -> Artifact:
    r_seq = row.pop("r_seq")
    r_by, r_reason, r_at = row.pop("r_by"), row.pop("r_reason"), row.pop("r_at")
    if r_seq is not None:
        row["retracted"] = Retraction(seq=r_seq, by=r_by, reason=r_reason, at=r_at)
    return Artifact.model_validate(row)


@dataclass(frozen=True)
class StoredIdempotent:
    """An artifact written earlier under an idempotency key, and the request that wrote it."""

    artifact: Artifact
    request_hash: str | None


async def find_idempotent(
    conn: Conn, *, board_id: UUID, author_id: UUID, idempotency_keys: list[str]
) -> dict[str, StoredIdempotent]:
    """Return the artifacts this author already published under these idempotency keys."""
    cur = await conn.execute(
        _SELECT
        + """, a.idempotency_key, a.request_hash FROM artifacts a
        LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.author_id = %s AND a.board_id = %s AND a.idempotency_key = ANY(%s)""",
        (author_id, board_id, idempotency_keys),
    )
    found: dict[str, StoredIdempotent] = {}
    for row in await cur.fetchall():
        key, request_hash = row.pop("idempotency_key"), row.pop("request_hash")
        found[key] = StoredIdempotent(_artifact(row), request_hash)
    return found


async def existing_ids(conn: Conn, *, board_id: UUID, ids: list[UUID]) -> set[UUID]:
    """Return which of `ids` are artifacts on this board."""
    cur = await conn.execute(
        "SELECT id FROM artifacts WHERE board_id = %s AND id = ANY(%s)", (board_id, ids)
    )
    return {row["id"] for row in await cur.fetchall()}


async def get(conn: Conn, *, board_id: UUID, artifact_id: UUID) -> Artifact | None:
    """Return one artifact version on this board, or None."""
    cur = await conn.execute(
        _SELECT
        + """FROM artifacts a LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.id = %s AND a.board_id = %s""",
        (artifact_id, board_id),
    )
    row = await cur.fetchone()
    return _artifact(row) if row else None


async def bodies(conn: Conn, *, ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """Return the bodies of these artifact versions, by id."""
    cur = await conn.execute("SELECT id, body FROM artifacts WHERE id = ANY(%s)", (ids,))
    return {row["id"]: row["body"] for row in await cur.fetchall()}


async def get_many(conn: Conn, *, ids: list[UUID]) -> list[Artifact]:
    """Return these artifact versions, in seq order."""
    cur = await conn.execute(
        _SELECT
        + """FROM artifacts a LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.id = ANY(%s) ORDER BY a.seq""",
        (ids,),
    )
    return [_artifact(row) for row in await cur.fetchall()]


@dataclass(frozen=True)
class ArtifactFilter:
    """Which artifacts a listing returns; None means no restriction."""

    type: str | None = None
    keys: list[str] | None = None  # any of these keys
    key_prefix: str | None = None
    author_id: UUID | None = None
    role: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Listing:
    """One page of a listing: which artifacts, as the board stands or stood at `as_of`,
    after which seq, how many."""

    filters: ArtifactFilter = ArtifactFilter()
    latest: bool = True  # only each key's current (newest, not retracted) version
    as_of: int | None = None
    after: int = 0
    limit: int = 50


_FILTERS = ("type", "keys", "key_prefix", "author_id", "role", "tag")
_KEY_LEVEL = {
    "type": "{a}.type = %(type)s",
    "keys": "{a}.key = ANY(%(keys)s::text[])",
    "key_prefix": "starts_with({a}.key, %(key_prefix)s)",
}


def _key_filters(present: frozenset[str], alias: str) -> str:
    """SQL: ` AND …` for the key-level filters (type, keys, key prefix) that are set."""
    conds = [sql.format(a=alias) for name, sql in _KEY_LEVEL.items() if name in present]
    return "".join(" AND " + c for c in conds)


def _version_filters(present: frozenset[str]) -> str:
    """SQL: ` AND …` on versions `a` for the other filters that are set."""
    conds = [f"a.{name} = %({name})s" for name in ("author_id", "role") if name in present]
    if "tag" in present:
        # `<> '{}'` lets the planner use the partial GIN index
        conds.append("a.tags @> ARRAY[%(tag)s]::text[] AND a.tags <> '{}'")
    return "".join(" AND " + c for c in conds)


@functools.cache
def _listing_sql(latest: bool, past: bool, present: frozenset[str]) -> str:
    """The listing query for one combination of options (built once: composing it anew
    was a noticeable part of a list request)."""
    if latest and not past:
        # The board as it stands: one index range scan over key pointers.
        return (
            _SELECT
            + """FROM artifact_keys k JOIN artifacts a ON a.id = k.latest_id
            LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
            WHERE k.board_id = %(board_id)s AND k.latest_seq > %(after)s"""
            + _key_filters(present, "k")
            + _version_filters(present)
            + " ORDER BY k.latest_seq LIMIT %(limit)s"
        )
    if latest:
        # The board at a past seq: newest version per key among those published by then
        # and not retracted by then.
        return (
            "SELECT * FROM ("
            + _SELECT
            + """FROM (SELECT DISTINCT ON (a.key) a.* FROM artifacts a
                  WHERE a.board_id = %(board_id)s AND a.seq <= %(as_of)s"""
            + _key_filters(present, "a")
            + """
                    AND NOT EXISTS (SELECT 1 FROM artifact_retractions x
                                    WHERE x.artifact_id = a.id AND x.seq <= %(as_of)s)
                  ORDER BY a.key, a.version DESC) a
            LEFT JOIN artifact_retractions r ON false
            ) a WHERE a.seq > %(after)s"""
            + _version_filters(present)
            + " ORDER BY a.seq LIMIT %(limit)s"
        )
    upto = " AND a.seq <= %(as_of)s" if past else ""
    return (
        _SELECT
        + """FROM artifacts a
            LEFT JOIN artifact_retractions r ON r.artifact_id = a.id"""
        + (" AND r.seq <= %(as_of)s" if past else "")
        + " WHERE a.board_id = %(board_id)s AND a.seq > %(after)s"
        + upto
        + _key_filters(present, "a")
        + _version_filters(present)
        + " ORDER BY a.seq LIMIT %(limit)s"
    )


def _json_time(column: str) -> str:
    """SQL: a timestamptz as pydantic writes a UTC datetime (`…T07:10:12.000450Z`, the
    fraction left out when it is zero), so both kinds of response read alike."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN date_part('microseconds', {utc})::int %% 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || 'Z'"
    )


# An `Artifact` record as JSON (its fields in order; see records.py), built from the
# columns of `_SELECT`.
_ARTIFACT_JSON = f"""json_build_object(
    'id', p.id, 'board_id', p.board_id, 'type', p.type, 'type_version', p.type_version,
    'key', p.key, 'version', p.version, 'body', p.body, 'author_id', p.author_id,
    'role', p.role, 'parents', p.parents, 'tags', p.tags, 'seq', p.seq,
    'content_hash', p.content_hash, 'created_at', {_json_time("p.created_at")},
    'claim_id', p.claim_id, 'fencing_token', p.fencing_token,
    'retracted', CASE WHEN p.r_seq IS NOT NULL THEN json_build_object(
        'seq', p.r_seq, 'by', p.r_by, 'reason', p.r_reason, 'at', {_json_time("p.r_at")}) END)"""


@functools.cache
def _page_sql(latest: bool, past: bool, present: frozenset[str]) -> str:
    return f"""
SELECT count(*) AS n,
       json_build_object('items', coalesce(json_agg({_ARTIFACT_JSON} ORDER BY p.seq), '[]'),
                         'next_after', coalesce(max(p.seq), %(after)s))::text AS page
FROM ({_listing_sql(latest, past, present)}) p"""


async def list_page(conn: Conn, *, board_id: UUID, listing: Listing) -> tuple[str, int]:
    """Return one page of the listing as the JSON of an `ArtifactPage` (its artifacts with
    seq > `after` in seq order, and `next_after`), and how many artifacts it holds.

    PostgreSQL writes the JSON: a page of 50 versions of 1 KB then costs the API one
    string, instead of 50 rows parsed, 50 records validated and serialized again."""
    cur = await conn.execute(_page_sql(*_listing_key(listing)), _listing_params(board_id, listing))
    row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY: always one row
    return row["page"], row["n"]


def _listing_params(board_id: UUID, listing: Listing) -> dict[str, Any]:
    params: dict[str, Any] = {
        "board_id": board_id,
        "after": listing.after,
        "limit": listing.limit,
        "as_of": listing.as_of,
    }
    params.update((name, getattr(listing.filters, name)) for name in _FILTERS)
    return params


def _listing_key(listing: Listing) -> tuple[bool, bool, frozenset[str]]:
    present = frozenset(n for n in _FILTERS if getattr(listing.filters, n) is not None)
    return listing.latest, listing.as_of is not None, present


async def history(conn: Conn, *, board_id: UUID, key: str) -> list[Artifact]:
    """Return every version of `key`, oldest first."""
    cur = await conn.execute(
        _SELECT
        + """FROM artifacts a LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
        WHERE a.board_id = %s AND a.key = %s ORDER BY a.version""",
        (board_id, key),
    )
    return [_artifact(row) for row in await cur.fetchall()]


_WALK_UP = """
WITH RECURSIVE walk(id, depth) AS (
    SELECT p, 1 FROM artifacts a, unnest(a.parents) AS p
    WHERE a.id = %(root)s AND a.board_id = %(board_id)s
  UNION
    SELECT p, w.depth + 1 FROM walk w JOIN artifacts a ON a.id = w.id, unnest(a.parents) AS p
    WHERE w.depth < %(depth)s
)
SELECT DISTINCT id FROM walk
"""

_WALK_DOWN = """
WITH RECURSIVE walk(id, depth) AS (
    SELECT c.id, 1 FROM artifacts c
    WHERE c.board_id = %(board_id)s AND c.parents @> ARRAY[%(root)s]::uuid[]
      AND c.parents <> '{}'
  UNION
    SELECT c.id, w.depth + 1 FROM walk w
    JOIN artifacts c ON c.board_id = %(board_id)s AND c.parents @> ARRAY[w.id]
                    AND c.parents <> '{}'
    WHERE w.depth < %(depth)s
)
SELECT DISTINCT id FROM walk
"""


async def lineage(
    conn: Conn, *, board_id: UUID, root: Artifact, direction: str, depth: int
) -> tuple[list[Artifact], list[LineageEdge]]:
    """Return the ancestors (up) or descendants (down) of `root` within `depth` links."""
    cur = await conn.execute(
        _WALK_UP if direction == "up" else _WALK_DOWN,
        {"root": root.id, "board_id": board_id, "depth": depth},
    )
    ids = [row["id"] for row in await cur.fetchall()]
    nodes = await get_many(conn, ids=ids) if ids else []
    members = {n.id for n in nodes} | {root.id}
    edges = [
        LineageEdge(parent=p, child=n.id) for n in [root, *nodes] for p in n.parents if p in members
    ]
    return nodes, edges


CURRENT_VERSIONS = """FROM artifact_keys k JOIN artifacts a ON a.id = k.latest_id
    LEFT JOIN artifact_retractions r ON r.artifact_id = a.id
    WHERE k.board_id = %s AND k.latest_seq IS NOT NULL
    ORDER BY k.latest_seq DESC LIMIT %s"""
"""A board's current versions (one per key), most recently changed first: `a` and `r`."""


async def newest_current(conn: Conn, *, board_id: UUID, limit: int) -> list[Artifact]:
    """Return the board's current versions (one per key), most recently changed first."""
    cur = await conn.execute(_SELECT + CURRENT_VERSIONS, (board_id, limit))
    return [_artifact(row) for row in await cur.fetchall()]
